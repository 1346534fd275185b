"""Database engines behind one adapter interface (base.Adapter): DuckDB (duckdb.py), the
default, and Apache Spark (spark.py); the target that picks one (profiles.py)."""
