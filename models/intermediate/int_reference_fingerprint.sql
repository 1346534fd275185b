{#- The reference data every session reads (seeds and the DuckDB version,
    see the reference_fingerprint macro), hashed, and when that hash last
    changed: a change recomputes every session in int_sessions_priced.
    Incremental (merge on reference_key): one row, rewritten only when the
    hash changes. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key='reference_key',
) }}
with

current_reference as (
    select
        'reference' as reference_key,
        {{ reference_fingerprint() }} as reference_fingerprint,
        cast('{{ run_started_at }}' as timestamptz) as changed_at,
)

select * from current_reference
{%- if is_incremental() %}
where reference_fingerprint is distinct from (
    select max(reference_fingerprint) from {{ this }}
)
{%- endif %}
