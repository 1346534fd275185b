"""Rendering: the sandboxed Jinja environment, dbt's context, and compiling a model to SQL."""
