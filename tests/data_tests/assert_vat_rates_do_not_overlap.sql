-- Asserts that no two VAT-rate periods of one country share a day, so that a
-- session's rate lookup finds at most one rate.
with

vat_rates as (
    select * from {{ ref('vat_rates') }}
)

select
    earlier.country,
    earlier.valid_from,
    later.valid_from as overlapping_valid_from,
from vat_rates as earlier
inner join vat_rates as later
    on earlier.country = later.country
    and earlier.valid_from < later.valid_from
    and (earlier.valid_to is null or earlier.valid_to >= later.valid_from)
