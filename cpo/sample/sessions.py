"""The SQL of the generated sessions: every field of a session from its row number
(`_session_sql`), and the versions the platform sends of it (`_versions_sql`)."""

from __future__ import annotations

import datetime as _dt

from cpo.sample.reference import (
    DURATION_MIN_QUANTILES, ENERGY_WH_QUANTILES, HOUR_WEIGHTS, QUANTILE_STEPS, RANK_BINS,
    RANK_CELLS,
)
from cpo.sample.shape import (
    _NORMAL, _ONGOING, _SLOT, _STOP_THEN_BILL, _STOPPED_UNBILLED,
    _TS_COLUMNS, CHARGE_ID_BASE, OTHER_NETWORK, PLANT_PERIOD, PLANTED, PROVIDERS, SPAN_DAYS,
    SPAN_START, _lookup, _sql_list,
)


def _constants_sql() -> str:
    """The sampling tables as one row of lists (kept out of the query text, which
    would otherwise be parsed and planned again for every file)."""
    return f"""
    CREATE OR REPLACE TABLE cst AS SELECT
        {_sql_list(_lookup(HOUR_WEIGHTS["AC"]))}::INTEGER[] AS hac,
        {_sql_list(_lookup(HOUR_WEIGHTS["DC"]))}::INTEGER[] AS hdc,
        {_sql_list(_lookup([c for row in RANK_CELLS["AC"] for c in row]))}::INTEGER[] AS cac,
        {_sql_list(_lookup([c for row in RANK_CELLS["DC"] for c in row]))}::INTEGER[] AS cdc,
        {_sql_list(DURATION_MIN_QUANTILES["AC"])}::DOUBLE[] AS qd_ac,
        {_sql_list(DURATION_MIN_QUANTILES["DC"])}::DOUBLE[] AS qd_dc,
        {_sql_list(ENERGY_WH_QUANTILES["AC"])}::DOUBLE[] AS qe_ac,
        {_sql_list(ENERGY_WH_QUANTILES["DC"])}::DOUBLE[] AS qe_dc,
        {_sql_list([p in PLANTED for p in range(PLANT_PERIOD)]).replace("True", "true").replace("False", "false")}::BOOLEAN[] AS pmask
    """


def _session_sql(base: str, n: int, n_st: int, n_orgs: int) -> str:
    """All fields of the sessions whose row numbers `base` yields (column i), one row per
    session, before they are split into versions.  Each step is its own CTE so that
    every pseudo-random value is computed once."""
    s = _SLOT
    P = PLANT_PERIOD
    K = QUANTILE_STEPS
    n_hac = sum(HOUR_WEIGHTS["AC"])
    n_hdc = sum(HOUR_WEIGHTS["DC"])
    n_cac = sum(map(sum, RANK_CELLS["AC"]))
    n_cdc = sum(map(sum, RANK_CELLS["DC"]))
    B = RANK_BINS
    priced = ", ".join(str(s[k]) for k in (
        "cancelled", "free_but_priced", "fi_before_vat_change", "fi_after_vat_change",
        "ee_before_vat_change", "ee_after_vat_change", "ee_new_year_2024"))
    providers = _sql_list(PROVIDERS)

    def ep(ts: str) -> str:  # epoch seconds of a local wall-clock time
        d = _dt.datetime.fromisoformat(ts)
        return str(int((d - _dt.datetime(1970, 1, 1)).total_seconds()))

    def pick(lst: str) -> str:
        return f"pk.{lst}[(h_pick % len(pk.{lst}))::INTEGER + 1]"

    def interp(q: str, pos: str) -> str:
        j = f"floor({pos})::INTEGER"
        return f"({q}[{j} + 1] + ({pos} - {j}) * ({q}[least({j} + 2, {K + 1})] - {q}[{j} + 1]))"

    span0 = ep(SPAN_START.isoformat() + "T00:00:00")
    return f"""
    WITH pk AS (
        SELECT
            list(k ORDER BY k) FILTER (WHERE NOT has_free) AS nofree,
            list(k ORDER BY k) FILTER (WHERE NOT has_free AND country = 'FI') AS fi,
            list(k ORDER BY k) FILTER (WHERE NOT has_free AND country = 'EE') AS ee,
            list(k ORDER BY k) FILTER (WHERE always_free) AS free,
            list(k ORDER BY k) FILTER (WHERE roaming AND NOT net_hubject) AS nohub,
            list(k ORDER BY k) FILTER (WHERE net_hubject AND net_gireve AND net_ocpi) AS allnet,
            list(k ORDER BY k) FILTER (WHERE roaming) AS roam
        FROM st
    ),
    b AS (
        SELECT i,
            (i % {P})::INTEGER AS slot,
            CASE WHEN i % {P} = {s['counter_charge']} THEN i - 1 ELSE i END AS src
        FROM ({base})
    ),
    c AS (
        SELECT b.*,
            (src % {P})::INTEGER AS sslot,
            u(src, 1) AS u_kind, u(src, 2) AS u_route, u(src, 3) AS u_dup,
            u(src, 10) AS u_station, hx(src, 11) AS h_pick,
            DATE '{SPAN_START.isoformat()}' + ((src * {SPAN_DAYS}) // {n})::INTEGER AS day
        FROM b
    ),
    c2 AS (
        SELECT c.*, cst.pmask[sslot + 1] AS planted FROM c CROSS JOIN cst
    ),
    c3 AS (
        SELECT c2.*,
            CASE
                WHEN sslot = {s['ongoing']} THEN {_ONGOING}
                WHEN sslot = {s['stopped_not_billed']} THEN {_STOPPED_UNBILLED}
                WHEN sslot = {s['stopped_then_billed']} THEN {_STOP_THEN_BILL}
                WHEN planted THEN {_NORMAL}
                WHEN u_kind < 0.005 THEN {_ONGOING}
                WHEN u_kind < 0.008 THEN {_STOPPED_UNBILLED}
                WHEN u_kind < 0.020 THEN {_STOP_THEN_BILL}
                ELSE {_NORMAL}
            END AS kind
        FROM c2
    ),
    c4 AS (
        SELECT c3.*,
            -- where the billed version lands: 0 parquet, 1 late CSV, 2 late NDJSON
            CASE WHEN kind = {_STOP_THEN_BILL} THEN 1 WHEN planted THEN 0
                 WHEN u_route < 0.010 THEN 1 WHEN u_route < 0.016 THEN 2 ELSE 0 END AS route
        FROM c3
    ),
    c5 AS (
        SELECT c4.*,
            -- both versions sent a second time
            sslot = {s['duplicate_versions']}
                OR (NOT planted AND kind = {_NORMAL} AND route = 0 AND u_dup < 0.002) AS dup,
            CASE sslot
                WHEN {s['cancelled']} THEN {pick('nofree')}
                WHEN {s['unknown_station']} THEN -1
                WHEN {s['across_dst_autumn']} THEN {pick('fi')}
                WHEN {s['across_dst_spring']} THEN {pick('fi')}
                WHEN {s['fi_before_vat_change']} THEN {pick('fi')}
                WHEN {s['fi_after_vat_change']} THEN {pick('fi')}
                WHEN {s['ee_before_vat_change']} THEN {pick('ee')}
                WHEN {s['ee_after_vat_change']} THEN {pick('ee')}
                WHEN {s['ee_new_year_2024']} THEN {pick('ee')}
                WHEN {s['free_but_priced']} THEN {pick('free')}
                WHEN {s['free_usage']} THEN {pick('free')}
                WHEN {s['roaming_without_network_evse_id']} THEN {pick('nohub')}
                WHEN {s['other_roaming_network']} THEN {pick('roam')}
                WHEN {s['roaming_hubject']} THEN {pick('allnet')}
                WHEN {s['roaming_gireve']} THEN {pick('allnet')}
                WHEN {s['roaming_ocpi']} THEN {pick('allnet')}
                ELSE least(floor(u_station * {n_st})::BIGINT, {n_st - 1})
            END AS sidx
        FROM c4 CROSS JOIN pk
    ),
    d AS (
        SELECT c5.*,
            coalesce(st.station_id, ({10000 + n_st + 1000000} + src // {P})::VARCHAR) AS station_id,
            coalesce(st.current_type, 'AC') AS ct,
            coalesce(st.timezone, 'Europe/Helsinki') AS tz,
            coalesce(st.country, 'FI') AS country, st.opcode,
            coalesce(st.fx, 1.0) AS fx, coalesce(st.minor, 2) AS minor,
            coalesce(st.p_kwh, 0.35) AS p_kwh, coalesce(st.fee, 0) AS fee,
            coalesce(st.roaming, false) AS st_roaming,
            st.f1, st.f2, st.f3,
            coalesce(st.meter_base, 1000000) AS meter_base, coalesce(st.meter_rate, 0.01) AS meter_rate,
            u(src, 12) AS u_dur, u(src, 13) AS u_sec, u(src, 14) AS u_hour, u(src, 15) AS u_len,
            u(src, 16) AS u_back, u(src, 17) AS u_w, u(src, 18) AS u_roam, u(src, 19) AS u_net,
            u(src, 20) AS u_m, u(src, 21) AS u_b, u(src, 29) AS u_dj, hx(src, 22) AS h_prov, u(src, 23) AS u_tx,
            hx(src, 24) AS h_tx, u(src, 25) AS u_fp, u(src, 26) AS u_upd, u(src, 27) AS u_late
        FROM c5 LEFT JOIN st ON st.k = c5.sidx
    ),
    e AS (
        -- the sampling tables join here, after the hash join: an operator that
        -- materialises its input would copy the lists into every row
        SELECT d.*, cst.hac, cst.hdc, cst.cac, cst.cdc, cst.qd_ac, cst.qd_dc, cst.qe_ac, cst.qe_dc,
            -- local wall-clock start, epoch seconds
            CASE sslot
                WHEN {s['across_midnight']} THEN epoch(day)::BIGINT + 23 * 3600 + (u_sec * 3000)::BIGINT
                WHEN {s['across_month_end']} THEN epoch(last_day(day))::BIGINT + 22 * 3600 + (u_sec * 5400)::BIGINT
                WHEN {s['across_dst_autumn']} THEN {ep('2024-10-27T02:00:00')} + (u_sec * 3300)::BIGINT
                WHEN {s['across_dst_spring']} THEN {ep('2025-03-30T01:30:00')} + (u_sec * 4800)::BIGINT
                WHEN {s['fi_before_vat_change']} THEN {ep('2024-08-31T21:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['fi_after_vat_change']} THEN {ep('2024-09-01T00:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['ee_before_vat_change']} THEN {ep('2025-06-30T21:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['ee_after_vat_change']} THEN {ep('2025-07-01T00:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['ee_new_year_2024']} THEN {ep('2024-01-01T00:00:00')} + (u_sec * 7000)::BIGINT
                ELSE epoch(day)::BIGINT + (u_sec * 3600)::BIGINT + 3600 * CASE WHEN ct = 'AC'
                    THEN hac[floor(u_hour * {n_hac})::INTEGER + 1]
                    ELSE hdc[floor(u_hour * {n_hdc})::INTEGER + 1] END
            END AS local_epoch,
            CASE WHEN ct = 'AC' THEN cac[floor(u_dur * {n_cac})::INTEGER + 1]
                 ELSE cdc[floor(u_dur * {n_cdc})::INTEGER + 1] END AS cell,
            CASE
                WHEN sslot = {s['other_roaming_network']} THEN '{OTHER_NETWORK}'
                WHEN sslot IN ({s['roaming_without_network_evse_id']}, {s['roaming_hubject']}) THEN 'hubject'
                WHEN sslot = {s['roaming_gireve']} THEN 'gireve'
                WHEN sslot = {s['roaming_ocpi']} THEN 'ocpi'
                WHEN NOT planted AND st_roaming AND u_roam < 0.27 THEN
                    CASE WHEN u_net < 0.45 THEN 'hubject' WHEN u_net < 0.65 THEN 'gireve'
                         WHEN u_net < 0.985 THEN 'ocpi' ELSE '{OTHER_NETWORK}' END
            END AS roaming_network
        FROM d CROSS JOIN cst
    ),
    e2 AS (
        SELECT e.*,
            {K} * (cell // {B} + u_dj) / {B} AS pos_d,
            least((cell % {B} + u_w) / {B}, 0.999999999) AS v_e,
            timezone(tz, make_timestamp(local_epoch * 1000000)) AS start_time,
            meter_base + (meter_rate * (local_epoch - {span0}))::BIGINT AS meter_start,
            CASE
                WHEN roaming_network IS NOT NULL THEN CASE WHEN u_m < 0.7 THEN 'rfid' ELSE 'app' END
                WHEN planted THEN CASE WHEN u_m < 0.5 THEN 'app' WHEN u_m < 0.65 THEN 'onetime' ELSE 'rfid' END
                WHEN u_m < 0.45 THEN 'app' WHEN u_m < 0.60 THEN 'onetime'
                WHEN u_m < 0.95 THEN 'rfid' ELSE 'admin' END AS charge_method
        FROM e
    ),
    e4 AS (
        SELECT e2.*,
            -- planted sessions that must carry a price get a real amount of energy
            {K} * CASE WHEN sslot IN ({priced}) THEN 0.4 + 0.6 * v_e
                       ELSE v_e END AS pos_e
        FROM e2
    ),
    f AS (
        SELECT e4.*,
            CASE sslot
                WHEN {s['stop_before_start']} THEN -(60 + (u_len * 7200)::BIGINT)
                WHEN {s['across_midnight']} THEN 4200 + (u_len * 13800)::BIGINT
                WHEN {s['across_month_end']} THEN 10800 + (u_len * 13200)::BIGINT
                WHEN {s['across_dst_autumn']} THEN 7200 + (u_len * 7200)::BIGINT
                WHEN {s['across_dst_spring']} THEN 5400 + (u_len * 6600)::BIGINT
                ELSE round(60 * CASE WHEN ct = 'AC' THEN {interp('qd_ac', 'pos_d')}
                                     ELSE {interp('qd_dc', 'pos_d')} END)::BIGINT
            END AS dur_s,
            CASE WHEN sslot = {s['meter_backwards']} THEN -(100 + (u_back * 4900)::BIGINT)
                 ELSE round(CASE WHEN ct = 'AC' THEN {interp('qe_ac', 'pos_e')}
                                 ELSE {interp('qe_dc', 'pos_e')} END)::BIGINT
            END AS energy
        FROM e4
    ),
    g AS (
        SELECT f.*,
            start_time + to_seconds(dur_s) AS stop_time,
            meter_start + energy AS meter_stop,
            CASE WHEN roaming_network IS NOT NULL OR charge_method = 'admin' THEN NULL
                 WHEN charge_method = 'onetime' THEN 'onetime'
                 WHEN charge_method = 'app' THEN
                     CASE WHEN u_b < 0.3 THEN 'prepaid' WHEN u_b < 0.7 THEN 'postpaid' ELSE 'postpaid_card' END
                 ELSE CASE WHEN u_b < 0.6 THEN 'postpaid' WHEN u_b < 0.8 THEN 'prepaid' ELSE 'postpaid_card' END
            END AS billing_type,
            CASE WHEN roaming_network IS NOT NULL THEN country || '*' || opcode END AS operator_id,
            CASE WHEN roaming_network IS NOT NULL THEN {providers}[(h_prov % {len(PROVIDERS)})::INTEGER + 1] END AS provider_id,
            CASE WHEN sslot = {s['no_transaction_id']} OR charge_method = 'admin'
                      OR (NOT planted AND u_tx < 0.025) THEN NULL
                 ELSE 'TX' || upper(printf('%016x', h_tx)) END AS transaction_id
        FROM f
    ),
    h AS (
        SELECT g.*,
            CASE WHEN charge_method = 'admin' THEN 0
                 WHEN ((f1 IS NOT NULL AND start_time >= f1 AND (f2 IS NULL OR start_time < f2))
                       OR (f3 IS NOT NULL AND start_time >= f3))
                      AND NOT (sslot = {s['free_but_priced']} OR (NOT planted AND u_fp < 0.03)) THEN 0
                 ELSE round((greatest(energy, 0) / 1000.0 * p_kwh + fee) * fx, minor)
            END::DECIMAL(12, 2) AS price,
            greatest(start_time, stop_time) AS done_at
        FROM g
    )
    SELECT
        i, slot, kind, route, dup, tz,
        {charge_id_sql('i')} AS charge_id,
        station_id,
        start_time AS created_at,
        start_time,
        stop_time,
        CASE WHEN slot = {s['counter_charge']} THEN meter_stop ELSE meter_start END AS meter_start_wh,
        CASE WHEN slot = {s['counter_charge']} THEN meter_start ELSE meter_stop END AS meter_stop_wh,
        CASE WHEN slot = {s['counter_charge']} THEN -price ELSE price END AS price,
        charge_method, billing_type, roaming_network, operator_id, provider_id, transaction_id,
        CASE WHEN slot = {s['counter_charge']} THEN {charge_id_sql('src')} END AS counter_charge_of,
        done_at + to_seconds(1 + (u_upd * 119)::BIGINT) AS upd_stop,
        CASE
            WHEN slot = {s['counter_charge']} THEN done_at + to_seconds(86400 + (u_upd * 13 * 86400)::BIGINT)
            WHEN route = 1 THEN done_at + to_seconds(86400 + (u_late * 4 * 86400)::BIGINT)
            WHEN route = 2 THEN done_at + to_seconds(3600 + (u_late * 47 * 3600)::BIGINT)
            ELSE done_at + to_seconds(5 + (u_late * 595)::BIGINT)
        END AS upd_billed,
        (hx(i, 28) % 3)::INTEGER AS ts_style
    FROM h
    """


def charge_id_sql(col: str) -> str:
    return f"({col} + {CHARGE_ID_BASE})::VARCHAR"


def _versions_sql(table: str, where: str) -> str:
    """Split the sessions of `table` into versions: 0 start, 1 stopped (no price),
    2 billed; keep the ones `where` selects."""
    return f"""
    SELECT
        charge_id, station_id, created_at, start_time,
        CASE WHEN ver = 0 THEN NULL ELSE stop_time END AS stop_time,
        meter_start_wh,
        CASE WHEN ver = 0 THEN NULL ELSE meter_stop_wh END AS meter_stop_wh,
        CASE WHEN ver = 2 THEN price END AS price,
        charge_method, billing_type, roaming_network, operator_id, provider_id, transaction_id,
        counter_charge_of,
        CASE ver WHEN 0 THEN start_time WHEN 1 THEN upd_stop ELSE upd_billed END AS updated_at,
        tz, ts_style, i, ver,
        CASE WHEN ver = 2 AND (route = 1 OR dup) THEN 1 ELSE 2 END AS dest
    FROM {table} AS s CROSS JOIN (VALUES (0), (1), (2)) t(ver)
    WHERE {where}
    """


def _text_select(columns: list[str]) -> str:
    out = []
    for c in columns:
        if c in _TS_COLUMNS:
            out.append(f"fmt_ts({c}, tz, ts_style) AS {c}")
        else:
            out.append(c)
    return ", ".join(out)

