"""Landing zone A: one Finnish CPO (EUR, Europe/Helsinki), two stations, fifteen
sessions covering each awkward case of the two report tables. Every expected row is
written out by hand below; the arithmetic is in the comments."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest_reports import (SESSION_COLUMNS, assert_reconciles, assert_rows, build_zone,
                              empty_zone, minutes, money, session, utc, write_csv,
                              write_ndjson, write_parquet)

REPORT_TIME = "2024-10-01T00:00:00Z"

ORGANISATIONS_OLD = [
    {"organisation_id": "org_fi", "name": "Turku Energy (old name)", "country": "FI",
     "currency": "EUR", "timezone": "Europe/Helsinki", "is_public": "false",
     "updated_at": "2023-01-01T00:00:00Z"},
]
ORGANISATIONS = [
    {"organisation_id": "org_fi", "name": "Turku Energia", "country": "fi",
     "currency": "EUR", "timezone": "Europe/Helsinki", "is_public": "true",
     "updated_at": "2024-01-01T00:00:00Z"},
]
STATIONS = [
    {"station_id": "st1", "evse_id": "FI*VIR*E1*1", "name": "Market Square",
     "organisation_id": "org_fi", "current_type": "AC", "location_type": "public",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"station_id": "st2", "evse_id": "FI*VIR*E2*1", "name": "Office Park",
     "organisation_id": "org_fi", "current_type": "dc", "location_type": " Office ",
     "updated_at": "2024-01-01T00:00:00Z"},
]
# an older version of st1 (another name, another owner) and st2 delivered twice
STATIONS_OLD = [
    {"station_id": "st1", "evse_id": "FI*OLD*E1*1", "name": "Old Market",
     "organisation_id": "org_gone", "current_type": "DC", "location_type": "home",
     "updated_at": "2023-06-01T00:00:00Z"},
    STATIONS[1],
]
ROAMING_IDS = [
    {"station_id": "st1", "network": "hubject", "evse_id": "FI*HUB*E1"},
    {"station_id": "st1", "network": "OCPI", "evse_id": "FI-OCPI-E1"},
]
SETTINGS = [
    {"station_id": "st1", "setting": "free_usage", "value": "true",
     "changed_at": "2024-06-01T00:00:00Z"},
    {"station_id": "st1", "setting": "free_usage", "value": "false",
     "changed_at": "2024-06-15T00:00:00Z"},
    {"station_id": "st1", "setting": "max_power_kw", "value": "22",
     "changed_at": "2024-06-20T00:00:00Z"},
    {"station_id": "st1", "setting": "free_usage", "value": "true",
     "changed_at": "2024-09-20T00:00:00Z"},
    {"station_id": "st2", "setting": "free_usage", "value": "true",
     "changed_at": "2024-11-01T00:00:00Z"},
]
SHARES = [
    {"organisation_id": "org_fi", "valid_from": "2024-01-01", "cpo_share_pct": "80"},
    {"organisation_id": "org_fi", "valid_from": "2024-09-01", "cpo_share_pct": "75"},
]

S = session
SESSIONS_CSV = [
    S("c_plain", "st1", "2024-05-10T10:00:00Z", "2024-05-10T11:04:00Z", 1000, 8500, "12.40",
      charge_method="app", billing_type="prepaid", operator_id="FI*VIR",
      transaction_id="t-plain"),
    # first version, written at start
    S("c_versions", "st2", "2024-05-11T08:00:00Z", None, 200, None, None,
      charge_method="rfid", billing_type="postpaid_card", updated_at="2024-05-11T08:00:00Z"),
    S("c_ongoing", "st2", "2024-09-30T22:00:00Z", None, 500, None, None,
      charge_method="app", billing_type="prepaid"),
    S("c_counter", "st1", "2024-05-10T10:00:00Z", "2024-05-10T11:04:00Z", 8500, 1000,
      "-12.40", charge_method="app", billing_type="prepaid", transaction_id="t-counter",
      counter_charge_of="c_plain", updated_at="2024-05-12T09:00:00Z"),
    S("c_rollback", "st1", "2024-05-12T12:00:00Z", "2024-05-12T13:00:00Z", 5000, 4000, "2.00",
      charge_method="app", billing_type="prepaid", transaction_id="t-rb"),
    S("c_stopbefore", "st1", "2024-05-13T12:00:00Z", "2024-05-13T11:00:00Z", 100, 600, "1.00",
      charge_method="app", billing_type="prepaid", transaction_id="t-sb"),
    S("c_vat_before", "st2", "2024-08-31T20:30:00Z", "2024-08-31T21:10:00Z", 0, 10000,
      "10.00", charge_method="app", billing_type="onetime", transaction_id="t-vb"),
    # no offset: UTC
    S("c_midnight", "st1", "2024-01-31 23:30:00", "2024-02-01 00:10:00", 0, 4000, "3.72",
      charge_method="RFID", roaming_network="hubject", operator_id="FI*VIR",
      provider_id="DE*8EO"),
    S("c_free_priced", "st1", "2024-06-10T10:00:00Z", "2024-06-10T10:30:00Z", 0, 3000, "3.10",
      charge_method="app", billing_type="postpaid", transaction_id="t-fp"),
    S("c_at_on", "st1", "2024-06-01T00:00:00Z", "2024-06-01T00:30:00Z", 0, 1000, "0.00",
      charge_method="admin", billing_type="postpaid", transaction_id="t-admin"),
    # 03:00 Helsinki summer time = 00:00 UTC, the instant free usage went off
    S("c_at_off", "st1", "2024-06-15T03:00:00+03:00", "2024-06-15T01:00:00Z", 0, 1000, "5.00",
      charge_method="app", billing_type="prepaid", transaction_id="t-off"),
    S("c_other_net", "st1", "2024-07-01T10:00:00Z", "2024-07-01T11:00:00Z", 0, 5000, "6.20",
      charge_method="rfid", roaming_network="plugsurfing", operator_id="FI*VIR",
      provider_id="DE*PLS", transaction_id="t-ps"),
]
VERSIONS_FINAL = S("c_versions", "st2", "2024-05-11T08:00:00Z", "2024-05-11T09:30:00Z", 200,
                   30200, "9.99", charge_method="rfid", billing_type="postpaid_card",
                   transaction_id="t-ver", updated_at="2024-05-11T09:31:00Z")
SESSIONS_NDJSON = [
    VERSIONS_FINAL,
    VERSIONS_FINAL,          # the exact same version delivered twice
    S("c_ocpi", "st1", "2024-06-05T10:00:00Z", "2024-06-05T11:00:00Z", 0, 2000, 0,
      charge_method="rfid", roaming_network=" OCPI ", operator_id="FI*VIR",
      provider_id="NL*OCP", transaction_id="t-ocpi"),
]
SESSIONS_PARQUET = [
    # 00:30 on 1 September in Helsinki: the 25.5 % rate and the 75 % agreement
    S("c_vat_after", "st2", "2024-09-01T00:30:00+03:00", "2024-09-01T01:00:00+03:00", 0, 5000,
      "10.00", charge_method="app", billing_type="onetime", transaction_id="t-va"),
    # 02:30 EET to 04:30 EEST: one hour of real time across the spring-forward
    S("c_dst", "st1", "2024-03-31T00:30:00Z", "2024-03-31T01:30:00Z", 0, 1000, "1.24",
      charge_method="app", billing_type="prepaid", roaming_network="gireve",
      operator_id="FI*VIR", provider_id="FR*GIR", transaction_id="t-dst"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zone_a")
    raw = empty_zone(tmp / "raw")
    write_ndjson(raw / "organisations" / "2023.ndjson", ORGANISATIONS_OLD)
    write_csv(raw / "organisations" / "2024.csv", ORGANISATIONS)
    write_csv(raw / "stations" / "stations.csv", STATIONS)
    write_ndjson(raw / "stations" / "old.ndjson", STATIONS_OLD)
    write_csv(raw / "station_roaming_ids" / "ids.csv", ROAMING_IDS)
    write_csv(raw / "station_settings_log" / "log.csv", SETTINGS)
    write_csv(raw / "revenue_share_agreements" / "shares.csv", SHARES)
    # columns in another order than the contract's
    write_csv(raw / "charging_sessions" / "a.csv", SESSIONS_CSV, list(reversed(SESSION_COLUMNS)))
    write_ndjson(raw / "charging_sessions" / "b.ndjson", SESSIONS_NDJSON)
    write_parquet(raw / "charging_sessions" / "c.parquet", SESSIONS_PARQUET, SESSION_COLUMNS)
    return build_zone(tmp, raw, REPORT_TIME)


def cpo_row(charge_id: str, station: str, start: str, stop: str | None, **values) -> dict:
    """An expected CPO-view row; the station's and organisation's columns come from the
    station named, everything else is given."""
    stations = {
        "st1": {"evse_id": "FI*VIR*E1*1", "station_name": "Market Square", "plug_type": "AC",
                "location_type": "Public"},
        "st2": {"evse_id": "FI*VIR*E2*1", "station_name": "Office Park", "plug_type": "DC",
                "location_type": "Office"},
    }
    row = {
        "created": utc(start), "charge_id": charge_id, "station_id": station,
        "cpo_name": "Turku Energia", "start_time": utc(start),
        "stop_time": utc(stop) if stop else None, "currency": "EUR",
        "public_private": "Public", "organisation_id": "org_fi",
        **stations[station],
    }
    for key in ("vat_p", "vat", "net", "price", "cpo_share"):
        values[key] = money(values.get(key))
    row.update(values)
    return row


EXPECTED_CPO = {r["charge_id"]: r for r in [
    # 64 minutes; 12.40 * 24 / 124 = 2.40; net 10.00; share 80 % = 9.92.
    # operator_id was given but the session is not roaming: NULL.
    cpo_row("c_plain", "st1", "2024-05-10 10:00", "2024-05-10 11:04", duration=minutes(64),
            energy_wh=7500, meter_start=1000, meter_stop=8500, vat_p="24", vat="2.40",
            net="10.00", price="12.40", free_usage=False, charge_method="app",
            operator=None, provider_id=None, transaction_id="t-plain", cpo_share="9.92",
            billing_type="Prepaid", quality_flags=[]),
    # latest version wins; 9.99 * 24 / 124 = 1.9335 -> 1.93; share 7.992 -> 7.99
    cpo_row("c_versions", "st2", "2024-05-11 08:00", "2024-05-11 09:30", duration=minutes(90),
            energy_wh=30000, meter_start=200, meter_stop=30200, vat_p="24", vat="1.93",
            net="8.06", price="9.99", free_usage=False, charge_method="rfid",
            operator=None, provider_id=None, transaction_id="t-ver", cpo_share="7.99",
            billing_type="Postpaid (by card)", quality_flags=[]),
    # ongoing: 01:00 on 1 October in Helsinki, so the 25.5 % rate; nothing billed yet
    cpo_row("c_ongoing", "st2", "2024-09-30 22:00", None, duration=None, energy_wh=None,
            meter_start=500, meter_stop=None, vat_p="25.5", vat=None, net=None, price=None,
            free_usage=False, charge_method="app", operator=None, provider_id=None,
            transaction_id=None, cpo_share=None, billing_type="Prepaid",
            quality_flags=["no_transaction_id"]),
    # counter-charge: meters swapped, everything negative, not a meter rollback
    cpo_row("c_counter", "st1", "2024-05-10 10:00", "2024-05-10 11:04", duration=minutes(64),
            energy_wh=-7500, meter_start=8500, meter_stop=1000, vat_p="24", vat="-2.40",
            net="-10.00", price="-12.40", free_usage=False, charge_method="app",
            operator=None, provider_id=None, transaction_id="t-counter", cpo_share="-9.92",
            billing_type="Prepaid", quality_flags=[]),
    # 2.00 * 24 / 124 = 0.387 -> 0.39; share 1.60
    cpo_row("c_rollback", "st1", "2024-05-12 12:00", "2024-05-12 13:00", duration=minutes(60),
            energy_wh=None, meter_start=5000, meter_stop=4000, vat_p="24", vat="0.39",
            net="1.61", price="2.00", free_usage=False, charge_method="app", operator=None,
            provider_id=None, transaction_id="t-rb", cpo_share="1.60",
            billing_type="Prepaid", quality_flags=["meter_rollback"]),
    # 1.00 * 24 / 124 = 0.1935 -> 0.19
    cpo_row("c_stopbefore", "st1", "2024-05-13 12:00", "2024-05-13 11:00", duration=None,
            energy_wh=500, meter_start=100, meter_stop=600, vat_p="24", vat="0.19",
            net="0.81", price="1.00", free_usage=False, charge_method="app", operator=None,
            provider_id=None, transaction_id="t-sb", cpo_share="0.80",
            billing_type="Prepaid", quality_flags=["stop_before_start"]),
    # 23:30 on 31 August in Helsinki: 24 %, 10 * 24 / 124 = 1.9355 -> 1.94; share 80 %
    cpo_row("c_vat_before", "st2", "2024-08-31 20:30", "2024-08-31 21:10",
            duration=minutes(40), energy_wh=10000, meter_start=0, meter_stop=10000,
            vat_p="24", vat="1.94", net="8.06", price="10.00", free_usage=False,
            charge_method="app", operator=None, provider_id=None, transaction_id="t-vb",
            cpo_share="8.00", billing_type="One-time payment", quality_flags=[]),
    # 00:30 on 1 September in Helsinki: 25.5 %, 10 * 25.5 / 125.5 = 2.0319 -> 2.03;
    # share 75 % = 7.50
    cpo_row("c_vat_after", "st2", "2024-08-31 21:30", "2024-08-31 22:00",
            duration=minutes(30), energy_wh=5000, meter_start=0, meter_stop=5000,
            vat_p="25.5", vat="2.03", net="7.97", price="10.00", free_usage=False,
            charge_method="app", operator=None, provider_id=None, transaction_id="t-va",
            cpo_share="7.50", billing_type="One-time payment", quality_flags=[]),
    # roaming via Hubject: no billing type; 3.72 * 24 / 124 = 0.72; share 2.976 -> 2.98
    cpo_row("c_midnight", "st1", "2024-01-31 23:30", "2024-02-01 00:10",
            duration=minutes(40), energy_wh=4000, meter_start=0, meter_stop=4000,
            vat_p="24", vat="0.72", net="3.00", price="3.72", free_usage=False,
            charge_method="rfid", operator="FI*VIR", provider_id="DE*8EO",
            transaction_id=None, cpo_share="2.98", billing_type=None,
            quality_flags=["no_transaction_id"]),
    # one hour of real time across the DST switch; 1.24 * 24 / 124 = 0.24
    cpo_row("c_dst", "st1", "2024-03-31 00:30", "2024-03-31 01:30", duration=minutes(60),
            energy_wh=1000, meter_start=0, meter_stop=1000, vat_p="24", vat="0.24",
            net="1.00", price="1.24", free_usage=False, charge_method="app",
            operator="FI*VIR", provider_id="FR*GIR", transaction_id="t-dst",
            cpo_share="0.99", billing_type=None, quality_flags=[]),
    # free usage on at start and not priced: nothing odd
    cpo_row("c_ocpi", "st1", "2024-06-05 10:00", "2024-06-05 11:00", duration=minutes(60),
            energy_wh=2000, meter_start=0, meter_stop=2000, vat_p="24", vat="0.00",
            net="0.00", price="0.00", free_usage=True, charge_method="rfid",
            operator="FI*VIR", provider_id="NL*OCP", transaction_id="t-ocpi",
            cpo_share="0.00", billing_type=None, quality_flags=[]),
    # 3.10 * 24 / 124 = 0.60; share 2.48
    cpo_row("c_free_priced", "st1", "2024-06-10 10:00", "2024-06-10 10:30",
            duration=minutes(30), energy_wh=3000, meter_start=0, meter_stop=3000,
            vat_p="24", vat="0.60", net="2.50", price="3.10", free_usage=True,
            charge_method="app", operator=None, provider_id=None, transaction_id="t-fp",
            cpo_share="2.48", billing_type="Postpaid",
            quality_flags=["priced_despite_free_usage"]),
    # starts at the very instant free usage went on: on; admin: no billing type
    cpo_row("c_at_on", "st1", "2024-06-01 00:00", "2024-06-01 00:30", duration=minutes(30),
            energy_wh=1000, meter_start=0, meter_stop=1000, vat_p="24", vat="0.00",
            net="0.00", price="0.00", free_usage=True, charge_method="admin",
            operator=None, provider_id=None, transaction_id="t-admin", cpo_share="0.00",
            billing_type=None, quality_flags=[]),
    # starts at the very instant free usage went off: off; 5 * 24 / 124 = 0.9677 -> 0.97
    cpo_row("c_at_off", "st1", "2024-06-15 00:00", "2024-06-15 01:00", duration=minutes(60),
            energy_wh=1000, meter_start=0, meter_stop=1000, vat_p="24", vat="0.97",
            net="4.03", price="5.00", free_usage=False, charge_method="app", operator=None,
            provider_id=None, transaction_id="t-off", cpo_share="4.00",
            billing_type="Prepaid", quality_flags=[]),
    # a network outside the three: in this view only, flagged; 6.20 * 24 / 124 = 1.20
    cpo_row("c_other_net", "st1", "2024-07-01 10:00", "2024-07-01 11:00",
            duration=minutes(60), energy_wh=5000, meter_start=0, meter_stop=5000,
            vat_p="24", vat="1.20", net="5.00", price="6.20", free_usage=False,
            charge_method="rfid", operator="FI*VIR", provider_id="DE*PLS",
            transaction_id="t-ps", cpo_share="4.96", billing_type=None,
            quality_flags=["unlisted_roaming_network"]),
]}


def roaming_row(cdr_id: str, month: dt.date, network: str, evse_id: str,
                free_usage: bool) -> dict:
    """An expected roaming row: the CPO view's values, with the roaming view's own
    month, network, EVSE ID and free usage (at report time)."""
    cpo = EXPECTED_CPO[cdr_id]
    return {
        "month": month, "network": network, "cdr_id": cdr_id,
        "station_id": cpo["station_id"], "evse_id": evse_id,
        "station_name": cpo["station_name"], "start_time": cpo["start_time"],
        "stop_time": cpo["stop_time"], "energy_wh": cpo["energy_wh"],
        "meter_start": cpo["meter_start"], "meter_stop": cpo["meter_stop"],
        "price": cpo["price"], "currency": "EUR", "public_private": "Public",
        "free_usage": free_usage, "plug_type": cpo["plug_type"],
        "charge_method": cpo["charge_method"], "operator": cpo["operator"],
        "provider_id": cpo["provider_id"], "transaction_id": cpo["transaction_id"],
        "duration": cpo["duration"], "vat_rate": cpo["vat_p"], "vat_amount": cpo["vat"],
        "organisation_id": "org_fi", "quality_flags": cpo["quality_flags"],
    }


# st1's free usage was switched on again on 20 September: on at report time
EXPECTED_ROAMING = {r["cdr_id"]: r for r in [
    # 23:30 UTC on 31 January is 01:30 on 1 February in Helsinki
    roaming_row("c_midnight", dt.date(2024, 2, 1), "Hubject", "FI*HUB*E1", True),
    # Gireve knows no EVSE ID of its own for st1: the station's
    roaming_row("c_dst", dt.date(2024, 3, 1), "Gireve", "FI*VIR*E1*1", True),
    roaming_row("c_ocpi", dt.date(2024, 6, 1), "OCPI", "FI-OCPI-E1", True),
]}


def test_charging_sessions_cpo_rows(built):
    assert_rows(built.rows_by("reports.charging_sessions_cpo", "charge_id"), EXPECTED_CPO)


def test_roaming_sessions_cpo_rows(built):
    assert_rows(built.rows_by("reports.roaming_sessions_cpo", "cdr_id"), EXPECTED_ROAMING)


def test_nothing_rejected_and_reconciles_per_month(built):
    assert built.query("select * from audit.rejected_sessions") == []
    assert_reconciles(built, 15)
    recon = {(r["organisation_id"], r["month"]): r["raw_sessions"]
             for r in built.query("select * from audit.reconciliation")}
    # months on the Helsinki wall clock: c_midnight in February, c_ongoing in October
    assert recon == {
        ("org_fi", dt.date(2024, 2, 1)): 1, ("org_fi", dt.date(2024, 3, 1)): 1,
        ("org_fi", dt.date(2024, 5, 1)): 5, ("org_fi", dt.date(2024, 6, 1)): 4,
        ("org_fi", dt.date(2024, 7, 1)): 1, ("org_fi", dt.date(2024, 8, 1)): 1,
        ("org_fi", dt.date(2024, 9, 1)): 1, ("org_fi", dt.date(2024, 10, 1)): 1,
    }


def test_every_data_test_ran_and_passed(built):
    tests = [n for n in built.result.nodes if n.kind == "test"]
    assert len(tests) > 50
    assert all(n.status == "pass" for n in tests), \
        [(n.name, n.status, n.message) for n in tests if n.status != "pass"]


def test_version_count_keeps_the_duplicates_visible(built):
    [row] = built.query("select version_count from staging.stg_raw__charging_sessions "
                        "where charge_id = 'c_versions'")
    assert row["version_count"] == 3


def test_roaming_free_usage_follows_report_time(tmp_path):
    """The same zone built with report_time before 20 September: free usage was off."""
    raw = empty_zone(tmp_path / "raw")
    write_csv(raw / "organisations" / "o.csv", ORGANISATIONS)
    write_csv(raw / "stations" / "s.csv", STATIONS)
    write_csv(raw / "station_roaming_ids" / "r.csv", ROAMING_IDS)
    write_csv(raw / "station_settings_log" / "l.csv", SETTINGS)
    write_csv(raw / "revenue_share_agreements" / "a.csv", SHARES)
    write_ndjson(raw / "charging_sessions" / "b.ndjson", SESSIONS_NDJSON)
    built = build_zone(tmp_path, raw, "2024-06-10T00:00:00+03:00")
    roaming = built.rows_by("reports.roaming_sessions_cpo", "cdr_id")
    assert {k: r["free_usage"] for k, r in roaming.items()} == {"c_ocpi": True}
    built = build_zone(tmp_path, raw, "2024-06-15T00:00:00Z")
    roaming = built.rows_by("reports.roaming_sessions_cpo", "cdr_id")
    assert {k: r["free_usage"] for k, r in roaming.items()} == {"c_ocpi": False}
    assert_reconciles(built, 2)
