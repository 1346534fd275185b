{#- Every raw row of charging_sessions, typed; stg_raw__charging_sessions keeps
    the latest version of each. Kept as its own relation so that the audit layer
    can count raw sessions without going through the dedupe. Incremental
    (delete+insert on _source_file): every row carries the size and modification
    time its file had when it was loaded (_file_size_bytes, _file_modified_at),
    and a build (re)loads every file whose size or time in source_files() is not
    the one its rows carry: a new file, or one appended to, rewritten, shrunk or
    replaced (the IN filter lets DuckDB skip every other Parquet file). Its rows
    replace the file's earlier ones, stamped with the build's start (_loaded_at).
    A key the file held before and holds no longer, or every key of a loaded
    file no longer in the landing zone (removed, or the zone given from another
    folder: its time is then NULL), gets a tombstone row (_is_tombstone), which
    every reader leaves out and which tells stg_raw__charging_sessions to
    recompute the key. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_source_file',
) }}
with

landed_files as (
    select _source_file, size_bytes, modified_at
    from {{ source_files('raw', 'charging_sessions') }}
),

{%- if is_incremental() %}

-- each file as it was loaded (every row of a file is written by one build)
loaded_files as (
    select
        _source_file,
        any_value(_file_size_bytes) as size_bytes,
        any_value(_file_modified_at) as modified_at,
    from {{ this }}
    group by _source_file
),

-- new, changed, removed or back: the files whose rows this build rewrites
changed_files as (
    select coalesce(landed_files._source_file, loaded_files._source_file)
        as _source_file
    from landed_files
    full outer join loaded_files
        on landed_files._source_file = loaded_files._source_file
    where landed_files.size_bytes is distinct from loaded_files.size_bytes
        or landed_files.modified_at is distinct from loaded_files.modified_at
),

new_rows as (
    select * from {{ source('raw', 'charging_sessions') }}
    where _source_file in (select _source_file from changed_files)
),
{%- else %}

new_rows as (
    select * from {{ source('raw', 'charging_sessions') }}
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
        false as _is_tombstone,
    from keyed
),

{%- if is_incremental() %}

-- the keys of the changed files' earlier rows that their current rows lack
gone_keys as (
    select session_key, _source_file from {{ this }}
    where _source_file in (select _source_file from changed_files)
    except
    select session_key, _source_file from flagged
),

rows_and_tombstones as (
    select * from flagged
    union all by name
    select session_key, _source_file, true as _is_tombstone
    from gone_keys
),
{%- else %}

rows_and_tombstones as (
    select * from flagged
),
{%- endif %}

stamped as (
    select
        rows_and_tombstones.*,
        landed_files.size_bytes as _file_size_bytes,
        landed_files.modified_at as _file_modified_at,
        cast('{{ run_started_at }}' as timestamptz) as _loaded_at,
    from rows_and_tombstones
    left join landed_files
        on rows_and_tombstones._source_file = landed_files._source_file
)

select * from stamped
