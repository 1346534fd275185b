{#- Incremental (delete+insert on cdr_id): a build writes the rows of the
    charging_sessions_cpo rows written after this table's last build
    (_built_at), and of the stored rows whose free_usage is no longer the
    station's setting at report_time. Its post-hook deletes the stored rows
    whose CPO-view row was rewritten without them being rewritten too (the
    session left roaming) and the rows of sessions now rejected or gone. A
    change of a station's roaming IDs changes its fingerprint
    (int_station_fingerprints), which rewrites its sessions all the way. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='cdr_id',
    tags=['report'],
    post_hook="
        delete from {{ this }}
        where _built_at < cast('{{ run_started_at }}' as timestamptz)
            and (
                cdr_id in (
                    select charge_id
                    from {{ ref('charging_sessions_cpo') }}
                    where _built_at > {{ built_before_this_run() }}
                )
                or cdr_id in (
                    {{ sessions_recomputed_as('is_rejected or is_deleted') }}
                )
            )",
) }}

with

report_time as (
    select {{ report_time() }} as report_time
),

settings_history as (
    select * from {{ ref('int_station_settings_history') }}
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

{%- if is_incremental() %}
-- materialised: few rows in an hourly build, and the join into
-- int_sessions_priced below is then planned on their true number. Two
-- branches rather than one OR: the first is a filter DuckDB applies inside
-- the scan of the CPO view, the second a join on the (usually no) rows whose
-- free usage changed; an OR would be evaluated after reading every column of
-- every row.
charging_sessions as materialized (
    select * from {{ ref('charging_sessions_cpo') }}
    where _built_at > {{ last_built_at() }}
    union all
    select * from {{ ref('charging_sessions_cpo') }}
    where _built_at <= {{ last_built_at() }}
        and charge_id in (
            select stored.cdr_id
            from {{ this }} as stored
            left join free_usage_at_report_time
                on stored.station_id = free_usage_at_report_time.station_id
            where stored.free_usage is distinct from
                coalesce(free_usage_at_report_time.is_free_usage, false)
        )
),
{%- else %}
charging_sessions as (
    select * from {{ ref('charging_sessions_cpo') }}
),
{%- endif %}

sessions as (
    select * from {{ ref('int_sessions_priced') }}
    {%- if is_incremental() %}
    -- the keys' range first (an hourly build's sessions sit in the newest row
    -- groups), instead of probing every session's key
    where {{ key_in('session_key', 'select charge_id from charging_sessions') }}
    {%- endif %}
),

roaming_ids as (
    select * from {{ ref('stg_raw__station_roaming_ids') }}
),

code_labels as (
    select * from {{ ref('code_labels') }}
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
        cast('{{ run_started_at }}' as timestamptz) as _built_at,
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
