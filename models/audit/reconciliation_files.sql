{#- One row per raw file of charging_sessions, listed now or with rows in
    staging: the rows it holds now (source_files().row_count, counted by the
    runner when it last checked the file: no file is read here) against the rows
    stg_raw__charging_session_versions holds from it and the size and time the
    file had when they were loaded. Incremental (delete+insert on _source_file):
    staging's rows are counted for the files it (re)loaded after this table's
    last build (a build of staging writes every row of a file at once, with one
    _loaded_at), and kept from this table's own rows for the others; every row
    is written again, compared with the files as they are now. A post-hook drops
    the rows of files neither listed nor loaded (removed files: their tombstones
    hold no row). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='_source_file',
    tags=['audit'],
    post_hook="delete from {{ this }} where size_bytes is null and loaded_rows = 0",
) }}

with

landed_files as (
    select _source_file, size_bytes, modified_at, row_count,
    from {{ source_files('raw', 'charging_sessions') }}
),

counted_files as (
    select
        _source_file,
        count(*) filter (where not _is_tombstone) as loaded_rows,
        any_value(_file_size_bytes) as loaded_size_bytes,
        any_value(_file_modified_at) as loaded_modified_at,
    from {{ ref('stg_raw__charging_session_versions') }}
    {%- if is_incremental() %}
    where _loaded_at > {{ last_built_at() }}
    {%- endif %}
    group by _source_file
),

loaded_files as (
    select * from counted_files
    {%- if is_incremental() %}
    union all
    select _source_file, loaded_rows, loaded_size_bytes, loaded_modified_at,
    from {{ this }}
    where _source_file not in (select _source_file from counted_files)
    {%- endif %}
),

compared as (
    select
        coalesce(landed_files._source_file, loaded_files._source_file)
            as _source_file,
        landed_files.size_bytes,
        landed_files.modified_at,
        landed_files.row_count as raw_rows,
        coalesce(loaded_files.loaded_rows, 0) as loaded_rows,
        -- the file as staging loaded it (a file it holds no row of: none)
        case when loaded_files.loaded_rows > 0
            then loaded_files.loaded_size_bytes end as loaded_size_bytes,
        case when loaded_files.loaded_rows > 0
            then loaded_files.loaded_modified_at end as loaded_modified_at,
    from landed_files
    full outer join loaded_files
        on landed_files._source_file = loaded_files._source_file
)

select
    *,
    coalesce(
        coalesce(raw_rows, 0) = loaded_rows
        and (
            loaded_rows = 0
            or (loaded_size_bytes = size_bytes and loaded_modified_at = modified_at)
        ),
        false
    ) as is_reconciled,
    cast('{{ run_started_at }}' as timestamptz) as _built_at,
from compared
