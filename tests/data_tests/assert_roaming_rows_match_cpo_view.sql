-- Asserts that the roaming view holds exactly the CPO-view sessions of the
-- hubject, gireve and ocpi networks, with the CPO view's values in every
-- shared column (free_usage, read at report time, excepted).
{%- set all_rows = tests_read_all_rows() | trim == 'true' %}
with

-- the CPO-view rows the latest build wrote (all after a full refresh: then
-- read where used, not stored)
charging as {{ 'not materialized' if all_rows else 'materialized' }} (
    select * from {{ ref('charging_sessions_cpo') }}
    where {{ last_build_rows('charging_sessions_cpo') }}
),

-- After an incremental build, the sessions and roaming rows are read only
-- between the smallest and the largest of those charge ids: DuckDB applies
-- that range to the scans, where row-group statistics skip the rest (an
-- hourly build's rows sit in the newest row groups). Sessions outside it
-- cannot match, so the result is the same.
sessions as (
    select * from {{ ref('int_sessions_priced') }}
    {%- if not all_rows %}
    where charge_id >= (select min(charge_id) from charging)
        and charge_id <= (select max(charge_id) from charging)
    {%- endif %}
),

-- the roaming rows of those sessions (every roaming row when the test reads
-- all rows, so that a roaming row of no CPO-view session is found too)
roaming as (
    select * from {{ ref('roaming_sessions_cpo') }}
    {%- if not all_rows %}
    where cdr_id >= (select min(charge_id) from charging)
        and cdr_id <= (select max(charge_id) from charging)
        and cdr_id in (select charge_id from charging)
    {%- endif %}
),

-- a semi-join (charge IDs are unique in int_sessions_priced): DuckDB keeps the
-- roaming sessions' IDs in memory and streams the CPO-view rows past them. As
-- an inner join after a full refresh at 100 M sessions, it held the CPO view's
-- wide rows instead, and its spill filled the disk.
expected_roaming as (
    select *
    from charging
    where charge_id in (
        select charge_id from sessions
        where roaming_network in ('hubject', 'gireve', 'ocpi')
    )
),

compared as (
    select
        coalesce(expected_roaming.charge_id, roaming.cdr_id) as charge_id,
        case
            when expected_roaming.charge_id is null then 'extra roaming row'
            when roaming.cdr_id is null then 'missing roaming row'
            when roaming.station_id is distinct from expected_roaming.station_id
                or roaming.station_name
                is distinct from expected_roaming.station_name
                or roaming.start_time is distinct from expected_roaming.start_time
                or roaming.stop_time is distinct from expected_roaming.stop_time
                or roaming.energy_wh is distinct from expected_roaming.energy_wh
                or roaming.meter_start
                is distinct from expected_roaming.meter_start
                or roaming.meter_stop is distinct from expected_roaming.meter_stop
                or roaming.price is distinct from expected_roaming.price
                or roaming.currency is distinct from expected_roaming.currency
                or roaming.public_private
                is distinct from expected_roaming.public_private
                or roaming.plug_type is distinct from expected_roaming.plug_type
                or roaming.charge_method
                is distinct from expected_roaming.charge_method
                or roaming.operator is distinct from expected_roaming.operator
                or roaming.provider_id
                is distinct from expected_roaming.provider_id
                or roaming.transaction_id
                is distinct from expected_roaming.transaction_id
                or roaming.duration is distinct from expected_roaming.duration
                or roaming.vat_rate is distinct from expected_roaming.vat_p
                or roaming.vat_amount is distinct from expected_roaming.vat
                or roaming.organisation_id
                is distinct from expected_roaming.organisation_id
                or roaming.quality_flags
                is distinct from expected_roaming.quality_flags
                then 'differs from the CPO view'
        end as problem,
    from expected_roaming
    full outer join roaming
        on expected_roaming.charge_id = roaming.cdr_id
)

select *
from compared
where problem is not null
