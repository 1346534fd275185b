"""Shared fixtures of the runner tests: tiny projects written into tmp_path, the DuckDB
file read back, and the `runner` command run the way the console script runs it."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Callable

import duckdb
import pytest


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """make_project({"models/a.sql": "select 1 as x", ...}) -> the project folder.

    Text is dedented; bytes are written as they are; models/ always exists."""
    def make(files: dict[str, str | bytes], name: str = "proj") -> Path:
        root = tmp_path / name
        (root / "models").mkdir(parents=True, exist_ok=True)
        for rel, content in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return root
    return make


@pytest.fixture
def query() -> Callable[..., list[tuple]]:
    """query(db_path, sql, params) -> all rows, on a read-only connection closed after."""
    def run(db: Path, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
    return run


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """cli("build", "--project-dir", p) -> (exit code, stdout, stderr), through
    runner.cli.main: the same error handling as the installed `runner` command."""
    from runner.cli import main

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["runner", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err
    return run
