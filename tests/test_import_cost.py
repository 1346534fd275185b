"""What a command imports: `runner build` starts in a fresh process every hour, so it
imports only what it uses (no sqlglot unless a model's SQL fails DuckDB's parser, no
pydantic behind typer's options), and still converts its options as typer does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runner.cli import app
from runner.errors import SqlSyntaxError

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlglot", "pydantic", "pandas", "pyarrow", "rich")


def _imported(*args: str, cwd: Path) -> set[str]:
    """The modules a fresh `python -X importtime ...` process imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def _one_model_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "one.sql").write_text("select 1 as id\n")
    (root / "models" / "two.sql").write_text("with a as (select * from {{ ref('one') }})\n"
                                             "select id + 1 as id from a\n")
    return root


def test_importing_the_command_imports_nothing_heavy(tmp_path: Path) -> None:
    assert _heavy(_imported("-c", "import runner.cli", cwd=tmp_path)) == []


def test_a_build_imports_neither_sqlglot_nor_pydantic(tmp_path: Path) -> None:
    project = _one_model_project(tmp_path / "p")
    modules = _imported("-m", "runner", "build", "--project-dir", str(project),
                        "--db", str(tmp_path / "p.duckdb"), "--select", "+two",
                        "--exclude", "two", cwd=tmp_path)
    assert "runner.jinja.compile" in modules and "_duckdb" in modules   # it did build
    assert _heavy(modules) == []


def test_a_build_that_publishes_nothing_imports_only_duckdb_s_engine(tmp_path: Path) -> None:
    # DuckDB's Python layer (relations, expressions, importlib.metadata) is imported by
    # no build; runner.publish only by a build that publishes
    project = _one_model_project(tmp_path / "p")
    modules = _imported("-m", "runner", "build", "--project-dir", str(project),
                        "--db", str(tmp_path / "p.duckdb"), cwd=tmp_path)
    assert "_duckdb" in modules and "runner.execute.duckdb.materialize" in modules
    assert "duckdb" not in modules
    assert "yaml" not in modules        # nor PyYAML, with no YAML file to read
    assert not [m for m in modules if m.startswith("runner.publish")]
    assert not {"runner.project.unit_tests", "runner.execute.unit_tests"} & modules
    # a model marked `publish` is published, through DuckDB's engine alone too
    (project / "models" / "two.sql").write_text("{{ config(publish=true) }}\nselect 2 as id\n")
    modules = _imported("-m", "runner", "build", "--project-dir", str(project),
                        "--db", str(tmp_path / "p.duckdb"), cwd=tmp_path)
    assert "runner.publish.serving" in modules and "duckdb" not in modules
    assert (tmp_path / "published" / "p.duckdb").exists()


def test_sql_that_duckdb_refuses_is_still_reported_by_line(tmp_path: Path) -> None:
    project = _one_model_project(tmp_path / "p")
    (project / "models" / "two.sql").write_text("select 1 as id\nfrom where\n")
    result = CliRunner().invoke(app, ["compile", "--project-dir", str(project)])
    assert isinstance(result.exception, SqlSyntaxError), result.output
    assert "line 2" in str(result.exception) and result.exception.exit_code == 2


def test_options_keep_typer_s_conversion_and_errors(tmp_path: Path) -> None:
    # a number is still checked by typer (pydantic, imported only for it)
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "raw"),
                                      "--sessions", "many"])
    assert result.exit_code == 2 and "--sessions" in result.output, result.output
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "raw"),
                                      "--sessions", "0"])
    assert result.exit_code == 2 and "--sessions" in result.output, result.output
    # text, paths and lists of text arrive as typer gives them
    project = _one_model_project(tmp_path / "p")
    result = CliRunner().invoke(app, ["ls", "--project-dir", str(project),
                                      "--select", "one", "--select", "two"])
    assert result.exit_code == 0, result.output
    assert "one" in result.output and "two" in result.output


@pytest.mark.parametrize("args", [["build", "--help"], ["--help"], ["buil"]])
def test_the_command_line_sees_the_commands_it_names(args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "runner", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    if args == ["buil"]:
        assert done.returncode == 2 and "Did you mean 'build'" in done.stderr, done.stderr
    elif args == ["--help"]:
        assert done.returncode == 0 and " export " in done.stdout and " report " in done.stdout
    else:
        assert done.returncode == 0 and "--full-refresh" in done.stdout


def test_a_project_without_contracts_opens_no_second_database(tmp_path: Path,
                                                              monkeypatch) -> None:
    # the contracts' types are checked in an in-memory DuckDB, opened only when needed
    from runner.execute import contracts
    from runner.project.loader import load_project

    class Unopenable:
        @staticmethod
        def connect(*args, **kwargs):
            raise AssertionError("a DuckDB instance was opened with no contract to check")

    project = load_project(_one_model_project(tmp_path / "p"))
    monkeypatch.setattr(contracts, "duckdb", Unopenable)
    assert contracts.check_declarations(list(project.models.values()), project.root,
                                        print) == {}


def test_a_publish_var_is_still_checked_when_nothing_publishes(tmp_path: Path) -> None:
    from runner.api import build
    from runner.errors import ProjectError
    project = _one_model_project(tmp_path / "p")
    with pytest.raises(ProjectError, match="publish_grace_minutes"):
        build(project, db_path=tmp_path / "p.duckdb", vars={"publish_grace_minutes": -1})
    outside = tmp_path / "served"      # a publish_dir elsewhere is opened to DuckDB
    outside.mkdir()
    (project / "models" / "two.sql").write_text(
        f"{{{{ config(post_hook=\"copy (select 2 as id) to '{outside}/two.csv'\") }}}}\n"
        "select 2 as id\n")
    db = tmp_path / "db" / "p.duckdb"       # the database's folder is open anyway
    assert not build(project, db_path=db).ok
    result = build(project, db_path=db, vars={"publish_dir": str(outside)})
    assert result.ok, result.summary()
    assert (outside / "two.csv").read_text().split() == ["id", "2"]


def test_yaml_read_by_libyaml_as_by_pyyaml_s_own_parser(tmp_path: Path) -> None:
    import yaml
    from runner.errors import ProjectError
    from runner.project.properties import read_yaml_lines
    path = tmp_path / "schema.yml"
    path.write_text("version: 2\nmodels:\n  - name: one\n    config: {materialized: table}\n"
                    "    columns:\n      - name: id\n        data_tests: [unique]\n"
                    "        meta: {at: 2024-01-01, n: 1.5, 'yes': yes}\n", encoding="utf-8")
    doc, lines = read_yaml_lines(path)
    loader = yaml.SafeLoader(path.read_text())
    assert doc == loader.get_single_data()
    assert lines[("models", 0, "columns", 0, "name")] == 6
    assert lines[("models", 0, "columns", 0, "meta", "at")] == 8
    path.write_text("models:\n  - name: one\n    description: a: b\n", encoding="utf-8")
    with pytest.raises(ProjectError) as raised:
        read_yaml_lines(path)
    assert "mapping values are not allowed here" in str(raised.value)    # PyYAML's words
    assert raised.value.line == 3
