"""Persistence: SQLAlchemy models, stores (one public method = one transaction), migrations."""
