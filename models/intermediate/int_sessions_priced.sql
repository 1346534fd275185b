{#- Incremental (delete+insert on session_key): see the model's YAML. The
    sessions to recompute are chosen in one place (macro
    session_keys_to_recompute); each is taken from all its versions (macro
    latest_versions), attributed and priced here, and stored once. Every
    session is kept, rejected ones too (is_rejected), so that a session that
    becomes rejected replaces its priced row; a session none of whose versions
    is left gets a tombstone row (is_deleted). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='session_key',
    full_build_batches={'rows_of': 'stg_raw__charging_session_versions',
                        'rows_per_batch': var('versions_per_batch', 40000000)},
) }}
{#- the raw values and their kinds, as staging reads them -#}
{%- set value_columns = session_value_columns() %}
{%- set columns_read_here = [
    'is_missing_start_time', 'has_unreadable_start_time', 'has_unreadable_stop_time',
    'has_unreadable_meter_value', 'has_unreadable_price', 'has_unreadable_created_at',
    'is_counter_charge', 'has_known_station', 'has_known_organisation',
    'has_known_currency', 'country_code', 'currency_minor_units', 'start_date_local',
    'last_loaded_at', 'is_listed_charge_method'] %}
with

{%- if is_incremental() %}

-- materialised, all three: small in an hourly build, and a materialised CTE
-- gives the planner its true size (on an estimate, it built a hash table of
-- every version instead of one of the changed keys)
changed_keys as materialized (
    {{ session_keys_to_recompute() | indent(4) }}
),

-- the row ids of the changed keys' versions, found on the key column alone:
-- a join reading every column of every version took minutes at 100 M
changed_version_rowids as materialized (
    select rowid as version_rowid
    from {{ ref('stg_raw__charging_session_versions') }}
    where session_key in (select session_key from changed_keys)
),

-- their rows, by row id: DuckDB skips the row groups outside the ids' range,
-- and new versions, and the versions of recent sessions, sit near the end
versions as materialized (
    select rowid as version_rowid, *
    from {{ ref('stg_raw__charging_session_versions') }}
    where rowid in (select version_rowid from changed_version_rowids)
        and not _is_tombstone
),
{%- else %}

-- read twice (the ranking, then the rows of the winners): inlined both times.
-- Past 40 M versions, a full build is made in batches of whole sessions, so
-- that each batch's ranking and join back fit in memory (full_build_batches).
versions as not materialized (
    select rowid as version_rowid, *
    from {{ ref('stg_raw__charging_session_versions') }}
    where not _is_tombstone
        and {{ batch_filter('session_key') }}
),
{%- endif %}

sessions_to_price as (
    {{ latest_versions('versions') | indent(4) }}
),

-- attributed after the filter (the same macro as int_sessions_attributed),
-- so that an hourly build joins and localises only what it recomputes
sessions as (
    {{ attribute_sessions('sessions_to_price') | indent(4) }}
),

vat_rates as (
    select * from {{ ref('vat_rates') }}
),

revenue_shares as (
    select * from {{ ref('int_revenue_shares_history') }}
),

settings_history as (
    select * from {{ ref('int_station_settings_history') }}
),

code_labels as (
    select * from {{ ref('code_labels') }}
),

all_sessions as (
    -- every session, rejected ones too; the reports keep the others
    select *
    from sessions
),

sessions_with_vat_rate as (
    select
        all_sessions.*,
        vat_rates.vat_pct,
    from all_sessions
    left join vat_rates
        on all_sessions.country_code = vat_rates.country
        and all_sessions.start_date_local >= vat_rates.valid_from
        and (
            vat_rates.valid_to is null
            or all_sessions.start_date_local <= vat_rates.valid_to
        )
),

sessions_with_revenue_share as (
    select
        sessions_with_vat_rate.*,
        revenue_shares.cpo_share_pct,
    from sessions_with_vat_rate
    left join revenue_shares
        on sessions_with_vat_rate.organisation_id
        = revenue_shares.organisation_id
        and sessions_with_vat_rate.start_date_local
        >= revenue_shares.valid_from
        and (
            revenue_shares.valid_to is null
            or sessions_with_vat_rate.start_date_local
            < revenue_shares.valid_to
        )
),

sessions_with_free_usage as (
    select
        sessions_with_revenue_share.*,
        -- before a station's first change, free usage is off
        coalesce(settings_history.is_free_usage, false)
            as is_free_usage_at_start,
    from sessions_with_revenue_share
    left join settings_history
        on sessions_with_revenue_share.station_id = settings_history.station_id
        and sessions_with_revenue_share.start_time
        >= settings_history.valid_from
        and (
            settings_history.valid_to is null
            or sessions_with_revenue_share.start_time
            < settings_history.valid_to
        )
),

sessions_labelled as (
    select
        sessions_with_free_usage.*,
        roaming_network is not null as is_roaming,
        roaming_network in ('hubject', 'gireve', 'ocpi')
            as is_listed_roaming_network,
        billing_labels.label as billing_type_label,
        location_labels.label as location_type_label,
        charge_method_labels.code is not null as is_listed_charge_method,
    from sessions_with_free_usage
    left join code_labels as billing_labels
        on billing_labels.code_type = 'billing_type'
        and sessions_with_free_usage.billing_type = billing_labels.code
    left join code_labels as location_labels
        on location_labels.code_type = 'location_type'
        and sessions_with_free_usage.location_type = location_labels.code
    left join code_labels as charge_method_labels
        on charge_method_labels.code_type = 'charge_method'
        and sessions_with_free_usage.charge_method = charge_method_labels.code
),

sessions_rounded as (
    select
        *,
        -- price as billed, rounded to the currency's minor units (kept as
        -- billed when the currency is unknown); VAT and share are taken from it
        coalesce(
            {{ round_money('price', 'currency_minor_units') }}, price
        ) as price_rounded,
    from sessions_labelled
),

priced as (
    select
        *,
        {{ vat_from_gross('price_rounded', 'vat_pct', 'currency_minor_units') }}
            as vat_amount,
        {{ share_of('price_rounded', 'cpo_share_pct', 'currency_minor_units') }}
            as cpo_share_amount,
        case
            when meter_stop_wh < meter_start_wh and not is_counter_charge
                then null
            else meter_stop_wh - meter_start_wh
        end as energy_wh,
        case
            when stop_time >= start_time then stop_time - start_time
        end as duration,
    from sessions_rounded
),

flagged as (
    select
        *,
        list_filter([
            case
                when meter_stop_wh < meter_start_wh and not is_counter_charge
                    then 'meter_rollback'
            end,
            case when stop_time < start_time then 'stop_before_start' end,
            case when transaction_id is null then 'no_transaction_id' end,
            case
                when is_free_usage_at_start and price_rounded <> 0
                    then 'priced_despite_free_usage'
            end,
            case
                when energy_wh = 0 and price_rounded > 0
                    then 'priced_without_energy'
            end,
            case
                when is_roaming and not is_listed_roaming_network
                    then 'unlisted_roaming_network'
            end,
            case when cpo_share_pct is null then 'no_revenue_share' end,
            case when vat_pct is null then 'unknown_vat_rate' end,
            case when not has_known_currency then 'unknown_currency' end,
            case
                when charge_method is not null and not is_listed_charge_method
                    then 'unlisted_charge_method'
            end,
            case
                when billing_type is not null and billing_type_label is null
                    then 'unlisted_billing_type'
            end,
            case
                when location_type is not null and location_type_label is null
                    then 'unlisted_location_type'
            end,
        ], lambda flag: flag is not null) as quality_flags,
    from priced
)

select
    -- not stored: what only this model reads (the raw texts, the flags its
    -- rejection reasons and quality flags are made of, the country and minor
    -- units its VAT and rounding take); every later step reads the rest
    * exclude (
        {%- for column in value_columns %}
        {{ column }}_text,
        {%- endfor %}
        {%- for column in columns_read_here %}
        {{ column }},
        {%- endfor %}
    ),
    -- the raw text is kept where an auditor needs it: on rejected rows (the
    -- value's own text where staging kept none: it arrived as that)
    {%- for column in value_columns %}
    case
        when is_rejected then coalesce({{ column }}_text, {{ value_text(column, value_columns[column]) }})
    end as {{ column }}_raw,
    {%- endfor %}
    false as is_deleted,
    cast('{{ run_started_at }}' as timestamptz) as _built_at,
from flagged
{%- if is_incremental() %}
union all by name
-- a changed key none of whose versions is left (its raw files were removed):
-- a tombstone row replaces it, and every model downstream drops it
select
    session_key,
    true as is_rejected,
    cast([] as varchar[]) as quality_flags,
    true as is_deleted,
    cast('{{ run_started_at }}' as timestamptz) as _built_at,
from changed_keys
where session_key not in (select session_key from sessions_to_price)
{%- endif %}
