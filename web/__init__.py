"""The web front: questionnaires as server-rendered forms, the public site, health checks."""
