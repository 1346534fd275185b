"""Writing the landing zone: `generate()`, the small tables as CSV, the sessions month
by month as Parquet, and the late versions as CSV and NDJSON."""

from __future__ import annotations

import datetime as _dt
import queue
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from cpo.sample.sessions import _constants_sql, _session_sql, _text_select, _versions_sql
from cpo.sample.shape import (
    _LATE_CSV_COLUMNS, _SESSION_COLUMNS, _SLOT, _STOP_THEN_BILL, _STOPPED_UNBILLED, _NORMAL,
    PLANT_PERIOD, SPAN_DAYS, SPAN_START, TABLES, _macros, _org_sql, _station_sql, scale,
)


def _write_small_tables(con, out: Path) -> dict:
    counts = {}

    def copy(sql: str, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        return con.execute(f"COPY ({sql}) TO '{path.as_posix()}' (FORMAT csv, HEADER)").fetchone()[0]

    # Organisations: first versions, then a later export with the renamed ones and some
    # unchanged rows sent again.
    org_cols = """organisation_id, name, country, currency, timezone,
        CASE WHEN is_public THEN 'true' ELSE 'false' END AS is_public"""
    n = copy(f"SELECT {org_cols}, fmt_ts(updated_at, timezone, (hx(j, 120) % 3)::INTEGER) AS updated_at "
             f"FROM org ORDER BY j", out / "organisations" / "organisations.csv")
    n += copy(f"""
        SELECT * EXCLUDE (j, v) FROM (
            SELECT j, 0 AS v, organisation_id,
                regexp_replace(name, ' (Oy|AB|AS|ehf|OÜ|ApS|A/S)$', ' Charging \\1') AS name,
                country, currency, timezone,
                CASE WHEN is_public THEN 'true' ELSE 'false' END AS is_public,
                fmt_ts(renamed_at, timezone, (hx(j, 121) % 3)::INTEGER) AS updated_at
            FROM org WHERE renamed
            UNION ALL
            SELECT j, 1 AS v, {org_cols}, fmt_ts(updated_at, timezone, (hx(j, 120) % 3)::INTEGER)
            FROM org WHERE j % 5 = 2
        ) ORDER BY j, v""", out / "organisations" / "organisations_2025.csv")
    counts["organisations"] = n

    st_cols = "station_id, evse_id, name, organisation_id, current_type, location_type"
    n = copy(f"SELECT {st_cols}, fmt_ts(updated_at, timezone, (hx(k, 230) % 3)::INTEGER) AS updated_at "
             f"FROM st ORDER BY k", out / "stations" / "stations.csv")
    # Later versions: renamed or relocated stations; and a few rows sent again unchanged.
    n += copy(f"""
        SELECT * EXCLUDE (k, v) FROM (
            SELECT k, 0 AS v, station_id, evse_id,
                CASE WHEN hx(k, 231) % 2 = 0 THEN name || ' B' ELSE name END AS name,
                organisation_id, current_type,
                CASE WHEN hx(k, 231) % 2 = 1
                     THEN CASE location_type WHEN 'public' THEN 'office' ELSE 'public' END
                     ELSE location_type END AS location_type,
                fmt_ts(changed_at, timezone, (hx(k, 232) % 3)::INTEGER) AS updated_at
            FROM st WHERE changed
            UNION ALL
            SELECT k, 1, {st_cols}, fmt_ts(updated_at, timezone, (hx(k, 230) % 3)::INTEGER)
            FROM st WHERE u(k, 233) < 0.01
        ) ORDER BY k, v""", out / "stations" / "stations_changes.csv")
    counts["stations"] = n

    counts["station_roaming_ids"] = copy("""
        SELECT station_id, network, evse_id FROM (
            SELECT k, 1 AS o, station_id, 'hubject' AS network,
                   replace(evse_id, '*E', '*EHUB') AS evse_id
            FROM st WHERE net_hubject
            UNION ALL
            SELECT k, 2, station_id, 'gireve', replace(evse_id, '*', '') FROM st WHERE net_gireve
            UNION ALL
            SELECT k, 3, station_id, 'ocpi', regexp_replace(evse_id, '\\*[0-9]+$', '')
            FROM st WHERE net_ocpi
        ) ORDER BY k, o""", out / "station_roaming_ids" / "station_roaming_ids.csv")

    # Settings log: free_usage switched on (f1), off (f2), on again (f3); an explicit
    # 'false' before the first switch for some; and max_power changes, to be ignored.
    counts["station_settings_log"] = copy("""
        SELECT station_id, setting, value, fmt_ts(changed_at, timezone, (hx(k, o + 250) % 3)::INTEGER) AS changed_at
        FROM (
            SELECT k, 0 AS o, station_id, timezone, 'free_usage' AS setting, 'false' AS value,
                   f1 - to_seconds((86400 * (30 + 200 * u(k, 241)))::BIGINT) AS changed_at
            FROM st WHERE has_free AND u(k, 242) < 0.3
            UNION ALL SELECT k, 1, station_id, timezone, 'free_usage', 'true', f1 FROM st WHERE has_free
            UNION ALL SELECT k, 2, station_id, timezone, 'free_usage', 'false', f2 FROM st WHERE f2 IS NOT NULL
            UNION ALL SELECT k, 3, station_id, timezone, 'free_usage', 'true', f3 FROM st WHERE f3 IS NOT NULL
            UNION ALL
            SELECT k, 4, station_id, timezone, 'max_power',
                   CASE WHEN current_type = 'DC' THEN '150' WHEN hx(k, 243) % 2 = 0 THEN '11' ELSE '22' END,
                   TIMESTAMPTZ '2023-06-01 00:00:00+00' + to_seconds((u(k, 244) * 900 * 86400)::BIGINT)
            FROM st WHERE k = 0 OR u(k, 245) < 0.05
        ) ORDER BY k, changed_at, o""", out / "station_settings_log" / "station_settings_log.csv")

    # Revenue share: one or two rows per organisation; none for every 50th from the 6th
    # on; from 2024-04-01 only (nothing valid before) for every 50th from the 8th on.
    counts["revenue_share_agreements"] = copy("""
        SELECT organisation_id, strftime(valid_from, '%Y-%m-%d') AS valid_from,
               cpo_share_pct::DECIMAL(5, 2) AS cpo_share_pct
        FROM (
            SELECT j, 0 AS o, organisation_id,
                   CASE WHEN j % 50 = 7 THEN DATE '2024-04-01' ELSE DATE '2023-01-01' END AS valid_from,
                   70 + round(u(j, 130) * 50) / 2 AS cpo_share_pct
            FROM org WHERE j % 50 <> 5
            UNION ALL
            SELECT j, 1, organisation_id,
                   CASE WHEN j = 0 THEN DATE '2025-01-01'
                        ELSE DATE '2024-03-01' + (u(j, 131) * 600)::INTEGER END,
                   70 + round(u(j, 130) * 50) / 2 + CASE WHEN u(j, 132) < 0.5 THEN -2.5 ELSE 5 END
            FROM org WHERE j % 50 <> 5 AND (j = 0 OR u(j, 133) < 0.5)
        ) ORDER BY j, o""", out / "revenue_share_agreements" / "revenue_share_agreements.csv")
    return counts



def generate(out_dir: str | Path, sessions: int, seed: int = 42) -> dict:
    """Write a raw landing zone for `sessions` charge IDs into out_dir.

    Returns the number of rows written per table (for charging_sessions: versions,
    including the ones sent twice).  Existing files of the six table folders are
    replaced.
    """
    n = int(sessions)
    if n < 1:
        raise ValueError("sessions must be at least 1")
    out = Path(out_dir)
    sc = scale(n)
    n_st, n_orgs = sc["stations"], sc["organisations"]

    for t in TABLES:
        d = out / t
        d.mkdir(parents=True, exist_ok=True)
        for f in d.iterdir():
            if f.is_file() and f.suffix in (".csv", ".parquet", ".ndjson"):
                f.unlink()

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET Calendar = 'gregorian'")
        con.execute("SET preserve_insertion_order = true")
        _macros(con, seed)
        con.execute(_org_sql(n_orgs))
        con.execute(_station_sql(n_st, n_orgs, n))
        con.execute(_constants_sql())
        counts = _write_small_tables(con, out)
        counts["charging_sessions"] = _write_sessions(con, out / "charging_sessions", n, n_st, n_orgs)
    finally:
        con.close()
    return {t: counts[t] for t in TABLES}


def _month_ranges(n: int):
    """(label, first, end) ranges of row numbers whose natural start day is in one month."""
    def first_row(day: int) -> int:  # smallest i with i * SPAN_DAYS // n >= day
        return (day * n + SPAN_DAYS - 1) // SPAN_DAYS

    out = []
    d = SPAN_START
    end_day = SPAN_START + _dt.timedelta(days=SPAN_DAYS)
    while d < end_day:
        nxt = (d.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
        lo, hi = first_row((d - SPAN_START).days), first_row((min(nxt, end_day) - SPAN_START).days)
        if hi > lo:
            out.append((d.strftime("%Y-%m"), lo, hi))
        d = nxt
    return out


def _session_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    cur = con.cursor()
    cur.execute("SET enable_progress_bar = false")
    cur.execute("SET TimeZone = 'UTC'")
    cur.execute("SET Calendar = 'gregorian'")
    return cur


def _write_sessions(con, folder: Path, n: int, n_st: int, n_orgs: int) -> int:
    """One Parquet file per month of sessions (by their natural start day) with the
    versions as first sent; then one CSV and one NDJSON file of late-arriving versions
    and of versions sent a second time."""
    folder.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(_SESSION_COLUMNS)
    on_time = (
        f"(ver = 0 AND slot <> {_SLOT['counter_charge']})"
        f" OR (ver = 1 AND kind IN ({_STOPPED_UNBILLED}, {_STOP_THEN_BILL}))"
        f" OR (ver = 2 AND kind = {_NORMAL} AND route = 0)"
    )
    late = "(ver = 2 AND (route IN (1, 2) OR dup)) OR (ver = 0 AND dup)"

    # Months are written by as many workers as DuckDB has threads, each on its own
    # cursor.  Each worker binds and plans its statement once and runs it per month with
    # the month's row numbers unnested from a one-row table: a single row makes the
    # pipeline single-threaded, so rows leave in row-number order and every file's bytes
    # are independent of the number of threads (a table scan would be parallel, and
    # would need a sort).
    months = queue.SimpleQueue()
    for m in _month_ranges(n):
        months.put(m)
    n_workers = max(1, min(months.qsize(), int(con.execute("SELECT current_setting('threads')").fetchone()[0])))

    def work(w: int) -> int:
        cur = _session_connection(con)
        bounds, scratch, stmt = f"bounds_{w}", folder / f".batch_{w}.parquet.tmp", f"write_batch_{w}"
        written = 0
        try:
            cur.execute(f"CREATE OR REPLACE TABLE {bounds} (lo BIGINT, hi BIGINT)")
            cur.execute(f"INSERT INTO {bounds} VALUES (0, 0)")
            sessions = _session_sql(f"SELECT unnest(range(lo, hi)) AS i FROM {bounds}", n, n_st, n_orgs)
            cur.execute(
                f"PREPARE {stmt} AS COPY (SELECT {cols} FROM ({_versions_sql(f'({sessions})', on_time)})) "
                f"TO '{scratch.as_posix()}' "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
            )
            while True:
                try:
                    label, lo, hi = months.get_nowait()
                except queue.Empty:
                    break
                cur.execute(f"UPDATE {bounds} SET lo = {lo}, hi = {hi}")
                written += cur.execute(f"EXECUTE {stmt}").fetchone()[0]
                scratch.replace(folder / f"sessions_{label}.parquet")
        finally:
            scratch.unlink(missing_ok=True)
            cur.execute(f"DROP TABLE IF EXISTS {bounds}")
            cur.close()
        return written

    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        total = sum(pool.map(work, range(n_workers)))

    # Late versions: select the candidate sessions by their row number first (a
    # superset: the conditions of kind, route and dup), then compute only those.
    p = PLANT_PERIOD
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ids AS SELECT range AS i FROM range({n}) WHERE range % {p} IN "
        f"({_SLOT['duplicate_versions']}, {_SLOT['stopped_then_billed']}) "
        f"OR u(range, 1) < 0.020 OR u(range, 2) < 0.016 OR u(range, 3) < 0.002"
    )
    sessions = _session_sql("SELECT i FROM ids", n, n_st, n_orgs)
    con.execute(f"CREATE OR REPLACE TEMP TABLE late AS {_versions_sql(f'({sessions})', late)}")
    path = folder / "late_versions.csv"
    total += con.execute(
        f"COPY (SELECT {_text_select(_LATE_CSV_COLUMNS)} FROM late WHERE dest = 1 ORDER BY i, ver) "
        f"TO '{path.as_posix()}' (FORMAT csv, HEADER)"
    ).fetchone()[0]
    path = folder / "late_versions.ndjson"
    if con.execute("SELECT count(*) FROM late WHERE dest = 2").fetchone()[0]:
        # (an empty NDJSON file has no schema to read, so none is written)
        total += con.execute(
            f"COPY (SELECT {_text_select(_SESSION_COLUMNS)} FROM late WHERE dest = 2 ORDER BY i, ver) "
            f"TO '{path.as_posix()}' (FORMAT json)"
        ).fetchone()[0]
    con.execute("DROP TABLE late")
    con.execute("DROP TABLE ids")
    return total

