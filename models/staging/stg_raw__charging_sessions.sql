{#- A table, not a view: the dedupe runs once per build, not once per reader. -#}
{{ config(materialized='table') }}
with

versions as (
    select * from {{ ref('stg_raw__charging_session_versions') }}
),

deduplicated as (
    select
        *,
        count(*) over (partition by session_key) as version_count,
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
