"""Exporting the report tables as Hive-partitioned Parquet: by organisation_id, and by
month, which for the CPO view (no month column) is the start's month in the owning
organisation's time zone, and for the roaming view its month column: one key, `month`,
written `YYYY-MM` for both."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from cpo.sample import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    generate(tmp / "raw", 1500, seed=9)
    path = tmp / "x.duckdb"
    proc = subprocess.run([sys.executable, "-m", "runner", "build", "--project-dir", str(ROOT),
                           "--raw-dir", str(tmp / "raw"), "--db", str(path), "--vars",
                           "{report_time: '2025-01-01T00:00:00Z'}"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return path


def export(db: Path, model: str, out: Path, column: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "runner", "export", model, "--project-dir",
                           str(ROOT), "--db", str(db), "--out", str(out), "--partition-by",
                           column], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cpo_view_by_local_month(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "by_month"
    export(db, "charging_sessions_cpo", out, "month")
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        zones = dict(con.execute("select organisation_id, timezone_name from "
                                 "intermediate.int_organisations_validated").fetchall())
        table = con.execute("select charge_id, organisation_id, start_time "
                            "from reports.charging_sessions_cpo").fetchall()
    exported = dict(duckdb.sql(f"select charge_id, month from read_parquet('{out}/**/*.parquet', "
                               "hive_partitioning = true)").fetchall())
    assert len(exported) == len(table) > 0
    for charge_id, org, start in table:
        assert exported[charge_id] == start.astimezone(ZoneInfo(zones[org])).strftime("%Y-%m")
    assert any(start.strftime("%Y-%m") != exported[c] for c, _, start in table), \
        "the sample should hold sessions whose UTC and local months differ"


def test_roaming_view_by_month_and_cpo_view_by_organisation(db: Path, tmp_path: Path) -> None:
    export(db, "roaming_sessions_cpo", tmp_path / "roaming", "month")
    export(db, "charging_sessions_cpo", tmp_path / "orgs", "organisation_id")
    with duckdb.connect(str(db), read_only=True) as con:
        orgs = dict(con.execute("select organisation_id, count(*) from "
                                "reports.charging_sessions_cpo group by 1").fetchall())
        roaming = con.execute("select count(*) from reports.roaming_sessions_cpo").fetchall()
    assert sorted(p.name for p in (tmp_path / "orgs").iterdir()) == \
        sorted(f"organisation_id={o}" for o in orgs)
    assert duckdb.sql(f"select count(*) from read_parquet('{tmp_path}/roaming/**/*.parquet')"
                      ).fetchall() == roaming


def test_both_reports_partition_by_month_as_yyyy_mm_text(db: Path, tmp_path: Path) -> None:
    folders, types = {}, {}
    for model in ("charging_sessions_cpo", "roaming_sessions_cpo"):
        out = tmp_path / model
        export(db, model, out, "month")
        folders[model] = sorted(p.name for p in out.iterdir())
        assert folders[model], model
        assert all(re.fullmatch(r"month=\d{4}-\d{2}", name) for name in folders[model]), \
            (model, folders[model])
        types[model] = duckdb.sql(f"select distinct typeof(month) from read_parquet("
                                  f"'{out}/**/*.parquet', hive_partitioning = true)"
                                  ).fetchall()
    assert types["charging_sessions_cpo"] == types["roaming_sessions_cpo"] == [("VARCHAR",)]
    # the roaming view's months are months of the CPO view (its rows are a subset)
    assert set(folders["roaming_sessions_cpo"]) <= set(folders["charging_sessions_cpo"])
    with duckdb.connect(str(db), read_only=True) as con:
        months = con.execute("select distinct strftime(month, 'month=%Y-%m') "
                             "from reports.roaming_sessions_cpo order by 1").fetchall()
    assert [m for m, in months] == folders["roaming_sessions_cpo"]
