"""The DuckDB file: one writer at a time, a clear message when another process holds
it, UTC sessions and file access limited to the project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runner.api import build
from runner.engines.duckdb import connect
from runner.errors import DatabaseError

HOLD = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)")


@pytest.fixture
def built(make_project) -> Path:
    root = make_project({
        "models/t.sql": "{{ config(materialized='table') }}\nselect 1 as x",
    })
    assert build(root, db_path=root / "db.duckdb").ok
    (root / "models" / "t.sql").write_text("{{ config(materialized='table') }}\nselect 2 as x")
    return root


def test_a_database_held_by_another_process_is_named_with_its_pid(built: Path, query) -> None:
    db = built / "db.duckdb"
    results = built / "target" / "run_results.json"
    before = results.read_text()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = subprocess.run([sys.executable, "-m", "runner.cli", "build", "--project-dir",
                               str(built), "--db", str(db)],
                              capture_output=True, text=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 3
    assert str(db) in proc.stderr
    assert f"process {holder.pid}" in proc.stderr
    assert "nothing was changed" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert results.read_text() == before
    assert query(db, "select x from t") == [(1,)]


def test_connect_raises_database_error_on_a_held_file(built: Path) -> None:
    db = built / "db.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseError) as info:
            connect(db)
    finally:
        holder.kill()
        holder.wait()
    assert info.value.exit_code == 3
    assert str(holder.pid) in str(info.value)


def test_a_file_that_is_not_a_database_is_a_clear_error(make_project) -> None:
    root = make_project({"models/m.sql": "select 1 as x"})
    bogus = root / "not.duckdb"
    bogus.write_text("this is not a database\n" * 100)
    with pytest.raises(DatabaseError) as info:
        build(root, db_path=bogus)
    assert str(bogus) in str(info.value)
    assert bogus.read_text().startswith("this is not a database")


def test_reading_a_missing_database_does_not_create_it(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        connect(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_sessions_are_utc_and_files_are_limited(tmp_path: Path) -> None:
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "ok.csv").write_text("a\n1\n")
    (tmp_path / "outside.csv").write_text("a\n2\n")
    con = connect(tmp_path / "inside" / "db.duckdb", allowed_dirs=[tmp_path / "inside"])
    try:
        assert con.execute("select current_setting('TimeZone')").fetchone() == ("UTC",)
        assert con.execute(f"select a from read_csv('{tmp_path}/inside/ok.csv')"
                           ).fetchall() == [(1,)]
        with pytest.raises(Exception, match="(?i)permission|not allowed|access"):
            con.execute(f"select * from read_csv('{tmp_path}/outside.csv')").fetchall()
    finally:
        con.close()


def test_a_memory_limit_too_low_to_open_the_file_says_so(tmp_path: Path) -> None:
    import duckdb
    path = tmp_path / "x.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select range as i from range(100000)")
    with pytest.raises(DatabaseError) as caught:
        connect(path, memory_limit="100KB")
    assert "--memory-limit 100KB is too low to open the database file" in str(caught.value)
    assert "not a memory size" not in str(caught.value)
    assert "raise --memory-limit" in caught.value.hint


def test_vacuum_merges_the_row_groups_deletes_left_partly_empty(tmp_path: Path, cli,
                                                                 make_project) -> None:
    """Incremental builds skip DuckDB's vacuum; `runner vacuum` runs it: row groups
    that lost most of their rows are merged, and the rows stay as they were."""
    import duckdb
    db = tmp_path / "x.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("set max_vacuum_tasks = 0")
        con.execute("create table t as select range as i, 'v' || range as s "
                    "from range(1000000)")
        con.execute("checkpoint")
        con.execute("delete from t where i % 10 <> 0")     # 90 % of every row group
        con.execute("checkpoint")
        groups_before = con.execute("select count(distinct row_group_id) "
                                    "from pragma_storage_info('t')").fetchone()[0]
        rows_before = con.execute("select count(*), sum(i) from t").fetchone()
    root = make_project({"models/m.sql": "select 1 as x"})
    code, out, err = cli("vacuum", "--project-dir", str(root), "--db", str(db))
    assert code == 0, err
    assert out.startswith("vacuumed in ")
    with duckdb.connect(str(db), read_only=True) as con:
        groups_after = con.execute("select count(distinct row_group_id) "
                                   "from pragma_storage_info('t')").fetchone()[0]
        assert con.execute("select count(*), sum(i) from t").fetchone() == rows_before
    assert groups_before >= 8 and groups_after <= 2


def test_vacuum_of_a_missing_file_says_so(tmp_path: Path, cli, make_project) -> None:
    root = make_project({"models/m.sql": "select 1 as x"})
    code, out, err = cli("vacuum", "--project-dir", str(root),
                         "--db", str(tmp_path / "none.duckdb"))
    assert code == 3                  # a database error, as for show and export
    assert "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "none.duckdb").exists()
