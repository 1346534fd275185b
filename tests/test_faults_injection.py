"""Values that reach SQL from the command line stay values: on the real project, a
report_time that tries to end its literal and drop a report table drops nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cpo.sample import generate

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = "x'; drop table reports.charging_sessions_cpo; --"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("injection")
    generate(tmp / "raw", 2000, seed=3)
    db = tmp / "x.duckdb"
    proc = subprocess.run([sys.executable, "-m", "runner", "build", "--project-dir", str(ROOT),
                           "--raw-dir", str(tmp / "raw"), "--db", str(db), "--vars",
                           "{report_time: '2025-01-01T00:00:00Z'}"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    return tmp, db


def count(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from reports.charging_sessions_cpo").fetchall()[0][0]


def test_a_drop_table_in_vars_drops_nothing(built: tuple[Path, Path]) -> None:
    tmp, db = built
    before = count(db)
    proc = subprocess.run([sys.executable, "-m", "runner", "build", "--project-dir", str(ROOT),
                           "--raw-dir", str(tmp / "raw"), "--db", str(db), "--vars",
                           f'{{report_time: "{PAYLOAD}"}}'], capture_output=True, text=True)
    # The value is not an instant: refused before anything runs, naming the var; nothing
    # is dropped.
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "report_time" in proc.stderr and "not an ISO instant" in proc.stderr
    assert count(db) == before
    # And a var's value is escaped at the source, whatever reaches SQL.
    from runner.api import compile_sql
    sql = compile_sql("select '{{ var('report_time') }}' as v", ROOT,
                      vars={"report_time": PAYLOAD})
    assert sql == "select 'x''; drop table reports.charging_sessions_cpo; --' as v"
    assert duckdb.sql(sql).fetchall() == [(PAYLOAD,)]


def test_an_organisation_filter_is_only_ever_a_value(built: tuple[Path, Path]) -> None:
    tmp, db = built
    before = count(db)
    proc = subprocess.run([sys.executable, "-m", "runner", "export", "charging_sessions_cpo",
                           "--project-dir", str(ROOT), "--db", str(db), "--out",
                           str(tmp / "x.parquet"), "--where",
                           "organisation_id = " + "'" + PAYLOAD.replace("'", "''") + "'"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = duckdb.sql(f"select count(*) from read_parquet('{tmp / 'x.parquet'}')"
                      ).fetchall()[0][0]
    assert rows == 0
    proc = subprocess.run([sys.executable, "-m", "runner", "export", "charging_sessions_cpo",
                           "--project-dir", str(ROOT), "--db", str(db), "--out",
                           str(tmp / "y.parquet"), "--where",
                           f"organisation_id = '{PAYLOAD}'"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--where" in proc.stderr
    assert not (tmp / "y.parquet").exists()
    assert count(db) == before
