"""The library entry points: what the CLI calls, and what tests and scripts may call.

    from runner.api import build, compile_sql
    result = build("path/to/project", raw_dir="data/raw", db_path="x.duckdb",
                   vars={"report_time": "2024-10-01T00:00:00Z"})
    assert result.ok, result.summary()
"""
