{{ config(materialized='table', tags=['audit']) }}

with

buckets as (
    select * from {{ ref('reconciliation_buckets') }}
),

-- the buckets' counts summed; a group of a bucket left with no session (all
-- three counts zero) is no group
per_organisation_month as (
    select
        organisation_id,
        month,
        cast(sum(raw_sessions) as bigint) as raw_sessions,
        cast(sum(reported_sessions) as bigint) as reported_sessions,
        cast(sum(rejected_sessions) as bigint) as rejected_sessions,
    from buckets
    group by organisation_id, month
    having sum(raw_sessions + reported_sessions + rejected_sessions) > 0
),

checked as (
    select
        *,
        raw_sessions = reported_sessions + rejected_sessions as is_reconciled,
    from per_organisation_month
)

select * from checked
