with

settings_log as (
    select * from {{ ref('stg_raw__station_settings_log') }}
),

free_usage_changes as (
    select
        station_id,
        changed_at,
        value_boolean as is_free_usage,
    from settings_log
    where setting = 'free_usage'
        and is_readable
),

free_usage_intervals as (
    select
        station_id,
        is_free_usage,
        changed_at as valid_from,
        lead(changed_at) over (
            partition by station_id order by changed_at
        ) as valid_to,
    from free_usage_changes
),

flagged as (
    select
        *,
        valid_to is null as is_current,
    from free_usage_intervals
)

select * from flagged
