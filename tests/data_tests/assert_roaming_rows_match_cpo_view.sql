-- Asserts that the roaming view holds exactly the CPO-view sessions of the
-- hubject, gireve and ocpi networks, with the CPO view's values in every
-- shared column (free_usage, read at report time, excepted).
with

sessions as (
    select * from {{ ref('int_sessions_priced') }}
),

charging as (
    select * from {{ ref('charging_sessions_cpo') }}
),

roaming as (
    select * from {{ ref('roaming_sessions_cpo') }}
),

expected_roaming as (
    select charge_id
    from sessions
    where roaming_network in ('hubject', 'gireve', 'ocpi')
)

select
    coalesce(expected_roaming.charge_id, roaming.cdr_id) as charge_id,
    'missing or extra roaming row' as problem,
from expected_roaming
full outer join roaming
    on expected_roaming.charge_id = roaming.cdr_id
where expected_roaming.charge_id is null or roaming.cdr_id is null

union all

select
    roaming.cdr_id,
    'differs from the CPO view',
from roaming
inner join charging
    on roaming.cdr_id = charging.charge_id
where roaming.station_id is distinct from charging.station_id
    or roaming.station_name is distinct from charging.station_name
    or roaming.start_time is distinct from charging.start_time
    or roaming.stop_time is distinct from charging.stop_time
    or roaming.energy_wh is distinct from charging.energy_wh
    or roaming.meter_start is distinct from charging.meter_start
    or roaming.meter_stop is distinct from charging.meter_stop
    or roaming.price is distinct from charging.price
    or roaming.currency is distinct from charging.currency
    or roaming.public_private is distinct from charging.public_private
    or roaming.plug_type is distinct from charging.plug_type
    or roaming.charge_method is distinct from charging.charge_method
    or roaming.operator is distinct from charging.operator
    or roaming.provider_id is distinct from charging.provider_id
    or roaming.transaction_id is distinct from charging.transaction_id
    or roaming.duration is distinct from charging.duration
    or roaming.vat_rate is distinct from charging.vat_p
    or roaming.vat_amount is distinct from charging.vat
    or roaming.organisation_id is distinct from charging.organisation_id
