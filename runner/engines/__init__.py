"""Database engines: connecting, locking and settings (DuckDB)."""
