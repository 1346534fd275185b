{{ config(materialized='table', tags=['audit']) }}

with

latest_sessions as (
    select * from {{ ref('stg_raw__charging_sessions') }}
),

stations as (
    select * from {{ ref('stg_raw__stations') }}
),

organisations as (
    select * from {{ ref('int_organisations_validated') }}
),

charging_sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
),

rejected_sessions as (
    select * from {{ ref('rejected_sessions') }}
),

-- Raw side, attributed on its own path: every distinct session key in the
-- raw files (one row each in stg_raw__charging_sessions, tombstones of
-- removed files left out), through its latest version's station to the
-- organisation.
raw_sessions_attributed as (
    select
        latest_sessions.session_key,
        organisations.organisation_id,
        {{ local_month(
            'latest_sessions.start_time', 'organisations.timezone_name'
        ) }} as month,
    from latest_sessions
    left join stations
        on latest_sessions.station_id = stations.station_id
    left join organisations
        on stations.organisation_id = organisations.organisation_id
    where not latest_sessions.is_deleted
),

reported_attributed as (
    select
        charging_sessions.charge_id,
        charging_sessions.organisation_id,
        {{ local_month(
            'charging_sessions.start_time', 'organisations.timezone_name'
        ) }} as month,
    from charging_sessions
    left join organisations
        on charging_sessions.organisation_id = organisations.organisation_id
),

counted as (
    select organisation_id, month, 1 as raw, 0 as reported, 0 as rejected
    from raw_sessions_attributed
    union all
    select organisation_id, month, 0, 1, 0
    from reported_attributed
    union all
    select organisation_id, month, 0, 0, 1
    from rejected_sessions
),

per_organisation_month as (
    select
        organisation_id,
        month,
        cast(sum(raw) as bigint) as raw_sessions,
        cast(sum(reported) as bigint) as reported_sessions,
        cast(sum(rejected) as bigint) as rejected_sessions,
    from counted
    group by organisation_id, month
),

checked as (
    select
        *,
        raw_sessions = reported_sessions + rejected_sessions as is_reconciled,
    from per_organisation_month
)

select * from checked
