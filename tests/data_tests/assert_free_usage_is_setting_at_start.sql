-- Asserts that free_usage in the CPO view is the value of the station's latest
-- free_usage change at or before the session's start (false before any).
-- Read from the settings log itself: its changes become, per station, the
-- intervals they hold (from a change, inclusive, to the next, exclusive; before
-- the first, off), and each session is joined to the one holding its start, so
-- no session is joined to every earlier change and grouped again.
with

sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
    -- the rows the latest build wrote (all after a full refresh)
    where {{ last_build_rows('charging_sessions_cpo') }}
),

changes as (
    select station_id, changed_at, value_boolean,
    from {{ ref('stg_raw__station_settings_log') }}
    where setting = 'free_usage'
        and is_readable
),

intervals as (
    select
        station_id,
        value_boolean as is_free_usage,
        changed_at as valid_from,
        lead(changed_at) over (
            partition by station_id order by changed_at
        ) as valid_to,
    from changes
    union all
    select
        station_id,
        false as is_free_usage,
        cast('-infinity' as timestamptz) as valid_from,
        min(changed_at) as valid_to,
    from changes
    group by station_id
),

compared as (
    select
        sessions.charge_id,
        sessions.start_time,
        sessions.free_usage,
        coalesce(intervals.is_free_usage, false) as expected_free_usage,
    from sessions
    left join intervals
        on sessions.station_id = intervals.station_id
        and sessions.start_time >= intervals.valid_from
        and (intervals.valid_to is null or sessions.start_time < intervals.valid_to)
)

select *
from compared
where free_usage is distinct from expected_free_usage
