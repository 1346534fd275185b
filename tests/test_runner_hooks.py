"""Model hooks (pre_hook / post_hook, dbt's vocabulary), the data_tests_where model
config, and flags.FULL_REFRESH and flags.WHICH: real projects built into DuckDB files on disk."""

from __future__ import annotations

from pathlib import Path

from runner.api import build

INCREMENTAL = """
    {{ config(materialized='incremental', incremental_strategy='delete+insert',
              unique_key='id',
              post_hook="delete from {{ this }} where id in (select id from {{ ref('gone') }})") }}
    select id, v from {{ ref('src') }}
    {% if is_incremental() %}
    where id not in (select id from {{ this }})
    {% endif %}
"""


def test_post_hook_runs_after_the_model_and_sees_this_and_refs(make_project, query,
                                                              tmp_path: Path) -> None:
    root = make_project({
        "models/src.sql": "select * from (values (1, 'a'), (2, 'b'), (3, 'c')) t(id, v)",
        "models/gone.sql": "select 2 as id",
        "models/target.sql": INCREMENTAL,
    })
    db = tmp_path / "x.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select id from main.target order by id") == [(1,), (3,)]
    assert build(root, db_path=db).ok             # incremental: the hook runs again
    assert query(db, "select id from main.target order by id") == [(1,), (3,)]


def test_pre_hook_list_runs_in_order_before_the_model(make_project, query,
                                                      tmp_path: Path) -> None:
    root = make_project({
        "models/log.sql": "{{ config(materialized='table') }}\nselect 0 as n",
        "models/m.sql": """
            {{ config(pre_hook=["insert into {{ ref('log') }} values (1)",
                                "insert into {{ ref('log') }} values (2)"]) }}
            select count(*) as n_before from {{ ref('log') }}
        """,
    })
    db = tmp_path / "x.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select n from main.log order by n") == [(0,), (1,), (2,)]
    assert query(db, "select n_before from main.m") == [(3,)]


def test_a_failing_post_hook_rolls_back_the_model_and_names_it(make_project, query,
                                                               tmp_path: Path) -> None:
    files = {"models/m.sql": "select 1 as x"}
    root = make_project(files)
    db = tmp_path / "x.duckdb"
    assert build(root, db_path=db).ok
    (root / "models/m.sql").write_text(
        "{{ config(post_hook='delete from no_such_table') }}\nselect 2 as x")
    result = build(root, db_path=db)
    assert not result.ok
    [node] = [n for n in result.nodes if n.name == "m"]
    assert node.status == "error" and "m" in node.message and "no_such_table" in node.message
    assert query(db, "select x from main.m") == [(1,)]     # the last good table stays


def test_a_hook_that_is_not_text_is_a_clear_error(make_project, cli) -> None:
    root = make_project({"models/m.sql": "{{ config(post_hook=3) }}\nselect 1 as x"})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "x.duckdb")
    assert code == 2
    assert "post_hook of model m" in err and "Traceback" not in err


def test_data_tests_where_scopes_every_generic_test_of_the_model(make_project,
                                                                 tmp_path: Path) -> None:
    root = make_project({
        "models/m.sql": "select * from (values (1, true), (1, false), (null, false)) t(id, recent)",
        "models/m.yml": """
            version: 2
            models:
              - name: m
                config:
                  data_tests_where: "recent"
                columns:
                  - name: id
                    data_tests:
                      - unique
                      - not_null
                      - not_null:
                          config: {where: "id = 1"}
        """,
    })
    result = build(root, db_path=tmp_path / "x.duckdb")
    assert result.ok, result.summary()           # only the recent row is tested
    (root / "models/m.yml").write_text((root / "models/m.yml").read_text()
                                       .replace('"recent"', '"true"'))
    result = build(root, db_path=tmp_path / "x.duckdb")
    failed = sorted(n.name for n in result.nodes if n.status == "fail")
    assert failed == ["not_null_m_id", "unique_m_id"]    # the test's own where still wins


def test_flags_full_refresh_is_visible_to_templates(make_project, query,
                                                    tmp_path: Path) -> None:
    root = make_project({"models/m.sql": "select {{ flags.FULL_REFRESH }} as is_full"})
    db = tmp_path / "x.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select is_full from main.m") == [(False,)]
    assert build(root, db_path=db, full_refresh=True).ok
    assert query(db, "select is_full from main.m") == [(True,)]


def test_flags_which_names_the_command(make_project, query, tmp_path: Path) -> None:
    from runner.api import execute
    root = make_project({"models/m.sql": "select '{{ flags.WHICH }}' as which"})
    db = tmp_path / "x.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select which from main.m") == [("build",)]
    assert execute("run", root, db_path=db).ok
    assert query(db, "select which from main.m") == [("run",)]
