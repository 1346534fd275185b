"""The floor's sessions: the latest version of each session, attributed and priced into
the one stored table `work.sessions`, and the four outputs written from it. See
bench/floor.py."""

from __future__ import annotations

from pathlib import Path

from floor_inputs import q, session_versions

P = "cast(cast(price_rounded as decimal(38, 4)) * 10000 as hugeint)"
R = "cast(cast(vat_pct as decimal(9, 4)) * 100 as hugeint)"
STEP = "cast(10 ^ (4 - currency_minor_units) as hugeint)"


def round_money(x: str) -> str:
    """x rounded half away from zero to the currency's minor units, as DECIMAL(18,4);
    NULL for minor units outside 0 to 4."""
    cases = " ".join(f"when {places} then cast(round(cast({x} as decimal(38, 10)), {places}) "
                     f"as decimal(18, 4))" for places in range(5))
    return f"(case currency_minor_units {cases} end)"


def session_statements(raw: Path, report_time: str) -> list[str]:
    """work.sessions, then the four tables."""
    return [
        # --- the sessions: the latest version of each, attributed and priced ------------
        f"""
        create table work.sessions as
        with versions as (
            select
                *,
                -- a row without a charge ID is keyed on its content
                coalesce(charge_id, 'missing-charge-id:' || md5(cast(row(
                    station_id, created_at_raw, start_time_raw, stop_time_raw,
                    meter_start_wh_raw, meter_stop_wh_raw, price_raw, charge_method,
                    billing_type, roaming_network, operator_id, provider_id,
                    transaction_id, counter_charge_of, updated_at_raw) as varchar)))
                    as session_key,
            from ({session_versions(raw)})
        ),
        -- the latest version of each session, whole, in one aggregate: no join back
        winners as (
            select
                arg_max(versions, (
                    coalesce(updated_at, '-infinity'::timestamptz),
                    updated_at is not null,
                    stop_time_raw is not null,
                    price_raw is not null,
                    _source_file,
                    hash(station_id, created_at_raw, start_time_raw, stop_time_raw,
                         meter_start_wh_raw, meter_stop_wh_raw, price_raw, charge_method,
                         billing_type, roaming_network, operator_id, provider_id,
                         transaction_id, counter_charge_of))) as version,
                count(*) as version_count,
            from versions
            group by session_key
        ),
        latest as (
            select unnest(version), version_count from winners
        ),
        attributed as (
            select
                latest.*,
                stations.station_id is not null as has_known_station,
                stations.evse_id, stations.station_name,
                stations.organisation_id as station_organisation_id,
                stations.current_type, stations.location_type,
                organisations.organisation_id,
                organisations.organisation_name, organisations.country_code,
                organisations.currency_code, organisations.currency_minor_units,
                organisations.has_known_currency, organisations.timezone_name_raw,
                organisations.timezone_name,
                coalesce(organisations.has_known_timezone, false) as has_known_timezone,
                organisations.public_private,
            from latest
            left join work.stations on latest.station_id = stations.station_id
            left join work.organisations
                on stations.organisation_id = organisations.organisation_id
        ),
        reasons as (
            select
                *,
                list_filter([
                    case when charge_id is null then 'missing_charge_id' end,
                    case when not has_known_station then 'unknown_station' end,
                    case when has_known_station and organisation_id is null
                        then 'unknown_organisation' end,
                    case when organisation_id is not null and not has_known_timezone
                        then 'unknown_timezone' end,
                    case when start_time_raw is null then 'missing_start_time' end,
                    case when start_time_raw is not null and start_time is null
                        then 'unreadable_start_time' end,
                    case when stop_time_raw is not null and stop_time is null
                        then 'unreadable_stop_time' end,
                    case when (meter_start_wh_raw is not null and meter_start_wh is null)
                        or (meter_stop_wh_raw is not null and meter_stop_wh is null)
                        then 'unreadable_meter_value' end,
                    case when price_raw is not null and price is null
                        then 'unreadable_price' end,
                    case when created_at_raw is not null and created_at is null
                        then 'unreadable_created_at' end,
                ], lambda r: r is not null) as rejection_reasons,
                cast(timezone(timezone_name, start_time) as date) as start_date_local,
                cast(date_trunc('month', timezone(timezone_name, start_time)) as date)
                    as start_month_local,
                counter_charge_of is not null as is_counter_charge,
                coalesce({round_money('price')}, price) as price_rounded,
            from attributed
        ),
        joined as (
            select
                reasons.*,
                len(rejection_reasons) > 0 as is_rejected,
                vat_rates.vat_pct,
                shares.cpo_share_pct,
                coalesce(free_usage.is_free_usage, false) as is_free_usage_at_start,
                roaming_network is not null as is_roaming,
                roaming_network in ('hubject', 'gireve', 'ocpi') as is_listed_network,
                billing.label as billing_type_label,
                location.label as location_type_label,
                methods.code is not null as is_listed_charge_method,
            from reasons
            left join reference.vat_rates
                on reasons.country_code = vat_rates.country
                and reasons.start_date_local >= vat_rates.valid_from
                and (vat_rates.valid_to is null
                     or reasons.start_date_local <= vat_rates.valid_to)
            left join work.shares
                on reasons.organisation_id = shares.organisation_id
                and reasons.start_date_local >= shares.valid_from
                and (shares.valid_to is null or reasons.start_date_local < shares.valid_to)
            left join work.free_usage
                on reasons.station_id = free_usage.station_id
                and reasons.start_time >= free_usage.valid_from
                and (free_usage.valid_to is null or reasons.start_time < free_usage.valid_to)
            left join reference.code_labels as billing
                on billing.code_type = 'billing_type' and reasons.billing_type = billing.code
            left join reference.code_labels as location
                on location.code_type = 'location_type'
                and reasons.location_type = location.code
            left join reference.code_labels as methods
                on methods.code_type = 'charge_method'
                and reasons.charge_method = methods.code
        ),
        priced as (
            select
                *,
                -- VAT in a VAT-inclusive price, half away from zero, exactly: the price
                -- in ten-thousandths and the rate in hundredths of a percent, as integers
                case when price_rounded is null or vat_pct is null
                        or currency_minor_units not between 0 and 4 then null
                    else cast(cast(
                        (case when {P} < 0 then -1 else 1 end)
                        * ((2 * abs({P}) * {R} + (10000 + {R}) * {STEP})
                           // (2 * (10000 + {R}) * {STEP}))
                        * {STEP} as decimal(38, 0)) * 0.0001 as decimal(18, 4)) end
                    as vat_amount,
                {round_money("cast(price_rounded as decimal(38, 4)) "
                             "* cast(cpo_share_pct as decimal(9, 4)) * 0.01")}
                    as cpo_share_amount,
                case when meter_stop_wh < meter_start_wh and not is_counter_charge then null
                    else meter_stop_wh - meter_start_wh end as energy_wh,
                case when stop_time >= start_time then stop_time - start_time end
                    as duration,
            from joined
        )
        select
            session_key, charge_id, station_id, station_organisation_id, organisation_id,
            is_rejected, rejection_reasons, has_known_timezone, timezone_name_raw,
            start_month_local, version_count, _source_file,
            created_at, start_time, stop_time, duration, energy_wh, meter_start_wh,
            meter_stop_wh, evse_id, station_name, organisation_name, vat_pct, vat_amount,
            price_rounded, currency_code, public_private, is_free_usage_at_start,
            current_type, charge_method, billing_type, roaming_network, operator_id,
            provider_id, transaction_id, counter_charge_of, cpo_share_amount, is_roaming,
            is_listed_network, billing_type_label, location_type, location_type_label,
            case when is_rejected then created_at_raw end as created_at_raw,
            case when is_rejected then start_time_raw end as start_time_raw,
            case when is_rejected then stop_time_raw end as stop_time_raw,
            case when is_rejected then meter_start_wh_raw end as meter_start_wh_raw,
            case when is_rejected then meter_stop_wh_raw end as meter_stop_wh_raw,
            case when is_rejected then price_raw end as price_raw,
            case when is_rejected then updated_at_raw end as updated_at_raw,
            case when not is_rejected then list_filter([
                case when meter_stop_wh < meter_start_wh and not is_counter_charge
                    then 'meter_rollback' end,
                case when stop_time < start_time then 'stop_before_start' end,
                case when transaction_id is null then 'no_transaction_id' end,
                case when is_free_usage_at_start and price_rounded <> 0
                    then 'priced_despite_free_usage' end,
                case when energy_wh = 0 and price_rounded > 0 then 'priced_without_energy' end,
                case when is_roaming and not is_listed_network
                    then 'unlisted_roaming_network' end,
                case when cpo_share_pct is null then 'no_revenue_share' end,
                case when vat_pct is null then 'unknown_vat_rate' end,
                case when not has_known_currency then 'unknown_currency' end,
                case when charge_method is not null and not is_listed_charge_method
                    then 'unlisted_charge_method' end,
                case when billing_type is not null and billing_type_label is null
                    then 'unlisted_billing_type' end,
                case when location_type is not null and location_type_label is null
                    then 'unlisted_location_type' end,
            ], lambda f: f is not null) end as quality_flags,
        from priced
        """,
        # --- the four outputs -----------------------------------------------------------
        """
        create table reports.charging_sessions_cpo as
        select
            coalesce(created_at, start_time) as created, charge_id, station_id, evse_id,
            station_name, organisation_name as cpo_name, start_time, stop_time, duration,
            energy_wh, meter_start_wh as meter_start, meter_stop_wh as meter_stop,
            vat_pct as vat_p, vat_amount as vat,
            cast(price_rounded - vat_amount as decimal(18, 4)) as net,
            price_rounded as price, currency_code as currency, public_private,
            is_free_usage_at_start as free_usage, current_type as plug_type, charge_method,
            case when is_roaming then operator_id end as operator,
            case when is_roaming then provider_id end as provider_id,
            transaction_id, cpo_share_amount as cpo_share,
            case when not is_roaming and charge_method is distinct from 'admin'
                then coalesce(billing_type_label, billing_type) end as billing_type,
            coalesce(location_type_label, location_type) as location_type,
            organisation_id, quality_flags, now() as _built_at,
        from work.sessions
        where not is_rejected
        """,
        f"""
        create table reports.roaming_sessions_cpo as
        with free_now as (
            select station_id, is_free_usage from work.free_usage
            where valid_from <= cast({q(report_time)} as timestamptz)
                and (valid_to is null or cast({q(report_time)} as timestamptz) < valid_to)
        )
        select
            s.start_month_local as month, labels.label as network, s.charge_id as cdr_id,
            s.station_id, coalesce(r.roaming_evse_id, s.evse_id) as evse_id,
            s.station_name, s.start_time, s.stop_time, s.energy_wh,
            s.meter_start_wh as meter_start, s.meter_stop_wh as meter_stop,
            s.price_rounded as price, s.currency_code as currency, s.public_private,
            coalesce(free_now.is_free_usage, false) as free_usage,
            s.current_type as plug_type, s.charge_method, s.operator_id as operator,
            s.provider_id, s.transaction_id, s.duration, s.vat_pct as vat_rate,
            s.vat_amount, s.organisation_id, s.quality_flags, now() as _built_at,
        from work.sessions as s
        left join reference.code_labels as labels
            on labels.code_type = 'roaming_network' and s.roaming_network = labels.code
        left join work.roaming_ids as r
            on s.station_id = r.station_id and s.roaming_network = r.network
        left join free_now on s.station_id = free_now.station_id
        where s.is_listed_network and not s.is_rejected
        """,
        """
        create table audit.rejected_sessions as
        select
            session_key, charge_id, rejection_reasons[1] as reason,
            rejection_reasons as reasons, organisation_id,
            case when has_known_timezone then start_month_local end as month,
            station_id, station_organisation_id, timezone_name_raw, created_at_raw,
            start_time_raw, stop_time_raw, meter_start_wh_raw, meter_stop_wh_raw, price_raw,
            charge_method, billing_type, roaming_network, operator_id, provider_id,
            transaction_id, counter_charge_of, updated_at_raw, version_count, _source_file,
            now() as _built_at,
        from work.sessions
        where is_rejected
        """,
        # every session is raw once, and reported or rejected, under the organisation and
        # month its station gives it (NULLs where it has none)
        """
        create table audit.reconciliation as
        select
            organisation_id,
            case when has_known_timezone then start_month_local end as month,
            count(*) as raw_sessions,
            count(*) filter (where not is_rejected) as reported_sessions,
            count(*) filter (where is_rejected) as rejected_sessions,
            count(*) = count(*) filter (where not is_rejected)
                + count(*) filter (where is_rejected) as is_reconciled,
        from work.sessions
        group by all
        """,
    ]
