{#- What a station's sessions read besides their own versions, hashed, and
    when that hash last changed (changed_at): an incremental build of
    int_sessions_priced recomputes the sessions of the stations that changed
    after its last build. Incremental (merge on station_id): a build writes the
    stations that are new, changed or gone (a station gone from the raw data
    keeps a row with a NULL fingerprint, so that its sessions are recomputed
    once, as sessions at an unknown station). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='station_id',
) }}
with

stations as (
    select * from {{ ref('stg_raw__stations') }}
),

organisations as (
    select * from {{ ref('int_organisations_validated') }}
),

revenue_shares as (
    select * from {{ ref('int_revenue_shares_history') }}
),

settings_history as (
    select * from {{ ref('int_station_settings_history') }}
),

roaming_ids as (
    select * from {{ ref('stg_raw__station_roaming_ids') }}
),

revenue_shares_by_organisation as (
    {{ rows_as_text('revenue_shares', 'organisation_id', 'revenue_shares_text') }}
),

settings_by_station as (
    {{ rows_as_text('settings_history', 'station_id', 'settings_text') }}
),

-- not read by the pricing, but by roaming_sessions_cpo, which rewrites what
-- the models before it rewrote
roaming_ids_by_station as (
    {{ rows_as_text('roaming_ids', 'station_id', 'roaming_ids_text') }}
),

fingerprinted as (
    select
        stations.station_id,
        md5(concat_ws('#',
            cast(stations as varchar),
            coalesce(cast(organisations as varchar), 'no organisation'),
            coalesce(revenue_shares_by_organisation.revenue_shares_text, ''),
            coalesce(settings_by_station.settings_text, ''),
            coalesce(roaming_ids_by_station.roaming_ids_text, '')
        )) as dimension_fingerprint,
    from stations
    left join organisations
        on stations.organisation_id = organisations.organisation_id
    left join revenue_shares_by_organisation
        on stations.organisation_id
        = revenue_shares_by_organisation.organisation_id
    left join settings_by_station
        on stations.station_id = settings_by_station.station_id
    left join roaming_ids_by_station
        on stations.station_id = roaming_ids_by_station.station_id
    where stations.station_id is not null
)

{%- if is_incremental() %}

select
    fingerprinted.station_id,
    fingerprinted.dimension_fingerprint,
    cast('{{ run_started_at }}' as timestamptz) as changed_at,
from fingerprinted
left join {{ this }} as built
    on fingerprinted.station_id = built.station_id
where fingerprinted.dimension_fingerprint
    is distinct from built.dimension_fingerprint

union all

select
    built.station_id,
    cast(null as varchar) as dimension_fingerprint,
    cast('{{ run_started_at }}' as timestamptz) as changed_at,
from {{ this }} as built
where built.dimension_fingerprint is not null
    and built.station_id not in (select station_id from fingerprinted)
{%- else %}

select
    station_id,
    dimension_fingerprint,
    cast('{{ run_started_at }}' as timestamptz) as changed_at,
from fingerprinted
{%- endif %}
