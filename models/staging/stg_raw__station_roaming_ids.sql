with

source as (
    select * from {{ source('raw', 'station_roaming_ids') }}
),

renamed as (
    select
        nullif(trim(station_id), '') as station_id,
        lower(nullif(trim(network), '')) as network,
        nullif(trim(evse_id), '') as roaming_evse_id,
        _source_file,
    from source
),

deduplicated as (
    select *
    from renamed
    where station_id is not null
        and network is not null
        and roaming_evse_id is not null
    qualify row_number() over (
        partition by station_id, network
        order by _source_file desc, roaming_evse_id desc
    ) = 1
)

select * from deduplicated
