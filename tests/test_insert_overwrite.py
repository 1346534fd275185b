"""dbt-spark's incremental_strategy insert_overwrite on DuckDB: the partitions of
partition_by that the new rows fall in are replaced whole, the others kept (a
delete+insert keyed on those columns), so a model written for Spark's strategy builds
the same table on both engines."""

from __future__ import annotations

from runner.api import build

MODEL = """
{{ config(materialized='incremental', incremental_strategy='insert_overwrite',
          partition_by='month') }}
select * from (values {{ var('rows') }}) as t(month, n)
"""


def test_insert_overwrite_replaces_the_new_rows_partitions(make_project, query) -> None:
    root = make_project({"models/m.sql": MODEL})
    db = root / "x.duckdb"
    assert build(root, db_path=db, vars={"rows": "(1, 10), (1, 11), (2, 20), (2, 22)"}).ok
    result = build(root, db_path=db, vars={"rows": "(2, 21), (3, 30)"})
    assert result.ok, result.summary()
    # month 1 kept, month 2 replaced whole (20 and 22 gone), month 3 added
    assert query(db, "select month, n from main.m order by all") == \
        [(1, 10), (1, 11), (2, 21), (3, 30)]


def test_insert_overwrite_needs_partition_by(make_project, cli) -> None:
    root = make_project({"models/m.sql": "{{ config(materialized='incremental', "
                                         "incremental_strategy='insert_overwrite') }}\n"
                                         "select 1 as x"})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "x.duckdb")
    assert code == 2
    assert "insert_overwrite' needs partition_by" in err and "models/m.sql" in err
