"""Compiling: ephemeral models inlined as CTEs, and the SQL checked with sqlglot before
anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, compile_project
from runner.jinja.compile import check_sql, inline_ctes
from runner.errors import SqlSyntaxError

GOOD_TABLE = "{{ config(materialized='table') }}\nselect 1 as x"


def relations(query, db: Path) -> set[str]:
    return {name for name, in query(db, "select table_name from duckdb_tables() union all "
                                        "select view_name from duckdb_views() "
                                        "where not internal")}


def test_an_ephemeral_model_is_a_cte_and_no_relation(make_project, query) -> None:
    root = make_project({
        "models/base.sql": "{{ config(materialized='ephemeral') }}\n"
                           "select * from (values (1), (2), (3)) v(n)",
        "models/evens.sql": "{{ config(materialized='table') }}\n"
                            "select n from {{ ref('base') }} where n % 2 = 0",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert [n.name for n in result.nodes] == ["evens"]
    assert relations(query, db) == {"evens"}
    assert query(db, "select n from evens") == [(2,)]
    compiled = (root / "target/compiled/models/evens.sql").read_text()
    assert compiled.lstrip().startswith("with __dbt__cte__base as (")
    assert "from __dbt__cte__base where" in compiled
    assert not (root / "target/compiled/models/base.sql").exists()


def test_ephemeral_chains_and_a_models_own_with(make_project, query) -> None:
    root = make_project({
        "models/e1.sql": "{{ config(materialized='ephemeral') }}\nselect 10 as n",
        "models/e2.sql": "{{ config(materialized='ephemeral') }}\n"
                         "select n + 1 as n from {{ ref('e1') }}",
        "models/final.sql": "{{ config(materialized='table') }}\n"
                            "-- a leading comment\n"
                            "with doubled as (select n * 2 as n from {{ ref('e2') }})\n"
                            "select n from doubled",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert query(db, "select n from final") == [(22,)]
    compiled = (root / "target/compiled/models/final.sql").read_text()
    # e1 is defined before e2, which reads it; the model's own CTE follows
    assert compiled.index("__dbt__cte__e1 as (") < compiled.index("__dbt__cte__e2 as (") \
        < compiled.index("doubled as (")
    assert compiled.count("with ") == 1
    assert relations(query, db) == {"final"}


def test_a_data_test_on_an_ephemeral_model_inlines_it(make_project) -> None:
    root = make_project({
        "models/e.sql": "{{ config(materialized='ephemeral') }}\nselect null as id",
        "models/p.yml": "version: 2\nmodels:\n  - name: e\n    columns:\n"
                        "      - name: id\n        data_tests: [not_null]\n",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert [(n.name, n.status) for n in result.nodes] == [("not_null_e_id", "fail")]
    assert "__dbt__cte__e" in (root / "target/compiled/tests/not_null_e_id.sql").read_text()


def test_a_sql_syntax_error_stops_the_build_before_anything_runs(make_project,
                                                                 query) -> None:
    root = make_project({
        "models/a_good.sql": GOOD_TABLE,
        "models/b_bad.sql": "select 1 as x,\n  2 as as y\nfrom {{ ref('a_good') }}\n",
    })
    db = root / "db.duckdb"
    with pytest.raises(SqlSyntaxError) as info:
        build(root, db_path=db)
    error = info.value
    assert error.node == "b_bad"
    assert error.line == 2
    assert f"{root / 'models' / 'b_bad.sql'}:2" in error.render()
    assert "target/compiled/models/b_bad.sql" in error.render()
    assert relations(query, db) == set()                   # a_good did not run either
    assert not (root / "target" / "run_results.json").exists()


def test_the_compiled_line_is_given_when_the_source_line_differs(make_project) -> None:
    root = make_project({
        "models/a.sql": GOOD_TABLE,
        "models/b.sql": "select x\nfrom {{ ref('a') }} where (\n",
    })
    with pytest.raises(SqlSyntaxError, match="at line 2 of the compiled SQL"):
        compile_project(root)


@pytest.mark.parametrize("sql, message", [
    ("select 1 as x; select 2 as y", "2 SQL statements"),
    ("select 1 as x; drop table t", "2 SQL statements"),
    ("create table t as select 1 as x", "must be a SELECT"),
    ("insert into t values (1)", "must be a SELECT"),
])
def test_a_model_is_exactly_one_select(make_project, query, sql, message) -> None:
    root = make_project({"models/a.sql": GOOD_TABLE, "models/m.sql": sql})
    db = root / "db.duckdb"
    with pytest.raises(SqlSyntaxError, match=message):
        build(root, db_path=db)
    assert relations(query, db) == set()


def test_a_trailing_semicolon_is_fine(make_project, query) -> None:
    root = make_project({"models/m.sql": "{{ config(materialized='table') }}\n"
                                         "select 1 as x;\n\n"})
    assert build(root, db_path=root / "db.duckdb").ok
    assert query(root / "db.duckdb", "select x from m") == [(1,)]


def test_duckdb_only_syntax_is_accepted(make_project, query) -> None:
    root = make_project({"models/m.sql": "{{ config(materialized='table') }}\n"
                                         "from range(3) t(i) select i order by all"})
    assert build(root, db_path=root / "db.duckdb").ok
    assert query(root / "db.duckdb", "select count(*) from m") == [(3,)]


def test_check_sql_and_inline_ctes_directly() -> None:
    check_sql("with a as (select 1) select * from a", "m", "m.sql", None)
    with pytest.raises(SqlSyntaxError):
        check_sql("select from where", "m", "m.sql", None)
    assert inline_ctes("select 1", []) == "select 1"
    assert inline_ctes("-- c\nselect * from __dbt__cte__e", [("e", "select 2")]) == \
        "-- c\nwith __dbt__cte__e as (\nselect 2\n)\nselect * from __dbt__cte__e"
    assert inline_ctes("WITH x as (select 1) select * from x", [("e", "select 2")]) == \
        "WITH __dbt__cte__e as (\nselect 2\n),\nx as (select 1) select * from x"


def test_an_ephemeral_model_over_a_source(make_project, tmp_path, query) -> None:
    root = make_project({
        "models/s.yml": "version: 2\nsources:\n  - name: app\n    tables:\n"
                        "      - name: events\n        columns:\n          - name: id\n",
        "models/e.sql": "{{ config(materialized='ephemeral') }}\n"
                        "select cast(id as integer) as id from {{ source('app', 'events') }}",
        "models/t.sql": "{{ config(materialized='table') }}\nselect sum(id) as s "
                        "from {{ ref('e') }}",
    })
    raw = tmp_path / "raw"
    (raw / "events").mkdir(parents=True)
    (raw / "events" / "a.csv").write_text("id\n1\n2\n")
    db = tmp_path / "db.duckdb"
    result = build(root, raw_dir=raw, db_path=db, select=["t"])
    assert result.ok, result.summary()
    assert query(db, "select s from t") == [(3,)]
