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

{# The session keys of `candidates` (a CTE or relation with session_key,
   version_count, last_loaded_at, dimension_fingerprint and start_time: the
   current inputs) whose stored row in {{ this }} was built from other inputs:
   a key not built yet, a key with versions added since (version_count and
   last_loaded_at), or a key whose station, organisation or reference data
   changed (dimension_fingerprint). Sessions that started within
   var('incremental_lookback_days') of the latest start are recomputed as well
   (a safety margin; the comparison above alone gives a full refresh's rows). #}
{% macro session_keys_to_rebuild(candidates) -%}
    {%- set lookback = var('incremental_lookback_days', 3) | int -%}
    select candidates.session_key
    from {{ candidates }} as candidates
    left join {{ this }} as built
        on candidates.session_key = built.session_key
    where built.session_key is null
        or candidates.version_count is distinct from built.version_count
        or candidates.last_loaded_at is distinct from built.last_loaded_at
        or candidates.dimension_fingerprint
        is distinct from built.dimension_fingerprint
        {%- if lookback > 0 %}
        or candidates.start_time >= (
            select max(start_time) from {{ candidates }}
        ) - to_days({{ lookback }})
        {%- endif %}
{%- endmacro %}
