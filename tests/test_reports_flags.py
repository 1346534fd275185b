"""The quality flag priced_without_energy: a session that delivered 0 Wh and still
carries a price above zero (a session fee, or a billing mistake) is flagged, so that a CPO
reconciling revenue finds it; nothing else is. Every flag a build sets has a label in
seeds/code_labels.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest_reports import ROOT, SESSION_COLUMNS, build_zone, empty_zone, session, write_csv

S = session
ORGANISATIONS = [
    {"organisation_id": "org_fi", "name": "Aura Lataus", "country": "FI", "currency": "EUR",
     "timezone": "Europe/Helsinki", "is_public": "true", "updated_at": "2024-01-01T00:00:00Z"},
]
STATIONS = [
    {"station_id": "st1", "evse_id": "FI*AUR*E1*1", "name": "Aurakatu 1",
     "organisation_id": "org_fi", "current_type": "AC", "location_type": "public",
     "updated_at": "2024-01-01T00:00:00Z"},
]
ROAMING_IDS = [{"station_id": "st1", "network": "hubject", "evse_id": "FI*AUR*EHUB1*1"}]
SHARES = [{"organisation_id": "org_fi", "valid_from": "2024-01-01", "cpo_share_pct": "80"}]
PAY = dict(charge_method="app", billing_type="prepaid", transaction_id="t")
SESSIONS = [
    S("fee_only", "st1", "2024-05-10T10:00:00Z", "2024-05-10T10:03:00Z", 700, 700, "1.50",
      **PAY),
    # its cancellation: 0 Wh and a negative price, not a price above zero
    S("fee_only_cancelled", "st1", "2024-05-10T10:00:00Z", "2024-05-10T10:03:00Z", 700, 700,
      "-1.50", counter_charge_of="fee_only", updated_at="2024-05-11T00:00:00Z", **PAY),
    S("roaming_fee", "st1", "2024-05-11T10:00:00Z", "2024-05-11T10:01:00Z", 900, 900, "0.35",
      charge_method="rfid", roaming_network="hubject", operator_id="FI*AUR",
      provider_id="DE*8EO", transaction_id="t"),
    S("free_nothing", "st1", "2024-05-12T10:00:00Z", "2024-05-12T10:01:00Z", 900, 900, "0.00",
      **PAY),
    S("not_billed", "st1", "2024-05-13T10:00:00Z", "2024-05-13T10:01:00Z", 900, 900, None,
      **PAY),
    S("charged", "st1", "2024-05-14T10:00:00Z", "2024-05-14T11:00:00Z", 900, 1900, "0.40",
      **PAY),
    S("one_wh", "st1", "2024-05-15T10:00:00Z", "2024-05-15T10:01:00Z", 900, 901, "0.01",
      **PAY),
    S("rollback", "st1", "2024-05-16T10:00:00Z", "2024-05-16T11:00:00Z", 5000, 4000, "2.00",
      **PAY),
]
FLAGGED = {"fee_only", "roaming_fee"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zone_flags")
    raw = empty_zone(tmp / "raw")
    write_csv(raw / "organisations" / "o.csv", ORGANISATIONS)
    write_csv(raw / "stations" / "s.csv", STATIONS)
    write_csv(raw / "station_roaming_ids" / "r.csv", ROAMING_IDS)
    write_csv(raw / "revenue_share_agreements" / "a.csv", SHARES)
    write_csv(raw / "charging_sessions" / "c.csv", SESSIONS, SESSION_COLUMNS)
    return build_zone(tmp, raw, "2024-10-01T00:00:00Z")


def test_zero_energy_with_a_price_above_zero_is_flagged(built):
    rows = built.rows_by("reports.charging_sessions_cpo", "charge_id")
    assert set(rows) == {s["charge_id"] for s in SESSIONS}
    flagged = {k for k, r in rows.items() if "priced_without_energy" in r["quality_flags"]}
    assert flagged == FLAGGED
    assert rows["fee_only"]["quality_flags"] == ["priced_without_energy"]
    assert rows["rollback"]["quality_flags"] == ["meter_rollback"]
    assert rows["charged"]["quality_flags"] == []


def test_the_roaming_view_carries_the_flag(built):
    rows = built.rows_by("reports.roaming_sessions_cpo", "cdr_id")
    assert rows["roaming_fee"]["quality_flags"] == ["priced_without_energy"]


def test_every_data_test_passed(built):
    tests = [n for n in built.result.nodes if n.kind == "test"]
    assert any(n.name == "assert_cpo_rows_consistent" for n in tests)
    assert all(n.status == "pass" for n in tests), \
        [(n.name, n.status, n.message) for n in tests if n.status != "pass"]


def test_every_flag_the_models_set_has_a_label():
    with (ROOT / "seeds" / "code_labels.csv").open(encoding="utf-8", newline="") as f:
        labels = {r["code"]: r["label"] for r in csv.DictReader(f)
                  if r["code_type"] == "quality_flag"}
    sql = (ROOT / "models" / "intermediate" / "int_sessions_priced.sql").read_text()
    import re
    set_by_model = set(re.findall(r"then '([a-z_]+)'\s*end", sql[sql.index("flagged as"):]))
    assert "priced_without_energy" in set_by_model
    assert set_by_model == set(labels), set_by_model ^ set(labels)
    assert all(labels.values())
