"""One module per command beyond build/run/test/seed (dbt-core's core/dbt/task/)."""
