{#- Every raw row of charging_sessions, typed; stg_raw__charging_sessions keeps
    the latest version of each. Kept as its own relation so that the audit layer
    can count raw sessions without going through the dedupe. Incremental
    (delete+insert on _source_file): a landed raw file never changes (the raw
    contract appends files), so a build reads only the files it has not loaded
    before (the file list comes from source_files(), and the IN filter lets
    DuckDB skip every other Parquet file), stamped with the build's start
    (_loaded_at). A loaded file that is no longer in the landing zone (removed,
    or the zone given from another folder) is replaced by one tombstone row per
    session key it held (_is_removed_file), which every reader leaves out and
    which tells stg_raw__charging_sessions to recompute those keys; if the file
    comes back, its rows replace the tombstones. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_source_file',
) }}
with

source as (
    select * from {{ source('raw', 'charging_sessions') }}
),

{%- if is_incremental() %}

landed_files as (
    select _source_file
    from {{ source_files('raw', 'charging_sessions') }}
),

loaded_files as (
    select distinct _source_file
    from {{ this }}
    where not _is_removed_file
),

new_rows as (
    select * from source
    where _source_file in (
        select _source_file from landed_files
        where _source_file not in (select _source_file from loaded_files)
    )
),

removed_files as (
    select _source_file
    from loaded_files
    where _source_file not in (select _source_file from landed_files)
),

removed_keys as (
    select distinct session_key, _source_file
    from {{ this }}
    where _source_file in (select _source_file from removed_files)
),
{%- else %}

new_rows as (
    select * from source
),
{%- endif %}

trimmed as (
    select
        nullif(trim(charge_id), '') as charge_id,
        nullif(trim(station_id), '') as station_id,
        nullif(trim(created_at), '') as created_at_raw,
        nullif(trim(start_time), '') as start_time_raw,
        nullif(trim(stop_time), '') as stop_time_raw,
        nullif(trim(meter_start_wh), '') as meter_start_wh_raw,
        nullif(trim(meter_stop_wh), '') as meter_stop_wh_raw,
        nullif(trim(price), '') as price_raw,
        lower(nullif(trim(charge_method), '')) as charge_method,
        lower(nullif(trim(billing_type), '')) as billing_type,
        lower(nullif(trim(roaming_network), '')) as roaming_network,
        nullif(trim(operator_id), '') as operator_id,
        nullif(trim(provider_id), '') as provider_id,
        nullif(trim(transaction_id), '') as transaction_id,
        nullif(trim(counter_charge_of), '') as counter_charge_of,
        nullif(trim(updated_at), '') as updated_at_raw,
        _source_file,
    from new_rows
),

typed as (
    select
        *,
        try_cast(created_at_raw as timestamptz) as created_at,
        try_cast(start_time_raw as timestamptz) as start_time,
        try_cast(stop_time_raw as timestamptz) as stop_time,
        try_cast(meter_start_wh_raw as decimal(38, 6)) as meter_start_decimal,
        try_cast(meter_stop_wh_raw as decimal(38, 6)) as meter_stop_decimal,
        try_cast(price_raw as decimal(18, 4)) as price,
        try_cast(updated_at_raw as timestamptz) as updated_at,
    from trimmed
),

keyed as (
    select
        -- A row without a charge ID is keyed on its content, so that an exact
        -- duplicate of it counts once.
        coalesce(charge_id, 'missing-charge-id:' || md5(cast(row(
            station_id, created_at_raw, start_time_raw, stop_time_raw,
            meter_start_wh_raw, meter_stop_wh_raw, price_raw, charge_method,
            billing_type, roaming_network, operator_id, provider_id,
            transaction_id, counter_charge_of, updated_at_raw
        ) as varchar))) as session_key,
        charge_id,
        station_id,
        created_at,
        start_time,
        stop_time,
        case
            when meter_start_decimal = trunc(meter_start_decimal)
                then try_cast(meter_start_decimal as bigint)
        end as meter_start_wh,
        case
            when meter_stop_decimal = trunc(meter_stop_decimal)
                then try_cast(meter_stop_decimal as bigint)
        end as meter_stop_wh,
        price,
        charge_method,
        billing_type,
        roaming_network,
        operator_id,
        provider_id,
        transaction_id,
        counter_charge_of,
        updated_at,
        created_at_raw,
        start_time_raw,
        stop_time_raw,
        meter_start_wh_raw,
        meter_stop_wh_raw,
        price_raw,
        updated_at_raw,
        _source_file,
    from typed
),

flagged as (
    select
        *,
        start_time_raw is null as is_missing_start_time,
        start_time_raw is not null and start_time is null
            as has_unreadable_start_time,
        stop_time_raw is not null and stop_time is null
            as has_unreadable_stop_time,
        (meter_start_wh_raw is not null and meter_start_wh is null)
        or (meter_stop_wh_raw is not null and meter_stop_wh is null)
            as has_unreadable_meter_value,
        price_raw is not null and price is null as has_unreadable_price,
        created_at_raw is not null and created_at is null
            as has_unreadable_created_at,
        counter_charge_of is not null as is_counter_charge,
        cast('{{ run_started_at }}' as timestamptz) as _loaded_at,
        false as _is_removed_file,
    from keyed
)

select * from flagged
{%- if is_incremental() %}
union all by name
select
    session_key,
    _source_file,
    cast('{{ run_started_at }}' as timestamptz) as _loaded_at,
    true as _is_removed_file,
from removed_keys
{%- endif %}
