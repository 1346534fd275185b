"""Checked before anything runs: --vars against the type of the project's default, ref()
suggestions that would not make a cycle, and YAML columns against the model's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, compile_project
from runner.errors import RenderError, RunnerError

REPO = Path(__file__).resolve().parents[1]


# -- typed vars ---------------------------------------------------------------------------
@pytest.fixture
def typed(make_project) -> Path:
    return make_project({
        "dbt_project.yml": """\
            name: typed
            vars:
              since: "2024-10-01T00:00:00Z"
              day: "2024-10-01"
              lookback_days: 3
              ratio: 0.5
              all_rows: false
              label: anything
              empty: ""
            """,
        "models/m.sql": "{{ config(materialized='table') }}\n"
                        "select cast('{{ var('since') }}' as timestamptz) as since, "
                        "{{ var('lookback_days') }} as days",
    })


@pytest.mark.parametrize("name, value, expected", [
    ("since", "notadate", "an ISO instant"),
    ("since", 5, "an ISO instant"),
    ("day", "01.10.2024", "an ISO date"),
    ("lookback_days", "abc", "a number"),
    ("lookback_days", True, "a number"),
    ("ratio", [1], "a number"),
    ("all_rows", "maybe", "true or false"),
])
def test_a_var_of_the_wrong_type_stops_before_anything_runs(typed: Path, name, value,
                                                             expected) -> None:
    db = typed / "db.duckdb"
    with pytest.raises(RunnerError) as info:
        build(typed, db_path=db, vars={name: value})
    text = info.value.render()
    assert info.value.exit_code == 2
    assert f"--vars {name}" in text and repr(value) in text and expected in text, text
    assert "dbt_project.yml" in text
    assert not db.exists()                  # nothing ran, not even the connection


@pytest.mark.parametrize("name, value", [
    ("since", "2024-10-01T00:00:00Z"), ("since", "2024-10-01 12:00:00+02:00"),
    ("since", "2024-10-01"), ("day", "2024-10-02"), ("lookback_days", 0),
    ("lookback_days", "7"), ("ratio", 2), ("all_rows", True), ("label", 12),
    ("empty", "whatever"), ("not_declared", "x"),
])
def test_a_var_of_the_right_type_or_without_a_known_type_passes(typed: Path, name,
                                                                 value) -> None:
    assert build(typed, db_path=typed / "db.duckdb", vars={name: value}).ok


def test_the_cli_refuses_a_bad_var_with_exit_2(typed: Path, cli) -> None:
    code, out, err = cli("build", "--project-dir", typed, "--db", typed / "db.duckdb",
                         "--vars", "{lookback_days: abc}")
    assert code == 2, out + err
    assert "lookback_days" in err and "'abc'" in err and "a number" in err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("name, value", [
    ("report_time", "notadate"), ("incremental_lookback_days", "abc"),
])
def test_the_projects_own_vars_are_checked(name, value) -> None:
    with pytest.raises(RunnerError) as info:
        compile_project(REPO, vars={name: value})
    text = info.value.render()
    assert info.value.exit_code == 2
    assert name in text and repr(value) in text, text


# -- ref() suggestions ----------------------------------------------------------------------
def test_a_missing_ref_never_suggests_the_model_itself_or_its_downstream(make_project) -> None:
    root = make_project({
        "models/my_model.sql": "select * from {{ ref('no_such_model') }}",
        # downstream of my_model, and closer to the missing name than one_model
        "models/no_such_models.sql": "select * from {{ ref('my_model') }}",
        "models/no_such_model_2.sql": "select * from {{ ref('no_such_models') }}",
        "models/one_model.sql": "select 1 as id",
    })
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    text = info.value.render()
    assert "ref('no_such_model')" in text and "models/my_model.sql" in text
    hint = text.split("What to do")[1]
    assert "no_such_models" not in hint and "no_such_model_2" not in hint, text
    assert "did you mean ref('one_model')" in hint, text


def test_with_only_itself_and_its_downstream_close_no_model_is_suggested(make_project) -> None:
    root = make_project({
        "models/my_model.sql": "select * from {{ ref('my_modle') }}",
        "models/my_model_2.sql": "select * from {{ ref('my_model') }}",
    })
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    text = info.value.render()
    assert "did you mean" not in text and "my_model_2" not in text, text


# -- YAML columns against the model's output --------------------------------------------------
@pytest.fixture
def documented(make_project) -> Path:
    return make_project({
        "models/src.sql": "select 1 as order_id, 'EUR' as currency, 2.5 as amount",
        "models/orders.sql": "{{ config(materialized='table') }}\n"
                             "select * exclude (amount), amount * 2 as total "
                             "from {{ ref('src') }}",
        "models/orders.yml": """\
            version: 2
            models:
              - name: orders
                columns:
                  - name: order_id
                    data_tests: [unique]
                  - name: currency
                  - name: totl
                    data_tests: [not_null]
            """,
    })


def test_a_tested_yaml_column_missing_from_the_model_stops_before_anything_runs(
        documented: Path) -> None:
    db = documented / "db.duckdb"
    with pytest.raises(RunnerError) as info:
        build(documented, db_path=db)
    error = info.value
    text = error.render()
    assert error.exit_code == 2
    assert "totl" in text and "orders" in text and "models/orders.yml:8" in text
    assert "did you mean 'total'" in text
    assert "  " not in text.replace("\n  What to do", "")      # no padding runs
    import duckdb
    with duckdb.connect(str(db)) as con:                      # nothing was built
        assert con.execute("select count(*) from duckdb_views() where not internal"
                           ).fetchone() == (0,)


def test_compile_checks_the_columns_too(documented: Path, cli) -> None:
    code, out, err = cli("compile", "--project-dir", documented)
    assert code == 2
    assert "totl" in err and "models/orders.yml:8" in err and "Traceback" not in err


def test_a_documented_untested_column_that_is_absent_is_a_warning(make_project) -> None:
    root = make_project({
        "models/orders.sql": "select 1 as order_id",
        "models/orders.yml": """\
            version: 2
            models:
              - name: orders
                columns:
                  - name: order_id
                    data_tests: [not_null]
                  - name: order_ids
                    description: A typo.
            """,
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert any("models/orders.yml:7" in w and "'order_ids'" in w and "order_id" in w
               for w in result.warnings), result.warnings


def test_columns_of_sources_seeds_and_incremental_models_resolve(make_project, tmp_path) -> None:
    raw = tmp_path / "raw" / "orders"
    raw.mkdir(parents=True)
    (raw / "a.csv").write_text("id,code\n1,EUR\n")
    root = make_project({
        "models/sources.yml": """\
            version: 2
            sources:
              - name: raw
                tables:
                  - name: orders
                    columns: [{name: id}, {name: code}]
            """,
        "seeds/currencies.csv": "code,minor_units\nEUR,2\n",
        "models/inc.sql": "{{ config(materialized='incremental', unique_key='id') }}\n"
                          "select cast(o.id as int) as id, c.minor_units, o._source_file\n"
                          "from {{ source('raw', 'orders') }} as o\n"
                          "join {{ ref('currencies') }} as c on c.code = o.code\n"
                          "{% if is_incremental() %}where cast(o.id as int) > (select max(id) "
                          "from {{ this }}){% endif %}",
        "models/inc.yml": """\
            version: 2
            models:
              - name: inc
                columns:
                  - name: id
                    data_tests: [unique, not_null]
                  - name: minor_units
                    data_tests: [not_null]
                  - name: _source_file
                    data_tests: [not_null]
            """,
    })
    db = root / "db.duckdb"
    first = build(root, db_path=db, raw_dir=tmp_path / "raw")
    assert first.ok and first.warnings == [], first.summary()
    second = build(root, db_path=db, raw_dir=tmp_path / "raw")      # is_incremental()
    assert second.ok and second.warnings == [], second.summary()


def test_the_projects_own_models_have_every_yaml_column() -> None:
    seen: list[str] = []
    compile_project(REPO, on_warning=seen.append)
    assert [w for w in seen if "column" in w] == []


def test_duckdb_messages_are_shown_without_their_padding(make_project) -> None:
    # errors only DuckDB finds, when a model or a data test runs: its message on one
    # line, without the spaces and carets that point into the SQL
    root = make_project({
        "models/orders.sql": "{{ config(materialized='table') }}\n"
                             "select s\nfrom (select 'a' as s) as t\n        where s > 1",
        "models/items.sql": "{{ config(materialized='table') }}\nselect 1 as order_id",
        "models/items.yml": """\
            version: 2
            models:
              - name: items
                data_tests:
                  - expression_is_true:
                      expression: "order_idd > 0"
            """,
    })
    result = build(root, db_path=root / "db.duckdb")
    failed = {n.name: n for n in result.nodes if n.status == "error"}
    assert set(failed) == {"orders", "expression_is_true_items"}, result.summary()
    for node in failed.values():
        assert "Error" in node.message, node.message
        assert "  " not in node.message and "^^" not in node.message, node.message


@pytest.mark.parametrize("text", [
    "{report_time: 2024-13-45}", "{report_time: '2024-02-30T00:00:00Z'}",
])
def test_a_var_written_as_a_date_that_is_not_in_the_calendar_is_named(cli, tmp_path,
                                                                       text) -> None:
    code, out, err = cli("build", "--project-dir", REPO, "--db", tmp_path / "x.duckdb",
                         "--vars", text)
    assert code == 2, (out, err)
    assert "--vars report_time" in err and "not one in the calendar" in err, err
    assert "Traceback" not in err and not (tmp_path / "x.duckdb").exists()
