"""Landing zone E: the edges a one-line mistake slips past in the larger zones. A report
time exactly on a free-usage change to on, a non-roaming session without a charge
method, a session without created_at, a zero-length session; and a reconciliation that
does not hold must fail its test. Each case is one small session in one small build."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest_reports import (ROOT, SESSION_COLUMNS, assert_reconciles, build_zone,
                              empty_zone, session, write_csv)
from runner.api import execute

# exactly the instant st1's free usage went on (the setting before it: off)
REPORT_TIME = "2024-06-01T00:00:00Z"

ORG = {"organisation_id": "org_fi", "name": "Turku Energia", "country": "FI",
       "currency": "EUR", "timezone": "Europe/Helsinki", "is_public": "true",
       "updated_at": "2024-01-01T00:00:00Z"}
STATIONS = [
    {"station_id": sid, "evse_id": f"FI*VIR*{sid}", "name": sid, "organisation_id": "org_fi",
     "current_type": "AC", "location_type": "public", "updated_at": "2024-01-01T00:00:00Z"}
    for sid in ("st1", "st2")]
SETTINGS = [
    {"station_id": "st1", "setting": "free_usage", "value": "false",
     "changed_at": "2024-01-01T00:00:00Z"},
    {"station_id": "st1", "setting": "free_usage", "value": "true",
     "changed_at": "2024-06-01T00:00:00Z"},
]
S = session
SESSIONS = [
    # roaming at st1, before free usage went on; the roaming view reads it at report time
    S("e_roaming", "st1", "2024-05-10T10:00:00Z", "2024-05-10T11:00:00Z", 0, 1000, "1.24",
      charge_method="rfid", roaming_network="hubject", operator_id="FI*VIR",
      provider_id="DE*8EO", transaction_id="t-r"),
    # not roaming, no charge method: billed like any other session
    S("e_no_method", "st2", "2024-05-11T10:00:00Z", "2024-05-11T11:00:00Z", 0, 1000, "1.24",
      billing_type="prepaid", transaction_id="t-nm"),
    # no created_at: created is the start
    S("e_no_created", "st2", "2024-05-12T10:00:00Z", "2024-05-12T11:00:00Z", 0, 1000, "1.24",
      charge_method="app", billing_type="prepaid", transaction_id="t-nc", created_at=None),
    # stopped the instant it started: a duration of zero, not an unknown one
    S("e_zero", "st2", "2024-05-13T10:00:00Z", "2024-05-13T10:00:00Z", 0, 0, "0.00",
      charge_method="app", billing_type="prepaid", transaction_id="t-z"),
    # billed with a fraction of a cent: 1.005 is 1.01, and VAT, net and share are
    # taken from that (a share of 1.005 would be 0.804 -> 0.80)
    S("e_sub_cent", "st2", "2024-05-14T10:00:00Z", "2024-05-14T11:00:00Z", 0, 1000, "1.005",
      charge_method="app", billing_type="prepaid", transaction_id="t-sc"),
    # two versions: one with an unreadable updated_at, which sorts oldest, and the
    # readable one, which wins
    S("e_versions", "st2", "2024-05-15T10:00:00Z", "2024-05-15T11:00:00Z", 0, 1000, "9.99",
      charge_method="app", billing_type="prepaid", transaction_id="t-v",
      updated_at="yesterday-ish"),
    S("e_versions", "st2", "2024-05-15T10:00:00Z", "2024-05-15T10:30:00Z", 0, 500, "1.24",
      charge_method="app", billing_type="prepaid", transaction_id="t-v",
      updated_at="2024-05-15T10:30:00Z"),
    # versions with the same updated_at: the one that knows more wins (stopped, then
    # billed), wherever it sits in the file
    S("e_tie_stop", "st2", "2024-05-16T10:00:00Z", "2024-05-16T11:00:00Z", 0, 1000, "1.24",
      charge_method="app", billing_type="prepaid", transaction_id="t-ts",
      updated_at="2024-05-16T11:00:00Z"),
    S("e_tie_stop", "st2", "2024-05-16T10:00:00Z", None, 0, None, None,
      charge_method="app", billing_type="prepaid", transaction_id="t-ts",
      updated_at="2024-05-16T11:00:00Z"),
    S("e_tie_price", "st2", "2024-05-17T10:00:00Z", "2024-05-17T11:00:00Z", 0, 1000, None,
      charge_method="app", billing_type="prepaid", transaction_id="t-tp",
      updated_at="2024-05-17T11:00:00Z"),
    S("e_tie_price", "st2", "2024-05-17T10:00:00Z", "2024-05-17T11:00:00Z", 0, 1000, "1.24",
      charge_method="app", billing_type="prepaid", transaction_id="t-tp",
      updated_at="2024-05-17T11:00:00Z"),
]
DISTINCT_SESSIONS = len({s["charge_id"] for s in SESSIONS})


def write_zone_e(raw: Path) -> Path:
    """Zone E's landing zone in `raw`."""
    empty_zone(raw)
    write_csv(raw / "organisations" / "o.csv", [ORG])
    write_csv(raw / "stations" / "s.csv", STATIONS)
    write_csv(raw / "station_roaming_ids" / "r.csv",
              [{"station_id": "st1", "network": "hubject", "evse_id": "FI*HUB*1"}])
    write_csv(raw / "station_settings_log" / "l.csv", SETTINGS)
    write_csv(raw / "revenue_share_agreements" / "a.csv",
              [{"organisation_id": "org_fi", "valid_from": "2024-01-01",
                "cpo_share_pct": "80"}])
    write_csv(raw / "charging_sessions" / "s.csv", SESSIONS, SESSION_COLUMNS)
    return raw


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zone_e")
    return build_zone(tmp, write_zone_e(tmp / "raw"), REPORT_TIME)


def cpo(built, charge_id: str) -> dict:
    [row] = built.query(f"select * from reports.charging_sessions_cpo "
                        f"where charge_id = '{charge_id}'")
    return row


def test_roaming_free_usage_at_a_report_time_on_a_setting_change(built):
    # the change to on at exactly report_time is in force then
    [row] = built.query("select free_usage from reports.roaming_sessions_cpo "
                        "where cdr_id = 'e_roaming'")
    assert row["free_usage"] is True
    # and the CPO view keeps the setting at the session's start: off
    assert cpo(built, "e_roaming")["free_usage"] is False


def test_non_roaming_session_without_charge_method_keeps_its_billing_type(built):
    row = cpo(built, "e_no_method")
    assert row["charge_method"] is None
    assert row["billing_type"] == "Prepaid"


def test_session_without_created_at_is_created_at_its_start(built):
    row = cpo(built, "e_no_created")
    assert row["created"] is not None
    assert row["created"].astimezone(dt.timezone.utc) == \
        dt.datetime(2024, 5, 12, 10, tzinfo=dt.timezone.utc)


def test_zero_length_session_lasts_zero_minutes(built):
    row = cpo(built, "e_zero")
    assert row["duration"] == dt.timedelta(0)
    assert row["quality_flags"] == []


def test_money_is_taken_from_the_price_rounded_to_cents(built):
    row = cpo(built, "e_sub_cent")
    assert {k: str(row[k]) for k in ("price", "vat", "net", "cpo_share")} == \
        {"price": "1.0100", "vat": "0.2000", "net": "0.8100", "cpo_share": "0.8100"}


def test_a_version_with_an_unreadable_updated_at_does_not_win(built):
    row = cpo(built, "e_versions")
    assert (str(row["price"]), row["energy_wh"]) == ("1.2400", 500)
    [staged] = built.query("select version_count from staging.stg_raw__charging_sessions "
                           "where charge_id = 'e_versions'")
    assert staged["version_count"] == 2


def test_on_an_updated_at_tie_the_stopped_then_the_billed_version_wins(built):
    stopped = cpo(built, "e_tie_stop")
    assert (stopped["energy_wh"], str(stopped["price"])) == (1000, "1.2400")
    billed = cpo(built, "e_tie_price")
    assert str(billed["price"]) == "1.2400"


def test_zone_reconciles(built):
    assert_reconciles(built, DISTINCT_SESSIONS)


@pytest.mark.parametrize("change", [-1, 1], ids=["fewer_reported", "more_reported"])
def test_reconciliation_that_does_not_hold_fails_its_test(built, tmp_path: Path,
                                                          change: int) -> None:
    """A bucket whose reported count is off by one, in either direction: the
    reconciliation rebuilt from it says not reconciled, and its test fails."""
    db = tmp_path / "broken.duckdb"
    shutil.copy(built.db_path, db)

    def rebuild() -> dict[str, str]:
        result = execute("build", ROOT, db_path=db, select=["reconciliation"],
                         vars={"report_time": REPORT_TIME})
        return {n.name: n.status for n in result.nodes}

    statuses = rebuild()
    reconciled = [n for n in statuses if n.startswith("expression_is_true_reconciliation")]
    assert reconciled and all(statuses[n] == "pass" for n in reconciled), statuses
    with duckdb.connect(str(db)) as con:
        con.execute(f"update audit.reconciliation_buckets "
                    f"set reported_sessions = reported_sessions + ({change}) "
                    f"where month = date '2024-05-01' and reported_sessions > 0")
    statuses = rebuild()
    assert statuses["reconciliation"] == "success", statuses
    assert all(statuses[n] == "fail" for n in reconciled), statuses
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select bool_or(not is_reconciled) "
                           "from audit.reconciliation").fetchone() == (True,)
