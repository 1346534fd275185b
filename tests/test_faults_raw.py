"""Unreadable raw files stop the build before any table changes, with one message that
names the file, the line where known, and the problem."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from runner.api import build
from runner.errors import SourceError

TURKU = Path(__file__).resolve().parents[2] / "shared" / "data" / "public" / "turku-virta" \
    / "Turku Finland 2019.csv"

GOOD_CSV = "charge_id,station_id,price\nc1,s1,10.00\nc2,s1,12.50\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "models" / "_sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: sessions\n"
        "        columns: [{name: charge_id}, {name: station_id}, {name: price}]\n")
    (root / "models" / "sessions.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select charge_id, try_cast(price as decimal(18, 2)) as price\n"
        "from {{ source('raw', 'sessions') }}\n")
    (root / "raw" / "sessions").mkdir(parents=True)
    (root / "raw" / "sessions" / "a.csv").write_text(GOOD_CSV)
    result = build(root, raw_dir=root / "raw", db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    return root


def table_rows(root: Path) -> list[tuple]:
    with duckdb.connect(str(root / "db.duckdb"), read_only=True) as con:
        return con.execute("select * from main.sessions order by charge_id").fetchall()


def fails_cleanly(root: Path, bad: Path, *words: str) -> SourceError:
    before = table_rows(root)
    with pytest.raises(SourceError) as caught:
        build(root, raw_dir=root / "raw", db_path=root / "db.duckdb")
    message = str(caught.value)
    assert str(bad) in message
    for word in words:
        assert word.lower() in message.lower(), message
    assert "Traceback" not in message
    assert table_rows(root) == before          # nothing changed
    return caught.value


def test_truncated_parquet(project: Path, tmp_path: Path) -> None:
    full = tmp_path / "full.parquet"
    duckdb.sql("select 'c3' as charge_id, 's1' as station_id, 1.5 as price "
               "from range(1000)").write_parquet(str(full))
    bad = project / "raw" / "sessions" / "b.parquet"
    bad.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    fails_cleanly(project, bad, "parquet")


def test_iso_8859_1_csv(project: Path) -> None:
    bad = project / "raw" / "sessions" / "b.csv"
    bad.write_bytes("charge_id,station_id,price\nc3,Hämeenkatu 8,1.00\n".encode("latin-1"))
    error = fails_cleanly(project, bad, "UTF-8", "ISO-8859-1")
    assert "iconv" in (error.hint or "")


@pytest.mark.skipif(not TURKU.exists(), reason=f"the platform's own export is not at {TURKU}")
def test_platform_export_semicolons_and_latin1(project: Path) -> None:
    bad = project / "raw" / "sessions" / "turku.csv"
    shutil.copy(TURKU, bad)
    fails_cleanly(project, bad)


def test_semicolon_separated_export(project: Path) -> None:
    bad = project / "raw" / "sessions" / "b.csv"
    bad.write_text("charge_id;station_id;price\nc3;s1;1,00\n")
    error = fails_cleanly(project, bad, "charge_id")
    assert "';'" in (error.hint or "")


def test_wrong_column_count(project: Path) -> None:
    bad = project / "raw" / "sessions" / "b.csv"
    bad.write_text("charge_id,station_id,price\nc3,s1,1.00\nc4,s1,2.00,extra,more\n"
                   + "".join(f"c{i},s1,1.00\n" for i in range(5, 50)))
    fails_cleanly(project, bad, "columns")


def test_broken_ndjson_line(project: Path) -> None:
    bad = project / "raw" / "sessions" / "b.ndjson"
    bad.write_text('{"charge_id": "c3", "station_id": "s1", "price": "1.0"}\n'
                   '{"charge_id": "c4", "station_id": \n'
                   '{"charge_id": "c5", "station_id": "s1", "price": "1.0"}\n')
    error = fails_cleanly(project, bad, "JSON")
    assert error.line == 2


def test_header_missing_required_column(project: Path) -> None:
    bad = project / "raw" / "sessions" / "b.csv"
    bad.write_text("charge_id,price\nc3,1.00\n")
    error = fails_cleanly(project, bad, "station_id")
    assert error.line == 1


def test_cli_prints_one_message_and_no_traceback(project: Path) -> None:
    (project / "raw" / "sessions" / "b.csv").write_text("charge_id,price\nc3,1.00\n")
    proc = subprocess.run([sys.executable, "-m", "runner", "build", "--project-dir",
                           str(project), "--raw-dir", str(project / "raw"), "--db",
                           str(project / "db.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "b.csv" in proc.stderr and "station_id" in proc.stderr


def test_good_files_of_every_format_still_build(project: Path, tmp_path: Path) -> None:
    folder = project / "raw" / "sessions"
    (folder / "b.ndjson").write_text('{"price": 3, "charge_id": "c3", "station_id": "s1", '
                                     '"ignored": true}\n')
    duckdb.sql("select 's2' as station_id, 'c4' as charge_id, 4.25 as price, 1 as extra"
               ).write_parquet(str(folder / "c.parquet"))
    result = build(project, raw_dir=project / "raw", db_path=project / "db.duckdb")
    assert result.ok, result.summary()
    assert [(r[0], float(r[1])) for r in table_rows(project)] == \
        [("c1", 10.0), ("c2", 12.5), ("c3", 3.0), ("c4", 4.25)]
