"""Rendering in Jinja's sandbox: Python internals, modules and files are out of reach,
and values from --vars stay inside the SQL literal they are printed in."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, compile_sql
from runner.errors import RenderError
from runner.project.loader import load_project
from runner.jinja.render import Renderer

TABLE_T = "{{ config(materialized='table') }}\nselect * from (values ('a'), ('b')) v(name)"


@pytest.mark.parametrize("expression, reason", [
    ("''.__class__.__mro__", "__class__"),
    ("ref.__globals__", "__globals__"),
    ("config.__func__.__globals__['os']", "__func__"),
    ("var.__self__.project", "__self__"),
    ("lipsum.__globals__['os'].system('touch PWNED')", "__globals__"),
    ("cycler.__init__.__globals__.os", "__init__"),
    ("modules.datetime.datetime.__subclasses__()", "__subclasses__"),
    ("os.system('touch PWNED')", "'os' is undefined"),
    ("open('PWNED', 'w').write('x')", "'open' is undefined"),
    ("__import__('os')", "'__import__' is undefined"),
    # dbt's context: adapter, api, the macro namespaces, the macros, return
    ("adapter._renderer.project", "_renderer"),
    ("adapter.dispatch.__func__.__globals__", "__func__"),
    ("api.Column.__class__.__subclasses__()", "__class__"),
    ("dbt._macros", "_macros"),
    ("dbt.date_trunc._macro._func.__globals__", "_macro"),
    ("proj._label.__self__", "_label"),
    ("zip.__self__", "__self__"),
    ("return.__globals__['os']", "__globals__"),
])
def test_the_sandbox_refuses_and_nothing_runs(make_project, query, monkeypatch, tmp_path,
                                              expression, reason) -> None:
    monkeypatch.chdir(tmp_path)
    root = make_project({
        "models/a_first.sql": TABLE_T,
        "models/b_evil.sql": "{{ config(materialized='table') }}\n"
                             f"select 1 as x -- {{{{ {expression} }}}}",
    })
    db = root / "db.duckdb"
    with pytest.raises(RenderError) as info:
        build(root, db_path=db)
    text = info.value.render()
    assert reason in text
    assert "models/b_evil.sql" in text
    assert not (tmp_path / "PWNED").exists() and not (root / "PWNED").exists()
    if db.exists():      # the parse pass failed before any model ran
        assert query(db, "select count(*) from duckdb_tables()") == [(0,)]


def test_a_forbidden_attribute_in_a_macro_file_is_refused(make_project, tmp_path,
                                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = make_project({
        "macros/evil.sql": "{% do ref.__globals__['os'].system('touch PWNED') %}"
                           "{% macro nice() %}1{% endmacro %}",
        "models/m.sql": "select {{ nice() }} as x",
    })
    with pytest.raises(RenderError, match="sandbox") as info:
        build(root, db_path=root / "db.duckdb")
    assert "macros/evil.sql" in info.value.render()
    assert not (tmp_path / "PWNED").exists()


def test_a_quote_in_a_var_stays_inside_the_literal(make_project, query) -> None:
    root = make_project({
        "models/t.sql": TABLE_T,
        "models/q.sql": "{{ config(materialized='table') }}\n"
                        "select '{{ var('x') }}' as v, count(*) as n from {{ ref('t') }} "
                        "where name = '{{ var('x') }}'",
    })
    db = root / "db.duckdb"
    payload = "x'; drop table t; --"
    result = build(root, db_path=db, vars={"x": payload})
    assert result.ok, result.summary()
    assert query(db, "select v, n from q") == [(payload, 0)]
    assert query(db, "select count(*) from t") == [(2,)]        # t is still there


def test_a_var_passed_through_a_macro_stays_a_literal(make_project, query) -> None:
    root = make_project({
        "macros/lit.sql": "{% macro lit(value) %}'{{ value }}'{% endmacro %}",
        "models/t.sql": TABLE_T,
        "models/q.sql": "{{ config(materialized='table') }}\n"
                        "select count(*) as n from {{ ref('t') }} "
                        "where name = {{ lit(var('x')) }}",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db, vars={"x": "z' or 1=1 or 'q"}).ok
    assert query(db, "select n from q") == [(0,)]


def test_a_cli_var_with_a_drop_statement_changes_nothing(make_project, cli, query) -> None:
    root = make_project({
        "models/t.sql": TABLE_T,
        "models/q.sql": "select '{{ var('x') }}' as v",
    })
    db = root / "db.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db,
                         "--vars", "{x: \"x'; drop table t; --\"}")
    assert code == 0, out + err
    assert query(db, "select v from q") == [("x'; drop table t; --",)]
    assert query(db, "select count(*) from t") == [(2,)]


@pytest.mark.parametrize("printed", ["var('x') | lower", "var('x') ~ ''"])
def test_a_var_through_a_filter_stays_a_literal(make_project, query, printed) -> None:
    root = make_project({
        "models/t.sql": TABLE_T,
        "models/q.sql": "{{ config(materialized='table') }}\n"
                        f"select count(*) as n from {{{{ ref('t') }}}} "
                        f"where name = '{{{{ {printed} }}}}'",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db, vars={"x": "z' or 1=1 or 'q"}).ok
    assert query(db, "select n from q") == [(0,)]


def test_jinja_syntax_error_names_file_and_line(make_project) -> None:
    root = make_project({
        "models/m.sql": "select 1 as x,\n  2 as y\nfrom {{ ref('other') }\n",
        "models/other.sql": "select 1 as z",
    })
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    assert info.value.line == 3
    assert "models/m.sql:3" in info.value.render()
    assert "Jinja syntax error" in info.value.render()


def test_an_unclosed_if_block_is_a_syntax_error(make_project) -> None:
    root = make_project({"models/m.sql": "select 1 as x\n{% if true %}\nwhere 1 = 1\n"})
    with pytest.raises(RenderError, match="Jinja syntax error") as info:
        build(root, db_path=root / "db.duckdb")
    assert info.value.path == "models/m.sql"


def test_a_ref_to_a_missing_model_suggests_the_closest(make_project) -> None:
    root = make_project({
        "models/customers.sql": "select 1 as id",
        "models/m.sql": "select * from {{ ref('customer') }}",
    })
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    text = info.value.render()
    assert "ref('customer')" in text and "did you mean ref('customers')" in text
    assert "models/m.sql" in text


def test_an_undeclared_source_suggests_the_closest(make_project) -> None:
    root = make_project({
        "models/s.yml": "version: 2\nsources:\n  - name: shop\n    tables:\n"
                        "      - name: orders\n",
        "models/m.sql": "select * from {{ source('shop', 'order') }}",
    })
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    assert "source('shop', 'orders')" in info.value.render()


def test_an_unknown_materialization_is_refused(make_project) -> None:
    root = make_project({"models/m.sql": "{{ config(materialized='tabel') }}\nselect 1"})
    with pytest.raises(RenderError, match="tabel"):
        build(root, db_path=root / "db.duckdb")


def test_raise_compiler_error_stops_the_build(make_project) -> None:
    root = make_project({
        "models/m.sql": "{% if var('mode', 'x') != 'ok' %}"
                        "{{ exceptions.raise_compiler_error('mode must be ok') }}{% endif %}"
                        "select 1 as x",
    })
    with pytest.raises(RenderError, match="mode must be ok"):
        build(root, db_path=root / "db.duckdb")
    assert build(root, db_path=root / "db.duckdb", vars={"mode": "ok"}).ok


def test_is_incremental_is_false_outside_a_run(make_project) -> None:
    root = make_project({"models/m.sql": "select 1"})
    renderer = Renderer(load_project(root), {})
    out = renderer.render_string("{{ is_incremental() }} {{ execute }}", "x").sql
    assert out == "False True"


def test_compile_sql_renders_vars_given(make_project) -> None:
    root = make_project({"models/m.sql": "select 1"})
    assert compile_sql("select {{ var('a', 1) + 1 }}", root, vars={"a": 41}) == "select 42"
    assert compile_sql("select '{{ run_started_at.year > 2000 }}'", root) == "select 'True'"


def test_a_model_reading_a_file_outside_the_project_fails(make_project, tmp_path: Path,
                                                          query) -> None:
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("a\nsecret\n")
    root = make_project({
        "models/m.sql": "{{ config(materialized='table') }}\n"
                        f"select * from read_csv('{secret}')",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.nodes[0].status == "error"
    assert query(root / "db.duckdb", "select count(*) from duckdb_tables()") == [(0,)]


@pytest.mark.parametrize("expression", ["no_such_macro(1)", "1 / 0"])
def test_an_error_while_rendering_names_the_line(make_project, expression) -> None:
    root = make_project({"models/m.sql": f"select 1 as x,\n  2 as y,\n  {{{{ {expression} }}}}"
                                         " as z\n"})
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    assert info.value.line == 3
    assert "models/m.sql:3" in info.value.render()


def test_the_template_cache_does_not_grow_from_run_to_run(make_project) -> None:
    import os
    import subprocess
    import sys
    root = make_project({
        "models/m.sql": "select 1 as id",
        "models/p.yml": "version: 2\nmodels:\n  - name: m\n    columns:\n"
                        "      - name: id\n        data_tests: [unique, not_null]\n",
    })
    counts = []
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-m", "runner.cli", "build", "--project-dir",
                        str(root), "--db", str(root / "db.duckdb")], check=True,
                       capture_output=True, env={**os.environ, "PYTHONHASHSEED": seed},
                       timeout=60)
        counts.append(sum(1 for p in (root / "target").rglob("*") if p.is_file()
                          and "jinja-cache" in p.parts))
    assert counts[0] > 0
    assert counts[1] == counts[0]
