{#- Incremental (delete+insert on session_key): a build recomputes, from all
    their versions, only the session keys that have a version (or a tombstone:
    a key its file no longer holds) loaded after this table's last build
    (_built_at); a key none of whose versions is left gets a tombstone row
    (is_deleted). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
) }}
with

all_versions as (
    select * from {{ ref('stg_raw__charging_session_versions') }}
),

-- in a full build, read twice below (the ranking, then the rows of the
-- winners): inlined both times, since materialising it would write every
-- version once more
live_versions as not materialized (
    select
        rowid as version_rowid,
        *,
    from {{ ref('stg_raw__charging_session_versions') }}
    where not _is_tombstone
),

{%- if is_incremental() %}

-- materialised, all three: small in an hourly build, and a materialised CTE
-- gives the planner its true size (on an estimate, it built a hash table of
-- every version instead of one of the changed keys)
changed_keys as materialized (
    select distinct session_key
    from all_versions
    where _loaded_at > {{ last_built_at() }}
),

-- the row ids of the changed keys' versions, found on the key column alone:
-- a join reading every column of every version took minutes at 100 M
changed_version_rowids as materialized (
    select rowid as version_rowid
    from {{ ref('stg_raw__charging_session_versions') }}
    where session_key in (select session_key from changed_keys)
),

-- their rows, by row id: DuckDB skips the row groups outside the ids' range,
-- and new versions, and the versions of recent sessions, sit near the end
versions as materialized (
    select *
    from live_versions
    where version_rowid in (select version_rowid from changed_version_rowids)
),
{%- else %}

versions as not materialized (
    select * from live_versions
),
{%- endif %}

-- The winning version of each key, found on narrow columns (a hash
-- aggregate), then joined back to its full row by row id: at 100 M sessions a
-- window over whole rows sorts every version with all its columns, which
-- does not stay in memory and spills for hours.
ranked as (
    select
        session_key,
        arg_max(version_rowid, (
            -- latest updated_at first (an unreadable one sorts oldest)
            coalesce(updated_at, '-infinity'::timestamptz),
            updated_at is not null,
            -- on a tie, the version that knows more: stopped, then billed
            -- (a value or a text that did not parse)
            stop_time is not null or stop_time_text is not null,
            price is not null or price_text is not null,
            -- then the later file, then a hash of the values
            _source_file,
            _version_hash
        )) as winner_rowid,
        count(*) as version_count,
        max(_loaded_at) as last_loaded_at,
    from versions
    group by session_key
),

deduplicated as (
    select
        versions.* exclude (
            version_rowid, _is_tombstone, _file_size_bytes, _file_modified_at,
            _version_hash
        ),
        -- what the attribution's rejection reasons read
        start_time is null and start_time_text is null as is_missing_start_time,
        start_time_text is not null and start_time is null
            as has_unreadable_start_time,
        stop_time_text is not null and stop_time is null
            as has_unreadable_stop_time,
        (meter_start_wh_text is not null and meter_start_wh is null)
        or (meter_stop_wh_text is not null and meter_stop_wh is null)
            as has_unreadable_meter_value,
        price_text is not null and price is null as has_unreadable_price,
        created_at_text is not null and created_at is null
            as has_unreadable_created_at,
        counter_charge_of is not null as is_counter_charge,
        ranked.version_count,
        ranked.last_loaded_at,
        false as is_deleted,
        cast('{{ run_started_at }}' as timestamptz) as _built_at,
    from versions
    inner join ranked
        on versions.version_rowid = ranked.winner_rowid
)

select * from deduplicated
{%- if is_incremental() %}
union all by name
-- a changed key none of whose versions is left (its raw files were removed):
-- a tombstone row replaces it, and every model downstream drops it
select
    session_key,
    true as is_deleted,
    cast('{{ run_started_at }}' as timestamptz) as _built_at,
from changed_keys
where session_key not in (select session_key from ranked)
{%- endif %}
