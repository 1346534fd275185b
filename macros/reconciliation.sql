{# In reconciliation_buckets, after `and`-able conditions on a source: the rows
   of the buckets to count. All of them in a full build; else the keys of the
   dirty buckets (CTEs dirty_buckets and key_prefix_length), found by the
   smallest dirty prefix first (every key of a bucket sorts at or after its
   prefix): a range DuckDB applies to the scan, where row-group statistics
   skip the older row groups. #}
{% macro in_dirty_buckets(key) -%}
    {%- if is_incremental() %}
        and {{ key }} >= (select min(key_prefix) from dirty_buckets)
        and left({{ key }}, (select length from key_prefix_length))
            in (select key_prefix from dirty_buckets)
    {%- endif %}
{%- endmacro %}
