"""The DAG of models and seeds, and dbt's node selection over it."""
