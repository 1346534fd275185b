-- Asserts that free_usage in the CPO view is the value of the station's latest
-- free_usage change at or before the session's start (false before any).
-- (Each CTE is read once: DuckDB 2.0 can stall on a materialized CTE read
-- twice under the LIMIT the runner wraps tests in.)
with

sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
    -- the rows the latest build wrote (all after a full refresh)
    where {{ last_build_rows('charging_sessions_cpo') }}
),

settings_log as (
    select * from {{ ref('stg_raw__station_settings_log') }}
),

compared as (
    select
        sessions.charge_id,
        sessions.free_usage,
        coalesce(
            arg_max(settings_log.value_boolean, settings_log.changed_at),
            false
        ) as expected_free_usage,
    from sessions
    left join settings_log
        on sessions.station_id = settings_log.station_id
        and settings_log.setting = 'free_usage'
        and settings_log.is_readable
        and settings_log.changed_at <= sessions.start_time
    group by sessions.charge_id, sessions.free_usage
)

select *
from compared
where free_usage is distinct from expected_free_usage
