-- Asserts that free_usage in the CPO view is the value of the station's latest
-- free_usage change at or before the session's start (false before any).
with

sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
),

settings_log as (
    select * from {{ ref('stg_raw__station_settings_log') }}
),

expected as (
    select
        sessions.charge_id,
        coalesce(
            arg_max(settings_log.value_boolean, settings_log.changed_at),
            false
        ) as free_usage,
    from sessions
    left join settings_log
        on sessions.station_id = settings_log.station_id
        and settings_log.setting = 'free_usage'
        and settings_log.is_readable
        and settings_log.changed_at <= sessions.start_time
    group by sessions.charge_id
)

select
    sessions.charge_id,
    sessions.free_usage,
    expected.free_usage as expected_free_usage,
from sessions
inner join expected
    on sessions.charge_id = expected.charge_id
where sessions.free_usage is distinct from expected.free_usage
