-- Asserts that the VAT-rate periods of a country follow one another without
-- sharing a day, so that a session's rate lookup finds at most one rate.
with

vat_rates as (
    select * from {{ ref('vat_rates') }}
),

with_previous as (
    select
        country,
        valid_from,
        lag(valid_from) over (
            partition by country order by valid_from
        ) as previous_valid_from,
        lag(valid_to) over (
            partition by country order by valid_from
        ) as previous_valid_to,
    from vat_rates
)

select *
from with_previous
where previous_valid_from is not null
    and (previous_valid_to is null or previous_valid_to >= valid_from)
