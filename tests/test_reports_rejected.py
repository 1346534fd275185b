"""Landing zone B: sessions that cannot be reported (each rejection reason), and the
money rules of other currencies: ISK (no minor units), a country without a VAT rate
(CHF, Switzerland), and a currency the seed does not know. Every expected row is
written out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest_reports import (SESSION_COLUMNS, assert_reconciles, assert_rows, build_zone,
                              empty_zone, minutes, money, session, utc, write_csv,
                              write_ndjson)

ORGANISATIONS = [
    {"organisation_id": "org_is", "name": "Reykjavik Orka", "country": "IS",
     "currency": "ISK", "timezone": "Atlantic/Reykjavik", "is_public": "false",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"organisation_id": "org_ch", "name": "Lugano Strom", "country": "CH",
     "currency": "CHF", "timezone": "Europe/Zurich", "is_public": "true",
     "updated_at": "2024-01-01T00:00:00Z"},
    # a currency the seed does not know; the zone spelled in lower case is still valid
    {"organisation_id": "org_xbt", "name": "Coin Charge", "country": "FI",
     "currency": "xbt", "timezone": "europe/helsinki", "is_public": "true",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"organisation_id": "org_badtz", "name": "Atlantis Power", "country": "FI",
     "currency": "EUR", "timezone": "Europe/Atlantis", "is_public": "true",
     "updated_at": "2024-01-01T00:00:00Z"},
]
STATIONS = [
    {"station_id": "st_is", "evse_id": "IS*ORK*E1", "name": "Harbour",
     "organisation_id": "org_is", "current_type": "DC", "location_type": "home"},
    {"station_id": "st_ch", "evse_id": "CH*LUG*E1", "name": "Piazza",
     "organisation_id": "org_ch", "current_type": "AC", "location_type": "public"},
    {"station_id": "st_xbt", "evse_id": "FI*XBT*E1", "name": "Vault",
     "organisation_id": "org_xbt", "current_type": "AC", "location_type": "office"},
    {"station_id": "st_badtz", "evse_id": "FI*ATL*E1", "name": "Deep",
     "organisation_id": "org_badtz", "current_type": "AC", "location_type": "public"},
    {"station_id": "st_orphan", "evse_id": "FI*ORP*E1", "name": "Orphan",
     "organisation_id": "org_missing", "current_type": "AC", "location_type": "public"},
]
SHARES = [
    {"organisation_id": "org_is", "valid_from": "2024-01-01", "cpo_share_pct": "72.5"},
]

S = session
NO_ID = S(None, "st_is", "2024-03-02T10:00:00Z", "2024-03-02T11:00:00Z", 0, 100, "50",
          charge_method="app", billing_type="prepaid", transaction_id="t-noid")
SESSIONS_CSV = [
    # ISK: 1000 * 24 / 124 = 193.55 -> 194; share 72.5 % = 725
    S("i1", "st_is", "2024-03-01T12:00:00Z", "2024-03-01T13:00:00Z", 0, 10000, "1000",
      charge_method="app", billing_type="postpaid", transaction_id="t-i1"),
    # billed 999.5: rounds half away from zero to 1000 ISK
    S("i2", "st_is", "2024-03-01T14:00:00Z", "2024-03-01T14:30:00Z", 0, 5000, "999.5",
      charge_method="app", billing_type="postpaid", transaction_id="t-i2"),
    # 62 * 24 / 124 = 12; share 62 * 0.725 = 44.95 -> 45
    S("i3", "st_is", "2024-03-03T08:00:00Z", "2024-03-03T08:20:00Z", 100, 900, "62",
      charge_method="app", billing_type="prepaid", transaction_id="t-i3"),
    S("i4", "st_is", "2024-03-03T08:00:00Z", "2024-03-03T08:20:00Z", 900, 100, "-62",
      charge_method="app", billing_type="prepaid", transaction_id="t-i4",
      counter_charge_of="i3", updated_at="2024-03-04T00:00:00Z"),
    S("ch1", "st_ch", "2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z", 0, 7000, "10.00",
      charge_method="rfid", billing_type="postpaid", transaction_id="t-ch1"),
    S("x1", "st_xbt", "2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z", 0, 7000, "10.123",
      charge_method="app", billing_type="prepaid", transaction_id="t-x1"),
    S("r_station", "st404", "2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z", 0, 100, "1.00"),
    S("r_orphan", "st_orphan", "2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z", 0, 100, "1"),
    S("r_badtz", "st_badtz", "2024-03-01T09:00:00Z", "2024-03-01T10:00:00Z", 0, 100, "1"),
    S("r_nostart", "st_is", None, "2024-03-01T10:00:00Z", 0, 100, "100",
      updated_at="2024-03-01T10:00:00Z"),
    S("r_badstart", "st_is", "next tuesday", "2024-03-01T10:00:00Z", 0, 100, "100",
      updated_at="2024-03-01T10:00:00Z"),
    S("r_badprice", "st_is", "2024-03-05T09:00:00Z", "2024-03-05T10:00:00Z", 0, 100,
      "12,40"),
    S("r_badmeter", "st_is", "2024-03-06T09:00:00Z", "2024-03-06T10:00:00Z", "0", "12.5",
      "100"),
    S("r_multi", "st404", "garbage", None, None, None, None, updated_at="2024-03-01"),
    NO_ID,
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zone_b")
    raw = empty_zone(tmp / "raw")
    write_csv(raw / "organisations" / "o.csv", ORGANISATIONS)
    write_csv(raw / "stations" / "s.csv", STATIONS,
              ["station_id", "evse_id", "name", "organisation_id", "current_type",
               "location_type", "updated_at"])
    write_csv(raw / "revenue_share_agreements" / "a.csv", SHARES)
    write_csv(raw / "charging_sessions" / "a.csv", SESSIONS_CSV, SESSION_COLUMNS)
    # the row without a charge ID arrives again, exactly the same
    write_ndjson(raw / "charging_sessions" / "b.ndjson", [NO_ID])
    return build_zone(tmp, raw, "2024-10-01T00:00:00Z")


def row(charge_id, station, org, start, stop, **values):
    known = {
        "st_is": {"evse_id": "IS*ORK*E1", "station_name": "Harbour", "plug_type": "DC",
                  "location_type": "Home", "cpo_name": "Reykjavik Orka", "currency": "ISK",
                  "public_private": "Private"},
        "st_ch": {"evse_id": "CH*LUG*E1", "station_name": "Piazza", "plug_type": "AC",
                  "location_type": "Public", "cpo_name": "Lugano Strom", "currency": "CHF",
                  "public_private": "Public"},
        "st_xbt": {"evse_id": "FI*XBT*E1", "station_name": "Vault", "plug_type": "AC",
                   "location_type": "Office", "cpo_name": "Coin Charge", "currency": "XBT",
                   "public_private": "Public"},
    }
    out = {"created": utc(start), "charge_id": charge_id, "station_id": station,
           "start_time": utc(start), "stop_time": utc(stop), "organisation_id": org,
           "free_usage": False, "operator": None, "provider_id": None, **known[station]}
    for key in ("vat_p", "vat", "net", "price", "cpo_share"):
        values[key] = money(values.get(key))
    out.update(values)
    return out


EXPECTED_CPO = {r["charge_id"]: r for r in [
    row("i1", "st_is", "org_is", "2024-03-01 12:00", "2024-03-01 13:00", duration=minutes(60),
        energy_wh=10000, meter_start=0, meter_stop=10000, vat_p="24", vat="194", net="806",
        price="1000", charge_method="app", transaction_id="t-i1", cpo_share="725",
        billing_type="Postpaid", quality_flags=[]),
    row("i2", "st_is", "org_is", "2024-03-01 14:00", "2024-03-01 14:30", duration=minutes(30),
        energy_wh=5000, meter_start=0, meter_stop=5000, vat_p="24", vat="194", net="806",
        price="1000", charge_method="app", transaction_id="t-i2", cpo_share="725",
        billing_type="Postpaid", quality_flags=[]),
    row("i3", "st_is", "org_is", "2024-03-03 08:00", "2024-03-03 08:20", duration=minutes(20),
        energy_wh=800, meter_start=100, meter_stop=900, vat_p="24", vat="12", net="50",
        price="62", charge_method="app", transaction_id="t-i3", cpo_share="45",
        billing_type="Prepaid", quality_flags=[]),
    row("i4", "st_is", "org_is", "2024-03-03 08:00", "2024-03-03 08:20", duration=minutes(20),
        energy_wh=-800, meter_start=900, meter_stop=100, vat_p="24", vat="-12", net="-50",
        price="-62", charge_method="app", transaction_id="t-i4", cpo_share="-45",
        billing_type="Prepaid", quality_flags=[]),
    # Switzerland has no rate in the seed, org_ch no agreement: price only
    row("ch1", "st_ch", "org_ch", "2024-03-01 09:00", "2024-03-01 10:00", duration=minutes(60),
        energy_wh=7000, meter_start=0, meter_stop=7000, vat_p=None, vat=None, net=None,
        price="10.00", charge_method="rfid", transaction_id="t-ch1", cpo_share=None,
        billing_type="Postpaid", quality_flags=["no_revenue_share", "unknown_vat_rate"]),
    # unknown currency: the price as billed, nothing derived from it
    row("x1", "st_xbt", "org_xbt", "2024-03-01 09:00", "2024-03-01 10:00",
        duration=minutes(60), energy_wh=7000, meter_start=0, meter_stop=7000, vat_p="24",
        vat=None, net=None, price="10.123", charge_method="app", transaction_id="t-x1",
        cpo_share=None, billing_type="Prepaid",
        quality_flags=["no_revenue_share", "unknown_currency"]),
]}


def test_charging_sessions_cpo_rows(built):
    assert_rows(built.rows_by("reports.charging_sessions_cpo", "charge_id"), EXPECTED_CPO)


def test_no_roaming_rows(built):
    assert built.query("select * from reports.roaming_sessions_cpo") == []


def test_rejected_sessions(built):
    rows = built.query("select * from audit.rejected_sessions")
    got = {(r["charge_id"], r["reason"], tuple(r["reasons"]), r["organisation_id"],
            r["month"], r["station_id"]) for r in rows}
    march = dt.date(2024, 3, 1)
    assert got == {
        ("r_station", "unknown_station", ("unknown_station",), None, None, "st404"),
        ("r_orphan", "unknown_organisation", ("unknown_organisation",), None, None,
         "st_orphan"),
        ("r_badtz", "unknown_timezone", ("unknown_timezone",), "org_badtz", None,
         "st_badtz"),
        ("r_nostart", "missing_start_time", ("missing_start_time",), "org_is", None,
         "st_is"),
        # created_at is the same unreadable text
        ("r_badstart", "unreadable_start_time",
         ("unreadable_start_time", "unreadable_created_at"), "org_is", None, "st_is"),
        ("r_badprice", "unreadable_price", ("unreadable_price",), "org_is", march, "st_is"),
        ("r_badmeter", "unreadable_meter_value", ("unreadable_meter_value",), "org_is",
         march, "st_is"),
        ("r_multi", "unknown_station",
         ("unknown_station", "unreadable_start_time", "unreadable_created_at"), None, None,
         "st404"),
        (None, "missing_charge_id", ("missing_charge_id",), "org_is", march, "st_is"),
    }


def test_rejected_rows_keep_the_raw_values(built):
    rows = {r["session_key"]: r for r in built.query("select * from audit.rejected_sessions")}
    assert rows["r_badstart"]["start_time_raw"] == "next tuesday"
    assert rows["r_badprice"]["price_raw"] == "12,40"
    assert rows["r_badmeter"]["meter_stop_wh_raw"] == "12.5"
    assert rows["r_orphan"]["station_organisation_id"] == "org_missing"
    assert rows["r_badtz"]["timezone_name_raw"] == "Europe/Atlantis"
    assert rows["r_station"]["_source_file"].endswith("charging_sessions/a.csv")
    [no_id] = [r for r in rows.values() if r["charge_id"] is None]
    assert no_id["session_key"].startswith("missing-charge-id:")
    assert no_id["version_count"] == 2
    assert no_id["transaction_id"] == "t-noid"


def test_reconciliation(built):
    assert_reconciles(built, 15)
    recon = {(r["organisation_id"], r["month"]):
             (r["raw_sessions"], r["reported_sessions"], r["rejected_sessions"])
             for r in built.query("select * from audit.reconciliation")}
    march = dt.date(2024, 3, 1)
    assert recon == {
        ("org_is", march): (7, 4, 3),         # i1-i4; r_badprice, r_badmeter, no ID
        ("org_is", None): (2, 0, 2),          # r_nostart, r_badstart
        ("org_ch", march): (1, 1, 0),
        ("org_xbt", march): (1, 1, 0),
        ("org_badtz", None): (1, 0, 1),
        (None, None): (3, 0, 3),              # r_station, r_orphan, r_multi
    }


def test_data_tests_pass(built):
    failed = [(n.name, n.status, n.message) for n in built.result.nodes
              if n.kind == "test" and n.status not in ("pass", "warn")]
    assert failed == []
