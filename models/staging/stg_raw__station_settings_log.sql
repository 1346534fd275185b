with

source as (
    select * from {{ source('raw', 'station_settings_log') }}
),

renamed as (
    select
        nullif(trim(station_id), '') as station_id,
        lower(nullif(trim(setting), '')) as setting,
        nullif(trim(value), '') as value_raw,
        try_cast(lower(trim(value)) as boolean) as value_boolean,
        nullif(trim(changed_at), '') as changed_at_raw,
        try_cast(trim(changed_at) as timestamptz) as changed_at,
        _source_file,
    from source
),

flagged as (
    select
        *,
        station_id is not null
            and setting is not null
            and changed_at is not null
            and value_boolean is not null as is_readable,
    from renamed
),

deduplicated as (
    select *
    from flagged
    qualify row_number() over (
        partition by station_id, setting, coalesce(
            cast(changed_at as varchar), changed_at_raw
        )
        order by is_readable desc, _source_file desc, value_raw desc
    ) = 1
)

select * from deduplicated
