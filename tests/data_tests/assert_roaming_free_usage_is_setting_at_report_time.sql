-- Asserts that free_usage in the roaming view is the station's setting in
-- force at report_time (the latest change at or before it; false before any).
-- Read from the settings log itself, per station first, then compared with
-- every roaming row.
with

roaming as (
    select * from {{ ref('roaming_sessions_cpo') }}
),

settings_log as (
    select * from {{ ref('stg_raw__station_settings_log') }}
),

setting_at_report_time as (
    select
        station_id,
        arg_max(value_boolean, changed_at) as is_free_usage,
    from settings_log
    where setting = 'free_usage'
        and is_readable
        and changed_at <= {{ report_time() }}
    group by station_id
),

compared as (
    select
        roaming.cdr_id,
        roaming.free_usage,
        coalesce(setting_at_report_time.is_free_usage, false)
            as expected_free_usage,
    from roaming
    left join setting_at_report_time
        on roaming.station_id = setting_at_report_time.station_id
)

select *
from compared
where free_usage is distinct from expected_free_usage
