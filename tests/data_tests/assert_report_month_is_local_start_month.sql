-- Asserts that a roaming row's month is the first day of the month its start
-- falls in on the owning organisation's wall clock (not UTC's).
with

-- the rows the latest build wrote (every row after a full refresh)
roaming as (
    select * from {{ ref('roaming_sessions_cpo') }}
    where {{ last_build_rows('roaming_sessions_cpo') }}
),

organisations as (
    select * from {{ ref('int_organisations_validated') }}
)

select
    roaming.cdr_id,
    roaming.month,
    roaming.start_time,
    organisations.timezone_name,
from roaming
inner join organisations
    on roaming.organisation_id = organisations.organisation_id
where roaming.month is distinct from cast(
    date_trunc('month', {{ local_timestamp('roaming.start_time', 'organisations.timezone_name') }})
    as date
)
