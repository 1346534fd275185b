"""The plausible one-line mistakes bench/mutation.py puts into the project, one at a time.

Each: a name, the file, the exact original text (it must occur exactly once in the file),
the replacement, what the mistake is, and the tests that cover it (pytest node ids or
paths; a `-k EXPR` entry; none for the whole suite). Add one whenever a bug is found that
a mutant like it would have caught.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str
    original: str
    replacement: str
    description: str
    tests: tuple[str, ...] = ()


EDGES = "tests/test_reports_edges.py"
ZONE_A = "tests/test_reports_cpo.py"
REJECTED = "tests/test_reports_rejected.py"
MACROS = "tests/test_macros.py"
BOOKKEEPING = "tests/test_incremental_bookkeeping.py"
INCREMENTAL = "tests/test_incremental.py"
BROKEN = "tests/test_data_tests_broken.py"
RENDER = "tests/test_runner_render.py"
EXECUTE = "tests/test_runner_execute.py"

PRICED = "models/intermediate/int_sessions_priced.sql"
CPO_VIEW = "models/reports/charging_sessions_cpo.sql"
ROAMING_VIEW = "models/reports/roaming_sessions_cpo.sql"
VERSIONS = "models/staging/stg_raw__charging_sessions.sql"
ATTRIBUTION = "macros/attribution.sql"
MONEY = "macros/money.sql"
INCREMENTAL_MACROS = "macros/incremental.sql"
DATA_TESTS = "tests/data_tests"

M = Mutant
MUTANTS: list[Mutant] = [
    # -- money: VAT, net, minor-unit rounding, currencies --------------------------------
    M("vat_from_net", MONEY,
      "// (2 * (10000 + {{ r }}) * {{ step }}))",
      "// (2 * 10000 * {{ step }}))",
      "VAT taken as rate % of the price, as if the price were net of VAT",
      (MACROS, ZONE_A)),
    M("vat_sign_lost", MONEY,
      "(case when {{ p }} < 0 then -1 else 1 end)",
      "(case when {{ p }} < 0 then 1 else 1 end)",
      "a counter-charge's VAT comes out positive",
      (MACROS, ZONE_A)),
    M("vat_rounding_half_down", MONEY,
      "+ (10000 + {{ r }}) * {{ step }})",
      "+ (10000 + {{ r }}) * {{ step }} - 1)",
      "VAT rounded half down instead of half away from zero",
      (MACROS,)),
    M("round_money_double", MONEY,
      "round(cast({{ x }} as decimal(38, 10)), {{ places }})",
      "round(cast({{ x }} as double), {{ places }})",
      "money rounded as a binary double (1.005 -> 1.00)",
      (MACROS,)),
    M("round_money_no_cents", MONEY,
      "{%- for places in [0, 1, 2, 3, 4] %}",
      "{%- for places in [0, 1, 3, 4] %}",
      "no rounding branch for two minor units: EUR prices stay unrounded",
      (MACROS, ZONE_A)),
    M("share_of_percent", MONEY,
      "~ pct ~ \" as decimal(9, 4)) * 0.01\"",
      "~ pct ~ \" as decimal(9, 4)) * 0.1\"",
      "the revenue share's percentage read as tenths",
      (MACROS, ZONE_A)),
    M("net_from_unrounded_price", CPO_VIEW,
      "cast(price_rounded - vat_amount as decimal(18, 4)) as net",
      "cast(price - vat_amount as decimal(18, 4)) as net",
      "net taken from the price as billed, before rounding to minor units",
      (EDGES, ZONE_A, REJECTED)),
    M("share_from_unrounded_price", PRICED,
      "{{ share_of('price_rounded', 'cpo_share_pct', 'currency_minor_units') }}",
      "{{ share_of('price', 'cpo_share_pct', 'currency_minor_units') }}",
      "the CPO share taken from the price before rounding",
      (EDGES,)),
    M("isk_two_decimals", "seeds/currencies.csv",
      "ISK,Icelandic krona,0",
      "ISK,Icelandic krona,2",
      "the Icelandic krona given two minor units",
      (REJECTED, "tests/test_report_command.py")),
    M("money_test_tolerance", f"{DATA_TESTS}/assert_money_rounded_to_minor_units.sql",
      "> (100 + vat_p) * 0.5 / per_unit",
      "> (100 + vat_p) * 5 / per_unit",
      "the money data test lets VAT be ten minor units off",
      (BROKEN,)),

    # -- time zones and validity boundaries ----------------------------------------------
    M("vat_valid_to_exclusive", PRICED,
      "or all_sessions.start_date_local <= vat_rates.valid_to",
      "or all_sessions.start_date_local < vat_rates.valid_to",
      "a VAT rate's last day (valid_to) read as exclusive",
      (ZONE_A,)),
    M("vat_date_in_utc", ATTRIBUTION,
      "{{ local_date('start_time', 'timezone_name') }} as start_date_local",
      "cast(start_time as date) as start_date_local",
      "the session's date for VAT and agreements read in UTC, not the local wall clock",
      (ZONE_A,)),
    M("share_valid_to_inclusive", PRICED,
      "            < revenue_shares.valid_to",
      "            <= revenue_shares.valid_to",
      "an agreement still applies on the day the next one starts",
      (ZONE_A,)),
    M("free_usage_from_exclusive", PRICED,
      "        >= settings_history.valid_from",
      "        > settings_history.valid_from",
      "a setting not yet in force at the instant it changed",
      (ZONE_A,)),
    M("free_usage_to_inclusive", PRICED,
      "            < settings_history.valid_to",
      "            <= settings_history.valid_to",
      "a setting still in force at the instant it was replaced",
      (ZONE_A,)),
    M("roaming_report_time_exclusive", ROAMING_VIEW,
      "settings_history.valid_from <= report_time.report_time",
      "settings_history.valid_from < report_time.report_time",
      "the roaming view misses a setting changed exactly at report_time",
      (EDGES,)),
    M("roaming_report_time_to_inclusive", ROAMING_VIEW,
      "or report_time.report_time < settings_history.valid_to",
      "or report_time.report_time <= settings_history.valid_to",
      "the roaming view keeps a setting replaced exactly at report_time",
      ("tests/test_reports_cpo.py::test_roaming_free_usage_follows_report_time",)),
    M("local_month_shortcut_too_wide", "macros/time.sql",
      "when dayofmonth({{ utc }}) between 2 and 27",
      "when dayofmonth({{ utc }}) between 2 and 30",
      "the UTC shortcut of local_month taken for days 28 to 30",
      (MACROS, ZONE_A)),
    M("roaming_month_in_utc", ATTRIBUTION,
      "{{ local_month('start_time', 'timezone_name') }} as start_month_local",
      "cast(date_trunc('month', start_time) as date) as start_month_local",
      "the roaming view's month read in UTC",
      (ZONE_A,)),
    M("report_days_to_inclusive", "cpo/report.py",
      "and {local_day} >= ?::date and {local_day} < ?::date",
      "and {local_day} >= ?::date and {local_day} <= ?::date",
      "runner report includes the --to day",
      ("tests/test_report_command.py",)),
    M("free_usage_test_exclusive", f"{DATA_TESTS}/assert_free_usage_is_setting_at_start.sql",
      "and settings_log.changed_at <= sessions.start_time",
      "and settings_log.changed_at < sessions.start_time",
      "the free-usage data test ignores a change at the session's start",
      (ZONE_A,)),

    # -- version selection -----------------------------------------------------------------
    M("oldest_version_wins", VERSIONS,
      "arg_max(version_rowid, (",
      "arg_min(version_rowid, (",
      "the earliest version of a session wins",
      (ZONE_A,)),
    M("unreadable_updated_at_wins", VERSIONS,
      "coalesce(updated_at, '-infinity'::timestamptz),",
      "coalesce(updated_at, 'infinity'::timestamptz),",
      "a version with an unreadable updated_at sorts newest",
      (EDGES,)),
    M("tie_prefers_unstopped", VERSIONS,
      "            stop_time_raw is not null,",
      "            stop_time_raw is null,",
      "on an updated_at tie, the version that has not stopped wins",
      (INCREMENTAL, ZONE_A)),
    M("oldest_station_wins", "models/staging/stg_raw__stations.sql",
      "            updated_at desc nulls last,",
      "            updated_at asc nulls last,",
      "the oldest version of a station wins",
      (ZONE_A,)),

    # -- counter-charges -------------------------------------------------------------------
    M("counter_charge_energy_null", PRICED,
      "when meter_stop_wh < meter_start_wh and not is_counter_charge\n"
      "                then null",
      "when meter_stop_wh < meter_start_wh\n"
      "                then null",
      "a counter-charge's negative energy taken for a meter rollback",
      (ZONE_A,)),
    M("counter_charge_flagged", PRICED,
      "when meter_stop_wh < meter_start_wh and not is_counter_charge\n"
      "                    then 'meter_rollback'",
      "when meter_stop_wh < meter_start_wh\n"
      "                    then 'meter_rollback'",
      "a counter-charge flagged as a meter rollback",
      (ZONE_A,)),
    M("counter_charge_inverted", "models/staging/stg_raw__charging_session_versions.sql",
      "counter_charge_of is not null as is_counter_charge",
      "counter_charge_of is null as is_counter_charge",
      "every session but the counter-charges treated as one",
      (ZONE_A,)),

    # -- rejection reasons -----------------------------------------------------------------
    M("unpriced_rejected", ATTRIBUTION,
      "case when has_unreadable_price then 'unreadable_price' end",
      "case when price_raw is null then 'unreadable_price' end",
      "a session not yet priced rejected as unreadable",
      (ZONE_A,)),
    M("rejected_needs_two_reasons", ATTRIBUTION,
      "len(rejection_reasons) > 0 as is_rejected",
      "len(rejection_reasons) > 1 as is_rejected",
      "a session with one rejection reason reported",
      (REJECTED,)),
    M("last_reason_first", ATTRIBUTION,
      "rejection_reasons[1] as rejection_reason",
      "rejection_reasons[-1] as rejection_reason",
      "the least important reason given as the session's reason",
      (REJECTED,)),
    M("unknown_organisation_not_rejected", ATTRIBUTION,
      "when has_known_station and not has_known_organisation",
      "when has_known_station and has_known_organisation is null",
      "a station's unknown organisation not a rejection reason",
      (REJECTED,)),

    # -- report columns --------------------------------------------------------------------
    M("admin_null_method_unbilled", CPO_VIEW,
      "charge_method is distinct from 'admin'",
      "charge_method <> 'admin'",
      "a non-roaming session without charge method loses its billing type",
      (EDGES,)),
    M("created_without_fallback", CPO_VIEW,
      "coalesce(created_at, start_time) as created",
      "created_at as created",
      "created left empty where created_at is missing",
      (EDGES,)),
    M("zero_duration_unknown", PRICED,
      "when stop_time >= start_time then stop_time - start_time",
      "when stop_time > start_time then stop_time - start_time",
      "a zero-length session gets no duration",
      (EDGES,)),
    M("operator_on_non_roaming", CPO_VIEW,
      "case when is_roaming then operator_id end as operator",
      "operator_id as operator",
      "a non-roaming session shows the operator it was sent",
      (ZONE_A,)),

    # -- incremental bookkeeping -----------------------------------------------------------
    M("lookback_var_ignored", INCREMENTAL_MACROS,
      "{%- set lookback = var('incremental_lookback_days', 3) | int -%}",
      "{%- set lookback = 3 -%}",
      "incremental_lookback_days ignored, fixed at 3 days",
      (BOOKKEEPING,)),
    M("lookback_var_off", INCREMENTAL_MACROS,
      "{%- set lookback = var('incremental_lookback_days', 3) | int -%}",
      "{%- set lookback = 0 -%}",
      "incremental_lookback_days ignored, no lookback",
      (BOOKKEEPING,)),
    M("versions_watermark_inclusive", VERSIONS,
      "where _loaded_at > {{ last_built_at() }}",
      "where _loaded_at >= {{ last_built_at() }}",
      "the sessions recomputes the keys its last build already saw",
      (BOOKKEEPING,)),
    M("cpo_watermark_inclusive", CPO_VIEW,
      "        and _built_at > {{ last_built_at() }}",
      "        and _built_at >= {{ last_built_at() }}",
      "the CPO view rewrites the rows its last build already wrote",
      (BOOKKEEPING,)),
    M("reference_change_always", INCREMENTAL_MACROS,
      "when max(changed_at) > {{ last_built_at() }}",
      "when max(changed_at) <= {{ last_built_at() }}",
      "every build reprices every session (reference-data test inverted)",
      (BOOKKEEPING,)),
    M("station_change_missed", INCREMENTAL_MACROS,
      "            where changed_at > {{ last_built_at() }}\n        )\n{%- endmacro %}",
      "            where changed_at < {{ last_built_at() }}\n        )\n{%- endmacro %}",
      "sessions at a station changed since the last build not repriced",
      (INCREMENTAL,)),
    M("key_in_drops_last_key", INCREMENTAL_MACROS,
      "and {{ column }} <= (select max(k) from ({{ keys_query }}) as keys(k))",
      "and {{ column }} < (select max(k) from ({{ keys_query }}) as keys(k))",
      "key_in leaves out the largest key",
      (INCREMENTAL,)),
    M("roaming_hook_deletes_new_rows", ROAMING_VIEW,
      "where _built_at < cast('{{ run_started_at }}' as timestamptz)\n            and (",
      "where _built_at <= cast('{{ run_started_at }}' as timestamptz)\n            and (",
      "the roaming view's post-hook deletes the rows this build wrote",
      (INCREMENTAL,)),

    # -- reconciliation --------------------------------------------------------------------
    M("reconciled_if_more_raw", "models/audit/reconciliation.sql",
      "raw_sessions = reported_sessions + rejected_sessions as is_reconciled",
      "raw_sessions >= reported_sessions + rejected_sessions as is_reconciled",
      "a session missing from both report and rejections counts as reconciled",
      (EDGES,)),
    M("raw_ids_test_one_sided", f"{DATA_TESTS}/assert_raw_charge_ids_reconcile.sql",
      "where raw_charge_ids.n <> reported.n + rejected.n",
      "where raw_charge_ids.n < reported.n + rejected.n",
      "the raw-ID recount only sees too many report rows, not missing ones",
      (BROKEN,)),
    M("vat_overlap_test_strict", f"{DATA_TESTS}/assert_vat_rates_do_not_overlap.sql",
      "previous_valid_to >= valid_from",
      "previous_valid_to > valid_from",
      "the VAT seed test lets two periods share a day",
      (BROKEN,)),

    # -- sandboxing ------------------------------------------------------------------------
    M("no_jinja_sandbox", "runner/jinja/render.py",
      "self.env = SandboxedEnvironment(loader=self.loader,",
      "self.env = jinja2.Environment(loader=self.loader,",
      "templates rendered outside Jinja's sandbox",
      (RENDER,)),
    M("external_access_on", "runner/engines/duckdb.py",
      "con.execute(\"set enable_external_access = false\")",
      "con.execute(\"set enable_external_access = true\")",
      "SQL may read any file",
      (RENDER, "tests/test_faults_runtime.py")),
    M("allowed_dirs_widened", "runner/api.py",
      "restrict(con, [project.root, db.parent] + ([raw] if raw else []))",
      "restrict(con, [project.root.parent, db.parent] + ([raw] if raw else []))",
      "SQL may read files beside the project, not only below it",
      (RENDER, "tests/test_faults_runtime.py")),

    # -- escaping --------------------------------------------------------------------------
    M("vars_unescaped", "runner/jinja/render.py",
      "        return value.replace(\"'\", \"''\")",
      "        return value",
      "--vars values put into SQL with their quotes as they are",
      (RENDER, "tests/test_faults_injection.py")),
    M("where_subquery_allowed", "runner/publish/export.py",
      "if isinstance(node, (exp.Select, exp.Subquery, exp.Query)) or \\\n"
      "                not isinstance(node, allowed):",
      "if not isinstance(node, allowed + (exp.Select, exp.Subquery, exp.From, exp.Table)):",
      "--where accepts a subquery over other tables",
      ("tests/test_runner_cli.py", "tests/test_faults_injection.py")),
    M("where_other_table_column", "runner/publish/export.py",
      "if node.table or node.name.lower() not in known:",
      "if node.name.lower() not in known:",
      "--where accepts a column qualified with another table",
      ("tests/test_runner_cli.py", "tests/test_faults_injection.py")),

    # -- atomic swaps ----------------------------------------------------------------------
    M("export_in_place", "runner/publish/export.py",
      "tmp = out.with_name(f\".{out.name}.{uuid.uuid4().hex[:8]}.tmp\")",
      "tmp = out",
      "an export written straight to its destination",
      ("tests/test_faults_runtime.py", "tests/test_runner_cli.py")),
    M("table_commit_on_failure", "runner/execute/materialize.py",
      "                self.con.execute(\"rollback\")",
      "                self.con.execute(\"commit\")",
      "a failing model's transaction committed instead of rolled back",
      (EXECUTE, "tests/test_runner_hooks.py")),
    M("no_transaction", "runner/execute/materialize.py",
      "self._sql(\"begin transaction\")",
      "self._sql(\"select 1\")",
      "a model's hooks and statement run without a transaction",
      (EXECUTE, "tests/test_runner_hooks.py")),
]
