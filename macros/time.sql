{#
    Time-zone conversions. Instants are TIMESTAMPTZ; calendar values (dates,
    months) are read on the wall clock of an IANA time zone. tz must be a valid
    zone name or NULL (NULL gives NULL); validate zones against
    pg_timezone_names() before calling these.
#}

{# The wall-clock time of instant ts in zone tz, as TIMESTAMP (no zone). #}
{% macro local_timestamp(ts, tz) -%}
    timezone({{ tz }}, cast({{ ts }} as timestamptz))
{%- endmacro %}

{# The calendar date of instant ts in zone tz. #}
{% macro local_date(ts, tz) -%}
    cast({{ local_timestamp(ts, tz) }} as date)
{%- endmacro %}

{# The first day of the calendar month of instant ts in zone tz, as DATE. #}
{% macro local_month(ts, tz) -%}
    cast(date_trunc('month', {{ local_timestamp(ts, tz) }}) as date)
{%- endmacro %}

{# Midnight at the start of local date d in zone tz, as an instant. #}
{% macro local_midnight(d, tz) -%}
    timezone({{ tz }}, cast(cast({{ d }} as date) as timestamp))
{%- endmacro %}

{# "When the report is generated", as TIMESTAMPTZ: var('report_time') if set
   (an ISO instant; without an offset it is UTC), else the build's start. #}
{% macro report_time() -%}
    {%- set value = var('report_time', '') -%}
    {%- if value -%}
    cast('{{ value }}' as timestamptz)
    {%- else -%}
    cast('{{ run_started_at }}' as timestamptz)
    {%- endif -%}
{%- endmacro %}
