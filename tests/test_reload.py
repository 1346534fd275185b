"""A raw file already loaded that changes (appended to, rewritten, shrunk, replaced: another
size or modification time) is reloaded by an ordinary incremental build: its previously
loaded rows are replaced by its current ones, and every report and audit table equals a
--full-refresh build row for row. And audit.reconciliation_files sees a gap between what
the raw files hold now and what staging loaded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest_reports import (ROOT, SESSION_COLUMNS, empty_zone, write_csv, write_ndjson,
                              write_parquet)
from runner.api import build, execute
from test_incremental import (S, VARS, base_sessions, build_ok, cpo, differences,
                              first_drop, rows, write_drop)

SESSIONS = "charging_sessions"


def landed(tmp_path: Path) -> tuple[Path, Path]:
    """The small zone of test_incremental, built once incrementally."""
    raw = empty_zone(tmp_path / "raw")
    write_drop(raw, first_drop())
    db = tmp_path / "inc.duckdb"
    build_ok(raw, db)
    return raw, db


def assert_equals_a_full_refresh(raw: Path, db: Path, tmp_path: Path) -> None:
    full = tmp_path / "full.duckdb"
    full.unlink(missing_ok=True)
    build_ok(raw, full, full_refresh=True)
    assert differences(db, full) == {}


def later_mtime(path: Path, seconds: int = 5) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def reported(db: Path) -> list[str]:
    return [r[0] for r in rows(db, "select charge_id from reports.charging_sessions_cpo "
                                   "order by 1")]


def test_a_new_version_and_a_new_session_appended_to_a_loaded_csv(tmp_path: Path) -> None:
    raw, db = landed(tmp_path)
    assert cpo(db, "c1", "cast(price as varchar)") == ("12.4000",)
    newer_c1 = dict(base_sessions()[0], stop_time="2024-05-10T11:30:00Z",
                    meter_stop_wh=9500, price="15.00", updated_at="2024-05-11T00:00:00Z")
    c8 = S("c8", "st2", "2024-08-05T10:00:00Z", "2024-08-05T11:00:00Z", 0, 700, "3.00",
           charge_method="app", billing_type="prepaid", transaction_id="t8")
    write_csv(raw / SESSIONS / "sessions_1.csv", base_sessions() + [newer_c1, c8],
              SESSION_COLUMNS)                       # the same file, two rows longer
    result = build_ok(raw, db)
    [note] = result.notes                                 # and the build says so
    assert "raw.charging_sessions: 1 file(s) changed" in note
    assert str(raw / SESSIONS / "sessions_1.csv") in note
    assert cpo(db, "c1", "cast(price as varchar), energy_wh") == ("15.0000", 8500)
    assert cpo(db, "c8", "cast(price as varchar)") == ("3.0000",)
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_rewritten_parquet_file_is_reloaded(tmp_path: Path) -> None:
    raw = empty_zone(tmp_path / "raw")
    drop = dict(first_drop())
    del drop[(SESSIONS, "sessions_1.csv")]
    write_drop(raw, drop)
    parquet = raw / SESSIONS / "sessions.parquet"
    write_parquet(parquet, base_sessions(), SESSION_COLUMNS)
    db = tmp_path / "inc.duckdb"
    build_ok(raw, db)
    changed = base_sessions()
    changed[1] = dict(changed[1], price="7.77", updated_at="2024-06-12T00:00:00Z")
    changed[2] = S("c9", "st2", "2024-07-02T10:00:00Z", "2024-07-02T10:30:00Z", 100, 900,
                   "2.00", charge_method="app", billing_type="postpaid", transaction_id="t9")
    write_parquet(parquet, changed, SESSION_COLUMNS)      # c3 gone, c2 repriced, c9 new
    later_mtime(parquet)
    build_ok(raw, db)
    assert reported(db) == ["c1", "c2", "c9"]
    assert cpo(db, "c2", "cast(price as varchar)") == ("7.7700",)
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_shrunk_ndjson_file_is_reloaded(tmp_path: Path) -> None:
    raw, db = landed(tmp_path)
    extra = [S("c4", "st2", "2024-08-01T10:00:00Z", "2024-08-01T11:00:00Z", 0, 500, "2.00",
               charge_method="app", billing_type="prepaid", transaction_id="t4"),
             S("c5", "st2", "2024-08-02T10:00:00Z", "2024-08-02T11:00:00Z", 0, 600, "2.50",
               charge_method="app", billing_type="prepaid", transaction_id="t5")]
    ndjson = raw / SESSIONS / "extra.ndjson"
    write_ndjson(ndjson, extra)
    build_ok(raw, db)
    assert reported(db) == ["c1", "c2", "c3", "c4", "c5"]
    write_ndjson(ndjson, extra[:1])                       # c5 no longer in the file
    build_ok(raw, db)
    assert reported(db) == ["c1", "c2", "c3", "c4"]
    assert rows(db, "select count(*) from audit.rejected_sessions") == [(0,)]
    assert_equals_a_full_refresh(raw, db, tmp_path)
    write_ndjson(ndjson, [])                              # emptied: every session gone
    build_ok(raw, db)
    assert reported(db) == ["c1", "c2", "c3"]
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_file_replaced_by_other_content_of_the_same_size(tmp_path: Path) -> None:
    raw, db = landed(tmp_path)
    csv = raw / SESSIONS / "sessions_1.csv"
    size = csv.stat().st_size
    replaced = base_sessions()
    replaced[2] = dict(replaced[2], price="4.00")        # "1.00" -> "4.00": same size
    write_csv(csv, replaced, SESSION_COLUMNS)
    assert csv.stat().st_size == size
    later_mtime(csv)
    build_ok(raw, db)
    assert cpo(db, "c3", "cast(price as varchar)") == ("4.0000",)
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_file_appended_to_with_its_modification_time_kept(tmp_path: Path) -> None:
    """Copies that keep times (cp -p, rsync -t, an unpacked archive) can land a longer
    file with the old modification time: the size alone says it changed."""
    raw, db = landed(tmp_path)
    csv = raw / SESSIONS / "sessions_1.csv"
    before = csv.stat()
    c8 = S("c8", "st2", "2024-08-05T10:00:00Z", "2024-08-05T11:00:00Z", 0, 700, "3.00",
           charge_method="app", billing_type="prepaid", transaction_id="t8")
    write_csv(csv, base_sessions() + [c8], SESSION_COLUMNS)
    os.utime(csv, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert csv.stat().st_size != before.st_size
    build_ok(raw, db)
    assert "c8" in reported(db)
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_file_changed_while_its_build_failed_is_reloaded_by_the_next(tmp_path: Path) -> None:
    """The file is checked (and the check recorded) in a build that does not load it: the
    next build still reloads it."""
    raw, db = landed(tmp_path)
    csv = raw / SESSIONS / "sessions_1.csv"
    newer_c3 = dict(base_sessions()[2], price="6.00", updated_at="2024-07-02T00:00:00Z")
    write_csv(csv, base_sessions() + [newer_c3], SESSION_COLUMNS)
    result = build(ROOT, raw_dir=raw, db_path=db, vars=VARS,
                   select=["stg_raw__charging_sessions"])     # checks the file, no reload
    assert result.ok, result.summary()
    build_ok(raw, db)
    assert cpo(db, "c3", "cast(price as varchar)") == ("6.0000",)
    assert_equals_a_full_refresh(raw, db, tmp_path)


# -- the reconciliation of raw files -----------------------------------------------------

def file_gaps(db: Path) -> list[tuple]:
    return rows(db, "select parse_filename(_source_file), raw_rows, loaded_rows "
                    "from audit.reconciliation_files where not is_reconciled order by 1")


def failed_nodes(result) -> list[str]:
    return sorted(n.name for n in result.nodes if n.status in ("fail", "error"))


def test_reconciliation_files_counts_each_file_and_holds_after_a_reload(
        tmp_path: Path) -> None:
    raw, db = landed(tmp_path)
    assert rows(db, "select parse_filename(_source_file), raw_rows, loaded_rows, "
                    "is_reconciled from audit.reconciliation_files") == \
        [("sessions_1.csv", 3, 3, True)]
    c8 = S("c8", "st2", "2024-08-05T10:00:00Z", "2024-08-05T11:00:00Z", 0, 700, "3.00",
           charge_method="app", billing_type="prepaid", transaction_id="t8")
    write_csv(raw / SESSIONS / "sessions_1.csv", base_sessions() + [c8], SESSION_COLUMNS)
    build_ok(raw, db)
    assert rows(db, "select raw_rows, loaded_rows, is_reconciled "
                    "from audit.reconciliation_files") == [(4, 4, True)]


def test_reconciliation_flags_a_changed_file_staging_did_not_reload(tmp_path: Path) -> None:
    """The file grows, but only the audit models are built: staging still holds the file
    as it was, and the reconciliation of raw files says so (its data test fails)."""
    raw, db = landed(tmp_path)
    c8 = S("c8", "st2", "2024-08-05T10:00:00Z", "2024-08-05T11:00:00Z", 0, 700, "3.00",
           charge_method="app", billing_type="prepaid", transaction_id="t8")
    write_csv(raw / SESSIONS / "sessions_1.csv", base_sessions() + [c8], SESSION_COLUMNS)
    result = build(ROOT, raw_dir=raw, db_path=db, vars=VARS,
                   select=["reconciliation_files"])
    assert not result.ok
    assert failed_nodes(result) == ["expression_is_true_reconciliation_files"]
    assert file_gaps(db) == [("sessions_1.csv", 4, 3)]
    # same rows, another modification time: still a gap (staging loaded another version)
    write_csv(raw / SESSIONS / "sessions_1.csv", base_sessions(), SESSION_COLUMNS)
    later_mtime(raw / SESSIONS / "sessions_1.csv")
    result = build(ROOT, raw_dir=raw, db_path=db, vars=VARS,
                   select=["reconciliation_files"])
    assert not result.ok and file_gaps(db) == [("sessions_1.csv", 3, 3)]
    build_ok(raw, db)                                     # the build reloads it
    assert file_gaps(db) == []


def test_reconciliation_flags_tampered_records(tmp_path: Path) -> None:
    """In copies of a built database: the recorded row count of a raw file, or the rows
    staging loaded from it, no longer match what the file holds: each fails to
    reconcile."""
    raw, db = landed(tmp_path)
    counted = tmp_path / "counted.duckdb"
    shutil.copy(db, counted)
    with duckdb.connect(str(counted)) as con:
        con.execute("update _runner.source_file_checks set row_count = row_count + 1 "
                    "where path like '%sessions_1.csv'")
    result = build(ROOT, raw_dir=raw, db_path=counted, vars=VARS)
    assert failed_nodes(result) == ["expression_is_true_reconciliation_files"]
    assert file_gaps(counted) == [("sessions_1.csv", 4, 3)]

    loaded = tmp_path / "loaded.duckdb"
    shutil.copy(db, loaded)
    with duckdb.connect(str(loaded)) as con:
        con.execute("delete from staging.stg_raw__charging_session_versions "
                    "where session_key = 'c2'")
    # an hourly build compares the counts recorded when staging loaded the file; the
    # tests over every row count the raw files and staging's rows themselves
    result = execute("test", ROOT, raw_dir=raw, db_path=loaded,
                     vars={**VARS, "test_all_rows": True})
    assert "assert_raw_file_rows_loaded" in failed_nodes(result)
    # and so does a full refresh of the reconciliation of raw files
    result = build(ROOT, raw_dir=raw, db_path=loaded, vars=VARS, full_refresh=True,
                   select=["reconciliation_files"])
    assert failed_nodes(result) == ["expression_is_true_reconciliation_files"]
    assert file_gaps(loaded) == [("sessions_1.csv", 3, 2)]


TEXT_COLUMNS = ["created_at", "start_time", "stop_time", "meter_start_wh", "meter_stop_wh",
                "price", "updated_at"]
EARLIER_SHAPES = {
    # charge_id stored beside session_key (before _charge_id_missing)
    "charge_id": ["alter table {t} drop column _charge_id_missing",
                  "alter table {t} add column charge_id varchar",
                  "update {t} set charge_id = session_key where not _is_tombstone"],
    # each value's text in a column of its own (before _texts)
    "text_columns": ["alter table {t} drop column _texts"] +
                    [f"alter table {{t}} add column {c}_text varchar" for c in TEXT_COLUMNS],
}


@pytest.mark.parametrize("shape", sorted(EARLIER_SHAPES))
def test_a_versions_table_of_an_earlier_shape_asks_for_a_full_refresh(tmp_path: Path,
                                                                       shape: str) -> None:
    """A database whose session versions have an earlier shape (charge_id stored beside
    session_key; each value's text in a column of its own): the next build stops on the
    versions model with the message to rebuild once with --full-refresh, and builds
    nothing from it; the full refresh then equals a fresh one."""
    raw, db = landed(tmp_path)
    with duckdb.connect(str(db)) as con:
        for statement in EARLIER_SHAPES[shape]:
            con.execute(statement.format(t="staging.stg_raw__charging_session_versions"))
    result = build(ROOT, raw_dir=raw, db_path=db, vars=VARS)
    assert failed_nodes(result) == ["stg_raw__charging_session_versions"]
    [failed] = [n for n in result.nodes if n.status == "error"]
    assert "rebuild it once with --full-refresh" in failed.message
    assert not [n for n in result.nodes
                if n.name == "int_sessions_priced" and n.status == "success"]
    build_ok(raw, db, full_refresh=True)
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_column_the_model_no_longer_returns_stops_its_incremental_build(
        tmp_path: Path) -> None:
    """A table holding a column its model no longer returns (int_sessions_priced built
    before it stopped storing country_code): the next build stops on that model, saying
    which column and to rebuild once with --full-refresh, leaves its table as it was and
    builds nothing from it; the full refresh then equals a fresh one."""
    raw, db = landed(tmp_path)
    table = "intermediate.int_sessions_priced"
    with duckdb.connect(str(db)) as con:
        con.execute(f"alter table {table} add column country_code varchar")
        before = con.execute(f"select count(*), max(_built_at) from {table}").fetchone()
    result = build(ROOT, raw_dir=raw, db_path=db, vars=VARS)
    assert failed_nodes(result) == ["int_sessions_priced"]
    [failed] = [n for n in result.nodes if n.status == "error"]
    assert "no longer returns column country_code" in failed.message
    assert "rebuild it once with --full-refresh" in failed.message.lower()
    assert not [n for n in result.nodes
                if n.name == "charging_sessions_cpo" and n.status == "success"]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(f"select count(*), max(_built_at) from {table}").fetchone() == before
    build_ok(raw, db, full_refresh=True)
    assert_equals_a_full_refresh(raw, db, tmp_path)


def test_a_price_written_as_prices_are_keeps_no_text_and_rejected_rows_show_it(
        tmp_path: Path) -> None:
    """Staging keeps a raw value's text only where it is not the value's own: a price
    arriving as '8.56' (two decimals, as prices are written) stores none, and a rejected
    row still shows '8.56'; '8.5' and a Parquet DECIMAL(18,4)'s '8.5600' keep theirs."""
    raw = empty_zone(tmp_path / "raw")
    drop = dict(first_drop())
    drop[(SESSIONS, "sessions_1.csv")] = base_sessions() + [
        S("r1", "st404", "2024-05-10T10:00:00Z", "2024-05-10T11:00:00Z", 0, 100, "8.56"),
        S("r2", "st404", "2024-05-10T10:00:00Z", "2024-05-10T11:00:00Z", 0, 100, "8.5")]
    write_drop(raw, drop)
    typed = [S("r3", "st404", "2024-05-10T10:00:00Z", "2024-05-10T11:00:00Z", 0, 100,
               "8.56")]
    write_parquet(raw / SESSIONS / "typed.parquet", typed, SESSION_COLUMNS)
    with duckdb.connect() as con:       # the price column typed DECIMAL(18,4)
        path = raw / SESSIONS / "typed.parquet"
        con.execute(f"copy (select * replace (cast(price as decimal(18, 4)) as price) "
                    f"from '{path}') to '{path}.tmp' (format parquet)")
    os.replace(f"{path}.tmp", path)
    db = tmp_path / "inc.duckdb"
    build_ok(raw, db)
    texts = dict(rows(db, "select session_key, _texts['price'] "
                          "from staging.stg_raw__charging_session_versions"))
    assert texts["c1"] is None and texts["r1"] is None          # '12.40', '8.56'
    assert texts["r2"] == "8.5" and texts["r3"] == "8.5600"
    shown = dict(rows(db, "select session_key, price_raw from audit.rejected_sessions"))
    assert shown == {"r1": "8.56", "r2": "8.5", "r3": "8.5600"}
