{#- The latest version of each session (macro latest_versions), as a view:
    int_sessions_priced applies the same macro to the sessions it recomputes and
    stores the result once, priced; this view is for reading the rule's
    outcome, not stored. -#}
{{ config(materialized='view') }}
with

-- read twice (the ranking, then the rows of the winners): inlined both times
versions as not materialized (
    select
        rowid as version_rowid,
        *,
    from {{ ref('stg_raw__charging_session_versions') }}
    where not _is_tombstone
)

{{ latest_versions('versions') }}
