with

agreements as (
    select * from {{ ref('stg_raw__revenue_share_agreements') }}
),

agreement_intervals as (
    select
        organisation_id,
        cpo_share_pct,
        valid_from,
        lead(valid_from) over (
            partition by organisation_id order by valid_from
        ) as valid_to,
    from agreements
)

select * from agreement_intervals
