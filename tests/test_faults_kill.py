"""Killed mid-build: SIGKILL a `runner build` at varied moments; every report table is
then the previous complete version or the new complete version, never a mix, and the
next build succeeds and equals a clean build."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from cpo.sample import generate

# minutes: ten builds killed at varied moments, and the builds that put the previous
# version back (marker `slow`, run by CI after the default run)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TABLES = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
          "audit.rejected_sessions", "audit.reconciliation", "audit.reconciliation_files"]
TRIALS = int(os.environ.get("KILL_TRIALS", "10"))
SESSIONS = int(os.environ.get("KILL_SESSIONS", "20000"))
VARS = "{report_time: '2025-06-01T00:00:00Z'}"


def signatures(db: Path) -> dict[str, tuple]:
    """Row count and an order-free hash of every row (but _built_at, when the row was
    written), per table."""
    rows = "(select columns(lambda c: c <> '_built_at') from {})"
    with duckdb.connect(str(db)) as con:          # read-write: replays a WAL if one is left
        return {t: tuple(con.execute(f"select count(*), bit_xor(hash(x)) from "
                                     f"{rows.format(t)} x").fetchall()[0]) for t in TABLES}


def start_build(raw: Path, db: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", "build", "--project-dir",
                             str(ROOT), "--raw-dir", str(raw), "--db", str(db), "--vars", VARS],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err


def test_sigkill_mid_build_leaves_old_or_new_tables(tmp_path: Path) -> None:
    full = tmp_path / "raw"
    generate(full, SESSIONS, seed=5)
    # The previous version: the same landing zone without its first month of sessions.
    previous = tmp_path / "raw_previous"
    shutil.copytree(full, previous)
    first_month = sorted((previous / "charging_sessions").glob("*.parquet"))[0]
    first_month.unlink()

    clean = tmp_path / "clean.duckdb"
    started = time.perf_counter()
    finish(start_build(full, clean))
    build_seconds = time.perf_counter() - started
    new = signatures(clean)

    db = tmp_path / "work.duckdb"
    finish(start_build(previous, db))
    old = signatures(db)
    assert all(old[t] != new[t] for t in TABLES[:3]), "the two versions must differ"

    rng = random.Random(11)
    seen = {"old": 0, "new": 0}
    for trial in range(TRIALS):
        proc = start_build(full, db)
        # The kills spread over twice a clean build's time, one in each of TRIALS equal
        # slices at a random point of it: an incremental build after a switch of landing
        # zone can take longer, and some kills should land after it is done.
        time.sleep(0.05 + build_seconds * 2.0 * (trial + rng.random()) / TRIALS)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        current = signatures(db)
        for table in TABLES:
            assert current[table] in (old[table], new[table]), \
                f"trial {trial}: {table} is neither the previous nor the new version"
            seen["old" if current[table] == old[table] else "new"] += 1
        # Put the previous version back now and then, so later kills hit it again.
        if trial % 4 == 3:
            finish(start_build(previous, db))
    finish(start_build(full, db))
    assert signatures(db) == new
    assert seen["new"] > 0 and seen["old"] > 0    # kills landed before and after commits
