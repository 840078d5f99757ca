"""Alembic revision scripts, one schema change each, named NNNN_what.py."""
