-- Asserts that every quality flag in the CPO view is one of the documented
-- codes and that no row repeats a flag.
with

sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
    -- the rows the latest build wrote (all after a full refresh)
    where {{ last_build_rows('charging_sessions_cpo') }}
),

flags as (
    select
        charge_id,
        quality_flags,
        unnest(quality_flags) as flag,
    from sessions
)

select
    charge_id,
    flag,
    quality_flags,
from flags
where flag not in (
    'meter_rollback',
    'stop_before_start',
    'no_transaction_id',
    'priced_despite_free_usage',
    'priced_without_energy',
    'unlisted_roaming_network',
    'no_revenue_share',
    'unknown_vat_rate',
    'unknown_currency',
    'unlisted_charge_method',
    'unlisted_billing_type',
    'unlisted_location_type'
)
    or len(quality_flags) <> len(list_distinct(quality_flags))
