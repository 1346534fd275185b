{#
    Time-zone conversions. Instants are TIMESTAMPTZ; calendar values (dates,
    months) are read on the wall clock of an IANA time zone. tz must be a valid
    zone name or NULL (NULL gives NULL); validate zones against
    pg_timezone_names() before calling these.
#}

{# The wall-clock time of instant ts in zone tz, as TIMESTAMP (no zone). #}
{% macro local_timestamp(ts, tz) -%}
    {{ adapter.dispatch('local_timestamp')(ts, tz) }}
{%- endmacro %}

{% macro default__local_timestamp(ts, tz) -%}
    timezone({{ tz }}, cast({{ ts }} as timestamptz))
{%- endmacro %}

{# The calendar date of instant ts in zone tz. #}
{% macro local_date(ts, tz) -%}
    cast({{ local_timestamp(ts, tz) }} as date)
{%- endmacro %}

{# The first day of the calendar month of instant ts in zone tz, as DATE.
   No zone is a day or more off UTC, so an instant on day 2 to 27 of a month
   in UTC is in that same month on every wall clock: the time-zone conversion
   (the costly part) is done only for the other days, about 15 % of the
   instants. The UTC wall clock comes from the epoch, without time-zone rules.
   At 100 M sessions this takes 3 s where the conversion of every instant
   took 5. #}
{% macro local_month(ts, tz) -%}
    {{ adapter.dispatch('local_month')(ts, tz) }}
{%- endmacro %}

{% macro default__local_month(ts, tz) -%}
    {%- set utc -%}
        make_timestamp(epoch_us(cast({{ ts }} as timestamptz)))
    {%- endset -%}
    case
        when {{ tz }} is null then null
        when dayofmonth({{ utc }}) between 2 and 27
            then cast(date_trunc('month', {{ utc }}) as date)
        else cast(date_trunc('month', {{ local_timestamp(ts, tz) }}) as date)
    end
{%- endmacro %}

{# Midnight at the start of local date d in zone tz, as an instant. #}
{% macro local_midnight(d, tz) -%}
    {{ adapter.dispatch('local_midnight')(d, tz) }}
{%- endmacro %}

{% macro default__local_midnight(d, tz) -%}
    timezone({{ tz }}, cast(cast({{ d }} as date) as timestamp))
{%- endmacro %}

{# On Spark (session time zone UTC): an instant's wall clock is from_utc_timestamp,
   a wall clock's instant to_utc_timestamp; the month is truncated from the wall
   clock (Spark has no epoch_us). #}
{% macro spark__local_timestamp(ts, tz) -%}
    cast(from_utc_timestamp(cast({{ ts }} as timestamptz), {{ tz }}) as timestamp)
{%- endmacro %}

{% macro spark__local_month(ts, tz) -%}
    cast(date_trunc('month', {{ local_timestamp(ts, tz) }}) as date)
{%- endmacro %}

{% macro spark__local_midnight(d, tz) -%}
    to_utc_timestamp(cast(cast({{ d }} as date) as timestamp), {{ tz }})
{%- endmacro %}

{# The IANA zone names the engine knows, as a query of one column `timezone_name`:
   DuckDB's pg_timezone_names(); on Spark the tz database's names (pytz). #}
{% macro timezone_names() -%}
    {{ adapter.dispatch('timezone_names')() }}
{%- endmacro %}

{% macro default__timezone_names() -%}
    select name as timezone_name from pg_timezone_names()
{%- endmacro %}

{% macro spark__timezone_names() -%}
    select timezone_name from (values
        {%- for name in modules.pytz.all_timezones %}
        ('{{ name }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as zones(timezone_name)
{%- endmacro %}

{# "When the report is generated", as TIMESTAMPTZ: var('report_time') if set
   (an ISO instant; without an offset it is UTC), else the build's start. Its default
   is empty, which gives the runner no type to check --vars against: checked here, when
   the project is parsed, before anything runs. #}
{% macro report_time() -%}
    {%- set value = var('report_time', '') -%}
    {%- if value and not modules.re.fullmatch(
            '\\d{4}-\\d{2}-\\d{2}([Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?\\s*([Zz]|[+-]\\d{2}(:?\\d{2})?)?)?',
            value | string) -%}
    {{- exceptions.raise_compiler_error(
            "--vars report_time: '" ~ value ~ "' is not an ISO instant, e.g. "
            ~ "2024-10-01T00:00:00Z (without an offset it is UTC); nothing was run") -}}
    {%- endif -%}
    {%- if value -%}
    cast('{{ value }}' as timestamptz)
    {%- else -%}
    cast('{{ run_started_at }}' as timestamptz)
    {%- endif -%}
{%- endmacro %}
