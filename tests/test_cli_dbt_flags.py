"""The flags dbt users type, from real projects' READMEs, on the commands dbt has them on:
acted on as dbt acts on them, or accepted with a warning saying they are not acted on;
never "No such option"."""

from __future__ import annotations

import json

import pytest

FILES = {"models/a.sql": "{{ config(materialized='table') }}\nselect 1 as x",
         "models/b.sql": "select * from {{ ref('a') }}",
         "seeds/s.csv": "k,v\n1,one\n"}

DBT_FLAGS = ["--profiles-dir", ".", "--target", "dev", "--profile", "proj", "--threads", "2"]


@pytest.mark.parametrize("command, extra", [
    ("build", ["--full-refresh", "-x", "-s", "a", "--exclude", "b"]),
    ("run", ["--full-refresh", "--fail-fast", "--select", "a"]),
    ("seed", ["--full-refresh", "-x", "-s", "s", "--exclude", "a"]),
    ("test", ["-x", "-s", "a"]),
    ("compile", ["--full-refresh", "-x", "-s", "a", "--exclude", "b"]),
    ("ls", ["-x", "-s", "a", "--exclude", "b"]),
    ("list", ["-s", "a"]),
    ("deps", []),
])
def test_dbt_s_flags_are_accepted_and_said_not_acted_on(make_project, cli, command,
                                                        extra) -> None:
    root = make_project(FILES)
    args = [command, "--project-dir", root, "--vars", "{x: 1}", *extra]
    if command != "deps":
        args += ["--target-path", "out"]
    if command in ("build", "run", "seed", "test"):
        args += ["--db", root / "db.duckdb"]
    code, out, err = cli(*args, *DBT_FLAGS[:6 if command in ("compile", "ls", "list",
                                                                "deps") else 8])
    assert "No such option" not in err
    assert code == 0, out + err
    for flag in ("--profiles-dir", "--target", "--profile"):
        assert f"{flag} " in err and "not acted on" in err
    if command in ("build", "run", "seed", "test"):
        # --threads is DuckDB's; --target-path moves target/ as dbt's does
        assert "--threads" not in err
        assert json.loads((root / "out" / "run_results.json").read_text())
        assert not (root / "target" / "run_results.json").exists()
    if command == "compile":
        assert (root / "out" / "compiled").is_dir()


def test_seed_takes_raw_dir_and_full_refresh(make_project, cli, query) -> None:
    root = make_project(FILES)
    raw = root / "raw"
    raw.mkdir()
    code, out, err = cli("seed", "--project-dir", root, "--db", root / "db.duckdb",
                         "--raw-dir", raw, "--full-refresh")
    assert code == 0, out + err
    assert query(root / "db.duckdb", "select * from main.s") == [(1, "one")]


def test_x_stops_at_the_first_failure(make_project, cli) -> None:
    root = make_project({"models/a.sql": "select nope", "models/b.sql": "select 1 as y",
                         "models/c.sql": "select * from {{ ref('b') }}"})
    code, out, err = cli("run", "--project-dir", root, "--db", root / "db.duckdb", "-x")
    assert code == 1
    assert "--fail-fast" in out and "SKIP" in out


def test_select_takes_several_values_after_one_flag_as_dbt(make_project, cli) -> None:
    root = make_project({**FILES, "models/c.sql": "select 3 as z"})
    code, out, err = cli("ls", "--project-dir", root, "--select", "a", "c", "--exclude",
                         "b", "s")
    assert code == 0, err
    assert [line.split()[1] for line in out.splitlines()] == ["a", "c"]
    code, out, err = cli("ls", "--project-dir", root, "-m", "b", "s")     # dbt's old -m
    assert sorted(line.split()[1] for line in out.splitlines()) == ["b", "s"]


def test_compile_accepts_threads(make_project, cli) -> None:
    root = make_project(FILES)
    code, out, err = cli("compile", "--project-dir", root, "--threads", "4")
    assert code == 0, err
    assert "--threads 4 is not acted on" in err


def test_threads_must_be_a_whole_number_of_at_least_one(make_project, cli) -> None:
    root = make_project(FILES)
    for bad in ("0", "two", "-1"):
        code, out, err = cli("build", "--project-dir", root, "--threads", bad)
        assert code == 2, (bad, out, err)
        assert "--threads" in err and "whole number" in err
