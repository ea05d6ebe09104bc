"""The catalog: the source of truth about what the archive holds (SQLite or PostgreSQL)."""
