-- Asserts that, for every raw file of charging_sessions, the rows it holds now
-- (counted straight from the source), the rows the runner recorded when it last
-- checked the file (source_files().row_count, what audit.reconciliation_files
-- compares with) and the rows staging holds from it are the same number.
-- It reads every raw row, so it runs on a full build (a first build or a
-- full refresh) and with --vars '{test_all_rows: true}'; an incremental
-- build relies on audit.reconciliation_files and its test.
{%- if tests_read_all_rows('stg_raw__charging_session_versions') | trim != 'true' %}
select
    cast(null as varchar) as _source_file,
    0 as raw_rows, 0 as recorded_rows, 0 as loaded_rows
where false
{%- else %}
with

raw_rows as (
    select _source_file, count(*) as n
    from {{ source('raw', 'charging_sessions') }}
    group by _source_file
),

recorded_rows as (
    select _source_file, row_count as n
    from {{ source_files('raw', 'charging_sessions') }}
),

loaded_rows as (
    select _source_file, count(*) as n
    from {{ ref('stg_raw__charging_session_versions') }}
    where not _is_tombstone
    group by _source_file
),

files as (
    select _source_file from raw_rows
    union
    select _source_file from recorded_rows
    union
    select _source_file from loaded_rows
)

select
    files._source_file,
    coalesce(raw_rows.n, 0) as raw_rows,
    recorded_rows.n as recorded_rows,
    coalesce(loaded_rows.n, 0) as loaded_rows,
from files
left join raw_rows on files._source_file = raw_rows._source_file
left join recorded_rows on files._source_file = recorded_rows._source_file
left join loaded_rows on files._source_file = loaded_rows._source_file
where coalesce(raw_rows.n, 0) <> coalesce(loaded_rows.n, 0)
    or (
        recorded_rows._source_file is not null
        and coalesce(raw_rows.n, 0) is distinct from recorded_rows.n
    )
{%- endif %}
