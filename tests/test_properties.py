"""Property: for any landing zone with a random mix of good and bad values, the build
either stops with a clear error or succeeds, and when it succeeds nothing is lost or
counted twice: raw sessions = reported + rejected for every organisation and month, no
charge ID appears twice, and the report invariants hold."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest_reports import ROOT, empty_zone, write_csv, SESSION_COLUMNS
from runner.api import build
from runner.errors import RunnerError

ORGS = [
    {"organisation_id": "o_fi", "name": "Turku Charge", "country": "FI", "currency": "EUR",
     "timezone": "Europe/Helsinki", "is_public": "true", "updated_at": "2024-01-01T00:00:00Z"},
    {"organisation_id": "o_is", "name": "Reykjavik Hleðsla", "country": "IS",
     "currency": "ISK", "timezone": "Atlantic/Reykjavik", "is_public": "false",
     "updated_at": "2024-01-01T00:00:00Z"},
]
BROKEN_ORGS = [
    {"organisation_id": "o_bad_tz", "name": "Nowhere", "country": "FI", "currency": "EUR",
     "timezone": "Mars/Olympus_Mons", "is_public": "true", "updated_at": "2024-01-01"},
    {"organisation_id": "o_bad_cur", "name": "Odd Money", "country": "ZZ", "currency": "XXX",
     "timezone": "Europe/Oslo", "is_public": "maybe", "updated_at": "yesterday"},
]
STATIONS = [
    ("s_fi", "o_fi"), ("s_is", "o_is"), ("s_tz", "o_bad_tz"), ("s_cur", "o_bad_cur"),
    ("s_orphan", "o_missing"),
]

times = st.sampled_from([
    "2024-08-31T20:30:00Z", "2024-08-31T21:30:00Z", "2024-10-27T00:30:00Z",
    "2024-01-31T23:30:00+00:00", "2024-03-01T12:00:00", "2025-06-30T22:00:00+03:00",
    "not a time", "2024-13-45T00:00:00", "", "1970-01-01T00:00:00Z",
])
numbers = st.one_of(st.integers(-10_000, 2_000_000_000).map(str),
                    st.sampled_from(["", "abc", "12.5", "1e3", "-0"]))
prices = st.one_of(st.decimals(-500, 5000, places=2).map(str),
                   st.sampled_from(["", "free", "0", "-12.345", "1e309"]))
codes = st.sampled_from(["app", "onetime", "RFID", " admin ", "teleport", "", None])
billing = st.sampled_from(["onetime", "prepaid", "postpaid", "postpaid_card", "barter", None])
networks = st.sampled_from([None, "", "hubject", "Gireve", "ocpi", "chargepoint_eu"])

sessions = st.fixed_dictionaries({
    "charge_id": st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6", "", None]),
    "station_id": st.sampled_from([s for s, _ in STATIONS] + ["s_unknown", "", None]),
    "created_at": times, "start_time": times,
    "stop_time": st.one_of(st.none(), times),
    "meter_start_wh": numbers, "meter_stop_wh": st.one_of(st.none(), numbers),
    "price": st.one_of(st.none(), prices), "charge_method": codes,
    "billing_type": billing, "roaming_network": networks,
    "operator_id": st.sampled_from([None, "FI*VIR"]),
    "provider_id": st.sampled_from([None, "DE*8EO"]),
    "transaction_id": st.sampled_from([None, "", "t1", "t2"]),
    "counter_charge_of": st.sampled_from([None, None, None, "c1", "c_unknown"]),
    "updated_at": times,
})
settings_rows = st.lists(st.fixed_dictionaries({
    "station_id": st.sampled_from(["s_fi", "s_is", "s_unknown"]),
    "setting": st.sampled_from(["free_usage", "free_usage", "max_power"]),
    "value": st.sampled_from(["true", "false", "TRUE", "yes", ""]),
    "changed_at": times,
}), max_size=5)


def raw_session_count(rows: list[dict]) -> int:
    keys = set()
    for row in rows:
        charge_id = (row["charge_id"] or "").strip()
        keys.add(("id", charge_id) if charge_id else
                 ("row", tuple((row.get(c) or "").strip() for c in SESSION_COLUMNS)))
    return len(keys)


def write_zone(raw: Path, orgs: list[dict], rows: list[dict], log: list[dict]) -> None:
    empty_zone(raw)
    write_csv(raw / "organisations" / "orgs.csv", orgs)
    write_csv(raw / "stations" / "stations.csv", [
        {"station_id": s, "evse_id": f"FI*VIR*E{i:06d}*1", "name": f"Station {s}",
         "organisation_id": o, "current_type": "AC" if i % 2 else "DC",
         "location_type": ["public", "home", "office", "garage"][i % 4],
         "updated_at": "2024-01-01T00:00:00Z"} for i, (s, o) in enumerate(STATIONS)])
    write_csv(raw / "station_roaming_ids" / "ids.csv", [
        {"station_id": "s_fi", "network": "hubject", "evse_id": "FI*VIR*EHUB1*1"}])
    write_csv(raw / "station_settings_log" / "log.csv", log,
              ["station_id", "setting", "value", "changed_at"])
    write_csv(raw / "revenue_share_agreements" / "shares.csv", [
        {"organisation_id": "o_fi", "valid_from": "2024-01-01", "cpo_share_pct": "85"},
        {"organisation_id": "o_is", "valid_from": "2024-09-01", "cpo_share_pct": "abc"}])
    write_csv(raw / "charging_sessions" / "sessions.csv", rows, SESSION_COLUMNS)


def check_invariants(db: Path, expected_raw: int) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
        reported = one("select count(*) from reports.charging_sessions_cpo")
        rejected = one("select count(*) from audit.rejected_sessions")
        assert reported + rejected == expected_raw
        assert one("select count(*) from audit.reconciliation where not is_reconciled") == 0
        assert one("select count(*) from audit.reconciliation_files "
                   "where not is_reconciled") == 0
        assert one("select coalesce(sum(raw_sessions), 0) from audit.reconciliation") \
            == expected_raw
        assert one("select count(*) - count(distinct charge_id) "
                   "from reports.charging_sessions_cpo") == 0
        assert one("select count(*) from reports.charging_sessions_cpo r "
                   "join audit.rejected_sessions a using (charge_id)") == 0
        assert one("select count(*) from reports.charging_sessions_cpo "
                   "where price is not null and net + vat <> price") == 0
        assert one("select count(*) from reports.charging_sessions_cpo where energy_wh "
                   "is not null and energy_wh <> meter_stop - meter_start") == 0
        assert one("select count(*) from reports.roaming_sessions_cpo r left join "
                   "reports.charging_sessions_cpo c on r.cdr_id = c.charge_id "
                   "where c.charge_id is null") == 0
        assert one("select count(*) from reports.roaming_sessions_cpo "
                   "where network not in ('Hubject', 'Gireve', 'OCPI')") == 0
    finally:
        con.close()


@pytest.mark.slow        # a minute: twenty generated landing zones, each built
@settings(max_examples=int(__import__("os").environ.get("PROPERTY_EXAMPLES", "20")),
          deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                HealthCheck.too_slow])
@given(rows=st.lists(sessions, max_size=12), log=settings_rows,
       broken=st.lists(st.sampled_from(BROKEN_ORGS), max_size=2, unique_by=lambda o: o["name"]))
def test_any_landing_zone_reconciles(tmp_path_factory, rows, log, broken) -> None:
    tmp = tmp_path_factory.mktemp("zone")
    write_zone(tmp / "raw", ORGS + broken, rows, log)
    try:
        result = build(ROOT, raw_dir=tmp / "raw", db_path=tmp / "x.duckdb",
                       vars={"report_time": "2025-01-01T00:00:00Z"})
    except RunnerError as exc:          # a clear error is an allowed ending
        assert "Traceback" not in str(exc) and str(exc).strip()
        return
    assert result.ok, result.summary()
    check_invariants(tmp / "x.duckdb", raw_session_count(rows))
