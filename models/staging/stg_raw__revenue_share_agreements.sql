with

source as (
    select * from {{ source('raw', 'revenue_share_agreements') }}
),

renamed as (
    select
        nullif(trim(organisation_id), '') as organisation_id,
        try_cast(trim(valid_from) as date) as valid_from,
        try_cast(trim(cpo_share_pct) as decimal(9, 4)) as cpo_share_pct,
        nullif(trim(valid_from), '') as valid_from_raw,
        nullif(trim(cpo_share_pct), '') as cpo_share_pct_raw,
        _source_file,
    from source
),

deduplicated as (
    select *
    from renamed
    where organisation_id is not null
        and valid_from is not null
        and cpo_share_pct is not null
    qualify row_number() over (
        partition by organisation_id, valid_from
        order by _source_file desc, cpo_share_pct desc
    ) = 1
)

select * from deduplicated
