{#
    Attribution of charging sessions: each session of `sessions` (a relation
    or CTE with the columns of stg_raw__charging_sessions) joined to its
    station and the station's organisation, with its rejection reasons and
    local dates. int_sessions_attributed applies it to every session;
    int_sessions_priced to the sessions it recomputes, so that an hourly
    build joins and localises those and no others.
#}
{% macro attribute_sessions(sessions) -%}
with

input_sessions as (
    select * from {{ sessions }}
),

stations as (
    select * from {{ ref('stg_raw__stations') }}
),

organisations as (
    select * from {{ ref('int_organisations_validated') }}
),

sessions_joined_to_stations as (
    select
        input_sessions.*,
        stations.station_id is not null as has_known_station,
        stations.evse_id,
        stations.station_name,
        stations.organisation_id as station_organisation_id,
        stations.current_type,
        stations.location_type,
    from input_sessions
    left join stations
        on input_sessions.station_id = stations.station_id
),

sessions_joined_to_organisations as (
    select
        sessions_joined_to_stations.*,
        organisations.organisation_id,
        organisations.organisation_id is not null as has_known_organisation,
        organisations.organisation_name,
        organisations.country_code,
        organisations.currency_code,
        organisations.currency_minor_units,
        organisations.has_known_currency,
        organisations.timezone_name_raw,
        organisations.timezone_name,
        coalesce(organisations.has_known_timezone, false)
            as has_known_timezone,
        organisations.public_private,
    from sessions_joined_to_stations
    left join organisations
        on sessions_joined_to_stations.station_organisation_id
        = organisations.organisation_id
),

rejection_reasons as (
    select
        *,
        -- in order of precedence: the first one is the session's reason
        list_filter([
            case when charge_id is null then 'missing_charge_id' end,
            case when not has_known_station then 'unknown_station' end,
            case
                when has_known_station and not has_known_organisation
                    then 'unknown_organisation'
            end,
            case
                when has_known_organisation and not has_known_timezone
                    then 'unknown_timezone'
            end,
            case when is_missing_start_time then 'missing_start_time' end,
            case
                when has_unreadable_start_time then 'unreadable_start_time'
            end,
            case
                when has_unreadable_stop_time then 'unreadable_stop_time'
            end,
            case
                when has_unreadable_meter_value then 'unreadable_meter_value'
            end,
            case when has_unreadable_price then 'unreadable_price' end,
            case
                when has_unreadable_created_at then 'unreadable_created_at'
            end,
        ], lambda reason: reason is not null) as rejection_reasons,
    from sessions_joined_to_organisations
),

localised as (
    select
        *,
        rejection_reasons[1] as rejection_reason,
        len(rejection_reasons) > 0 as is_rejected,
        {{ local_date('start_time', 'timezone_name') }} as start_date_local,
        {{ local_month('start_time', 'timezone_name') }} as start_month_local,
    from rejection_reasons
)

select * from localised
{%- endmacro %}
