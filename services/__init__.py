"""Application services: use cases the handlers and scheduler call."""
