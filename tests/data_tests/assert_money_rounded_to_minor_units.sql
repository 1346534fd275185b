-- Asserts that price, vat, net and cpo_share hold whole minor units of their
-- currency, and that vat is within half a minor unit of the exact
-- price * vat_p / (100 + vat_p).
with

sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
    -- the rows the latest build wrote (all after a full refresh)
    where {{ last_build_rows('charging_sessions_cpo') }}
),

currencies as (
    select * from {{ ref('currencies') }}
),

with_units as (
    select
        sessions.*,
        cast(10 ^ currencies.minor_units as bigint) as per_unit,
    from sessions
    inner join currencies
        on sessions.currency = currencies.code
)

select
    charge_id,
    currency,
    price,
    vat_p,
    vat,
    net,
    cpo_share,
from with_units
where price * per_unit <> trunc(price * per_unit)
    or vat * per_unit <> trunc(vat * per_unit)
    or net * per_unit <> trunc(net * per_unit)
    or cpo_share * per_unit <> trunc(cpo_share * per_unit)
    or abs(vat * (100 + vat_p) - price * vat_p)
    > (100 + vat_p) * 0.5 / per_unit
