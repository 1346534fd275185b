"""A dbt-style SQL transformation runner over DuckDB."""

__version__ = "0.1.0"
