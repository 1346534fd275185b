-- Asserts that the roaming view holds exactly the CPO-view sessions of the
-- hubject, gireve and ocpi networks, with the CPO view's values in every
-- shared column (free_usage, read at report time, excepted).
{%- set all_rows = tests_read_all_rows('charging_sessions_cpo') | trim == 'true' %}
with

-- the CPO-view rows the latest build wrote (all after a full build)
charging as not materialized (
    select * from {{ ref('charging_sessions_cpo') }}
    where {{ last_build_rows('charging_sessions_cpo') }}
),

-- their charge IDs, stored for the range scans below: the IDs alone (after a
-- first build, every row's; a copy of the whole rows cost 0.8 s at 1 M)
{%- if not all_rows %}
charging_ids as materialized (
    select charge_id from charging
),
{%- endif %}

-- After an incremental build, the sessions and roaming rows are read only
-- between the smallest and the largest of those charge ids: DuckDB applies
-- that range to the scans, where row-group statistics skip the rest (an
-- hourly build's rows sit in the newest row groups; key_in).
sessions as (
    select * from {{ ref('int_sessions_priced') }}
    {%- if not all_rows %}
    where {{ key_in('charge_id', 'select charge_id from charging_ids') }}
    {%- endif %}
),

-- the roaming rows of those sessions (every roaming row when the test reads
-- all rows, so that a roaming row of no CPO-view session is found too)
roaming as (
    select * from {{ ref('roaming_sessions_cpo') }}
    {%- if not all_rows %}
    where {{ key_in('cdr_id', 'select charge_id from charging_ids') }}
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

-- Each side as its key and one hash of the shared columns, so that the full
-- outer join holds two narrow columns per row: with the whole rows, after a
-- full build at 100 M sessions, its spill outgrew the disk. Equal values hash
-- equal (NULL included); rows that differ hash alike only by a 64-bit
-- collision. DuckDB hashes an empty list as it hashes NULL, hence
-- `quality_flags is null` as well.
{%- set shared = [
    'station_id', 'station_name', 'start_time', 'stop_time', 'energy_wh',
    'meter_start', 'meter_stop', 'price', 'currency', 'public_private',
    'plug_type', 'charge_method', 'operator', 'provider_id', 'transaction_id',
    'duration', 'organisation_id', 'quality_flags', 'quality_flags is null',
] %}
expected_hashed as (
    select
        charge_id,
        hash({{ shared | join(', ') }}, vat_p, vat) as row_hash,
    from expected_roaming
),

roaming_hashed as (
    select
        cdr_id,
        hash({{ shared | join(', ') }}, vat_rate, vat_amount) as row_hash,
    from roaming
),

compared as (
    select
        coalesce(expected_hashed.charge_id, roaming_hashed.cdr_id) as charge_id,
        case
            when expected_hashed.charge_id is null then 'extra roaming row'
            when roaming_hashed.cdr_id is null then 'missing roaming row'
            when roaming_hashed.row_hash <> expected_hashed.row_hash
                then 'differs from the CPO view'
        end as problem,
    from expected_hashed
    full outer join roaming_hashed
        on expected_hashed.charge_id = roaming_hashed.cdr_id
)

select *
from compared
where problem is not null
