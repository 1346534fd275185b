"""Incremental builds equal a full refresh: the landing zone arrives as a sequence of
drops (files added to the raw folders, or rows appended to a file already loaded,
possibly out of order: a late stop or price, a counter-charge, a setting, an agreement or
a station logged days late, an older version after a newer one); after building it drop by drop into one database, every report and
audit table equals, row for row (EXCEPT ALL both ways), a --full-refresh build of the
final landing zone into another."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest_reports import (ROOT, SESSION_COLUMNS, TABLES, empty_zone, session,
                              write_csv)
from runner.api import build

REPORT_TIME = "2026-01-01T00:00:00Z"
# No lookback in these tests: what a late row touches must be found without it.
# One reconciliation bucket per session key here ("c1", "c2", ...), so that a build
# that recounts more buckets than it should is seen.
VARS = {"report_time": REPORT_TIME, "incremental_lookback_days": 0,
        "reconciliation_key_prefix_length": 2}
SAMPLED_BUCKETS = {k: v for k, v in VARS.items() if k != "reconciliation_key_prefix_length"}
COMPARED = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
            "audit.rejected_sessions", "audit.reconciliation", "audit.reconciliation_files"]


# -- building drop by drop -------------------------------------------------------------

def build_ok(raw: Path, db: Path, full_refresh: bool = False, vars: dict | None = None,
             **options: Any):
    result = build(ROOT, raw_dir=raw, db_path=db, vars=vars or VARS,
                   full_refresh=full_refresh, **options)
    assert result.ok, result.summary()
    return result


def differences(incremental: Path, full: Path, tables: list[str] = COMPARED,
                ignored: tuple[str, ...] = ("_built_at",)) -> dict[str, tuple[int, int]]:
    """Per table, the rows only in the incremental build and the rows only in the full
    one (EXCEPT ALL both ways); empty when they are equal."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as ref (read_only)")
        out = {}
        # every column but _built_at, the build that wrote the row: that one differs
        cols = f"columns(lambda c: c not in {list(ignored)})"
        for table in tables:
            only_inc = con.execute(f"select count(*) from (select {cols} from inc.{table} "
                                   f"except all select {cols} from ref.{table})").fetchone()[0]
            only_full = con.execute(f"select count(*) from (select {cols} from ref.{table} "
                                    f"except all select {cols} from inc.{table})"
                                    ).fetchone()[0]
            if only_inc or only_full:
                out[table] = (only_inc, only_full)
        return out
    finally:
        con.close()


def rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set timezone = 'UTC'")
        return con.execute(sql).fetchall()


Drop = dict[tuple[str, str], list[dict[str, Any]]]     # (table, file name) -> rows


def write_drop(raw: Path, drop: Drop) -> None:
    for (table, name), table_rows in drop.items():
        columns = SESSION_COLUMNS if table == "charging_sessions" else None
        write_csv(raw / table / name, table_rows, columns)


def build_drops(tmp: Path, drops: list[Drop]) -> tuple[Path, Path]:
    """Each drop written and built incrementally into inc.duckdb; then the final zone
    built with full_refresh into full.duckdb. Returns both, checked equal."""
    raw = empty_zone(tmp / "raw")
    incremental, full = tmp / "inc.duckdb", tmp / "full.duckdb"
    for drop in drops:
        write_drop(raw, drop)
        build_ok(raw, incremental)
    build_ok(raw, full, full_refresh=True)
    assert differences(incremental, full) == {}
    return incremental, full


# -- a small zone for the hand-written cases -------------------------------------------

ORG = {"organisation_id": "org_fi", "name": "Turku Energia", "country": "FI",
       "currency": "EUR", "timezone": "Europe/Helsinki", "is_public": "true",
       "updated_at": "2024-01-01T00:00:00Z"}


def station(station_id: str, organisation_id: str = "org_fi") -> dict[str, Any]:
    return {"station_id": station_id, "evse_id": f"FI*VIR*{station_id}", "name": station_id,
            "organisation_id": organisation_id, "current_type": "AC",
            "location_type": "public", "updated_at": "2024-01-01T00:00:00Z"}


BASE: Drop = {
    ("organisations", "orgs.csv"): [ORG],
    ("stations", "stations.csv"): [station("st1"), station("st2")],
    ("station_roaming_ids", "ids.csv"): [
        {"station_id": "st1", "network": "hubject", "evse_id": "FI*HUB*1"}],
    ("station_settings_log", "log.csv"): [
        {"station_id": "st1", "setting": "free_usage", "value": "false",
         "changed_at": "2024-01-01T00:00:00Z"}],
    ("revenue_share_agreements", "shares.csv"): [
        {"organisation_id": "org_fi", "valid_from": "2024-01-01", "cpo_share_pct": "80"}],
}

S = session


def base_sessions() -> list[dict[str, Any]]:
    return [
        S("c1", "st1", "2024-05-10T10:00:00Z", "2024-05-10T11:00:00Z", 1000, 9000, "12.40",
          charge_method="app", billing_type="prepaid", transaction_id="t1"),
        S("c2", "st1", "2024-06-10T10:00:00Z", "2024-06-10T11:00:00Z", 9000, 12000, "5.00",
          charge_method="rfid", roaming_network="hubject", operator_id="FI*VIR",
          provider_id="DE*8EO", transaction_id="t2"),
        S("c3", "st2", "2024-07-01T10:00:00Z", "2024-07-01T10:30:00Z", 100, 600, "1.00",
          charge_method="app", billing_type="postpaid", transaction_id="t3"),
    ]


def first_drop(**extra: list[dict[str, Any]]) -> Drop:
    drop = dict(BASE)
    drop[("charging_sessions", "sessions_1.csv")] = base_sessions()
    for key, value in extra.items():
        table, name = key.split("__")
        drop[(table, name + ".csv")] = value
    return drop


def cpo(db: Path, charge_id: str, columns: str) -> tuple:
    [row] = rows(db, f"select {columns} from reports.charging_sessions_cpo "
                     f"where charge_id = '{charge_id}'")
    return row


def test_late_stop_and_price_in_a_second_drop(tmp_path: Path) -> None:
    started = S("c4", "st2", "2024-08-01T10:00:00Z", None, 600, None, None,
                charge_method="app", billing_type="prepaid", transaction_id="t4")
    stopped = S("c4", "st2", "2024-08-01T10:00:00Z", "2024-08-01T12:00:00Z", 600, 4600,
                "9.99", charge_method="app", billing_type="prepaid", transaction_id="t4",
                updated_at="2024-08-04T00:00:00Z")
    incremental, _ = build_drops(tmp_path, [
        first_drop(charging_sessions__started=[started]),
        {("charging_sessions", "stopped.csv"): [stopped]},
    ])
    assert cpo(incremental, "c4", "energy_wh, cast(price as varchar)") == (4000, "9.9900")


def test_counter_charge_in_a_later_drop(tmp_path: Path) -> None:
    counter = S("c1_cancel", "st1", "2024-05-10T10:00:00Z", "2024-05-10T11:00:00Z", 9000,
                1000, "-12.40", charge_method="app", billing_type="prepaid",
                transaction_id="t1c", counter_charge_of="c1",
                updated_at="2024-05-20T00:00:00Z")
    incremental, _ = build_drops(tmp_path, [
        first_drop(), {("charging_sessions", "counter.csv"): [counter]}])
    assert cpo(incremental, "c1_cancel", "energy_wh, cast(price as varchar)") == \
        (-8000, "-12.4000")


def test_free_usage_logged_late_changes_the_sessions_after_it(tmp_path: Path) -> None:
    late = {"station_id": "st1", "setting": "free_usage", "value": "true",
            "changed_at": "2024-06-01T00:00:00Z"}
    incremental, _ = build_drops(tmp_path, [
        first_drop(), {("station_settings_log", "late.csv"): [late]}])
    assert cpo(incremental, "c1", "free_usage") == (False,)
    assert cpo(incremental, "c2", "free_usage") == (True,)
    # the roaming view reads the setting at report time
    assert rows(incremental, "select free_usage from reports.roaming_sessions_cpo "
                             "where cdr_id = 'c2'") == [(True,)]


def test_new_agreement_in_the_past_reprices_back_to_its_start(tmp_path: Path) -> None:
    late = {"organisation_id": "org_fi", "valid_from": "2024-06-01", "cpo_share_pct": "50"}
    incremental, _ = build_drops(tmp_path, [
        first_drop(), {("revenue_share_agreements", "late.csv"): [late]}])
    assert cpo(incremental, "c1", "cast(cpo_share as varchar)") == ("9.9200",)    # 80 %
    assert cpo(incremental, "c2", "cast(cpo_share as varchar)") == ("2.5000",)    # 50 %
    assert cpo(incremental, "c3", "cast(cpo_share as varchar)") == ("0.5000",)


def test_session_at_an_unknown_station_is_reported_when_the_station_arrives(
        tmp_path: Path) -> None:
    orphan = S("c9", "st9", "2024-09-01T10:00:00Z", "2024-09-01T11:00:00Z", 0, 500, "2.00",
               charge_method="app", billing_type="prepaid", transaction_id="t9")
    raw_dir = tmp_path / "raw"
    incremental = tmp_path / "inc.duckdb"
    write_drop(empty_zone(raw_dir), first_drop(charging_sessions__orphan=[orphan]))
    build_ok(raw_dir, incremental)
    assert rows(incremental, "select reason from audit.rejected_sessions "
                             "where charge_id = 'c9'") == [("unknown_station",)]
    write_drop(raw_dir, {("stations", "new.csv"): [station("st9")]})
    build_ok(raw_dir, incremental)
    build_ok(raw_dir, tmp_path / "full.duckdb", full_refresh=True)
    assert differences(incremental, tmp_path / "full.duckdb") == {}
    assert rows(incremental, "select count(*) from audit.rejected_sessions") == [(0,)]
    assert cpo(incremental, "c9", "station_name") == ("st9",)


def test_reported_session_becomes_rejected_when_its_organisation_breaks(
        tmp_path: Path) -> None:
    broken = dict(ORG, timezone="Mars/Olympus_Mons", updated_at="2024-12-01T00:00:00Z")
    incremental, _ = build_drops(tmp_path, [
        first_drop(), {("organisations", "broken.csv"): [broken]}])
    assert rows(incremental, "select count(*) from reports.charging_sessions_cpo") == [(0,)]
    assert rows(incremental, "select count(*) from reports.roaming_sessions_cpo") == [(0,)]
    assert rows(incremental, "select distinct reason from audit.rejected_sessions") == \
        [("unknown_timezone",)]


def test_station_moved_to_another_session_station_and_back(tmp_path: Path) -> None:
    moved = dict(base_sessions()[2], station_id="st_missing",
                 updated_at="2024-07-05T00:00:00Z")
    back = dict(base_sessions()[2], updated_at="2024-07-06T00:00:00Z")
    incremental, _ = build_drops(tmp_path, [
        first_drop(), {("charging_sessions", "moved.csv"): [moved]},
        {("charging_sessions", "back.csv"): [back]}])
    assert cpo(incremental, "c3", "station_id") == ("st2",)


def test_reconciliation_recounts_only_the_buckets_of_changed_sessions(
        tmp_path: Path) -> None:
    """A late version moving c3 to another month, and a new session c4: the hourly
    build rewrites the reconciliation buckets of c3 and c4 and keeps the others."""
    moved = dict(base_sessions()[2], start_time="2024-08-02T10:00:00Z",
                 stop_time="2024-08-02T10:30:00Z", updated_at="2024-08-03T00:00:00Z")
    new = S("c4", "st2", "2024-08-05T10:00:00Z", "2024-08-05T11:00:00Z", 0, 700, "3.00",
            charge_method="app", billing_type="prepaid", transaction_id="t4")
    incremental, _ = build_drops(tmp_path, [
        first_drop(), {("charging_sessions", "late.csv"): [moved, new]}])
    rewritten = rows(incremental, "select distinct key_prefix from audit.reconciliation_buckets "
                                  "where _built_at = (select max(_built_at) "
                                  "from audit.reconciliation_buckets) order by 1")
    assert rewritten == [("c3",), ("c4",)]
    assert rows(incremental, "select month, raw_sessions, reported_sessions "
                             "from audit.reconciliation order by month") == [
        (date(2024, 5, 1), 1, 1), (date(2024, 6, 1), 1, 1), (date(2024, 8, 1), 2, 2)]


def test_reconciliation_sees_a_report_row_deleted_after_its_last_count(
        tmp_path: Path) -> None:
    """The pricing drops c1 (its file removed) in one run, the reconciliation is
    counted in the next (the CPO view not rebuilt: it still holds c1), and only the
    run after that deletes c1 from the CPO view. Nothing about c1 is newer than the
    reconciliation's count but that delete, which leaves no row: the count must
    still be redone."""
    raw = empty_zone(tmp_path / "raw")
    drop = dict(BASE)
    drop[("charging_sessions", "sessions_1.csv")] = base_sessions()[1:]
    drop[("charging_sessions", "c1.csv")] = base_sessions()[:1]
    write_drop(raw, drop)
    db = tmp_path / "inc.duckdb"
    build_ok(raw, db)
    (raw / "charging_sessions" / "c1.csv").unlink()
    for select in (["stg_raw__charging_session_versions", "stg_raw__charging_sessions",
                    "int_sessions_priced"], ["reconciliation_buckets", "reconciliation"],
                   None):
        result = build(ROOT, raw_dir=raw, db_path=db, vars=VARS, select=select)
        assert result.ok or select == ["reconciliation_buckets", "reconciliation"], \
            result.summary()
    build_ok(raw, tmp_path / "full.duckdb", full_refresh=True)
    assert differences(db, tmp_path / "full.duckdb") == {}
    assert rows(db, "select sum(raw_sessions), sum(reported_sessions) "
                    "from audit.reconciliation") == [(2, 2)]


def test_an_older_version_arriving_after_a_newer_one_does_not_win(tmp_path: Path) -> None:
    newer = S("c5", "st2", "2024-08-02T10:00:00Z", "2024-08-02T11:00:00Z", 0, 2000, "20.00",
              charge_method="app", billing_type="prepaid", transaction_id="t5",
              updated_at="2024-08-03T00:00:00Z")
    older = dict(newer, stop_time=None, meter_stop_wh=None, price=None,
                 updated_at="2024-08-02T10:00:00Z")
    incremental, _ = build_drops(tmp_path, [
        first_drop(charging_sessions__newer=[newer]),
        {("charging_sessions", "older.csv"): [older]},
    ])
    assert cpo(incremental, "c5", "cast(price as varchar), energy_wh") == ("20.0000", 2000)


def test_a_rebuild_without_new_files_changes_nothing_and_the_lookback_is_harmless(
        tmp_path: Path) -> None:
    raw_dir = empty_zone(tmp_path / "raw")
    write_drop(raw_dir, first_drop())
    incremental = tmp_path / "inc.duckdb"
    lookback = {"report_time": REPORT_TIME}           # the project's default lookback
    build_ok(raw_dir, incremental, vars=lookback)
    build_ok(raw_dir, incremental, vars=lookback)
    write_drop(raw_dir, {("station_settings_log", "late.csv"): [
        {"station_id": "st2", "setting": "free_usage", "value": "true",
         "changed_at": "2024-06-01T00:00:00Z"}]})
    build_ok(raw_dir, incremental, vars=lookback)
    build_ok(raw_dir, tmp_path / "full.duckdb", full_refresh=True, vars=lookback)
    assert differences(incremental, tmp_path / "full.duckdb") == {}
    assert rows(incremental, "select version_count from staging.stg_raw__charging_sessions "
                             "order by session_key") == [(1,), (1,), (1,)]


def test_a_changed_vat_rate_reprices_every_session_it_covers(tmp_path: Path) -> None:
    """Reference data (seeds) changed between builds: int_reference_fingerprint changes,
    and the incremental build recomputes every session, as a full refresh would."""
    project = tmp_path / "project"
    for part in ("models", "macros", "seeds", "tests/data_tests"):
        shutil.copytree(ROOT / part, project / part)
    shutil.copy(ROOT / "dbt_project.yml", project / "dbt_project.yml")
    raw_dir = empty_zone(tmp_path / "raw")
    write_drop(raw_dir, first_drop())
    incremental = tmp_path / "inc.duckdb"

    def build_project(db: Path, full_refresh: bool = False) -> None:
        result = build(project, raw_dir=raw_dir, db_path=db, vars=VARS,
                       full_refresh=full_refresh)
        assert result.ok, result.summary()

    build_project(incremental)
    assert cpo(incremental, "c1", "vat_p") == (Decimal("24.00"),)
    seed = project / "seeds" / "vat_rates.csv"
    seed.write_text(seed.read_text().replace("FI,24.00,2013-01-01,", "FI,10.00,2013-01-01,"))
    build_project(incremental)
    build_project(tmp_path / "full.duckdb", full_refresh=True)
    assert cpo(incremental, "c1", "vat_p") == (Decimal("10.00"),)
    assert differences(incremental, tmp_path / "full.duckdb") == {}


def test_data_tests_of_an_hourly_build_read_the_rows_it_wrote(tmp_path: Path) -> None:
    """last_build_rows: `runner build` tests the rows it wrote itself, `runner test` the
    rows of the latest build, test_all_rows every row."""
    from runner.api import execute
    raw_dir = empty_zone(tmp_path / "raw")
    write_drop(raw_dir, first_drop())
    db = tmp_path / "inc.duckdb"
    build_ok(raw_dir, db)
    unique = "unique_charging_sessions_cpo_charge_id"

    def duplicate_a_row(built_at: str) -> None:
        with duckdb.connect(str(db)) as con:
            con.execute("insert into reports.charging_sessions_cpo select * replace ("
                        f"cast('{built_at}' as timestamptz) as _built_at) "
                        "from reports.charging_sessions_cpo limit 1")

    def outcome(command: str, **vars: Any) -> str:
        result = execute(command, ROOT, raw_dir=raw_dir, db_path=db, vars={**VARS, **vars})
        return next(n.status for n in result.nodes if n.name == unique)

    duplicate_a_row("2000-01-01T00:00:00Z")        # an old build's row
    assert outcome("test") == "pass"
    assert outcome("test", test_all_rows=True) == "fail"
    with duckdb.connect(str(db)) as con:
        con.execute("delete from reports.charging_sessions_cpo "
                    "where _built_at < '2001-01-01'")
    latest = rows(db, "select cast(max(_built_at) as varchar) "
                      "from reports.charging_sessions_cpo")[0][0]
    duplicate_a_row(latest)                        # as if the latest build wrote it
    assert outcome("test") == "fail"
    assert outcome("build") == "pass"              # no lookback: this build wrote no row


def test_a_first_build_tests_every_row_as_a_full_refresh_does(tmp_path: Path) -> None:
    """A build into an empty file builds every model whole, so its data tests take their
    full-build form (the roaming check reads the rows where used instead of storing a
    copy of them) without --full-refresh; the next build, which adds to the tables,
    takes the hourly form."""
    raw_dir = empty_zone(tmp_path / "raw")
    write_drop(raw_dir, first_drop())
    db = tmp_path / "inc.duckdb"

    def compiled(result: Any, name: str) -> str:
        [node] = [n for n in result.nodes if n.name == name]
        assert node.status == "pass", node.message
        return Path(node.compiled_path).read_text()

    own = {"target_path": tmp_path / "target"}   # its compiled SQL, not another build's
    first = build_ok(raw_dir, db, **own)
    assert "charging_ids" not in compiled(first, "assert_roaming_rows_match_cpo_view")
    hourly = build_ok(raw_dir, db, **own)
    assert "charging_ids as materialized" in compiled(hourly, "assert_roaming_rows_match_cpo_view")


# -- the property, on generated landing zones ------------------------------------------

BASE_SESSIONS = 300
_GENERATED: dict[str, Any] = {}


def generated_zone(tmp_root: Path) -> dict[str, Any]:
    """The generated zone (300 sessions), once per module: its files, and a few of its
    rows to derive late rows from."""
    if not _GENERATED:
        from cpo.sample import generate
        zone = tmp_root / "generated"
        generate(zone, BASE_SESSIONS, seed=23)
        files = sorted(p.relative_to(zone) for table in TABLES
                       for p in (zone / table).iterdir() if p.is_file())
        with duckdb.connect() as con:
            sessions = con.execute(
                f"select {', '.join(SESSION_COLUMNS)} from read_parquet("
                f"'{zone.as_posix()}/charging_sessions/*.parquet', union_by_name = true) "
                f"order by charge_id").fetchall()
            texts = [{c: (None if v is None else str(v)) for c, v in zip(SESSION_COLUMNS, r)}
                     for r in sessions]
            stations = [r[0] for r in con.execute(
                f"select distinct station_id from read_csv('{zone.as_posix()}/stations/*.csv',"
                f" all_varchar = true) order by 1").fetchall()]
            orgs = con.execute(
                f"select distinct * exclude (updated_at) from read_csv("
                f"'{zone.as_posix()}/organisations/organisations.csv', all_varchar = true) "
                f"order by organisation_id").fetchall()
        _GENERATED.update(zone=zone, files=files, sessions=texts, stations=stations,
                          orgs=orgs)
    return _GENERATED


INSTANTS = ["2023-06-01T00:00:00Z", "2024-03-15T12:00:00Z", "2024-09-01T00:00:00+03:00",
            "2025-02-01T08:00:00", "2025-10-26T01:30:00Z", "2027-01-01T00:00:00Z"]


@st.composite
def late_rows(draw, zone: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Rows sent late: versions of existing sessions (newer, older or tied), counter-
    charges, free-usage changes, agreements, and organisation or station updates."""
    out: list[tuple[str, dict[str, Any]]] = []
    n = draw(st.integers(0, 8))
    for _ in range(n):
        kind = draw(st.sampled_from(["version", "version", "counter", "setting",
                                     "agreement", "organisation", "station"]))
        if kind in ("version", "counter"):
            original = draw(st.sampled_from(zone["sessions"]))
            row = dict(original)
            if kind == "version":
                row["updated_at"] = draw(st.sampled_from(INSTANTS + [original["updated_at"]]))
                row["price"] = draw(st.sampled_from([None, "0", "3.33", "17.505"]))
                row["stop_time"] = draw(st.sampled_from([original["stop_time"], None]))
            else:
                row.update(charge_id="cc_" + original["charge_id"],
                           counter_charge_of=original["charge_id"],
                           meter_start_wh=original["meter_stop_wh"],
                           meter_stop_wh=original["meter_start_wh"],
                           price=None if original["price"] is None else
                           "-" + original["price"].lstrip("-"),
                           updated_at="2026-01-01T00:00:00Z")
            out.append(("charging_sessions", row))
        elif kind == "setting":
            out.append(("station_settings_log", {
                "station_id": draw(st.sampled_from(zone["stations"])),
                "setting": "free_usage", "value": draw(st.sampled_from(["true", "false"])),
                "changed_at": draw(st.sampled_from(INSTANTS))}))
        elif kind == "agreement":
            out.append(("revenue_share_agreements", {
                "organisation_id": draw(st.sampled_from(zone["orgs"]))[0],
                "valid_from": draw(st.sampled_from(["2023-01-01", "2024-06-01",
                                                    "2025-03-01"])),
                "cpo_share_pct": draw(st.sampled_from(["50", "75.5", "90"]))}))
        elif kind == "organisation":
            org = draw(st.sampled_from(zone["orgs"]))
            out.append(("organisations", {
                "organisation_id": org[0], "name": org[1] + " (renamed)", "country": org[2],
                "currency": org[3],
                "timezone": draw(st.sampled_from([org[4], "Mars/Olympus_Mons"])),
                "is_public": org[5], "updated_at": "2026-06-01T00:00:00Z"}))
        else:
            out.append(("stations", dict(
                station(draw(st.sampled_from(zone["stations"])),
                        draw(st.sampled_from([o[0] for o in zone["orgs"]] + ["org_missing"]))),
                updated_at="2026-06-01T00:00:00Z")))
    return out


@st.composite
def drop_plans(draw) -> tuple[int, list[int], list[tuple[int, str, dict[str, Any]]], bool]:
    zone = _GENERATED
    n_drops = draw(st.integers(2, 4))
    # each generated file goes to a random drop, so files arrive in any order
    placement = draw(st.lists(st.integers(0, n_drops - 1), min_size=len(zone["files"]),
                              max_size=len(zone["files"])))
    late = draw(late_rows(zone))
    late_placed = [(draw(st.integers(0, n_drops - 1)), table, row) for table, row in late]
    # the late rows in a file per drop, or appended to one file per table
    return n_drops, placement, late_placed, draw(st.booleans())


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> dict[str, Any]:
    return generated_zone(tmp_path_factory.mktemp("incremental"))


@pytest.mark.slow        # minutes: each example builds a few drops, then a full refresh
@settings(max_examples=int(os.environ.get("INCREMENTAL_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=st.data())
def test_any_sequence_of_drops_builds_what_a_full_refresh_builds(tmp_path_factory, zone,
                                                                 plan) -> None:
    n_drops, placement, late, append = plan.draw(drop_plans())
    tmp = tmp_path_factory.mktemp("drops")
    raw = empty_zone(tmp / "raw")
    incremental, full = tmp / "inc.duckdb", tmp / "full.duckdb"
    by_table: dict[str, list[dict[str, Any]]] = {}
    for number in range(n_drops):
        for relative, where in zip(zone["files"], placement):
            if where == number:
                shutil.copy(zone["zone"] / relative, raw / relative)
        if not append:
            by_table = {}
        arrived = set()
        for where, table, row in late:
            if where == number:
                by_table.setdefault(table, []).append(row)
                arrived.add(table)
        for table in arrived:
            table_rows = by_table[table]
            columns = SESSION_COLUMNS if table == "charging_sessions" else list(table_rows[0])
            name = "late.csv" if append else f"late_drop_{number}.csv"
            write_csv(raw / table / name, table_rows, columns)
        # the reconciliation's buckets as sampled from the keys (a few here)
        build_ok(raw, incremental, vars=SAMPLED_BUCKETS)
    build_ok(raw, full, full_refresh=True, vars=SAMPLED_BUCKETS)
    assert differences(incremental, full) == {}
    [(reported,)] = rows(full, "select count(*) from reports.charging_sessions_cpo")
    assert reported > 0


def test_removed_file_and_moved_landing_zone_build_what_a_full_refresh_builds(
        tmp_path: Path) -> None:
    """Outside the append-only contract but cheap to honour: a removed raw file takes
    its sessions out of the reports, and a zone given from another folder is reloaded."""
    extra = S("c7", "st2", "2024-08-05T10:00:00Z", "2024-08-05T11:00:00Z", 0, 700, "3.00",
              charge_method="app", billing_type="prepaid", transaction_id="t7")
    late_c1 = dict(base_sessions()[0], price="13.00", updated_at="2024-05-20T00:00:00Z")
    raw_dir = empty_zone(tmp_path / "raw")
    write_drop(raw_dir, first_drop(charging_sessions__extra=[extra, late_c1]))
    incremental = tmp_path / "inc.duckdb"
    build_ok(raw_dir, incremental)
    assert cpo(incremental, "c1", "cast(price as varchar)") == ("13.0000",)
    (raw_dir / "charging_sessions" / "extra.csv").unlink()
    build_ok(raw_dir, incremental)
    build_ok(raw_dir, tmp_path / "full.duckdb", full_refresh=True)
    assert differences(incremental, tmp_path / "full.duckdb") == {}
    assert cpo(incremental, "c1", "cast(price as varchar)") == ("12.4000",)
    assert rows(incremental, "select count(*) from reports.charging_sessions_cpo "
                             "where charge_id = 'c7'") == [(0,)]
    moved = tmp_path / "moved"
    shutil.copytree(raw_dir, moved)
    write_drop(moved, {("charging_sessions", "extra.csv"): [extra, late_c1]})
    build_ok(moved, incremental)
    build_ok(moved, tmp_path / "full_moved.duckdb", full_refresh=True)
    assert differences(incremental, tmp_path / "full_moved.duckdb") == {}
    assert cpo(incremental, "c7", "cast(price as varchar)") == ("3.0000",)
