with

organisations as (
    select * from {{ ref('stg_raw__organisations') }}
),

currencies as (
    select * from {{ ref('currencies') }}
),

code_labels as (
    select * from {{ ref('code_labels') }}
),

time_zones as (
    {{ timezone_names() }}
),

public_private_labels as (
    select
        code,
        label,
    from code_labels
    where code_type = 'public_private'
),

organisations_validated as (
    select
        organisations.organisation_id,
        organisations.organisation_name,
        organisations.country_code,
        organisations.currency_code,
        organisations.timezone_name as timezone_name_raw,
        -- the zone's canonical spelling; NULL when it is not an IANA zone
        time_zones.timezone_name,
        time_zones.timezone_name is not null as has_known_timezone,
        currencies.minor_units as currency_minor_units,
        currencies.code is not null as has_known_currency,
        organisations.is_public,
        public_private_labels.label as public_private,
        organisations.updated_at,
    from organisations
    left join time_zones
        on lower(organisations.timezone_name)
        = lower(time_zones.timezone_name)
    left join currencies
        on organisations.currency_code = currencies.code
    left join public_private_labels
        on cast(organisations.is_public as varchar)
        = public_private_labels.code
)

select * from organisations_validated
