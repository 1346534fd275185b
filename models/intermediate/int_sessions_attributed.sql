{#- Each session joined to its station and organisation, with its rejection
    reasons and local dates (macro attribute_sessions). A view, so that no
    second copy of every session is stored; int_sessions_priced applies the
    same macro to the sessions it recomputes. -#}
{{ config(materialized='view') }}
{{ attribute_sessions(ref('stg_raw__charging_sessions')) }}
