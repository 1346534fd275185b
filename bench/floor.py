"""The floor: the four report and audit tables written by one hand-written DuckDB script.

    python bench/floor.py RAW_DIR DB [--report-time 2026-01-01T00:00:00Z]
                          [--memory-limit 16GB] [--compare RUNNER_DB]

It reads the same landing zone as `runner build` (RAW_DIR, laid out as in
/work/shared/spec/raw-sources.md) and the project's seeds, and writes into a new DuckDB
file DB the tables `reports.charging_sessions_cpo`, `reports.roaming_sessions_cpo`,
`audit.rejected_sessions` and `audit.reconciliation`, with the project's columns and
values (the spec /work/shared/spec/reports.md, as the models read it), `_built_at` aside.
It uses no runner code and no Jinja: plain SQL, each unit of work done once.

- Parquet is read as typed (its timestamps, integers and decimals are not turned into
  text and back); only CSV and NDJSON text is converted. The text of a typed value is
  made only where the output shows it (rejected rows) or a tie between versions needs it.
- The latest version of each session is found by one aggregate over the versions, and
  the winners are priced and attributed in the same statement: one table of sessions is
  stored (`work.sessions`), narrow enough for the four outputs, and nothing else is.
- The reconciliation is counted from that table (each session is raw, and either
  reported or rejected, under the organisation and month its station gives it).

`--compare RUNNER_DB` then checks the four tables equal to the runner's, row for row
(EXCEPT ALL both ways, every column but `_built_at`), prints the counts and exits 1 if
any differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
TABLES = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
          "audit.rejected_sessions", "audit.reconciliation"]

SEED_TYPES = {
    "vat_rates": "{'country': 'varchar', 'vat_pct': 'decimal(5,2)', 'valid_from': 'date', "
                 "'valid_to': 'date'}",
    "currencies": "{'code': 'varchar', 'name': 'varchar', 'minor_units': 'integer'}",
    "code_labels": "{'code_type': 'varchar', 'code': 'varchar', 'label': 'varchar'}",
}

CSV = "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', " \
      "strict_mode = true, encoding = 'utf-8', union_by_name = true, filename = true"


def q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def files(raw: Path, table: str, ext: str) -> list[str]:
    return sorted(str(p) for p in (raw / table).glob(f"*.{ext}"))


def text_table(raw: Path, table: str, columns: list[str]) -> str:
    """Every file of a small table, as text (CSV, NDJSON, Parquet cast), with its file."""
    parts = []
    listed = lambda paths: "[" + ", ".join(q(p) for p in paths) + "]"  # noqa: E731
    if files(raw, table, "csv"):
        parts.append(f"select {', '.join(columns)}, filename as _source_file "
                     f"from read_csv({listed(files(raw, table, 'csv'))}, {CSV})")
    if files(raw, table, "ndjson"):
        spec = "{" + ", ".join(f"{q(c)}: 'VARCHAR'" for c in columns) + "}"
        parts.append(f"select {', '.join(columns)}, filename as _source_file from read_json("
                     f"{listed(files(raw, table, 'ndjson'))}, format = 'newline_delimited', "
                     f"columns = {spec}, filename = true)")
    if files(raw, table, "parquet"):
        cols = ", ".join(f"cast({c} as varchar) as {c}" for c in columns)
        parts.append(f"select {cols}, filename as _source_file from read_parquet("
                     f"{listed(files(raw, table, 'parquet'))}, union_by_name = true, "
                     "filename = true)")
    return "\nunion all\n".join(parts)


SESSION_TEXT = ["charge_id", "station_id", "charge_method", "billing_type",
                "roaming_network", "operator_id", "provider_id", "transaction_id",
                "counter_charge_of"]
SESSION_TYPED = {"created_at": "timestamptz", "start_time": "timestamptz",
                 "stop_time": "timestamptz", "updated_at": "timestamptz"}
SESSION_COLUMNS = SESSION_TEXT + list(SESSION_TYPED) + ["meter_start_wh", "meter_stop_wh",
                                                        "price"]


def session_versions(raw: Path) -> str:
    """Every version of every session: text columns trimmed, values typed, and the text
    each value arrived as (`*_raw`; for Parquet, its typed value cast to text)."""
    def common(text_of) -> str:
        cols = []
        for c in SESSION_TEXT:
            value = f"nullif(trim({c}), '')"
            if c in ("charge_method", "billing_type", "roaming_network"):
                value = f"lower({value})"
            cols.append(f"{value} as {c}")
        for c in list(SESSION_TYPED) + ["meter_start_wh", "meter_stop_wh", "price"]:
            cols.append(f"{text_of(c)} as {c}_raw")
        return ", ".join(cols)

    listed = lambda paths: "[" + ", ".join(q(p) for p in paths) + "]"  # noqa: E731
    parts = []
    parquet = files(raw, "charging_sessions", "parquet")
    if parquet:
        typed = ", ".join(
            [f"try_cast({c} as {t}) as {c}" for c, t in SESSION_TYPED.items()]
            + ["try_cast(meter_start_wh as bigint) as meter_start_wh",
               "try_cast(meter_stop_wh as bigint) as meter_stop_wh",
               "try_cast(price as decimal(18, 4)) as price"])
        parts.append(f"select {common(lambda c: f'cast({c} as varchar)')}, {typed}, "
                     f"filename as _source_file from read_parquet({listed(parquet)}, "
                     "union_by_name = true, filename = true)")
    text_parts = []
    if files(raw, "charging_sessions", "csv"):
        text_parts.append(f"select {', '.join(SESSION_COLUMNS)}, filename from read_csv("
                          f"{listed(files(raw, 'charging_sessions', 'csv'))}, {CSV})")
    if files(raw, "charging_sessions", "ndjson"):
        spec = "{" + ", ".join(f"{q(c)}: 'VARCHAR'" for c in SESSION_COLUMNS) + "}"
        text_parts.append(
            f"select {', '.join(SESSION_COLUMNS)}, filename from read_json("
            f"{listed(files(raw, 'charging_sessions', 'ndjson'))}, format = "
            f"'newline_delimited', columns = {spec}, filename = true)")
    if text_parts:
        raw_text = lambda c: f"nullif(trim({c}), '')"  # noqa: E731
        typed = ", ".join(
            [f"try_cast({c}_raw as {t}) as {c}" for c, t in SESSION_TYPED.items()]
            + [f"case when try_cast({c}_raw as decimal(38, 6)) = "
               f"trunc(try_cast({c}_raw as decimal(38, 6))) then "
               f"try_cast(try_cast({c}_raw as decimal(38, 6)) as bigint) end as {c}"
               for c in ("meter_start_wh", "meter_stop_wh")]
            + ["try_cast(price_raw as decimal(18, 4)) as price"])
        parts.append(f"select *, {typed} from (select {common(raw_text)}, "
                     f"filename as _source_file from ("
                     + "\nunion all\n".join(text_parts) + "))")
    return "\nunion all by name\n".join(parts)


P = "cast(cast(price_rounded as decimal(38, 4)) * 10000 as hugeint)"
R = "cast(cast(vat_pct as decimal(9, 4)) * 100 as hugeint)"
STEP = "cast(10 ^ (4 - currency_minor_units) as hugeint)"


def round_money(x: str) -> str:
    """x rounded half away from zero to the currency's minor units, as DECIMAL(18,4);
    NULL for minor units outside 0 to 4."""
    cases = " ".join(f"when {places} then cast(round(cast({x} as decimal(38, 10)), {places}) "
                     f"as decimal(18, 4))" for places in range(5))
    return f"(case currency_minor_units {cases} end)"


def sql_script(raw: Path, report_time: str) -> list[str]:
    seeds = [f"create table reference.{name} as select * from read_csv("
             f"{q(str(SEEDS / (name + '.csv')))}, header = true, delim = ',', quote = '\"', "
             f"strict_mode = true, types = {types})" for name, types in SEED_TYPES.items()]
    return [
        "create schema reference", "create schema work", "create schema reports",
        "create schema audit", *seeds,
        # --- organisations, stations, settings, agreements, roaming IDs (small) ---------
        f"""
        create table work.organisations as
        with renamed as (
            select
                nullif(trim(organisation_id), '') as organisation_id,
                nullif(trim(name), '') as organisation_name,
                upper(nullif(trim(country), '')) as country_code,
                upper(nullif(trim(currency), '')) as currency_code,
                nullif(trim(timezone), '') as timezone_name_raw,
                try_cast(lower(trim(is_public)) as boolean) as is_public,
                nullif(trim(is_public), '') as is_public_raw,
                try_cast(trim(updated_at) as timestamptz) as updated_at,
                _source_file,
            from ({text_table(raw, 'organisations', ['organisation_id', 'name', 'country',
                                                      'currency', 'timezone', 'is_public',
                                                      'updated_at'])})
        ),
        latest as (
            select * from renamed where organisation_id is not null
            qualify row_number() over (partition by organisation_id order by
                updated_at desc nulls last, _source_file desc,
                md5(cast(row(organisation_name, country_code, currency_code,
                             timezone_name_raw, is_public_raw) as varchar)) desc) = 1
        )
        select
            latest.organisation_id, latest.organisation_name, latest.country_code,
            latest.currency_code, latest.timezone_name_raw,
            zones.name as timezone_name,
            zones.name is not null as has_known_timezone,
            currencies.minor_units as currency_minor_units,
            currencies.code is not null as has_known_currency,
            labels.label as public_private,
        from latest
        left join pg_timezone_names() as zones
            on lower(latest.timezone_name_raw) = lower(zones.name)
        left join reference.currencies on latest.currency_code = currencies.code
        left join reference.code_labels as labels
            on labels.code_type = 'public_private'
            and cast(latest.is_public as varchar) = labels.code
        """,
        f"""
        create table work.stations as
        with renamed as (
            select
                nullif(trim(station_id), '') as station_id,
                nullif(trim(evse_id), '') as evse_id,
                nullif(trim(name), '') as station_name,
                nullif(trim(organisation_id), '') as organisation_id,
                upper(nullif(trim(current_type), '')) as current_type,
                lower(nullif(trim(location_type), '')) as location_type,
                try_cast(trim(updated_at) as timestamptz) as updated_at,
                _source_file,
            from ({text_table(raw, 'stations', ['station_id', 'evse_id', 'name',
                                                 'organisation_id', 'current_type',
                                                 'location_type', 'updated_at'])})
        )
        select station_id, evse_id, station_name, organisation_id, current_type,
            location_type
        from renamed
        where station_id is not null
        qualify row_number() over (partition by station_id order by
            updated_at desc nulls last, _source_file desc,
            md5(cast(row(evse_id, station_name, organisation_id, current_type,
                         location_type) as varchar)) desc) = 1
        """,
        # a station's free usage: its latest readable change at or before an instant
        f"""
        create table work.free_usage as
        with renamed as (
            select
                nullif(trim(station_id), '') as station_id,
                lower(nullif(trim(setting), '')) as setting,
                nullif(trim(value), '') as value_raw,
                try_cast(lower(trim(value)) as boolean) as is_free_usage,
                nullif(trim(changed_at), '') as changed_at_raw,
                try_cast(trim(changed_at) as timestamptz) as changed_at,
                _source_file,
            from ({text_table(raw, 'station_settings_log', ['station_id', 'setting', 'value',
                                                             'changed_at'])})
        ),
        changes as (
            select *, station_id is not null and setting is not null
                and changed_at is not null and is_free_usage is not null as is_readable
            from renamed
            qualify row_number() over (
                partition by station_id, setting,
                    coalesce(cast(changed_at as varchar), changed_at_raw)
                order by is_readable desc, _source_file desc, value_raw desc) = 1
        )
        select station_id, is_free_usage, changed_at as valid_from,
            lead(changed_at) over (partition by station_id order by changed_at) as valid_to,
        from changes
        where setting = 'free_usage' and is_readable
        """,
        f"""
        create table work.shares as
        with renamed as (
            select
                nullif(trim(organisation_id), '') as organisation_id,
                try_cast(trim(valid_from) as date) as valid_from,
                try_cast(trim(cpo_share_pct) as decimal(9, 4)) as cpo_share_pct,
                _source_file,
            from ({text_table(raw, 'revenue_share_agreements', ['organisation_id', 'valid_from',
                                                                 'cpo_share_pct'])})
        ),
        agreements as (
            select * from renamed
            where organisation_id is not null and valid_from is not null
                and cpo_share_pct is not null
            qualify row_number() over (partition by organisation_id, valid_from
                order by _source_file desc, cpo_share_pct desc) = 1
        )
        select organisation_id, cpo_share_pct, valid_from,
            lead(valid_from) over (partition by organisation_id order by valid_from)
                as valid_to,
        from agreements
        """,
        f"""
        create table work.roaming_ids as
        with renamed as (
            select
                nullif(trim(station_id), '') as station_id,
                lower(nullif(trim(network), '')) as network,
                nullif(trim(evse_id), '') as roaming_evse_id,
                _source_file,
            from ({text_table(raw, 'station_roaming_ids', ['station_id', 'network',
                                                            'evse_id'])})
        )
        select station_id, network, roaming_evse_id
        from renamed
        where station_id is not null and network is not null and roaming_evse_id is not null
        qualify row_number() over (partition by station_id, network
            order by _source_file desc, roaming_evse_id desc) = 1
        """,
        # --- the sessions: the latest version of each, attributed and priced ------------
        f"""
        create table work.sessions as
        with versions as (
            select
                *,
                -- a row without a charge ID is keyed on its content
                coalesce(charge_id, 'missing-charge-id:' || md5(cast(row(
                    station_id, created_at_raw, start_time_raw, stop_time_raw,
                    meter_start_wh_raw, meter_stop_wh_raw, price_raw, charge_method,
                    billing_type, roaming_network, operator_id, provider_id,
                    transaction_id, counter_charge_of, updated_at_raw) as varchar)))
                    as session_key,
            from ({session_versions(raw)})
        ),
        -- the latest version of each session, whole, in one aggregate: no join back
        winners as (
            select
                arg_max(versions, (
                    coalesce(updated_at, '-infinity'::timestamptz),
                    updated_at is not null,
                    stop_time_raw is not null,
                    price_raw is not null,
                    _source_file,
                    hash(station_id, created_at_raw, start_time_raw, stop_time_raw,
                         meter_start_wh_raw, meter_stop_wh_raw, price_raw, charge_method,
                         billing_type, roaming_network, operator_id, provider_id,
                         transaction_id, counter_charge_of))) as version,
                count(*) as version_count,
            from versions
            group by session_key
        ),
        latest as (
            select unnest(version), version_count from winners
        ),
        attributed as (
            select
                latest.*,
                stations.station_id is not null as has_known_station,
                stations.evse_id, stations.station_name,
                stations.organisation_id as station_organisation_id,
                stations.current_type, stations.location_type,
                organisations.organisation_id,
                organisations.organisation_name, organisations.country_code,
                organisations.currency_code, organisations.currency_minor_units,
                organisations.has_known_currency, organisations.timezone_name_raw,
                organisations.timezone_name,
                coalesce(organisations.has_known_timezone, false) as has_known_timezone,
                organisations.public_private,
            from latest
            left join work.stations on latest.station_id = stations.station_id
            left join work.organisations
                on stations.organisation_id = organisations.organisation_id
        ),
        reasons as (
            select
                *,
                list_filter([
                    case when charge_id is null then 'missing_charge_id' end,
                    case when not has_known_station then 'unknown_station' end,
                    case when has_known_station and organisation_id is null
                        then 'unknown_organisation' end,
                    case when organisation_id is not null and not has_known_timezone
                        then 'unknown_timezone' end,
                    case when start_time_raw is null then 'missing_start_time' end,
                    case when start_time_raw is not null and start_time is null
                        then 'unreadable_start_time' end,
                    case when stop_time_raw is not null and stop_time is null
                        then 'unreadable_stop_time' end,
                    case when (meter_start_wh_raw is not null and meter_start_wh is null)
                        or (meter_stop_wh_raw is not null and meter_stop_wh is null)
                        then 'unreadable_meter_value' end,
                    case when price_raw is not null and price is null
                        then 'unreadable_price' end,
                    case when created_at_raw is not null and created_at is null
                        then 'unreadable_created_at' end,
                ], lambda r: r is not null) as rejection_reasons,
                cast(timezone(timezone_name, start_time) as date) as start_date_local,
                cast(date_trunc('month', timezone(timezone_name, start_time)) as date)
                    as start_month_local,
                counter_charge_of is not null as is_counter_charge,
                coalesce({round_money('price')}, price) as price_rounded,
            from attributed
        ),
        joined as (
            select
                reasons.*,
                len(rejection_reasons) > 0 as is_rejected,
                vat_rates.vat_pct,
                shares.cpo_share_pct,
                coalesce(free_usage.is_free_usage, false) as is_free_usage_at_start,
                roaming_network is not null as is_roaming,
                roaming_network in ('hubject', 'gireve', 'ocpi') as is_listed_network,
                billing.label as billing_type_label,
                location.label as location_type_label,
                methods.code is not null as is_listed_charge_method,
            from reasons
            left join reference.vat_rates
                on reasons.country_code = vat_rates.country
                and reasons.start_date_local >= vat_rates.valid_from
                and (vat_rates.valid_to is null
                     or reasons.start_date_local <= vat_rates.valid_to)
            left join work.shares
                on reasons.organisation_id = shares.organisation_id
                and reasons.start_date_local >= shares.valid_from
                and (shares.valid_to is null or reasons.start_date_local < shares.valid_to)
            left join work.free_usage
                on reasons.station_id = free_usage.station_id
                and reasons.start_time >= free_usage.valid_from
                and (free_usage.valid_to is null or reasons.start_time < free_usage.valid_to)
            left join reference.code_labels as billing
                on billing.code_type = 'billing_type' and reasons.billing_type = billing.code
            left join reference.code_labels as location
                on location.code_type = 'location_type'
                and reasons.location_type = location.code
            left join reference.code_labels as methods
                on methods.code_type = 'charge_method'
                and reasons.charge_method = methods.code
        ),
        priced as (
            select
                *,
                -- VAT in a VAT-inclusive price, half away from zero, exactly: the price
                -- in ten-thousandths and the rate in hundredths of a percent, as integers
                case when price_rounded is null or vat_pct is null
                        or currency_minor_units not between 0 and 4 then null
                    else cast(cast(
                        (case when {P} < 0 then -1 else 1 end)
                        * ((2 * abs({P}) * {R} + (10000 + {R}) * {STEP})
                           // (2 * (10000 + {R}) * {STEP}))
                        * {STEP} as decimal(38, 0)) * 0.0001 as decimal(18, 4)) end
                    as vat_amount,
                {round_money("cast(price_rounded as decimal(38, 4)) "
                             "* cast(cpo_share_pct as decimal(9, 4)) * 0.01")}
                    as cpo_share_amount,
                case when meter_stop_wh < meter_start_wh and not is_counter_charge then null
                    else meter_stop_wh - meter_start_wh end as energy_wh,
                case when stop_time >= start_time then stop_time - start_time end
                    as duration,
            from joined
        )
        select
            session_key, charge_id, station_id, station_organisation_id, organisation_id,
            is_rejected, rejection_reasons, has_known_timezone, timezone_name_raw,
            start_month_local, version_count, _source_file,
            created_at, start_time, stop_time, duration, energy_wh, meter_start_wh,
            meter_stop_wh, evse_id, station_name, organisation_name, vat_pct, vat_amount,
            price_rounded, currency_code, public_private, is_free_usage_at_start,
            current_type, charge_method, billing_type, roaming_network, operator_id,
            provider_id, transaction_id, counter_charge_of, cpo_share_amount, is_roaming,
            is_listed_network, billing_type_label, location_type, location_type_label,
            case when is_rejected then created_at_raw end as created_at_raw,
            case when is_rejected then start_time_raw end as start_time_raw,
            case when is_rejected then stop_time_raw end as stop_time_raw,
            case when is_rejected then meter_start_wh_raw end as meter_start_wh_raw,
            case when is_rejected then meter_stop_wh_raw end as meter_stop_wh_raw,
            case when is_rejected then price_raw end as price_raw,
            case when is_rejected then updated_at_raw end as updated_at_raw,
            case when not is_rejected then list_filter([
                case when meter_stop_wh < meter_start_wh and not is_counter_charge
                    then 'meter_rollback' end,
                case when stop_time < start_time then 'stop_before_start' end,
                case when transaction_id is null then 'no_transaction_id' end,
                case when is_free_usage_at_start and price_rounded <> 0
                    then 'priced_despite_free_usage' end,
                case when energy_wh = 0 and price_rounded > 0 then 'priced_without_energy' end,
                case when is_roaming and not is_listed_network
                    then 'unlisted_roaming_network' end,
                case when cpo_share_pct is null then 'no_revenue_share' end,
                case when vat_pct is null then 'unknown_vat_rate' end,
                case when not has_known_currency then 'unknown_currency' end,
                case when charge_method is not null and not is_listed_charge_method
                    then 'unlisted_charge_method' end,
                case when billing_type is not null and billing_type_label is null
                    then 'unlisted_billing_type' end,
                case when location_type is not null and location_type_label is null
                    then 'unlisted_location_type' end,
            ], lambda f: f is not null) end as quality_flags,
        from priced
        """,
        # --- the four outputs -----------------------------------------------------------
        """
        create table reports.charging_sessions_cpo as
        select
            coalesce(created_at, start_time) as created, charge_id, station_id, evse_id,
            station_name, organisation_name as cpo_name, start_time, stop_time, duration,
            energy_wh, meter_start_wh as meter_start, meter_stop_wh as meter_stop,
            vat_pct as vat_p, vat_amount as vat,
            cast(price_rounded - vat_amount as decimal(18, 4)) as net,
            price_rounded as price, currency_code as currency, public_private,
            is_free_usage_at_start as free_usage, current_type as plug_type, charge_method,
            case when is_roaming then operator_id end as operator,
            case when is_roaming then provider_id end as provider_id,
            transaction_id, cpo_share_amount as cpo_share,
            case when not is_roaming and charge_method is distinct from 'admin'
                then coalesce(billing_type_label, billing_type) end as billing_type,
            coalesce(location_type_label, location_type) as location_type,
            organisation_id, quality_flags, now() as _built_at,
        from work.sessions
        where not is_rejected
        """,
        f"""
        create table reports.roaming_sessions_cpo as
        with free_now as (
            select station_id, is_free_usage from work.free_usage
            where valid_from <= cast({q(report_time)} as timestamptz)
                and (valid_to is null or cast({q(report_time)} as timestamptz) < valid_to)
        )
        select
            s.start_month_local as month, labels.label as network, s.charge_id as cdr_id,
            s.station_id, coalesce(r.roaming_evse_id, s.evse_id) as evse_id,
            s.station_name, s.start_time, s.stop_time, s.energy_wh,
            s.meter_start_wh as meter_start, s.meter_stop_wh as meter_stop,
            s.price_rounded as price, s.currency_code as currency, s.public_private,
            coalesce(free_now.is_free_usage, false) as free_usage,
            s.current_type as plug_type, s.charge_method, s.operator_id as operator,
            s.provider_id, s.transaction_id, s.duration, s.vat_pct as vat_rate,
            s.vat_amount, s.organisation_id, s.quality_flags, now() as _built_at,
        from work.sessions as s
        left join reference.code_labels as labels
            on labels.code_type = 'roaming_network' and s.roaming_network = labels.code
        left join work.roaming_ids as r
            on s.station_id = r.station_id and s.roaming_network = r.network
        left join free_now on s.station_id = free_now.station_id
        where s.is_listed_network and not s.is_rejected
        """,
        """
        create table audit.rejected_sessions as
        select
            session_key, charge_id, rejection_reasons[1] as reason,
            rejection_reasons as reasons, organisation_id,
            case when has_known_timezone then start_month_local end as month,
            station_id, station_organisation_id, timezone_name_raw, created_at_raw,
            start_time_raw, stop_time_raw, meter_start_wh_raw, meter_stop_wh_raw, price_raw,
            charge_method, billing_type, roaming_network, operator_id, provider_id,
            transaction_id, counter_charge_of, updated_at_raw, version_count, _source_file,
            now() as _built_at,
        from work.sessions
        where is_rejected
        """,
        # every session is raw once, and reported or rejected, under the organisation and
        # month its station gives it (NULLs where it has none)
        """
        create table audit.reconciliation as
        select
            organisation_id,
            case when has_known_timezone then start_month_local end as month,
            count(*) as raw_sessions,
            count(*) filter (where not is_rejected) as reported_sessions,
            count(*) filter (where is_rejected) as rejected_sessions,
            count(*) = count(*) filter (where not is_rejected)
                + count(*) filter (where is_rejected) as is_reconciled,
        from work.sessions
        group by all
        """,
    ]


def build(raw: Path, db: Path, report_time: str, memory_limit: str | None,
          keep_work: bool = False) -> None:
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(db), config={"memory_limit": memory_limit} if memory_limit
                         else {})
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    con.execute("set checkpoint_threshold = '4GB'")
    for statement in sql_script(raw.resolve(), report_time):
        con.execute(statement)
    if not keep_work:
        con.execute("drop table work.sessions")
    con.close()


def compare(ours: Path, theirs: Path) -> bool:
    """The four tables equal row for row, every column but _built_at."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"attach {q(str(ours))} as floor (read_only)")
    con.execute(f"attach {q(str(theirs))} as runner (read_only)")
    same = True
    for table in TABLES:
        schema, name = table.split(".")
        columns = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'runner' "
            "and schema_name = ? and table_name = ? and column_name <> '_built_at' "
            "order by column_index", [schema, name]).fetchall()]
        listed = ", ".join(f'"{c}"' for c in columns)
        counts = []
        for left, right in (("floor", "runner"), ("runner", "floor")):
            counts.append(con.execute(
                f"select count(*) from (select {listed} from {left}.{table} except all "
                f"select {listed} from {right}.{table})").fetchone()[0])
        rows = [con.execute(f"select count(*) from {side}.{table}").fetchone()[0]
                for side in ("floor", "runner")]
        ok = counts == [0, 0] and rows[0] == rows[1]
        same &= ok
        print(f"{table}: floor {rows[0]:,} rows, runner {rows[1]:,}; floor EXCEPT ALL "
              f"runner {counts[0]:,}, runner EXCEPT ALL floor {counts[1]:,} "
              f"{'equal' if ok else 'DIFFERENT'}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--report-time", default="2026-01-01T00:00:00Z")
    parser.add_argument("--memory-limit")
    parser.add_argument("--compare", type=Path, metavar="RUNNER_DB")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep work.sessions, the one intermediate table")
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.raw_dir, args.db, args.report_time, args.memory_limit, args.keep_work)
    print(f"floor: {args.db} in {time.perf_counter() - started:.1f} s", flush=True)
    if args.compare and not compare(args.db, args.compare):
        sys.exit(1)


if __name__ == "__main__":
    main()
