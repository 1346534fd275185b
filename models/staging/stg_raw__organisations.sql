with

source as (
    select * from {{ source('raw', 'organisations') }}
),

renamed as (
    select
        nullif(trim(organisation_id), '') as organisation_id,
        nullif(trim(name), '') as organisation_name,
        upper(nullif(trim(country), '')) as country_code,
        upper(nullif(trim(currency), '')) as currency_code,
        nullif(trim(timezone), '') as timezone_name,
        try_cast(lower(trim(is_public)) as boolean) as is_public,
        nullif(trim(is_public), '') as is_public_raw,
        try_cast(trim(updated_at) as timestamptz) as updated_at,
        _source_file,
    from source
),

deduplicated as (
    select *
    from renamed
    where organisation_id is not null
    qualify row_number() over (
        partition by organisation_id
        order by
            updated_at desc nulls last,
            _source_file desc,
            md5(cast(row(
                organisation_name, country_code, currency_code,
                timezone_name, is_public_raw
            ) as varchar)) desc
    ) = 1
)

select * from deduplicated
