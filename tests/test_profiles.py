"""--target and profiles.yml as dbt's (runner.engines.profiles): no Spark needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engines.profiles import resolve_target
from runner.errors import ProjectError

PROFILES = """
proj:
  target: dev
  outputs:
    dev: {type: duckdb, path: other.duckdb}
    local: {type: spark, method: session, master: "local[1]"}
    cluster: {type: spark, method: connect, host: "sc://spark.example:15002"}
"""


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(text, encoding="utf-8")
    return folder


def test_targets_of_a_profiles_file(tmp_path: Path) -> None:
    write(tmp_path, PROFILES)
    dev = resolve_target(tmp_path)
    assert (dev.name, dev.type, dev.path) == ("dev", "duckdb", "other.duckdb")
    local = resolve_target(tmp_path, "local")
    assert (local.type, local.method, local.master) == ("spark", "session", "local[1]")
    cluster = resolve_target(tmp_path, "cluster")
    assert (cluster.method, cluster.host) == ("connect", "sc://spark.example:15002")


def test_without_profiles_spark_is_a_local_session(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    target = resolve_target(tmp_path, "spark")
    assert (target.type, target.method, target.master) == ("spark", "session", "local[2]")
    assert resolve_target(tmp_path).type == "duckdb"
    said: list[str] = []
    assert resolve_target(tmp_path, "prod", warn=said.append).type == "duckdb"
    assert "--target prod is not acted on" in said[0]


def test_profiles_dir_and_env_are_read_first(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "elsewhere", PROFILES.replace("target: dev", "target: local"))
    write(tmp_path / "project", "bad: [")
    assert resolve_target(tmp_path / "project", profiles_dir=tmp_path / "elsewhere"
                          ).type == "spark"
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / "elsewhere"))
    assert resolve_target(tmp_path / "project").name == "local"


@pytest.mark.parametrize("text, words", [
    ("bad: [", ["not valid YAML"]),
    ("proj: {outputs: {dev: {type: postgres}}, target: dev}",
     ["proj.outputs.dev.type", "postgres"]),
    ("proj: {outputs: {dev: {type: duckdb}}, target: prod}", ["no output 'prod'", "dev"]),
    ("proj: {outputs: {dev: {type: spark, method: thrift}}, target: dev}",
     ["proj.outputs.dev.method", "thrift"]),
    ("proj: {outputs: {dev: {type: spark, method: connect, host: localhost}}, "
     "target: dev}", ["proj.outputs.dev.host", "sc://"]),
    ("proj: {outputs: {dev: {type: spark, cluster: x}}, target: dev}",
     ["proj.outputs.dev", "cluster"]),
    ("a: {outputs: {dev: {type: duckdb}}}\nb: {outputs: {dev: {type: duckdb}}}",
     ["2 profiles", "--profile"]),
    ("proj: {outputs: {dev: {type: duckdb}}}", ["no `target:`"]),
])
def test_a_bad_profile_names_the_file_and_key(tmp_path: Path, text: str,
                                              words: list[str]) -> None:
    write(tmp_path, text)
    with pytest.raises(ProjectError) as caught:
        resolve_target(tmp_path)
    message = caught.value.render()
    assert str(tmp_path / "profiles.yml") in message
    for word in words:
        assert word in message, message


def test_cli_bad_profile_exits_2(make_project, cli) -> None:
    root = make_project({"models/a.sql": "select 1 as x",
                         "profiles.yml": "proj: {outputs: {dev: {type: mysql}}, "
                                         "target: dev}"})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "x.duckdb")
    assert code == 2
    assert "profiles.yml" in err and "proj.outputs.dev.type" in err


def test_cli_duckdb_target_of_profile_builds_its_path(make_project, cli) -> None:
    root = make_project({"models/a.sql": "select 1 as x",
                         "profiles.yml": "proj: {outputs: {dev: {type: duckdb, path: "
                                         "built.duckdb}}, target: dev}"})
    code, out, err = cli("build", "--project-dir", root)
    assert code == 0, out + err
    assert (root / "built.duckdb").exists() and not (root / "proj.duckdb").exists()


def test_the_profile_is_dbt_projects_unless_profile_is_given(tmp_path: Path) -> None:
    write(tmp_path, PROFILES + "other:\n  target: s\n  outputs:\n    s: {type: spark}\n")
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: other\n", encoding="utf-8")
    assert resolve_target(tmp_path).type == "spark"
    assert resolve_target(tmp_path, profile="proj").name == "dev"
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: nope\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="no profile 'nope'"):
        resolve_target(tmp_path)


CONNECT = "proj: {{outputs: {{dev: {{type: spark, method: connect, host: " \
          "\"sc://h:15002\"{fields}}}}}, target: dev}}"


def test_connect_retries_and_timeout_are_dbt_sparks_fields(tmp_path: Path) -> None:
    """A Connect target's retry budget (runner.engines.spark.statement_policy): dbt-spark's
    `connect_retries` and `connect_timeout`, by default 8 retries, 10 s at most between."""
    write(tmp_path, CONNECT.format(fields=""))
    target = resolve_target(tmp_path)
    assert (target.connect_retries, target.connect_timeout) == (8, 10)
    write(tmp_path, CONNECT.format(fields=", connect_retries: 0, connect_timeout: 3"))
    target = resolve_target(tmp_path)
    assert (target.connect_retries, target.connect_timeout) == (0, 3)


@pytest.mark.parametrize("fields, words", [
    (", connect_retries: -1", ["proj.outputs.dev.connect_retries", "-1", "whole number"]),
    (", connect_retries: 2.5", ["proj.outputs.dev.connect_retries", "2.5"]),
    (", connect_retries: 'many'", ["proj.outputs.dev.connect_retries", "'many'"]),
    (", connect_retries: true", ["proj.outputs.dev.connect_retries", "True"]),
    (", connect_timeout: -5", ["proj.outputs.dev.connect_timeout", "-5", "seconds"]),
    (", connect_timeout: 10s", ["proj.outputs.dev.connect_timeout", "'10s'"]),
])
def test_a_bad_connect_retry_field_is_a_profile_error(tmp_path: Path, fields: str,
                                                      words: list[str]) -> None:
    write(tmp_path, CONNECT.format(fields=fields))
    with pytest.raises(ProjectError) as caught:
        resolve_target(tmp_path)
    assert caught.value.exit_code == 2
    message = caught.value.render()
    assert str(tmp_path / "profiles.yml") in message
    for word in words:
        assert word in message, message


def test_connect_fields_on_a_session_target_are_refused(tmp_path: Path) -> None:
    """Not silently ignored: a local session has no server to wait on."""
    write(tmp_path, "proj: {outputs: {dev: {type: spark, method: session, "
                    "connect_retries: 3}}, target: dev}")
    with pytest.raises(ProjectError, match=r"dev\.connect_retries` is for method connect"):
        resolve_target(tmp_path)


def test_cli_bad_connect_field_exits_2(make_project, cli) -> None:
    root = make_project({"models/a.sql": "select 1 as x",
                         "profiles.yml": CONNECT.format(fields=", connect_timeout: -1")})
    code, out, err = cli("build", "--project-dir", root)
    assert code == 2, out + err
    assert "profiles.yml" in err and "proj.outputs.dev.connect_timeout" in err
    assert "Traceback" not in err
