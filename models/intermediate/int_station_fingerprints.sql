{#- What a station's sessions read besides their own versions, hashed: an
    incremental build recomputes a session whose stored dimension_fingerprint
    differs from its station's current one. -#}
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

revenue_shares_by_organisation as (
    select
        organisation_id,
        string_agg(
            cast(revenue_shares as varchar), '|'
            order by cast(revenue_shares as varchar)
        ) as revenue_shares_text,
    from revenue_shares
    group by organisation_id
),

settings_by_station as (
    select
        station_id,
        string_agg(
            cast(settings_history as varchar), '|'
            order by cast(settings_history as varchar)
        ) as settings_text,
    from settings_history
    group by station_id
),

fingerprinted as (
    select
        stations.station_id,
        md5(concat_ws('#',
            cast(stations as varchar),
            coalesce(cast(organisations as varchar), 'no organisation'),
            coalesce(revenue_shares_by_organisation.revenue_shares_text, ''),
            coalesce(settings_by_station.settings_text, ''),
            {{ reference_fingerprint() }}
        )) as dimension_fingerprint,
    from stations
    left join organisations
        on stations.organisation_id = organisations.organisation_id
    left join revenue_shares_by_organisation
        on stations.organisation_id
        = revenue_shares_by_organisation.organisation_id
    left join settings_by_station
        on stations.station_id = settings_by_station.station_id
)

select * from fingerprinted
