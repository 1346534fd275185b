"""The floor's inputs: the landing zone's files read as DuckDB reads them, and the small
tables (seeds, organisations, stations, free-usage history, revenue shares, roaming IDs)
built as the staging and intermediate models define them. See bench/floor.py."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"

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


def reference_statements(raw: Path) -> list[str]:
    """The schemas, the seeds and the small tables, in order."""
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
    ]
