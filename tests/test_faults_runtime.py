"""Faults around a build: a second build on a held file, an export that runs out of
space, a model that reaches outside the project for a file."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from runner.api import build
from runner.errors import SqlSyntaxError

RUNNER = [sys.executable, "-m", "runner"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "models" / "numbers.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select i, md5(cast(i as varchar)) as h, i % 12 as month from range(200000) t(i)\n")
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    return root


def test_second_build_on_a_held_file_stops_at_once(project: Path) -> None:
    db = project / "db.duckdb"
    results = project / "target" / "runner_results.json"
    before_results = results.read_text()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(30)", str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.perf_counter()
        proc = subprocess.run(RUNNER + ["build", "--project-dir", str(project), "--db",
                                        str(db)], capture_output=True, text=True, timeout=60)
        elapsed = time.perf_counter() - started
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 3
    assert str(db) in proc.stderr
    assert f"process {holder.pid}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert elapsed < 10
    assert results.read_text() == before_results       # the run wrote nothing
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from main.numbers").fetchone()[0] == 200000


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # writes fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


@pytest.mark.parametrize("partition", [False, True])
def test_export_that_runs_out_of_space_leaves_nothing(project: Path, tmp_path: Path,
                                                      partition: bool) -> None:
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    out = out_dir / ("numbers" if partition else "numbers.parquet")
    args = ["export", "numbers", "--out", str(out), "--project-dir", str(project),
            "--db", str(project / "db.duckdb")] + (["--partition-by", "month"] if partition
                                                   else [])
    proc = subprocess.run(RUNNER + args, capture_output=True, text=True,
                          preexec_fn=_limit_file_size, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert str(out) in proc.stderr
    assert list(out_dir.iterdir()) == []               # no file, no temporary left over
    # Without the limit the same export succeeds and is complete.
    proc = subprocess.run(RUNNER + args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pattern = f"{out}/**/*.parquet" if partition else str(out)
    count = duckdb.sql(f"select count(*) from read_parquet('{pattern}')").fetchall()[0][0]
    assert count == 200000


def test_export_replaces_an_old_file_only_when_complete(project: Path, tmp_path: Path
                                                        ) -> None:
    out = tmp_path / "numbers.parquet"
    out.write_bytes(b"previous complete export")
    proc = subprocess.run(RUNNER + ["export", "numbers", "--out", str(out), "--project-dir",
                                    str(project), "--db", str(project / "db.duckdb")],
                          capture_output=True, text=True, preexec_fn=_limit_file_size)
    assert proc.returncode != 0
    assert out.read_bytes() == b"previous complete export"


def test_model_reading_outside_the_project_fails_clearly(project: Path, tmp_path: Path
                                                         ) -> None:
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("a\n1\n")
    (project / "models" / "peek.sql").write_text(
        f"select * from read_csv('{secret}')\n")
    result = build(project, db_path=project / "db.duckdb")
    peek = next(n for n in result.nodes if n.name == "peek")
    assert peek.status == "error"
    assert "secret.csv" in peek.message and "peek" in peek.message
    assert json.loads((project / "target" / "runner_results.json").read_text())["ok"] is False
    with duckdb.connect(str(project / "db.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.tables "
                           "where table_name = 'peek'").fetchone()[0] == 0


def test_model_that_is_not_one_select_runs_nothing(project: Path, tmp_path: Path) -> None:
    target = tmp_path / "leak.csv"
    (project / "models" / "leak.sql").write_text(
        f"select 1 as x; copy (select 1) to '{target}'\n")
    with pytest.raises(SqlSyntaxError) as caught:
        build(project, db_path=project / "db.duckdb")
    assert "leak" in str(caught.value) and "2 SQL statements" in str(caught.value)
    assert not target.exists()
