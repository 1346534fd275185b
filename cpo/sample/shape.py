"""The shape of the generated platform: its span, countries, organisations and
stations, the planted records, the landing zone's tables and columns; the number of
stations and organisations for a number of sessions; the SQL macros and the tables of
organisations and stations every other part of the generator reads."""

from __future__ import annotations

import datetime as _dt

import duckdb

# --------------------------------------------------------------------------------------
# Shape of the generated platform
# --------------------------------------------------------------------------------------

SPAN_START = _dt.date(2024, 1, 1)
SPAN_DAYS = 731  # 2024-01-01 .. 2025-12-31

# country, currency, time zone, currency units per EUR, minor units
COUNTRIES = [
    ("FI", "EUR", "Europe/Helsinki", 1.0, 2),
    ("SE", "SEK", "Europe/Stockholm", 11.5, 2),
    ("NO", "NOK", "Europe/Oslo", 11.7, 2),
    ("IS", "ISK", "Atlantic/Reykjavik", 150.0, 0),
    ("EE", "EUR", "Europe/Tallinn", 1.0, 2),
    ("DK", "DKK", "Europe/Copenhagen", 7.46, 2),
]

ORG_NAMES = {
    "FI": ["Aurora Lataus Oy", "Kaleva Sähkö Oy", "Saaristo Energia Oy"],
    "SE": ["Norrsken Laddning AB", "Skärgårdens El AB", "Vättern Kraft AB"],
    "NO": ["Fjordlading AS", "Nordlys Energi AS", "Vestland Ladenett AS"],
    "IS": ["Hleðsla Reykjavíkur ehf", "Orkubú Suðurnesja ehf", "Norðurljós Orka ehf"],
    "EE": ["Tallinna Laadimisvõrk OÜ", "Peipsi Energia AS", "Saaremaa Elekter OÜ"],
    "DK": ["Øresund Ladenet ApS", "Jyllands Opladning A/S", "Fyns Elbil ApS"],
}

STREETS = {
    "FI": ["Puutarhakatu", "Hämeenkatu", "Aurakatu", "Linnankatu", "Yliopistonkatu",
           "Eerikinkatu", "Mannerheimintie", "Hatanpään valtatie"],
    "SE": ["Drottninggatan", "Storgatan", "Kungsgatan", "Sveavägen", "Vasagatan"],
    "NO": ["Karl Johans gate", "Storgata", "Kirkegata", "Bogstadveien", "Thorvald Meyers gate"],
    "IS": ["Laugavegur", "Hverfisgata", "Skólavörðustígur", "Borgartún", "Suðurlandsbraut"],
    "EE": ["Narva mnt", "Pärnu mnt", "Tartu mnt", "Viru väljak", "Endla"],
    "DK": ["Strøget", "Vesterbrogade", "Nørrebrogade", "Østerbrogade", "Amagerbrogade"],
}

PROVIDERS = ["DE*8EO", "NL*TNM", "DE*BMW", "NL*ALF", "FI*PLG", "SE*CLE", "NO*ELB",
             "DK*CLE", "FR*MOB", "AT*SMA"]

OTHER_NETWORK = "chargepoint_eu"

# Every block of PLANT_PERIOD session IDs holds these records at these offsets; the other
# offsets are ordinary sessions.  A counter-charge cancels the session just before it.
PLANT_PERIOD = 1000
PLANTED = {
    0: "cancelled",  # an ordinary billed session, cancelled by the next one
    1: "counter_charge",
    3: "meter_backwards",
    5: "unknown_station",
    7: "stop_before_start",
    9: "across_midnight",
    11: "across_month_end",
    13: "across_dst_autumn",  # 2024-10-27, Europe/Helsinki
    14: "across_dst_spring",  # 2025-03-30, Europe/Helsinki
    15: "fi_before_vat_change",  # 2024-08-31 evening, Helsinki (24 %)
    17: "fi_after_vat_change",  # 2024-09-01 small hours, Helsinki (25.5 %), still Aug 31 in UTC
    19: "ee_before_vat_change",  # 2025-06-30 evening, Tallinn (22 %)
    21: "ee_after_vat_change",  # 2025-07-01 small hours, Tallinn (24 %)
    23: "ee_new_year_2024",  # 2024-01-01 before 02:00, Tallinn (22 %), still 2023 in UTC
    25: "no_transaction_id",
    27: "duplicate_versions",  # both versions arrive twice, in another file
    29: "ongoing",  # only the start version
    31: "other_roaming_network",
    33: "free_but_priced",
    34: "free_usage",
    35: "roaming_without_network_evse_id",  # hubject at a station hubject has no ID for
    36: "roaming_hubject",
    37: "roaming_gireve",
    38: "roaming_ocpi",
    41: "stopped_not_billed",  # latest version has a stop but no price
    43: "stopped_then_billed",  # three versions, the billed one arrives late
}
_SLOT = {name: slot for slot, name in PLANTED.items()}

# Version kinds
_NORMAL, _ONGOING, _STOPPED_UNBILLED, _STOP_THEN_BILL = 0, 1, 2, 3

_SESSION_COLUMNS = [
    "charge_id", "station_id", "created_at", "start_time", "stop_time", "meter_start_wh",
    "meter_stop_wh", "price", "charge_method", "billing_type", "roaming_network",
    "operator_id", "provider_id", "transaction_id", "counter_charge_of", "updated_at",
]
_TS_COLUMNS = {"created_at", "start_time", "stop_time", "updated_at"}

# The late CSV lists its columns in another order, as a different export would.
_LATE_CSV_COLUMNS = [
    "charge_id", "updated_at", "station_id", "start_time", "stop_time", "meter_start_wh",
    "meter_stop_wh", "price", "transaction_id", "charge_method", "billing_type",
    "roaming_network", "operator_id", "provider_id", "counter_charge_of", "created_at",
]

TABLES = [
    "organisations", "stations", "station_roaming_ids", "station_settings_log",
    "charging_sessions", "revenue_share_agreements",
]


def scale(sessions: int) -> dict:
    """Number of stations and organisations for a given number of sessions.

    About 500 sessions per station and year (the span is two years), 150 stations per
    organisation; never fewer than 60 stations and 8 organisations.
    """
    stations = max(60, sessions // 1000)
    orgs = max(8, stations // 150)
    return {"stations": stations, "organisations": orgs}


CHARGE_ID_BASE = 1_000_000_000


def charge_id(i: int) -> str:
    """The charge ID of session number i (0-based)."""
    return str(CHARGE_ID_BASE + i)


def planted_kind(charge_id_: str) -> str | None:
    """The planted case a charge ID carries, or None for an ordinary session."""
    return PLANTED.get((int(charge_id_) - CHARGE_ID_BASE) % PLANT_PERIOD)


# --------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------


def _sql_list(values) -> str:
    def lit(v):
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(v)

    return "[" + ", ".join(lit(v) for v in values) + "]"


def _lookup(weights: list[int]) -> list[int]:
    # One entry per reference session: indexing it with floor(u * len) draws an index
    # (hour, cell) with exactly the reference frequencies.
    return [h for h, w in enumerate(weights) for _ in range(w)]


def _macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    seed = int(seed)
    # hash() combines its arguments with a weak mix, so streams of the same row would be
    # correlated; hashing the combined value again decorrelates them.
    con.execute(f"CREATE OR REPLACE MACRO hx(i, s) AS hash(hash({seed}, i, s))")
    con.execute(
        "CREATE OR REPLACE MACRO u(i, s) AS "
        "(hx(i, s) >> 11)::DOUBLE / 9007199254740992.0"
    )
    # Text form of an instant for CSV/NDJSON: 0 = with the local offset, 1 = 'Z',
    # 2 = naive UTC.
    con.execute(
        "CREATE OR REPLACE MACRO fmt_ts(ts, tz, style) AS CASE "
        "WHEN ts IS NULL THEN NULL "
        "WHEN style = 0 THEN strftime(timezone(tz, ts), '%Y-%m-%dT%H:%M:%S') || "
        "  CASE WHEN date_diff('minute', ts::TIMESTAMP, timezone(tz, ts)) < 0 THEN '-' ELSE '+' END || "
        "  lpad((abs(date_diff('minute', ts::TIMESTAMP, timezone(tz, ts))) // 60)::VARCHAR, 2, '0') || ':' || "
        "  lpad((abs(date_diff('minute', ts::TIMESTAMP, timezone(tz, ts))) % 60)::VARCHAR, 2, '0') "
        "WHEN style = 1 THEN strftime(ts, '%Y-%m-%dT%H:%M:%SZ') "
        "ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S') END"
    )


def _org_sql(n_orgs: int) -> str:
    countries = _sql_list([c[0] for c in COUNTRIES])
    currencies = _sql_list([c[1] for c in COUNTRIES])
    tzs = _sql_list([c[2] for c in COUNTRIES])
    fxs = _sql_list([c[3] for c in COUNTRIES])
    minors = _sql_list([c[4] for c in COUNTRIES])
    names = "[" + ", ".join(_sql_list(ORG_NAMES[c[0]]) for c in COUNTRIES) + "]"
    per = len(ORG_NAMES["FI"])
    # Operator codes: a bijection of 0..26^3-1, chosen so that the first one is VIR.
    return f"""
    CREATE OR REPLACE TABLE org AS
    WITH b AS (
        SELECT j, (j % 6)::INTEGER + 1 AS c, ((j * 7919 + 14421) % 17576)::INTEGER AS code
        FROM range({n_orgs}) t(j)
    )
    SELECT
        j,
        'ORG' || lpad((j + 1)::VARCHAR, 5, '0') AS organisation_id,
        {names}[c][((j // 6) % {per})::INTEGER + 1]
            || CASE WHEN j >= {6 * per} THEN ' ' || (j // {6 * per} + 1)::VARCHAR ELSE '' END AS name,
        {countries}[c] AS country,
        {currencies}[c] AS currency,
        {tzs}[c] AS timezone,
        CASE WHEN j = 7 THEN false WHEN j < 7 THEN true ELSE u(j, 101) >= 0.25 END AS is_public,
        chr(65 + (code // 676)) || chr(65 + (code // 26) % 26) || chr(65 + code % 26) AS opcode,
        {fxs}[c] AS fx,
        {minors}[c] AS minor,
        0.25 + 0.20 * u(j, 102) AS p_ac,
        0.45 + 0.30 * u(j, 103) AS p_dc,
        CASE WHEN u(j, 104) < 0.35 THEN 0.50 + 0.50 * u(j, 105) ELSE 0 END AS fee,
        TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds((u(j, 106) * 600 * 86400)::BIGINT) AS updated_at,
        j % 3 = 1 AS renamed,
        TIMESTAMPTZ '2024-06-01 00:00:00+00' + to_seconds((u(j, 107) * 500 * 86400)::BIGINT) AS renamed_at
    FROM b
    """


def _station_sql(n_st: int, n_orgs: int, sessions: int) -> str:
    streets = "[" + ", ".join(_sql_list(STREETS[c[0]]) for c in COUNTRIES) + "]"
    streets_len = _sql_list([len(STREETS[c[0]]) for c in COUNTRIES])
    countries = _sql_list([c[0] for c in COUNTRIES])
    # Average Wh a station's meter advances per second over the span.
    rate = sessions / n_st * 9000.0 / (SPAN_DAYS * 86400.0)
    return f"""
    CREATE OR REPLACE TABLE st AS
    WITH b AS (
        SELECT k,
            CASE WHEN k < {4 * n_orgs} THEN k % {n_orgs}
                 ELSE least(floor({n_orgs} * pow(u(k, 201), 1.5))::BIGINT, {n_orgs - 1}) END AS j
        FROM range({n_st}) t(k)
    ), c AS (
        SELECT b.k, org.*,
            CASE WHEN k = 0 THEN 'AC' WHEN k = 1 THEN 'DC'
                 WHEN u(k, 202) < 0.15 THEN 'DC' ELSE 'AC' END AS current_type,
            CASE WHEN k IN (0, 1, 3, 5) THEN 'public' WHEN k = 2 THEN 'office' WHEN k = 4 THEN 'home'
                 WHEN NOT org.is_public THEN CASE WHEN u(k, 203) < 0.7 THEN 'office' ELSE 'home' END
                 WHEN u(k, 203) < 0.65 THEN 'public' WHEN u(k, 203) < 0.85 THEN 'office'
                 ELSE 'home' END AS location_type,
            list_position({countries}, org.country) AS ci
        FROM b JOIN org USING (j)
    ), d AS (
        SELECT *,
            CASE WHEN k IN (0, 1, 3) THEN true WHEN k IN (2, 4, 5) THEN false
                 ELSE location_type = 'public' AND u(k, 204) < 0.8 END AS roaming,
            CASE WHEN k = 2 THEN true WHEN k IN (0, 1, 3, 4, 5) THEN false
                 ELSE u(k, 205) < 0.10 END AS has_free
        FROM c
    ), e AS (
        SELECT *,
            CASE WHEN k = 2 THEN TIMESTAMPTZ '2023-05-02 07:12:40+00'
                 WHEN has_free THEN TIMESTAMPTZ '2023-09-01 00:00:00+00'
                      + to_seconds((u(k, 206) * 700 * 86400)::BIGINT) END AS f1,
            roaming AND k <> 3 AND (k IN (0, 1) OR u(k, 211) >= 0.15) AS net_hubject,
            roaming AND (k IN (0, 1, 3) OR u(k, 212) >= 0.15) AS net_gireve,
            roaming AND (k IN (0, 1, 3) OR u(k, 213) >= 0.15) AS net_ocpi
        FROM d
    ), f AS (
        SELECT *,
            CASE WHEN k <> 2 AND has_free AND u(k, 207) < 0.7
                 THEN f1 + to_seconds((86400 * (20 + 380 * u(k, 208)))::BIGINT) END AS f2
        FROM e
    )
    SELECT
        k,
        (10000 + k)::VARCHAR AS station_id,
        country || '*' || opcode || '*E' || lpad((k + 1)::VARCHAR, 6, '0') || '*'
            || (1 + hx(k, 234) % 2)::VARCHAR AS evse_id,
        {streets}[ci][(hx(k, 209) % {streets_len}[ci])::INTEGER + 1] || ' ' || (1 + hx(k, 210) % 80)::VARCHAR AS name,
        organisation_id, j, current_type, location_type, country, opcode, timezone, fx, minor,
        CASE WHEN current_type = 'AC' THEN p_ac ELSE p_dc END AS p_kwh, fee,
        roaming, net_hubject, net_gireve, net_ocpi,
        has_free, f1, f2,
        CASE WHEN f2 IS NOT NULL AND u(k, 214) < 0.4
             THEN f2 + to_seconds((86400 * (10 + 290 * u(k, 215)))::BIGINT) END AS f3,
        has_free AND f1 < TIMESTAMPTZ '2024-01-01 00:00:00+00' AND f2 IS NULL AS always_free,
        TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds((u(k, 216) * 360 * 86400)::BIGINT) AS updated_at,
        k = 5 OR u(k, 217) < 0.05 AS changed,
        TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_seconds((u(k, 218) * 600 * 86400)::BIGINT) AS changed_at,
        (1000000 + hx(k, 219) % 49000000)::BIGINT AS meter_base,
        {rate} * (0.5 + u(k, 220)) AS meter_rate
    FROM f
    """

