{#- Every raw row of charging_sessions, typed; int_sessions_priced keeps the
    latest version of each (macro latest_versions), recomputing a session from
    all its rows here. Incremental
    (delete+insert on _source_file): every row carries the size and modification
    time its file had when it was loaded (_file_size_bytes, _file_modified_at),
    and a build (re)loads every file whose size or time in source_files() is not
    the one its rows carry: a new file, or one appended to, rewritten, shrunk or
    replaced (the IN filter lets DuckDB skip every other Parquet file). Its rows
    replace the file's earlier ones, stamped with the build's start (_loaded_at).
    A key the file held before and holds no longer, or every key of a loaded
    file no longer in the landing zone (removed, or the zone given from another
    folder: its time is then NULL), gets a tombstone row (_is_tombstone), which
    every reader leaves out and which tells int_sessions_priced to recompute
    the key. -#}
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
{%- endif %}

-- the raw values as text, and typed: a Parquet column of exactly the stored
-- type is taken as it is (macros/raw_values.sql); every other value is read
-- from its text
{%- set parts = source_parts('raw', 'charging_sessions') %}
{%- set parquet_types = column_types(parts.parquet) %}
{%- set text_columns = ['charge_id', 'station_id', 'charge_method', 'billing_type',
                        'roaming_network', 'operator_id', 'provider_id',
                        'transaction_id', 'counter_charge_of'] %}
{%- set value_columns = session_value_columns() %}

{%- for part in ['parquet', 'text'] %}

{{ part }}_values as (
    select
        {%- for column in text_columns %}
        {%- if column in ['charge_method', 'billing_type', 'roaming_network'] %}
        lower({{ raw_text(column) }}) as {{ column }},
        {%- else %}
        {{ raw_text(column) }} as {{ column }},
        {%- endif %}
        {%- endfor %}
        {%- for column, kind in value_columns.items() %}
        {%- if part == 'parquet' and parquet_types.get(column) == value_type(kind) %}
        cast({{ column }} as {{ value_type(kind) }}) as {{ column }},
        cast({{ column }} as varchar) as {{ column }}_raw,
        {%- if kind == 'price' %}
        -- a DECIMAL(18,4)'s text ('8.5600') is not a price's own text
        case
            when cast({{ column }} as varchar)
                is distinct from {{ own_text(column, kind) }}
                then cast({{ column }} as varchar)
        end as {{ column }}_text,
        {%- else %}
        cast(null as varchar) as {{ column }}_text,
        {%- endif %}
        {%- else %}
        {%- set text = raw_text(column) %}
        {%- set value = typed_from_text(text, kind) %}
        {{ value }} as {{ column }},
        {{ text }} as {{ column }}_raw,
        -- the text it arrived as, kept where it is not the value's own text
        -- (macro own_text): an unreadable value, or one written otherwise;
        -- the value and this text give back the raw text
        case
            when {{ text }} is distinct from {{ own_text(value, kind) }} then {{ text }}
        end as {{ column }}_text,
        {%- endif %}
        {%- endfor %}
        _source_file,
    from {{ parts[part] }}
    {%- if is_incremental() %}
    where _source_file in (select _source_file from changed_files)
    {%- endif %}
),
{%- endfor %}

typed as (
    select * from parquet_values
    union all by name
    select * from text_values
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
        -- charge_id is not stored beside it: it is session_key where this is
        -- false (macro latest_versions gives it back)
        charge_id is null as _charge_id_missing,
        {%- for column in text_columns if column != 'charge_id' %}
        {{ column }},
        {%- endfor %}
        {%- for column in value_columns %}
        {{ column }},
        {%- endfor %}
        -- the texts the values arrived as, where not their own (<column>_text
        -- above), in one map keyed by column: NULL on almost every row, where
        -- seven columns of NULL cost a full build at 1 M sessions about 1 s of
        -- CPU more to store (macro latest_versions reads them back)
        case
            when coalesce(
                {%- for column in value_columns %}
                {{ column }}_text{{ ',' if not loop.last }}
                {%- endfor %}
            ) is not null then map(
                [{% for column in value_columns %}'{{ column }}'{{ ', ' if not loop.last }}{% endfor %}],
                [{% for column in value_columns %}{{ column }}_text{{ ', ' if not loop.last }}{% endfor %}]
            )
        end as _texts,
        -- the last tie-break between versions (stg_raw__charging_sessions)
        hash(
            station_id, created_at_raw, start_time_raw, stop_time_raw,
            meter_start_wh_raw, meter_stop_wh_raw, price_raw,
            charge_method, billing_type, roaming_network, operator_id,
            provider_id, transaction_id, counter_charge_of
        ) as _version_hash,
        _source_file,
        false as _is_tombstone,
    from typed
),

{%- if is_incremental() %}

-- the keys of the changed files' earlier rows that their current rows lack
gone_keys as (
    select session_key, _source_file from {{ this }}
    where _source_file in (select _source_file from changed_files)
    except
    select session_key, _source_file from keyed
),

rows_and_tombstones as (
    select * from keyed
    union all by name
    select session_key, _source_file, true as _is_tombstone
    from gone_keys
),
{%- else %}

rows_and_tombstones as (
    select * from keyed
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
