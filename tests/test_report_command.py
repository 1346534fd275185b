"""`runner report`: the files a CPO receives, opened the way its tools open them.

Two landing zones: a hand-written one (a Finnish, an Icelandic and a Swedish CPO, each
session chosen for an edge: local midnight, the DST change, seconds that round a minute
up, ISK without decimals, a station name that looks like a formula) whose every value
is written out below; and the generated sample, whose row counts are checked against the
report tables filtered by hand in Python."""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pytest

from conftest_reports import ROOT, build_zone, empty_zone, session, write_csv
from runner.errors import RunnerError
from cpo.report import AccessRefused, ReportError, write_report

REPORT_TIME = "2024-10-15T00:00:00Z"
SEPT = ("2024-09-01", "2024-10-01")

CHARGING_HEADERS = [
    "Created", "Charge ID", "Station ID", "EVSE-ID", "Station name", "CPO name", "Start time",
    "Stop time", "Duration", "Energy (Wh)", "Meter start", "Meter stop", "VAT P", "VAT", "Net",
    "Price", "Currency", "Public/Private", "Free usage", "Plug type", "Charge method",
    "Operator", "Provider ID", "Transaction ID", "CPO share", "Billing type", "Location type"]
ROAMING_HEADERS = [
    "Month", "Network", "CDR ID", "Station ID", "EVSE-ID", "Station name", "Start time",
    "Stop time", "Energy (Wh)", "Meter start", "Meter stop", "Price", "Currency",
    "Public/Private", "Free usage", "Plug type", "Charge method", "Operator", "Provider ID",
    "Transaction ID", "Duration", "VAT rate", "VAT amount"]
INJECTION = "x'; drop table reports.charging_sessions_cpo; --"

ORGANISATIONS = [
    {"organisation_id": "org_fi", "name": "Turku Energia", "country": "FI", "currency": "EUR",
     "timezone": "Europe/Helsinki", "is_public": "true", "updated_at": "2024-01-01T00:00:00Z"},
    {"organisation_id": "org_is", "name": "Hleðsla ehf", "country": "IS", "currency": "ISK",
     "timezone": "Atlantic/Reykjavik", "is_public": "true",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"organisation_id": "org_se", "name": "Laddning AB", "country": "SE", "currency": "SEK",
     "timezone": "Europe/Stockholm", "is_public": "false",
     "updated_at": "2024-01-01T00:00:00Z"},
]
STATIONS = [
    {"station_id": "st_fi1", "evse_id": "FI*VIR*E1*1", "name": "Market Square, Turku",
     "organisation_id": "org_fi", "current_type": "AC", "location_type": "public",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"station_id": "st_fi2", "evse_id": "FI*VIR*E2*1", "name": "=1+2",
     "organisation_id": "org_fi", "current_type": "DC", "location_type": "office",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"station_id": "st_is1", "evse_id": "IS*ON*E1", "name": "Höfn \"harbour\"",
     "organisation_id": "org_is", "current_type": "AC", "location_type": "public",
     "updated_at": "2024-01-01T00:00:00Z"},
    {"station_id": "st_se1", "evse_id": "SE*LAD*E1", "name": "Kungsgatan",
     "organisation_id": "org_se", "current_type": "AC", "location_type": "home",
     "updated_at": "2024-01-01T00:00:00Z"},
]
ROAMING_IDS = [{"station_id": "st_fi1", "network": "hubject", "evse_id": "FI*HUB*E1"}]
SHARES = [{"organisation_id": o, "valid_from": "2024-01-01", "cpo_share_pct": "80"}
          for o in ("org_fi", "org_is", "org_se")]
S = session
APP = {"charge_method": "app", "billing_type": "prepaid"}
SESSIONS = [
    # 23:59:59 on 31 August in Helsinki: not September
    S("f_before", "st_fi1", "2024-08-31T20:59:59Z", "2024-08-31T21:10:00Z", 0, 100, "1.00",
      transaction_id="t0", **APP),
    # 00:30 on 1 September in Helsinki, though 31 August in UTC; 20 seconds: 1 minute
    S("f_edge_in", "st_fi1", "2024-08-31T21:30:00Z", "2024-08-31T21:30:20Z", 0, 10, "0.10",
      transaction_id="t1", **APP),
    # the Turku export's example: 14.40-15.44 is 64 minutes
    S("f_turku", "st_fi1", "2024-09-10T14:40:00+03:00", "2024-09-10T15:44:00+03:00", 1000,
      4270, "12.40", transaction_id="t2", **APP),
    S("f_ongoing", "st_fi1", "2024-09-15T10:00:00Z", None, 5000, None, None, **APP),
    # 64 minutes and 1 second: 65 started minutes
    S("f_roam", "st_fi1", "2024-09-20T08:00:00Z", "2024-09-20T09:04:01Z", 0, 2000, "3.00",
      charge_method="rfid", roaming_network="hubject", operator_id="FI*VIR",
      provider_id="DE*8EO", transaction_id="t3"),
    S("f_formula", "st_fi2", "2024-09-21T09:00:00Z", "2024-09-21T09:30:00Z", 0, 500, "1.00",
      transaction_id="t4", **APP),
    # 00:30 on 1 October in Helsinki: not September
    S("f_edge_out", "st_fi1", "2024-09-30T21:30:00Z", "2024-09-30T22:00:00Z", 0, 10, "0.10",
      transaction_id="t5", **APP),
    # 03:30 EEST to 04:30 EET: an hour on the clock, two hours of charging
    S("f_dst", "st_fi1", "2024-10-27T00:30:00Z", "2024-10-27T02:30:00Z", 0, 10, "0.10",
      transaction_id="t6", **APP),
    S("i_1", "st_is1", "2024-09-05T12:00:00Z", "2024-09-05T12:30:30Z", 0, 7000, "1234",
      charge_method="rfid", roaming_network="gireve", operator_id="IS*ON",
      provider_id="FR*GIR", transaction_id="t7"),
    # Reykjavik is UTC all year: the last second of September
    S("i_2", "st_is1", "2024-09-30T23:59:59Z", "2024-10-01T00:10:00Z", 0, 100, "100",
      transaction_id="t8", **APP),
    S("i_out", "st_is1", "2024-10-01T00:00:00Z", "2024-10-01T00:10:00Z", 0, 100, "100",
      transaction_id="t9", **APP),
    S("s_1", "st_se1", "2024-09-05T10:00:00Z", "2024-09-05T10:45:00Z", 0, 900, "20.00",
      transaction_id="t10", **APP),
]
# charge ID -> (local start, local stop, minutes), for org_fi and org_is in September,
# in the order of the report (start instant)
SEPT_FI_IS = {
    "f_edge_in": ("2024-09-01 00:30:00", "2024-09-01 00:30:20", 1),
    "i_1": ("2024-09-05 12:00:00", "2024-09-05 12:30:30", 31),
    "f_turku": ("2024-09-10 14:40:00", "2024-09-10 15:44:00", 64),
    "f_ongoing": ("2024-09-15 13:00:00", None, None),
    "f_roam": ("2024-09-20 11:00:00", "2024-09-20 12:04:01", 65),
    "f_formula": ("2024-09-21 12:00:00", "2024-09-21 12:30:00", 30),
    "i_2": ("2024-09-30 23:59:59", "2024-10-01 00:10:00", 11),
}
ROLES = """
roles:
  cpo_fi:
    modules: [reports, STATIONS]
    organisations: [org_fi]
  admin:
    modules: [Reports, Stations, Pricing]
    organisations: all
  technician:
    modules: [Stations]
    organisations: all
"""


def local(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> Path:
    """The hand-written landing zone, built: the database file."""
    tmp = tmp_path_factory.mktemp("report_zone")
    raw = empty_zone(tmp / "raw")
    write_csv(raw / "organisations" / "o.csv", ORGANISATIONS)
    write_csv(raw / "stations" / "s.csv", STATIONS)
    write_csv(raw / "station_roaming_ids" / "r.csv", ROAMING_IDS)
    write_csv(raw / "revenue_share_agreements" / "a.csv", SHARES)
    from conftest_reports import SESSION_COLUMNS
    write_csv(raw / "charging_sessions" / "c.csv", SESSIONS, SESSION_COLUMNS)
    return build_zone(tmp, raw, REPORT_TIME).db_path


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The generated sample, built: the database file."""
    from cpo.sample import generate
    tmp = tmp_path_factory.mktemp("report_sample")
    generate(tmp / "raw", sessions=2000, seed=1)
    return build_zone(tmp, tmp / "raw", REPORT_TIME).db_path


@pytest.fixture
def project_with_roles(tmp_path: Path) -> Path:
    """A project folder holding only a roles file; the database is passed with --db."""
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: proj\n", encoding="utf-8")
    (root / "roles.yml").write_text(ROLES, encoding="utf-8")
    return root


def report(db: Path, kind: str, orgs: list[str], out: Path, span=SEPT, **kw) -> str:
    return write_report(kw.pop("project_dir", ROOT), kind, orgs, span[0], span[1], out, db=db,
                        **kw)


def read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 byte-order mark"
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def read_xlsx(path: Path):
    wb = openpyxl.load_workbook(path)
    return wb.active


def read_parquet(path: Path) -> tuple[list[tuple[str, str]], list[tuple]]:
    con = duckdb.connect()
    try:
        rows = con.execute("select * from read_parquet(?)", [str(path)]).fetchall()
        types = [(r[0], r[1]) for r in con.execute(
            "describe select * from read_parquet(?)", [str(path)]).fetchall()]
        return types, rows
    finally:
        con.close()


def table_rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()


# --- the three formats, value by value ----------------------------------------------------


def test_csv_holds_the_report_headers_local_times_and_minutes(zone, tmp_path):
    out = tmp_path / "sessions.csv"
    message = report(zone, "charging-sessions", ["org_fi", "org_is"], out)
    assert "wrote 7 rows" in message
    rows = read_csv(out)
    assert rows[0] == CHARGING_HEADERS
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [r["Charge ID"] for r in body] == list(SEPT_FI_IS)
    for row in body:
        start, stop, mins = SEPT_FI_IS[row["Charge ID"]]
        assert row["Created"] == start and row["Start time"] == start
        assert row["Stop time"] == (stop or "")
        assert row["Duration"] == ("" if mins is None else str(mins))
    by_id = {r["Charge ID"]: r for r in body}
    turku = by_id["f_turku"]
    # money to the currency's minor units: 12.40 x 25.5 / 125.5 = 2.5195 -> 2.52
    assert (turku["Price"], turku["VAT"], turku["Net"], turku["VAT P"]) == \
        ("12.40", "2.52", "9.88", "25.5")
    assert turku["Station name"] == "Market Square, Turku"     # quoted, comma kept
    assert (turku["Energy (Wh)"], turku["Meter start"], turku["Meter stop"]) == \
        ("3270", "1000", "4270")
    assert turku["Free usage"] == "false" and turku["Currency"] == "EUR"
    # ISK has no minor units: 1234 x 24 / 124 = 238.8 -> 239
    iceland = by_id["i_1"]
    assert (iceland["Price"], iceland["VAT"], iceland["Net"], iceland["Currency"]) == \
        ("1234", "239", "995", "ISK")
    assert iceland["Station name"] == 'Höfn "harbour"'
    assert iceland["CPO name"] == "Hleðsla ehf"
    # a name a spreadsheet would run as a formula is kept as text
    assert by_id["f_formula"]["Station name"] == "'=1+2"
    assert by_id["f_ongoing"]["Price"] == "" and by_id["f_ongoing"]["Energy (Wh)"] == ""


def test_csv_with_a_semicolon_for_locales_that_expect_it(zone, tmp_path):
    out = tmp_path / "roaming.csv"
    report(zone, "roaming-sessions", ["org_fi", "org_is"], out, delimiter=";")
    text = out.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == ";".join(ROAMING_HEADERS)
    assert "\r\n" in text
    rows = read_csv(out, delimiter=";")
    assert rows[0] == ROAMING_HEADERS
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert [(r["Month"], r["Network"], r["CDR ID"], r["EVSE-ID"]) for r in body] == [
        ("2024-09", "Gireve", "i_1", "IS*ON*E1"),
        ("2024-09", "Hubject", "f_roam", "FI*HUB*E1")]
    assert [(r["Start time"], r["Stop time"], r["Duration"]) for r in body] == [
        ("2024-09-05 12:00:00", "2024-09-05 12:30:30", "31"),
        ("2024-09-20 11:00:00", "2024-09-20 12:04:01", "65")]
    assert [(r["Price"], r["VAT rate"], r["VAT amount"]) for r in body] == [
        ("1234", "24", "239"), ("3.00", "25.5", "0.61")]


def test_xlsx_has_typed_cells_and_a_frozen_header_row(zone, tmp_path):
    out = tmp_path / "sessions.xlsx"
    report(zone, "charging-sessions", ["org_fi", "org_is"], out)
    ws = read_xlsx(out)
    assert ws.title == "Charging Sessions (CPO view)"
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == CHARGING_HEADERS
    assert all(c.font.b for c in ws[1])
    body = [dict(zip(CHARGING_HEADERS, r)) for r in rows[1:]]
    assert [r["Charge ID"] for r in body] == list(SEPT_FI_IS)
    for row in body:
        start, stop, mins = SEPT_FI_IS[row["Charge ID"]]
        assert row["Created"] == local(start) and row["Start time"] == local(start)
        assert row["Stop time"] == local(stop)
        assert row["Duration"] == mins and (mins is None or type(row["Duration"]) is int)
    turku = next(r for r in body if r["Charge ID"] == "f_turku")
    assert type(turku["Start time"]) is dt.datetime
    assert (turku["Energy (Wh)"], turku["Meter start"], turku["Meter stop"]) == \
        (3270, 1000, 4270)
    assert (turku["Price"], turku["VAT"], turku["Net"]) == \
        (pytest.approx(12.4), pytest.approx(2.52), pytest.approx(9.88))
    assert turku["VAT P"] == pytest.approx(25.5)
    assert turku["Free usage"] is False
    assert turku["Operator"] is None
    # the cells themselves: date-times, numbers, booleans, text
    second = {h: c for h, c in zip(CHARGING_HEADERS, ws[2])}
    assert second["Start time"].is_date
    assert second["Start time"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert second["Duration"].data_type == "n" and second["Price"].data_type == "n"
    assert second["Price"].number_format == "#,##0.00"
    assert second["Free usage"].data_type == "b"
    assert second["Charge ID"].data_type == "s"
    iceland = next(c for c in ws.iter_rows(min_row=2) if c[1].value == "i_1")
    assert iceland[CHARGING_HEADERS.index("Price")].number_format == "#,##0"
    formula = next(c for c in ws.iter_rows(min_row=2) if c[1].value == "f_formula")
    name = formula[CHARGING_HEADERS.index("Station name")]
    assert (name.value, name.data_type) == ("=1+2", "s")


def test_parquet_has_the_headers_as_typed_columns(zone, tmp_path):
    out = tmp_path / "roaming.parquet"
    report(zone, "roaming-sessions", ["org_fi", "org_is"], out)
    types, rows = read_parquet(out)
    assert [name for name, _ in types] == ROAMING_HEADERS
    kinds = dict(types)
    assert kinds["Start time"] == "TIMESTAMP" and kinds["Duration"] == "BIGINT"
    assert kinds["Month"] == "VARCHAR" and kinds["Free usage"] == "BOOLEAN"
    assert kinds["Price"].startswith("DECIMAL")
    body = [dict(zip(ROAMING_HEADERS, r)) for r in rows]
    assert [(r["CDR ID"], r["Month"], r["Start time"], r["Stop time"], r["Duration"])
            for r in body] == [
        ("i_1", "2024-09", local("2024-09-05 12:00:00"), local("2024-09-05 12:30:30"), 31),
        ("f_roam", "2024-09", local("2024-09-20 11:00:00"), local("2024-09-20 12:04:01"), 65)]
    assert body[0]["Price"] == Decimal("1234") and body[1]["Price"] == Decimal("3.00")


def test_october_holds_the_dst_change_in_elapsed_minutes(zone, tmp_path):
    out = tmp_path / "october.parquet"
    report(zone, "charging-sessions", ["org_fi"], out, span=("2024-10-01", "2024-11-01"))
    _, rows = read_parquet(out)
    got = {r[1]: (r[6], r[7], r[8]) for r in rows}
    assert got == {
        "f_edge_out": (local("2024-10-01 00:30:00"), local("2024-10-01 01:00:00"), 30),
        # 03:30 EEST to 04:30 EET: the clock says an hour, the charging took two
        "f_dst": (local("2024-10-27 03:30:00"), local("2024-10-27 04:30:00"), 120)}


def test_one_organisation_sees_only_its_own_sessions(zone, tmp_path):
    out = tmp_path / "se.csv"
    report(zone, "charging-sessions", ["org_se"], out)
    rows = read_csv(out)
    assert [r[1] for r in rows[1:]] == ["s_1"]
    # Stockholm is UTC+2 in September
    assert rows[1][6] == "2024-09-05 12:00:00"


# --- row counts against the report tables filtered by hand -------------------------------


def _by_hand(db: Path, relation: str, key: str, orgs: list[str], start: str,
             end: str) -> list[str]:
    zones = dict(table_rows(db, "select organisation_id, timezone_name from "
                                "intermediate.int_organisations_validated"))
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    rows = table_rows(db, f"select {key}, organisation_id, start_time from {relation}")
    picked = [(s, k) for k, org, s in rows if org in orgs and zones.get(org)
              and first <= s.astimezone(zoneinfo.ZoneInfo(zones[org])).date() < last]
    return [k for _, k in sorted(picked)]


@pytest.mark.parametrize("kind,relation,key", [
    ("charging-sessions", "reports.charging_sessions_cpo", "charge_id"),
    ("roaming-sessions", "reports.roaming_sessions_cpo", "cdr_id")])
def test_every_format_holds_the_rows_of_the_table_filtered_by_hand(sample, tmp_path, kind,
                                                                   relation, key):
    orgs = ["ORG00001", "ORG00004", "ORG00006"]     # Helsinki, Reykjavik, Copenhagen
    span = ("2024-03-01", "2024-11-01")             # both DST changes
    expected = _by_hand(sample, relation, key, orgs, *span)
    assert len(expected) > 20
    headers = CHARGING_HEADERS if kind == "charging-sessions" else ROAMING_HEADERS
    column = headers.index("Charge ID" if key == "charge_id" else "CDR ID")

    report(sample, kind, orgs, tmp_path / "r.csv", span=span)
    rows = read_csv(tmp_path / "r.csv")
    assert rows[0] == headers
    assert [r[column] for r in rows[1:]] == expected

    report(sample, kind, orgs, tmp_path / "r.xlsx", span=span)
    ws = read_xlsx(tmp_path / "r.xlsx")
    values = list(ws.iter_rows(values_only=True))
    assert list(values[0]) == headers
    assert [r[column] for r in values[1:]] == expected

    report(sample, kind, orgs, tmp_path / "r.parquet", span=span)
    types, prows = read_parquet(tmp_path / "r.parquet")
    assert [name for name, _ in types] == headers
    assert [r[column] for r in prows] == expected


def test_local_times_and_minutes_match_the_table(sample, tmp_path):
    out = tmp_path / "fi.parquet"
    report(sample, "charging-sessions", ["ORG00001"], out, span=("2024-01-01", "2025-01-01"))
    _, rows = read_parquet(out)
    table = {r[0]: r[1:] for r in table_rows(
        sample, "select charge_id, start_time, stop_time, duration "
                "from reports.charging_sessions_cpo where organisation_id = 'ORG00001'")}
    helsinki = zoneinfo.ZoneInfo("Europe/Helsinki")
    assert rows
    for row in rows:
        start, stop, duration = table[row[1]]
        assert row[6] == start.astimezone(helsinki).replace(tzinfo=None, microsecond=0)
        if stop is not None:
            assert row[7] == stop.astimezone(helsinki).replace(tzinfo=None, microsecond=0)
        if duration is None:
            assert row[8] is None
        else:
            seconds = duration.total_seconds()
            assert row[8] == -(-seconds // 60)      # started minutes
            assert row[8] * 60 - 60 < seconds <= row[8] * 60


# --- empty, unknown, refused -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_an_empty_result_is_a_file_with_headers_and_a_message(zone, tmp_path, suffix):
    out = tmp_path / f"empty{suffix}"
    message = report(zone, "roaming-sessions", ["org_se"], out)
    assert "is empty" in message and "headers only" in message
    if suffix == ".csv":
        assert read_csv(out) == [ROAMING_HEADERS]
    elif suffix == ".xlsx":
        assert [list(r) for r in read_xlsx(out).iter_rows(values_only=True)] == \
            [ROAMING_HEADERS]
    else:
        types, rows = read_parquet(out)
        assert [n for n, _ in types] == ROAMING_HEADERS and rows == []


def test_an_unknown_organisation_lists_the_known_ones_closest_first(zone, tmp_path):
    out = tmp_path / "x.csv"
    with pytest.raises(ReportError) as err:
        report(zone, "charging-sessions", ["org_is", "org_sx"], out)
    text = err.value.render()
    assert "'org_sx'" in text
    listed = text.split("closest first):")[1]
    assert listed.index("org_se") < listed.index("org_fi")
    assert "Laddning AB" in listed
    assert not out.exists()


def test_an_injection_like_organisation_is_just_unknown(zone, tmp_path):
    before = table_rows(zone, "select count(*) from reports.charging_sessions_cpo")
    with pytest.raises(ReportError, match="there is no organisation"):
        report(zone, "charging-sessions", [INJECTION], tmp_path / "x.csv")
    with pytest.raises(ReportError, match="there is no report"):
        report(zone, "charging-sessions' or '1'='1", ["org_fi"], tmp_path / "x.csv")
    with pytest.raises(ReportError, match="YYYY-MM-DD"):
        report(zone, "charging-sessions", ["org_fi"], tmp_path / "x.csv",
               span=("2024-09-01'; --", "2024-10-01"))
    assert table_rows(zone, "select count(*) from reports.charging_sessions_cpo") == before
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("args,message", [
    (dict(out="x.txt"), "extension"),
    (dict(span=("2024-10-01", "2024-09-01")), "swapped"),
    (dict(span=("2024-09-01", "2024-09-01")), "must come after"),
    (dict(span=("2024-9-1", "2024-10-01")), "YYYY-MM-DD"),
    (dict(out="x.xlsx", delimiter=";"), "--delimiter is for .csv"),
    (dict(delimiter="ab"), "one character"),
])
def test_mistakes_in_the_request_are_errors(zone, tmp_path, args, message):
    out = tmp_path / args.pop("out", "x.csv")
    with pytest.raises(ReportError, match=message):
        report(zone, "charging-sessions", ["org_fi"], out, **args)
    assert not out.exists()


def test_a_role_with_both_modules_and_the_organisation_gets_the_report(zone, tmp_path,
                                                                        project_with_roles):
    out = tmp_path / "fi.csv"
    report(zone, "charging-sessions", ["org_fi"], out, role="cpo_fi",
           project_dir=project_with_roles)
    assert len(read_csv(out)) == 1 + 5
    report(zone, "roaming-sessions", ["org_fi", "org_is"], out, role="admin",
           project_dir=project_with_roles)
    assert len(read_csv(out)) == 1 + 2


@pytest.mark.parametrize("role,orgs,message", [
    ("technician", ["org_fi"], "needs the Reports and Stations modules"),
    ("cpo_fi", ["org_fi", "org_se"], "may not see organisation org_se"),
    ("cpo_fi", [INJECTION], "may not see organisation"),
    ("nobody", ["org_fi"], "no role 'nobody'"),
])
def test_a_role_is_refused_and_gets_no_file(zone, tmp_path, project_with_roles, role, orgs,
                                            message):
    out = tmp_path / "refused.xlsx"
    with pytest.raises(AccessRefused, match=message) as err:
        report(zone, "charging-sessions", orgs, out, role=role,
               project_dir=project_with_roles)
    assert "No file was written" in err.value.message or "no file was written" in \
        err.value.message
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [project_with_roles]


def test_a_refusal_makes_no_folder_either(zone, tmp_path, project_with_roles):
    out = tmp_path / "new" / "folder" / "r.csv"
    with pytest.raises(AccessRefused):
        report(zone, "charging-sessions", ["org_fi"], out, role="technician",
               project_dir=project_with_roles)
    assert not (tmp_path / "new").exists()
    report(zone, "charging-sessions", ["org_fi"], out, role="cpo_fi",
           project_dir=project_with_roles)
    assert out.exists()


def test_a_tab_separated_csv(zone, tmp_path):
    out = tmp_path / "tabs.csv"
    report(zone, "charging-sessions", ["org_is"], out, delimiter="tab")
    rows = read_csv(out, "\t")
    assert rows[0] == CHARGING_HEADERS and [r[1] for r in rows[1:]] == ["i_1", "i_2"]


def test_a_refusal_leaves_an_earlier_file_as_it_was(zone, tmp_path, project_with_roles):
    out = tmp_path / "kept.csv"
    out.write_bytes(b"earlier")
    with pytest.raises(AccessRefused):
        report(zone, "charging-sessions", ["org_se"], out, role="cpo_fi",
               project_dir=project_with_roles)
    assert out.read_bytes() == b"earlier"


def test_the_project_roles_file_gives_the_cpo_reports_to_reports_and_stations(sample,
                                                                             tmp_path):
    from cpo.report import load_roles
    roles = load_roles(ROOT)
    assert {"Reports", "Stations"} <= set(roles["platform_admin"].modules)
    out = tmp_path / "a.csv"
    report(sample, "charging-sessions", ["ORG00001"], out, role="cpo_reporting_aurora")
    assert out.exists()
    for role in ("station_technician", "finance_viewer"):
        with pytest.raises(AccessRefused, match="modules"):
            report(sample, "charging-sessions", ["ORG00001"], tmp_path / "b.csv", role=role)
    with pytest.raises(AccessRefused, match="ORG00002"):
        report(sample, "roaming-sessions", ["ORG00002"], tmp_path / "b.csv",
               role="cpo_reporting_aurora")
    assert not (tmp_path / "b.csv").exists()


def test_a_broken_roles_file_is_a_project_error(zone, tmp_path, project_with_roles):
    (project_with_roles / "roles.yml").write_text("roles:\n  r:\n    modules: Reports\n"
                                                  "    organisations: all\n")
    with pytest.raises(RunnerError, match="'modules' must be a list"):
        report(zone, "charging-sessions", ["org_fi"], tmp_path / "x.csv", role="r",
               project_dir=project_with_roles)
    (project_with_roles / "roles.yml").unlink()
    with pytest.raises(ReportError, match="roles.yml"):
        report(zone, "charging-sessions", ["org_fi"], tmp_path / "x.csv", role="r",
               project_dir=project_with_roles)


def test_the_definitions_say_who_may_receive_each_report(zone):
    rows = table_rows(zone, "select report, relation, required_modules "
                            "from reference.report_definitions order by report")
    assert rows == [
        ("charging-sessions", "reports.charging_sessions_cpo", "Reports;Stations"),
        ("roaming-sessions", "reports.roaming_sessions_cpo", "Reports;Stations")]
    headers = table_rows(zone, "select report, header from reference.report_columns "
                               "order by report, position")
    assert [h for r, h in headers if r == "charging-sessions"] == CHARGING_HEADERS
    assert [h for r, h in headers if r == "roaming-sessions"] == ROAMING_HEADERS


# --- the file appears complete or not at all ----------------------------------------------


def test_a_failing_writer_leaves_nothing_behind(zone, tmp_path, monkeypatch):
    import cpo.report.command as module
    out = tmp_path / "half.xlsx"
    out.write_bytes(b"earlier")

    def broken(*args, **kwargs):
        tmp = args[4]
        tmp.write_bytes(b"half a workbook")
        raise OSError("No space left on device")
    monkeypatch.setattr(module, "_write_xlsx", broken)
    with pytest.raises(RunnerError, match="No space left"):
        report(zone, "charging-sessions", ["org_fi"], out)
    assert out.read_bytes() == b"earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half.xlsx"]


# --- the command line ---------------------------------------------------------------------


def test_the_command_writes_the_file_and_refuses_without_a_traceback(zone, tmp_path,
                                                                     project_with_roles, cli):
    out = tmp_path / "sessions.csv"
    code, stdout, stderr = cli(
        "report", "charging-sessions", "--org", "org_fi", "--org",
        "org_is", "--from", "2024-09-01", "--to", "2024-10-01", "--out", out,
        "--delimiter", ";", "--db", zone, "--project-dir", project_with_roles)
    assert code == 0, stderr
    assert "wrote 7 rows" in stdout
    assert read_csv(out, ";")[0] == CHARGING_HEADERS
    code, stdout, stderr = cli(
        "report", "charging-sessions", "--org", "org_se", "--from",
        "2024-09-01", "--to", "2024-10-01", "--out", tmp_path / "no.xlsx", "--role", "cpo_fi",
        "--db", zone, "--project-dir", project_with_roles)
    assert code == 2
    assert "Access refused" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "no.xlsx").exists()
