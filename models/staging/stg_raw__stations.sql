with

source as (
    select * from {{ source('raw', 'stations') }}
),

renamed as (
    select
        nullif(trim(station_id), '') as station_id,
        nullif(trim(evse_id), '') as evse_id,
        nullif(trim(name), '') as station_name,
        nullif(trim(organisation_id), '') as organisation_id,
        upper(nullif(trim(current_type), '')) as current_type,
        lower(nullif(trim(location_type), '')) as location_type,
        try_cast(trim(updated_at) as timestamptz) as updated_at,
        _source_file,
    from source
),

deduplicated as (
    select *
    from renamed
    where station_id is not null
    qualify row_number() over (
        partition by station_id
        order by
            updated_at desc nulls last,
            _source_file desc,
            md5(cast(row(
                evse_id, station_name, organisation_id,
                current_type, location_type
            ) as varchar)) desc
    ) = 1
)

select * from deduplicated
