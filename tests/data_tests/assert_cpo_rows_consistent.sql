-- Asserts the CPO view's row-level invariants in one pass over its rows (the
-- rows the latest build wrote; all after a full refresh). A row fails when any
-- invariant is false, and `broken` names each one it breaks:
-- - money adds up (net + vat = price);
-- - duration is the time from start to stop, exactly (on Spark, which has no
--   epoch_us, as a day-to-second interval: exact too);
-- - energy is the meters' difference, or NULL on a flagged rollback;
-- - stop_before_start is flagged exactly when stop < start;
-- - a priced row has a CPO share unless flagged without agreement or currency;
-- - price, vat, net and cpo_share hold whole minor units of their currency, and
--   vat is within half a minor unit of the exact price * vat_p / (100 + vat_p)
--   (in DECIMAL: `%` and the products are exact, with no overflow);
-- - every quality flag is a documented code, and no row repeats one.
{%- set known_flags = [
    'meter_rollback', 'stop_before_start', 'no_transaction_id',
    'priced_despite_free_usage', 'priced_without_energy',
    'unlisted_roaming_network', 'no_revenue_share', 'unknown_vat_rate',
    'unknown_currency', 'unlisted_charge_method', 'unlisted_billing_type',
    'unlisted_location_type',
] %}
{%- set invariants = {
    'net + vat = price': 'net + vat = price',
    'duration = stop - start':
        'duration is null or epoch_us(duration)'
        ~ ' = epoch_us(stop_time) - epoch_us(start_time)'
        if target.type != 'spark' else
        'duration is null or duration = stop_time - start_time',
    'energy = meter difference':
        'meter_start is null or meter_stop is null'
        ~ ' or energy_wh = meter_stop - meter_start'
        ~ " or (energy_wh is null and list_contains(quality_flags, 'meter_rollback'))",
    'stop_before_start flagged exactly then':
        "list_contains(quality_flags, 'stop_before_start')"
        ~ ' = coalesce(stop_time < start_time, false)',
    'a priced row has a CPO share':
        'price is null or cpo_share is not null'
        ~ " or list_contains(quality_flags, 'no_revenue_share')"
        ~ " or list_contains(quality_flags, 'unknown_currency')",
    'whole minor units':
        'price % minor_unit = 0 and vat % minor_unit = 0'
        ~ ' and net % minor_unit = 0 and cpo_share % minor_unit = 0',
    'vat within half a minor unit':
        '2 * abs(cast(vat as decimal(38, 4)) * (100 + vat_p)'
        ~ ' - cast(price as decimal(38, 4)) * vat_p) <= (100 + vat_p) * minor_unit',
    'known quality flags, none repeated':
        "array_length(quality_flags) = 0 or (list_has_all(['"
        ~ known_flags | join("', '") ~ "'], quality_flags)"
        ~ ' and array_length(quality_flags) = len(list_distinct(quality_flags)))',
} %}
with

sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
    where {{ last_build_rows('charging_sessions_cpo') }}
),

-- a currency's minor unit as an amount (0.01 for two places); NULL for a
-- currency not in the seed, whose price is shown as billed
currencies as (
    select
        code,
        cast(10 ^ (-minor_units) as decimal(18, 4)) as minor_unit,
    from {{ ref('currencies') }}
),

with_units as (
    select
        sessions.*,
        currencies.minor_unit,
    from sessions
    left join currencies
        on sessions.currency = currencies.code
)

select
    charge_id,
    list_filter([
        {%- for name, invariant in invariants.items() %}
        case when not ({{ invariant }}) then '{{ name }}' end,
        {%- endfor %}
    ], lambda broken: broken is not null) as broken,
    currency,
    price,
    vat_p,
    vat,
    net,
    cpo_share,
    quality_flags,
from with_units
where not (
    {%- for invariant in invariants.values() %}
    ({{ invariant }}){{ ' and' if not loop.last }}
    {%- endfor %}
)
