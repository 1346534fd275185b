{#
    A raw value as text and typed. Raw rows arrive from text files (CSV,
    NDJSON: every value VARCHAR) and from Parquet files, whose columns may
    already have the type staging wants. A value is read from its text (trimmed,
    empty = NULL) unless its Parquet column has exactly the type it is stored
    as: then it is taken as it is, and its text is that value cast to VARCHAR,
    which is the text a text-file round trip would give.
#}

{# The type each kind of value is stored as, as DuckDB names it. #}
{% macro value_type(kind) -%}
    {{ {'timestamptz': 'TIMESTAMP WITH TIME ZONE', 'meter': 'BIGINT',
        'price': 'DECIMAL(18,4)'}[kind] }}
{%- endmacro %}

{# A typed value's own text, as DuckDB writes it: an instant as UTC with its
   offset ('2024-02-01 10:09:30+00'), a meter as it is, a price with two
   decimals where it has at most two ('8.56', '0.00': as prices are written),
   else as it is (`kind` as in value_type). What a rejected row shows for a
   value whose text staging did not keep (<column>_text NULL). #}
{% macro value_text(column, kind) -%}
    {{ adapter.dispatch('value_text')(column, kind) }}
{%- endmacro %}

{% macro default__value_text(column, kind) -%}
    {{ own_text(column, kind) }}
{%- endmacro %}

{# Spark's text of a timestamp has no offset; its session time zone is UTC. #}
{% macro spark__value_text(column, kind) -%}
    {{ own_text(column, kind) }}{{ " || '+00'" if kind == 'timestamptz' }}
{%- endmacro %}

{# The text staging compares a raw value's text with: where they are equal,
   it keeps no copy of the text (value_text gives it back). A price of at
   most two decimals is written with two, so that a price arriving as '8.56'
   (text, or a Parquet DECIMAL(12,2)) stores no text; DuckDB's own text of a
   DECIMAL(18,4) is '8.5600'. #}
{% macro own_text(column, kind) -%}
    {%- if kind == 'price' -%}
    case
        when {{ column }} = round({{ column }}, 2)
            then cast(cast({{ column }} as decimal(18, 2)) as varchar)
        else cast({{ column }} as varchar)
    end
    {%- else -%}
    cast({{ column }} as varchar)
    {%- endif -%}
{%- endmacro %}

{# The text of a raw value: trimmed, empty as NULL. #}
{% macro raw_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}

{# A value of `kind` read from its text (NULL when it does not parse): an
   instant (with an offset, that instant; without, UTC), a meter reading (a
   whole number of Wh, written with or without decimals) or a price. #}
{% macro typed_from_text(text, kind) -%}
    {%- if kind == 'meter' -%}
    case
        when try_cast({{ text }} as decimal(38, 6))
            = trunc(try_cast({{ text }} as decimal(38, 6)))
            then try_cast(try_cast({{ text }} as decimal(38, 6)) as bigint)
    end
    {%- elif kind == 'price' -%}
    try_cast({{ text }} as decimal(18, 4))
    {%- else -%}
    try_cast({{ text }} as timestamptz)
    {%- endif -%}
{%- endmacro %}

{# The columns of `relation` with their types, as a dict: what a model reads
   from a source_parts() view at build time. #}
{% macro column_types(relation) -%}
    {%- set types = {} -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do types.update({column.name: column.dtype | upper}) -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}

{# The raw session values that are typed from text, and their kinds (macro
   typed_from_text): staging types them and keeps the text they arrived as
   where it is not their own (_texts), latest_versions gives that text back
   as <column>_text, and int_sessions_priced shows it on rejected rows. #}
{% macro session_value_columns() -%}
    {{ return({'created_at': 'timestamptz', 'start_time': 'timestamptz',
               'stop_time': 'timestamptz', 'meter_start_wh': 'meter',
               'meter_stop_wh': 'meter', 'price': 'price',
               'updated_at': 'timestamptz'}) }}
{%- endmacro %}
