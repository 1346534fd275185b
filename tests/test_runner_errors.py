"""Every error a user can make is one short paragraph naming the file (and the line where
there is one), with no traceback and a non-zero exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import (DatabaseError, ExecutionError, ProjectError, RenderError,
                           RunnerError, SqlSyntaxError)

ORDERS = {"models/orders.sql": "{{ config(materialized='table') }}\nselect 1 as id"}

CASES = {
    "missing ref": (
        {"models/b.sql": "select 1 as x\n\nfrom {{ ref('order') }}\n"},
        ["Template error in b", "models/b.sql", "ref('order')",
         "did you mean ref('orders')?"]),
    "cycle": (
        {"models/b.sql": "select * from {{ ref('c') }}",
         "models/c.sql": "select * from {{ ref('b') }}"},
        ["Graph error", "cycle", "b -> c -> b"]),
    "jinja syntax": (
        {"models/b.sql": "select 1 as x\nfrom {{ ref('orders') }\n"},
        ["Template error in b", "models/b.sql:2", "Jinja syntax error"]),
    "sql syntax": (
        {"models/b.sql": "select 1 as x,\n  2 as as y\nfrom {{ ref('orders') }}\n"},
        ["SQL syntax error in b", "models/b.sql:2", "target/compiled/models/b.sql"]),
    "macro syntax": (
        {"macros/bad.sql": "{% macro m() %}\n1\n{% endmacr %}\n"},
        ["Template error", "macros/bad.sql:3", "endmacro"]),
    "malformed yaml": (
        {"models/b.sql": "select 1 as x",
         "models/props.yml": "version: 2\nmodels:\n  - name: b\n    description: a: b\n"},
        ["Project error", "models/props.yml:4", "malformed YAML"]),
    "malformed dbt_project.yml": (
        {"dbt_project.yml": "name: p\nvars:\n  a: [1, 2\n"},
        ["Project error", "dbt_project.yml:", "malformed YAML"]),
    "undefined macro": (
        {"models/b.sql": "select {{ no_such_macro(1) }} as x"},
        ["Template error in b", "models/b.sql", "no_such_macro"]),
    "sandbox": (
        {"models/b.sql": "select '{{ ''.__class__.__mro__ }}' as x"},
        ["Template error in b", "models/b.sql", "sandbox", "nothing was run"]),
    "unknown data test": (
        {"models/props.yml": "version: 2\nmodels:\n  - name: orders\n    columns:\n"
                             "      - name: id\n        data_tests: [uniqe]\n"},
        ["Project error", "props.yml", "'uniqe'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_project_errors_are_one_paragraph(make_project, cli, query, case) -> None:
    files, expected = CASES[case]
    root = make_project({**ORDERS, **files})
    db = root / "db.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 2
    for text in expected:
        assert text in err, (text, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2 and (len(lines) == 1 or "What to do" in lines[1])
    if db.exists():                                   # nothing was built
        assert query(db, "select count(*) from duckdb_tables()") == [(0,)]


def test_a_sql_error_at_run_time_names_model_and_compiled_file(make_project, cli) -> None:
    root = make_project({**ORDERS, "models/b.sql": "{{ config(materialized='table') }}\n"
                                                   "select cast('x' as integer) as n "
                                                   "from {{ ref('orders') }}"})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("  ERROR"))
    assert "model b" in line and "models/b.sql" in line
    assert str(root / "target" / "compiled" / "models" / "b.sql") in line
    assert "Conversion Error" in line or "convert" in line
    assert "Traceback" not in out + err


@pytest.mark.parametrize("args, expected", [
    (["--vars", "{a: [1"], "--vars is not valid YAML"),
    (["--vars", "[1, 2]"], "--vars must be a YAML mapping"),
    (["--select", "nosuch"], "--select 'nosuch' matches no model or seed"),
])
def test_bad_options_are_one_line(make_project, cli, args, expected) -> None:
    root = make_project(ORDERS)
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb", *args)
    assert code == 2
    assert expected in err
    assert "Traceback" not in out + err


def test_a_missing_project_folder(tmp_path: Path, cli) -> None:
    code, _, err = cli("ls", "--project-dir", tmp_path / "nope")
    assert code == 2
    assert str(tmp_path / "nope") in err and "does not exist" in err


def test_a_folder_without_models(tmp_path: Path, cli) -> None:
    code, _, err = cli("ls", "--project-dir", tmp_path)
    assert code == 2
    assert "no models folder" in err


def test_the_installed_command_prints_no_traceback(make_project) -> None:
    root = make_project({**ORDERS, "models/b.sql": "select 1 as x\nfrom {{ ref('orders') }\n"})
    proc = subprocess.run([sys.executable, "-m", "runner.cli", "build", "--project-dir",
                           str(root), "--db", str(root / "db.duckdb")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Template error in b (models/b.sql:2)")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_the_error_classes_render_for_a_person() -> None:
    error = SqlSyntaxError("bad", node="m", path="models/m.sql", line=3, hint="fix it")
    assert str(error) == "SQL syntax error in m (models/m.sql:3): bad\n  What to do: fix it"
    assert RunnerError("plain").render() == "runner error: plain"
    assert DatabaseError("x").exit_code == 3
    for cls in (ProjectError, RenderError, ExecutionError, SqlSyntaxError):
        assert issubclass(cls, RunnerError) and cls("x").exit_code == 2
