"""Persistence: SQLAlchemy models, sessions, encryption and workspace-scoped queries."""
