{#
    Incremental builds of the session-grained models (see their YAML): each one
    recomputes only the session keys whose inputs differ from what its stored row
    was built from, and keeps every other row as it is.
#}

{# One hash over the reference data every session row reads: the seeds (code
   labels, currencies, VAT rates) and the DuckDB version (its time-zone data
   decides local dates). A change to any of them rebuilds every session. #}
{% macro reference_fingerprint() -%}
    (select md5(
        coalesce((select string_agg(cast(c as varchar), '|' order by cast(c as varchar))
                  from {{ ref('code_labels') }} as c), '')
        || '#' || coalesce((select string_agg(cast(c as varchar), '|' order by cast(c as varchar))
                  from {{ ref('currencies') }} as c), '')
        || '#' || coalesce((select string_agg(cast(v as varchar), '|' order by cast(v as varchar))
                  from {{ ref('vat_rates') }} as v), '')
        || '#' || (select library_version from pragma_version())
    ))
{%- endmacro %}

{# Every row of `relation` (a CTE) as text, joined in a stable order, per `key`:
   what a fingerprint hashes. #}
{% macro rows_as_text(relation, key, name) -%}
    select
        {{ key }},
        string_agg(
            cast({{ relation }} as varchar), '|'
            order by cast({{ relation }} as varchar)
        ) as {{ name }},
    from {{ relation }}
    group by {{ key }}
{%- endmacro %}

{# The build time of the rows {{ this }} holds last: what changed upstream after it
   has not been processed yet. An empty table gives -infinity. #}
{% macro last_built_at() -%}
    (select coalesce(max(_built_at), '-infinity'::timestamptz) from {{ this }})
{%- endmacro %}

{# In a post-hook: the build time of the rows {{ this }} held before this run
   wrote its own (-infinity when it held none, or this run replaced them all):
   what changed upstream after it is what the hook has to look at. #}
{% macro built_before_this_run() -%}
    (
        select coalesce(max(_built_at), '-infinity'::timestamptz)
        from {{ this }}
        where _built_at < cast('{{ run_started_at }}' as timestamptz)
    )
{%- endmacro %}

{# In a post-hook: the keys of the sessions int_sessions_priced recomputed
   since {{ this }}'s previous build and found to be `state` (a predicate over
   int_sessions_priced, e.g. 'is_rejected or is_deleted'): the rows of a
   report or audit table that have to go. #}
{% macro sessions_recomputed_as(state) -%}
    select session_key
    from {{ ref('int_sessions_priced') }}
    where ({{ state }})
        and _built_at > {{ built_before_this_run() }}
{%- endmacro %}

{# `column in (keys_query)`, with the keys' smallest and largest value as a
   range first: DuckDB applies the range to the scan, where row-group
   statistics skip every row group outside it, instead of probing every row's
   key (a post-hook's delete from the CPO view after one more day at 100 M
   sessions: 2.6 s to 0.3 s; the roaming view's read of the sessions, 3.9 s
   to 0.75 s). Where the keys are spread out, the range skips
   nothing and the result is the same. #}
{% macro key_in(column, keys_query) -%}
    (
        {{ column }} >= (select min(k) from ({{ keys_query }}) as keys(k))
        and {{ column }} <= (select max(k) from ({{ keys_query }}) as keys(k))
        and {{ column }} in ({{ keys_query }})
    )
{%- endmacro %}

{# The session keys an incremental build of int_sessions_priced ({{ this }})
   recomputes, as a query: the one place that says what an hourly build
   looks at.
   1. a key with a version (or a tombstone: its file no longer holds it)
      loaded after {{ this }}'s last build (_loaded_at of
      stg_raw__charging_session_versions against _built_at): a new session, a
      late stop or price, a counter-charge, an out-of-order older version, a
      removed or rewritten file. When the reference data changed since that
      build (int_reference_fingerprint), every key: the watermark moves back
      to -infinity;
   2. a stored session at a station whose station, organisation, revenue
      shares or settings changed since then (int_station_fingerprints), which
      also covers a station that appeared or disappeared;
   3. as a safety margin for late data, a stored session started within
      var('incremental_lookback_days') of the latest stored start (the other
      conditions alone give a full refresh's rows).
   One branch per condition, each a filter on one column that DuckDB applies
   inside its scan (a single WHERE with the conditions OR'd is evaluated
   above the scan, after every column has been read: at 100 M sessions, 40 s
   against 3.5 s). #}
{% macro session_keys_to_recompute() -%}
    {%- set lookback = var('incremental_lookback_days', 3) | int -%}
    {%- set versions = ref('stg_raw__charging_session_versions') -%}
    {%- set watermark -%}
        (
            select
                case
                    when max(changed_at) > {{ last_built_at() }}
                        then '-infinity'::timestamptz
                    else {{ last_built_at() }}
                end
            from {{ ref('int_reference_fingerprint') }}
        )
    {%- endset -%}
    select session_key from {{ versions }}
    where _loaded_at > {{ watermark }}
    union
    select session_key from {{ this }}
    where station_id in (
        select station_id
        from {{ ref('int_station_fingerprints') }}
        where changed_at > {{ last_built_at() }}
    )
    {%- if lookback > 0 %}
    union
    select session_key from {{ this }}
    where start_time >= (
        select max(start_time) from {{ this }}
    ) - to_days({{ lookback }})
    {%- endif %}
{%- endmacro %}

{# 'true' when the data tests are to read every row: on --full-refresh, with
   --vars '{test_all_rows: true}', or when this run builds the model named
   whole (its first build: builds_whole, the runner's); else 'false'. #}
{% macro tests_read_all_rows(model_name=none) -%}
    {{ 'true' if flags.FULL_REFRESH or var('test_all_rows', false) in (true, 'true', 1, '1')
       or (model_name and builds_whole(model_name)) else 'false' }}
{%- endmacro %}

{# For a model's data_tests_where config: the rows of the model's latest
   build, so that an hourly build tests what it changed instead of every
   stored row. In `runner build`, the rows this very build wrote (none, when
   the model had nothing to recompute: the rows of earlier builds were tested
   by them); in `runner test`, the rows of the latest build. After a full
   refresh, or with tests_read_all_rows(), every row. #}
{% macro last_build_rows(model_name, column='_built_at') -%}
    {%- if tests_read_all_rows(model_name) | trim == 'true' -%}
        true
    {%- elif flags.WHICH == 'build' -%}
        {{ column }} = cast('{{ run_started_at }}' as timestamptz)
    {%- else -%}
        {{ column }} = (select max({{ column }}) from {{ ref(model_name) }})
    {%- endif -%}
{%- endmacro %}
