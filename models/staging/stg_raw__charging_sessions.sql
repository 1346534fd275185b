{#- Incremental (delete+insert on session_key): a build recomputes, from all
    their versions, only the sessions whose set of versions differs from the one
    their stored row was built from (another count, or a later load). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
) }}
with

all_versions as (
    select *
    from {{ ref('stg_raw__charging_session_versions') }}
    where not _is_removed_file
),

versions as (
    select *
    from all_versions
    {%- if is_incremental() %}
    where session_key in (
        select loaded.session_key
        from (
            select
                session_key,
                count(*) as version_count,
                max(_loaded_at) as last_loaded_at,
            from all_versions
            group by session_key
        ) as loaded
        left join {{ this }} as built
            on loaded.session_key = built.session_key
        where built.session_key is null
            or loaded.version_count is distinct from built.version_count
            or loaded.last_loaded_at is distinct from built.last_loaded_at
    )
    {%- endif %}
),

deduplicated as (
    select
        *,
        count(*) over (partition by session_key) as version_count,
        max(_loaded_at) over (partition by session_key) as last_loaded_at,
        false as is_deleted,
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
-- a stored session none of whose versions is left (its raw file was removed):
-- a tombstone row replaces it, and every model downstream drops it
select
    session_key,
    true as is_deleted,
from {{ this }}
where not is_deleted
    and session_key not in (select session_key from all_versions)
{%- endif %}
