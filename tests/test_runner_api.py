"""The pipeline in runner.api: failures skip what is downstream and nothing else,
--fail-fast stops, target/run_results.json and target/compiled record the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.api import build, compile_project, compile_sql, execute, list_nodes

BROKEN = "{{ config(materialized='table') }}\nselect cast('x' as integer) as x"


@pytest.fixture
def chain(make_project) -> Path:
    """ok_root -> bad -> child -> grandchild, and an independent model."""
    return make_project({
        "models/ok_root.sql": "{{ config(materialized='table') }}\nselect 1 as x",
        "models/bad.sql": "{{ config(materialized='table') }}\n"
                          "select cast('x' as integer) as x from {{ ref('ok_root') }}",
        "models/child.sql": "select x from {{ ref('bad') }}",
        "models/grandchild.sql": "select x from {{ ref('child') }}",
        "models/independent.sql": "{{ config(materialized='table') }}\nselect 2 as y",
    })


def test_a_failure_skips_its_downstream_and_says_why(chain: Path, query) -> None:
    db = chain / "db.duckdb"
    result = build(chain, db_path=db)
    by_name = {n.name: n for n in result.nodes}
    assert not result.ok
    assert by_name["ok_root"].status == "success"
    assert by_name["bad"].status == "error"
    assert "bad" in by_name["bad"].message and "models/bad.sql" in by_name["bad"].message
    assert "target/compiled/models/bad.sql" in by_name["bad"].message
    assert by_name["child"].status == "skipped"
    assert "bad" in by_name["child"].message
    assert by_name["grandchild"].status == "skipped"
    assert "child" in by_name["grandchild"].message
    assert by_name["independent"].status == "success"
    assert query(db, "select y from independent") == [(2,)]
    tables = {t for t, in query(db, "select table_name from duckdb_tables() union all "
                                    "select view_name from duckdb_views() where not internal")}
    assert tables == {"ok_root", "independent"}
    summary = result.summary()
    assert "SKIPPED model child" in summary and "ERROR   model bad" in summary


def test_fail_fast_stops_after_the_first_failure(make_project, query) -> None:
    root = make_project({
        "models/a_bad.sql": BROKEN,
        "models/b_fine.sql": "{{ config(materialized='table') }}\nselect 1 as x",
        "models/c_fine.sql": "{{ config(materialized='table') }}\nselect 1 as x",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db, fail_fast=True)
    assert [(n.name, n.status) for n in result.nodes] == [
        ("a_bad", "error"), ("b_fine", "skipped"), ("c_fine", "skipped")]
    assert "fail-fast" in result.nodes[1].message
    assert query(db, "select count(*) from duckdb_tables()") == [(0,)]
    # without --fail-fast the independent models build
    result = build(root, db_path=db)
    assert [n.status for n in result.nodes] == ["error", "success", "success"]


def test_fail_fast_on_the_cli_exits_non_zero(make_project, cli) -> None:
    root = make_project({"models/a_bad.sql": BROKEN, "models/b.sql": "select 1 as x"})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb",
                         "--fail-fast")
    assert code == 1
    assert "SKIP" in out and "fail-fast" in out
    assert "Traceback" not in out + err


def test_run_results_json_records_status_timing_and_rows(chain: Path) -> None:
    build(chain, db_path=chain / "db.duckdb")
    data = json.loads((chain / "target" / "runner_results.json").read_text())
    assert data["command"] == "build"
    assert data["ok"] is False
    assert data["counts"] == {"success": 2, "error": 1, "skipped": 2}
    results = {r["name"]: r for r in data["results"]}
    assert set(results) == {"ok_root", "bad", "child", "grandchild", "independent"}
    assert results["ok_root"]["status"] == "success"
    assert results["ok_root"]["rows"] == 1
    assert results["ok_root"]["seconds"] > 0
    assert results["ok_root"]["materialized"] == "table"
    assert results["bad"]["status"] == "error"
    assert results["child"]["status"] == "skipped"
    assert data["seconds"] >= sum(r["seconds"] for r in data["results"])


def test_compiled_sql_is_written_for_every_model(make_project) -> None:
    root = make_project({
        "models/staging/a.sql": "select {{ 1 + 1 }} as two",
        "models/b.sql": "select two from {{ ref('a') }}",
    })
    assert build(root, db_path=root / "db.duckdb").ok
    compiled = root / "target" / "compiled" / "models"
    assert (compiled / "staging" / "a.sql").read_text().strip() == "select 2 as two"
    assert (compiled / "b.sql").read_text().strip() == 'select two from "main"."a"'


def test_compile_project_writes_without_building(make_project) -> None:
    root = make_project({"models/a.sql": "select 1 as x", "models/b.sql":
                         "select * from {{ ref('a') }}"})
    paths = compile_project(root, select=["b"])
    assert list(paths) == ["b"]
    assert paths["b"].read_text().strip() == 'select * from "main"."a"'
    assert not (root / "proj.duckdb").exists()


def test_compile_sql_uses_the_projects_macros_and_vars(make_project) -> None:
    root = make_project({
        "dbt_project.yml": "name: p\nvars:\n  currency: EUR\n",
        "macros/m.sql": "{% macro cents(c) %}round({{ c }} * 100){% endmacro %}",
        "models/a.sql": "select 1 as x",
    })
    sql = compile_sql("select {{ cents('p') }}, '{{ var('currency') }}' from {{ ref('a') }}",
                      root)
    assert sql == """select round(p * 100), 'EUR' from "main"."a\""""


def test_run_builds_models_without_tests_and_test_runs_only_tests(make_project) -> None:
    root = make_project({
        "models/m.sql": "select null as x",
        "models/p.yml": "version: 2\nmodels:\n  - name: m\n    columns:\n"
                        "      - name: x\n        data_tests: [not_null]\n",
        "seeds/s.csv": "a\n1\n",
    })
    db = root / "db.duckdb"
    ran = execute("run", root, db_path=db)
    assert [(n.kind, n.name) for n in ran.nodes] == [("model", "m")]
    tested = execute("test", root, db_path=db)
    assert [(n.kind, n.status) for n in tested.nodes] == [("test", "fail")]
    seeded = execute("seed", root, db_path=db)
    assert [(n.kind, n.name) for n in seeded.nodes] == [("seed", "s")]


def test_list_nodes_reports_build_order_and_relations(make_project) -> None:
    root = make_project({
        "models/b.sql": "select * from {{ ref('a') }}",
        "models/a.sql": "{{ config(materialized='table', schema='x') }}\nselect 1 as i",
        "seeds/s.csv": "a\n1\n",
    })
    nodes = list_nodes(root)
    assert [n["name"] for n in nodes] == ["a", "b", "s"]
    assert nodes[0]["relation"] == "main_x.a" and nodes[0]["materialized"] == "table"
    assert nodes[2]["kind"] == "seed"


def test_fail_fast_stops_after_a_failing_data_test(make_project, query) -> None:
    root = make_project({
        "models/a.sql": "{{ config(materialized='table') }}\nselect null as x",
        "models/p.yml": "version: 2\nmodels:\n  - name: a\n    columns:\n"
                        "      - name: x\n        data_tests: [not_null]\n",
        "models/b.sql": "{{ config(materialized='table') }}\nselect 1 as y",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db, fail_fast=True)
    assert [(n.name, n.status) for n in result.nodes] == [
        ("a", "success"), ("not_null_a_x", "fail"), ("b", "skipped")]
    assert query(db, "select table_name from duckdb_tables()") == [("a",)]
