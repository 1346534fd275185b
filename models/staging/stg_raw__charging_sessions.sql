{#- Incremental (delete+insert on session_key): a build recomputes, from all
    their versions, only the session keys that have a version (or a removed
    file's tombstone) loaded after this table's last build (_built_at); a key
    none of whose versions is left gets a tombstone row (is_deleted). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
) }}
with

all_versions as (
    select * from {{ ref('stg_raw__charging_session_versions') }}
),

live_versions as (
    select *
    from all_versions
    where not _is_removed_file
),

{%- if is_incremental() %}

changed_keys as (
    select distinct session_key
    from all_versions
    where _loaded_at > (
        select coalesce(max(_built_at), '-infinity'::timestamptz)
        from {{ this }}
    )
),

versions as (
    select *
    from live_versions
    where session_key in (select session_key from changed_keys)
),
{%- else %}

versions as (
    select * from live_versions
),
{%- endif %}

deduplicated as (
    select
        *,
        count(*) over (partition by session_key) as version_count,
        max(_loaded_at) over (partition by session_key) as last_loaded_at,
        false as is_deleted,
        cast('{{ run_started_at }}' as timestamptz) as _built_at,
    from versions
    qualify row_number() over (
        partition by session_key
        order by
            updated_at desc nulls last,
            -- on a tie, the version that knows more: stopped, then billed
            stop_time_raw is not null desc,
            price_raw is not null desc,
            _source_file desc,
            md5(cast(row(
                station_id, created_at_raw, start_time_raw, stop_time_raw,
                meter_start_wh_raw, meter_stop_wh_raw, price_raw,
                charge_method, billing_type, roaming_network, operator_id,
                provider_id, transaction_id, counter_charge_of
            ) as varchar)) desc
    ) = 1
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
where session_key not in (select session_key from versions)
{%- endif %}
