{#- Incremental (delete+insert on charge_id): a build writes the sessions
    int_sessions_priced recomputed after this table's last build (_built_at);
    its post-hook then removes the rows of the sessions int_sessions_priced
    recomputed since as rejected or gone (it keeps those as rows of their
    own). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='charge_id',
    tags=['report'],
    post_hook="
        delete from {{ this }}
        where {{ key_in('charge_id', sessions_recomputed_as('is_rejected or is_deleted')) }}",
) }}

with

sessions as (
    select *
    from {{ ref('int_sessions_priced') }}
    where not is_rejected
        and not is_deleted
        {%- if is_incremental() %}
        and _built_at > {{ last_built_at() }}
        {%- endif %}
),

report_rows as (
    select
        coalesce(created_at, start_time) as created,
        charge_id,
        station_id,
        evse_id,
        station_name,
        organisation_name as cpo_name,
        start_time,
        stop_time,
        duration,
        energy_wh,
        meter_start_wh as meter_start,
        meter_stop_wh as meter_stop,
        vat_pct as vat_p,
        vat_amount as vat,
        cast(price_rounded - vat_amount as decimal(18, 4)) as net,
        price_rounded as price,
        currency_code as currency,
        public_private,
        is_free_usage_at_start as free_usage,
        current_type as plug_type,
        charge_method,
        case when is_roaming then operator_id end as operator,
        case when is_roaming then provider_id end as provider_id,
        transaction_id,
        cpo_share_amount as cpo_share,
        case
            when not is_roaming and charge_method is distinct from 'admin'
                then coalesce(billing_type_label, billing_type)
        end as billing_type,
        coalesce(location_type_label, location_type) as location_type,
        organisation_id,
        quality_flags,
        cast('{{ run_started_at }}' as timestamptz) as _built_at,
    from sessions
)

select * from report_rows
