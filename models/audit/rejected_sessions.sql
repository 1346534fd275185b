{#- Incremental (delete+insert on session_key): a build writes the rejected
    sessions among those int_sessions_priced recomputed after this table's last
    build (_built_at); its post-hook removes the rows of the sessions
    recomputed since as reportable or gone. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
    tags=['audit'],
    post_hook="
        delete from {{ this }}
        where {{ key_in('session_key', sessions_recomputed_as('not is_rejected or is_deleted')) }}",
) }}

with

sessions as (
    select * from {{ ref('int_sessions_priced') }}
    {%- if is_incremental() %}
    where _built_at > {{ last_built_at() }}
    {%- endif %}
),

rejected as (
    select
        session_key,
        charge_id,
        rejection_reason as reason,
        rejection_reasons as reasons,
        organisation_id,
        case
            when has_known_timezone then start_month_local
        end as month,
        station_id,
        station_organisation_id,
        timezone_name_raw,
        created_at_raw,
        start_time_raw,
        stop_time_raw,
        meter_start_wh_raw,
        meter_stop_wh_raw,
        price_raw,
        charge_method,
        billing_type,
        roaming_network,
        operator_id,
        provider_id,
        transaction_id,
        counter_charge_of,
        updated_at_raw,
        version_count,
        _source_file,
        _built_at,
    from sessions
    where is_rejected
        and not is_deleted
)

select * from rejected
