-- Asserts that free_usage in the roaming view is the station's setting in
-- force at report_time (the latest change at or before it; false before any).
with

roaming as (
    select * from {{ ref('roaming_sessions_cpo') }}
),

settings_log as (
    select * from {{ ref('stg_raw__station_settings_log') }}
),

compared as (
    select
        roaming.cdr_id,
        roaming.free_usage,
        coalesce(
            arg_max(settings_log.value_boolean, settings_log.changed_at),
            false
        ) as expected_free_usage,
    from roaming
    left join settings_log
        on roaming.station_id = settings_log.station_id
        and settings_log.setting = 'free_usage'
        and settings_log.is_readable
        and settings_log.changed_at <= {{ report_time() }}
    group by roaming.cdr_id, roaming.free_usage
)

select *
from compared
where free_usage is distinct from expected_free_usage
