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


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory):
    """One local SparkSession (local[2]) for the whole test run (marker `spark`): the
    runner's `--target spark` takes this process's active session, as dbt-spark's
    `method: session` does. Skipped, saying why, where pyspark or Java is missing."""
    import os
    import shutil
    import time as _time
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install "
                                          "'.[dev]')")
    if not shutil.which("java"):
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)")
    os.environ["TZ"] = "UTC"        # Spark's timestamps reach Python in local time
    _time.tzset()
    from pyspark.sql import SparkSession
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    spark = (SparkSession.builder.master("local[2]").appName("runner-tests")
             .config("spark.sql.warehouse.dir", str(warehouse))
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.default.parallelism", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test that used a Spark Connect server (tests/test_spark_connect.py)
    shows the server's last log lines."""
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("connect_server")
    if report.failed and server is not None:
        report.sections.append(("Spark Connect server log (last lines)", server.tail()))
