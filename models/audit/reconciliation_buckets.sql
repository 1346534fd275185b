{#- The counts of audit.reconciliation, per bucket of session keys: a bucket is
    the keys' first key_prefix_length characters, so a session never changes
    bucket, and the keys of sessions that arrive together (increasing charge
    IDs) share a few buckets. Incremental (delete+insert on key_prefix): a
    build recounts, from the current tables, every bucket that holds a session
    changed since its last build (_built_at), and keeps the other buckets'
    rows as they are. Changed means:
    - int_sessions_priced recomputed the key after this table's last build,
      or after the report tables' builds the last count saw
      (_inputs_built_at), whichever is older: a new version, a removed file's
      tombstone, or a change of the key's station, organisation or settings
      (int_sessions_priced recomputes those keys too), and the keys the report
      tables' post-hooks delete, whose deleted rows leave no trace of their
      own;
    - charging_sessions_cpo or rejected_sessions wrote the key.
    Because a whole bucket is recounted, a session that moves (another month,
    organisation or side) needs no memory of where it was counted before.
    The key_prefix_length is chosen when the table is first built, from a
    sample of the keys: the longest prefix that leaves a hundred sampled keys
    or more per bucket on average (zero, one bucket, for small data), unless
    var('reconciliation_key_prefix_length') sets it. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='key_prefix',
    tags=['audit'],
) }}

{#- the older of the report tables' latest builds (an empty table counts as
    never: it holds no row a later build could delete) #}
{%- set inputs_built_at -%}
    least(
        (select coalesce(max(_built_at), 'infinity'::timestamptz)
         from {{ ref('charging_sessions_cpo') }}),
        (select coalesce(max(_built_at), 'infinity'::timestamptz)
         from {{ ref('rejected_sessions') }})
    )
{%- endset %}

-- "not materialized": each is read twice, and DuckDB would otherwise store a
-- copy of every row first (at 100 M sessions, 15 s apiece), where each reader
-- can filter its own scan
with

-- every session as int_sessions_priced stores it (its latest version,
-- rejected ones too; tombstones of removed sessions are left out below)
latest_sessions as not materialized (
    select * from {{ ref('int_sessions_priced') }}
),

organisations as (
    select * from {{ ref('int_organisations_validated') }}
),

charging_sessions as not materialized (
    select * from {{ ref('charging_sessions_cpo') }}
),

rejected_sessions as not materialized (
    select * from {{ ref('rejected_sessions') }}
),

{%- if is_incremental() %}

-- the last count's build, or the older report-table build it saw if that is
-- older (-infinity for an empty table)
inputs_watermark as (
    select least(
        {{ last_built_at() }},
        coalesce(
            (select min(_inputs_built_at) from {{ this }}
             where _built_at = {{ last_built_at() }}),
            '-infinity'::timestamptz
        )
    ) as built_at
),

-- Materialised: few keys in an hourly build, and the planner then knows it.
-- One branch per source, each a filter DuckDB applies inside its scan.
changed_keys as materialized (
    select session_key from latest_sessions
    where _built_at > (select built_at from inputs_watermark)
    union all
    select charge_id from charging_sessions
    where _built_at > {{ last_built_at() }}
    union all
    select session_key from rejected_sessions
    where _built_at > {{ last_built_at() }}
),

sampled_keys as (
    select session_key from changed_keys
    using sample reservoir(100000 rows) repeatable (42)
),
{%- else %}

sampled_keys as (
    select session_key from latest_sessions
    using sample reservoir(100000 rows) repeatable (42)
),
{%- endif %}

-- the longest key prefix (0 to 12 characters) that leaves at least 100
-- sampled keys per distinct prefix on average
prefix_lengths as (
    select
        length,
        count(distinct left(session_key, length)) as prefixes,
    from sampled_keys
    cross join range(0, 13) as lengths(length)
    group by length
),

chosen_length as (
    {%- set forced = var('reconciliation_key_prefix_length', none) %}
    {%- if forced is not none %}
    select cast({{ forced | int }} as integer) as length
    {%- else %}
    select max(length) as length
    from prefix_lengths
    where prefixes <= greatest(1, (select count(*) from sampled_keys) / 100)
    {%- endif %}
),

key_prefix_length as materialized (
    select
        {%- if is_incremental() %}
        coalesce(
            (select max(key_prefix_length) from {{ this }}),
            (select length from chosen_length),
            0
        ) as length,
        {%- else %}
        coalesce((select length from chosen_length), 0) as length,
        {%- endif %}
),

{%- if is_incremental() %}

dirty_buckets as materialized (
    select distinct left(session_key, (select length from key_prefix_length))
        as key_prefix
    from changed_keys
),
{%- endif %}

-- Raw side: every distinct session key in the raw files (one row each in
-- int_sessions_priced, tombstones of removed files left out), with the
-- organisation and local start month its attribution gave it (NULL where
-- the station, organisation or time zone is unknown), as rejected_sessions
-- counts it.
raw_sessions_attributed as (
    select
        latest_sessions.session_key,
        latest_sessions.organisation_id,
        latest_sessions.start_month_local as month,
    from latest_sessions
    where not latest_sessions.is_deleted
        {{- in_dirty_buckets('latest_sessions.session_key') }}
),

reported_attributed as (
    select
        charging_sessions.charge_id as session_key,
        charging_sessions.organisation_id,
        {{ local_month(
            'charging_sessions.start_time', 'organisations.timezone_name'
        ) }} as month,
    from charging_sessions
    left join organisations
        on charging_sessions.organisation_id = organisations.organisation_id
    where true
        {{- in_dirty_buckets('charging_sessions.charge_id') }}
),

rejected_attributed as (
    select session_key, organisation_id, month
    from rejected_sessions
    where true
        {{- in_dirty_buckets('rejected_sessions.session_key') }}
),

counted as (
    select session_key, organisation_id, month,
        1 as raw, 0 as reported, 0 as rejected
    from raw_sessions_attributed
    union all
    select session_key, organisation_id, month, 0, 1, 0
    from reported_attributed
    union all
    select session_key, organisation_id, month, 0, 0, 1
    from rejected_attributed
    {%- if is_incremental() %}
    union all
    -- one empty row per dirty bucket, so that a bucket left with no session
    -- still replaces its stored rows (reconciliation drops empty groups)
    select key_prefix, null, null, 0, 0, 0
    from dirty_buckets
    {%- endif %}
),

per_bucket as (
    select
        left(session_key, (select length from key_prefix_length)) as key_prefix,
        organisation_id,
        month,
        cast(sum(raw) as bigint) as raw_sessions,
        cast(sum(reported) as bigint) as reported_sessions,
        cast(sum(rejected) as bigint) as rejected_sessions,
    from counted
    group by all
)

select
    *,
    (select length from key_prefix_length) as key_prefix_length,
    {{ inputs_built_at }} as _inputs_built_at,
    cast('{{ run_started_at }}' as timestamptz) as _built_at,
from per_bucket
