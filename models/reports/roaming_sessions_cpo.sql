{{ config(materialized='table', unique_key='cdr_id', tags=['report']) }}

with

sessions as (
    select * from {{ ref('int_sessions_priced') }}
),

charging_sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
),

roaming_ids as (
    select * from {{ ref('stg_raw__station_roaming_ids') }}
),

settings_history as (
    select * from {{ ref('int_station_settings_history') }}
),

code_labels as (
    select * from {{ ref('code_labels') }}
),

report_time as (
    select {{ report_time() }} as report_time
),

roaming_sessions as (
    select
        charge_id,
        roaming_network,
        start_month_local,
    from sessions
    where is_listed_roaming_network
        and not is_rejected
),

free_usage_at_report_time as (
    select
        settings_history.station_id,
        settings_history.is_free_usage,
    from settings_history
    cross join report_time
    where settings_history.valid_from <= report_time.report_time
        and (
            settings_history.valid_to is null
            or report_time.report_time < settings_history.valid_to
        )
),

report_rows as (
    select
        roaming_sessions.start_month_local as month,
        network_labels.label as network,
        charging_sessions.charge_id as cdr_id,
        charging_sessions.station_id,
        -- the network's own EVSE ID for the station, else the station's own
        coalesce(roaming_ids.roaming_evse_id, charging_sessions.evse_id)
            as evse_id,
        charging_sessions.station_name,
        charging_sessions.start_time,
        charging_sessions.stop_time,
        charging_sessions.energy_wh,
        charging_sessions.meter_start,
        charging_sessions.meter_stop,
        charging_sessions.price,
        charging_sessions.currency,
        charging_sessions.public_private,
        coalesce(free_usage_at_report_time.is_free_usage, false)
            as free_usage,
        charging_sessions.plug_type,
        charging_sessions.charge_method,
        charging_sessions.operator,
        charging_sessions.provider_id,
        charging_sessions.transaction_id,
        charging_sessions.duration,
        charging_sessions.vat_p as vat_rate,
        charging_sessions.vat as vat_amount,
        charging_sessions.organisation_id,
        charging_sessions.quality_flags,
    from roaming_sessions
    inner join charging_sessions
        on roaming_sessions.charge_id = charging_sessions.charge_id
    left join code_labels as network_labels
        on network_labels.code_type = 'roaming_network'
        and roaming_sessions.roaming_network = network_labels.code
    left join roaming_ids
        on charging_sessions.station_id = roaming_ids.station_id
        and roaming_sessions.roaming_network = roaming_ids.network
    left join free_usage_at_report_time
        on charging_sessions.station_id = free_usage_at_report_time.station_id
)

select * from report_rows
