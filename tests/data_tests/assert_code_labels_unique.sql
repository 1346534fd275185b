-- Asserts that each code has one label per code type.
select
    code_type,
    code,
    count(*) as n_labels,
from {{ ref('code_labels') }}
group by code_type, code
having count(*) > 1
