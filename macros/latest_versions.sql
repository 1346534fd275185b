{#
    The latest version of each session: the rule of stg_raw__charging_sessions
    (see its YAML), applied by that view to every session and by
    int_sessions_priced to the sessions it recomputes.
#}

{# A query: one row per session_key of `versions` (a CTE over live rows of
   stg_raw__charging_session_versions, with their row id as version_rowid),
   its winning version whole, version_count and last_loaded_at, and the flags
   the attribution's rejection reasons read. The winner is found on narrow
   columns (a hash aggregate), then joined back to its row by row id: at 100 M
   sessions a window over whole rows sorts every version with all its
   columns, which does not stay in memory and spills for hours. `versions` is
   read twice: in a full build make it a `not materialized` CTE, so that no
   copy of every version is stored first. #}
{% macro latest_versions(versions) -%}
    {#- the text a value arrived as, where not its own (NULL where it was) #}
    {%- set text = {} %}
    {%- for column in session_value_columns() %}
    {%- do text.update({column: versions ~ "._texts['" ~ column ~ "']"}) %}
    {%- endfor %}
    select
        {{ versions }}.session_key,
        -- not stored beside session_key: the key where the version had one
        case
            when {{ versions }}._charge_id_missing then null
            else {{ versions }}.session_key
        end as charge_id,
        {{ versions }}.* exclude (
            session_key, version_rowid, _is_tombstone, _file_size_bytes,
            _file_modified_at, _version_hash, _charge_id_missing, _texts
        ),
        {%- for column, arrived_as in text.items() %}
        {{ arrived_as }} as {{ column }}_text,
        {%- endfor %}
        ranked.version_count,
        ranked.last_loaded_at,
        start_time is null and {{ text.start_time }} is null
            as is_missing_start_time,
        {{ text.start_time }} is not null and start_time is null
            as has_unreadable_start_time,
        {{ text.stop_time }} is not null and stop_time is null
            as has_unreadable_stop_time,
        ({{ text.meter_start_wh }} is not null and meter_start_wh is null)
        or ({{ text.meter_stop_wh }} is not null and meter_stop_wh is null)
            as has_unreadable_meter_value,
        {{ text.price }} is not null and price is null as has_unreadable_price,
        {{ text.created_at }} is not null and created_at is null
            as has_unreadable_created_at,
        counter_charge_of is not null as is_counter_charge,
    from {{ versions }}
    inner join (
        select
            session_key,
            arg_max(version_rowid, (
                -- latest updated_at first (an unreadable one sorts oldest)
                coalesce(updated_at, '-infinity'::timestamptz),
                updated_at is not null,
                -- on a tie, the version that knows more: stopped, then billed
                -- (a value, or a text that did not parse)
                stop_time is not null or {{ text.stop_time }} is not null,
                price is not null or {{ text.price }} is not null,
                -- then the later file, then a hash of the values
                _source_file,
                _version_hash
            )) as winner_rowid,
            count(*) as version_count,
            max(_loaded_at) as last_loaded_at,
        from {{ versions }}
        group by session_key
    ) as ranked
        on {{ versions }}.version_rowid = ranked.winner_rowid
{%- endmacro %}
