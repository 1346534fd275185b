"""Every invariant a build checks (the singular data tests in tests/data_tests/) is shown
to work: in a copy of zone E's built database, one table is broken the way the invariant
forbids, and `runner test` then fails exactly that data test, which passed before the
break. (The reconciliation's own test: tests/test_reports_edges.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest_reports import ROOT, build_zone
from runner.api import execute
from test_reports_edges import REPORT_TIME, write_zone_e

VARS = {"report_time": REPORT_TIME, "test_all_rows": True}
CPO = "reports.charging_sessions_cpo"
ROAMING = "reports.roaming_sessions_cpo"

# (data test, the statement that breaks the invariant it checks)
BREAKS = [
    ("assert_code_labels_unique",
     "insert into reference.code_labels values ('billing_type', 'prepaid', 'Pre-paid')"),
    # FI's 24 % rate ends on the day the 25.5 % rate starts
    ("assert_vat_rates_do_not_overlap",
     "update reference.vat_rates set valid_to = date '2024-09-01' "
     "where country = 'FI' and valid_to = date '2024-08-31'"),
    ("assert_free_usage_is_setting_at_start",
     f"update {CPO} set free_usage = not free_usage where charge_id = 'e_no_method'"),
    # one break of the CPO view's one-pass test here; each of its invariants below
    ("assert_cpo_rows_consistent",
     f"update {CPO} set price = price + 0.001 where charge_id = 'e_no_method'"),
    ("assert_raw_charge_ids_reconcile",
     f"delete from {CPO} where charge_id = 'e_no_method'"),
    # staging lost a row its raw file holds
    ("assert_raw_file_rows_loaded",
     "delete from staging.stg_raw__charging_session_versions where session_key = 'e_no_method'"),
    # the count recorded at the file's check is not what the file holds
    ("assert_raw_file_rows_loaded",
     "update _runner.source_file_checks set row_count = row_count + 1"),
    ("assert_report_month_is_local_start_month",
     f"update {ROAMING} set month = date '2024-04-01' where cdr_id = 'e_roaming'"),
    ("assert_roaming_free_usage_is_setting_at_report_time",
     f"update {ROAMING} set free_usage = not free_usage where cdr_id = 'e_roaming'"),
    ("assert_roaming_rows_match_cpo_view",
     f"update {ROAMING} set price = price + 1 where cdr_id = 'e_roaming'"),
    ("assert_roaming_rows_match_cpo_view",
     f"delete from {ROAMING} where cdr_id = 'e_roaming'"),
    # a roaming row of a session that is not roaming
    ("assert_roaming_rows_match_cpo_view",
     f"insert into {ROAMING} by name select * replace ('e_no_method' as cdr_id) "
     f"from {ROAMING} where cdr_id = 'e_roaming'"),
]
SINGULAR = sorted(p.stem for p in (ROOT / "tests" / "data_tests").glob("*.sql"))

# The CPO view's row-level invariants, one singular test (one pass over the table): each
# invariant broken on its own fails it, and the failing row names that invariant.
ROW_INVARIANTS = "assert_cpo_rows_consistent"
ROW_BREAKS = [
    ("net + vat = price", f"update {CPO} set net = net + 0.01 where charge_id = 'e_no_method'"),
    ("duration = stop - start",
     f"update {CPO} set duration = duration + interval 1 minute "
     f"where charge_id = 'e_no_method'"),
    ("energy = meter difference",
     f"update {CPO} set energy_wh = energy_wh + 1 where charge_id = 'e_no_method'"),
    ("stop_before_start flagged exactly then",
     f"update {CPO} set quality_flags = list_append(quality_flags, 'stop_before_start') "
     f"where charge_id = 'e_no_method'"),
    ("a priced row has a CPO share",
     f"update {CPO} set cpo_share = null where charge_id = 'e_no_method'"),
    # not whole cents (net moved with it, so that money still adds up)
    ("whole minor units",
     f"update {CPO} set price = price + 0.001, net = net + 0.001 "
     f"where charge_id = 'e_no_method'"),
    # whole cents, but the VAT one cent off the exact price * 24 / 124
    ("vat within half a minor unit",
     f"update {CPO} set vat = vat + 0.01, net = net - 0.01 where charge_id = 'e_no_method'"),
    ("known quality flags, none repeated",
     f"update {CPO} set quality_flags = ['made_up'] where charge_id = 'e_no_method'"),
    ("known quality flags, none repeated",
     f"update {CPO} set quality_flags = ['no_transaction_id', 'no_transaction_id'] "
     f"where charge_id = 'e_no_method'"),
]


# The YAML tests that check several row-level invariants of one table in one pass
# (expression_is_true): (test, table, one row's change that breaks one invariant). A view
# is made a table in the copy first, so that its row can be changed.
ONE_PASS = [
    *[("expression_is_true_stg_raw__station_roaming_ids", "staging.stg_raw__station_roaming_ids",
       change) for change in ["station_id = null", "roaming_evse_id = null", "network = null",
                              "network = 'Hubject '"]],
    *[("expression_is_true_stg_raw__revenue_share_agreements",
       "staging.stg_raw__revenue_share_agreements", change)
      for change in ["organisation_id = null", "valid_from = null", "cpo_share_pct = null"]],
    *[("expression_is_true_int_station_settings_history",
       "intermediate.int_station_settings_history", change)
      for change in ["station_id = null", "is_free_usage = null", "valid_from = null",
                     "valid_to = valid_from"]],
    *[("expression_is_true_int_revenue_shares_history",
       "intermediate.int_revenue_shares_history", change)
      for change in ["organisation_id = null", "valid_to = valid_from"]],
    *[(f"expression_is_true_{table}", f"audit.{table}", change)
      for table in ["reconciliation", "reconciliation_files"]
      for change in ["is_reconciled = false", "is_reconciled = null"]],
]


@pytest.fixture(scope="module")
def zone(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zone_e_broken")
    raw = tmp / "raw"
    built = build_zone(tmp, write_zone_e(raw), REPORT_TIME)
    return built.db_path, raw


def data_test_results(db: Path, raw: Path) -> dict:
    result = execute("test", ROOT, db_path=db, raw_dir=raw, vars=VARS)
    return {n.name: n for n in result.nodes}


def data_test_statuses(db: Path, raw: Path) -> dict[str, str]:
    return {name: n.status for name, n in data_test_results(db, raw).items()}


def test_every_singular_data_test_has_a_break() -> None:
    assert sorted({name for name, _ in BREAKS}) == SINGULAR


def test_every_data_test_passes_before_a_break(zone, tmp_path: Path) -> None:
    db, raw = zone
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    statuses = data_test_statuses(copy, raw)
    assert set(SINGULAR) <= set(statuses)
    assert {n: s for n, s in statuses.items() if s != "pass"} == {}


@pytest.mark.parametrize("name, statement", BREAKS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(BREAKS)])
def test_broken_table_fails_its_data_test(zone, tmp_path: Path, name: str,
                                          statement: str) -> None:
    db, raw = zone
    copy = tmp_path / "broken.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        assert con.execute(statement).fetchone()[0] >= 1, "the break changed no row"
    assert data_test_statuses(copy, raw)[name] == "fail"


@pytest.mark.parametrize("invariant, statement", ROW_BREAKS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(ROW_BREAKS)])
def test_each_row_invariant_broken_fails_the_one_pass_test(zone, tmp_path: Path,
                                                          invariant: str,
                                                          statement: str) -> None:
    db, raw = zone
    copy = tmp_path / "broken.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        assert con.execute(statement).fetchone()[0] >= 1, "the break changed no row"
    node = data_test_results(copy, raw)[ROW_INVARIANTS]
    assert node.status == "fail"
    assert [row["charge_id"] for row in node.sample] == ["e_no_method"]
    assert node.sample[0]["broken"] == str([invariant])   # the sample shows lists as text


@pytest.mark.parametrize("column", ["charging_sessions_cpo.charge_id",
                                    "roaming_sessions_cpo.cdr_id"])
def test_a_key_the_contract_holds_not_null_cannot_be_null(zone, tmp_path: Path,
                                                          column: str) -> None:
    """No not_null data test on these keys: DuckDB refuses the NULL itself."""
    db, _ = zone
    copy = tmp_path / "broken.duckdb"
    shutil.copy(db, copy)
    table, key = column.split(".")
    with duckdb.connect(str(copy)) as con:
        with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
            con.execute(f"update reports.{table} set {key} = null")


@pytest.mark.parametrize("name, table, change", ONE_PASS,
                         ids=[f"{n}-{c}" for n, _, c in ONE_PASS])
def test_each_invariant_of_a_one_pass_yaml_test_broken_fails_it(zone, tmp_path: Path,
                                                                name: str, table: str,
                                                                change: str) -> None:
    db, raw = zone
    copy = tmp_path / "broken.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        kind = con.execute("select table_type from information_schema.tables "
                           "where table_schema || '.' || table_name = ?", [table]).fetchone()
        if kind[0] == "VIEW":
            con.execute(f"create table {table}_rows as select * from {table}")
            con.execute(f"drop view {table}")
            con.execute(f"alter table {table}_rows rename to {table.split('.')[1]}")
        changed = con.execute(f"update {table} set {change} "
                              f"where rowid = (select min(rowid) from {table})").fetchone()[0]
        assert changed == 1, "the break changed no row"
    statuses = data_test_statuses(copy, raw)
    assert statuses[name] == "fail"
    assert {n: s for n, s in statuses.items() if s == "fail"} == {name: "fail"}


def test_a_roaming_row_of_no_cpo_view_session_fails_one_test(zone, tmp_path: Path) -> None:
    """Reading every row, assert_roaming_rows_match_cpo_view finds it ('extra roaming
    row'), so the roaming view's relationships test reads no row then; reading the latest
    build's rows (an hourly build), the relationships test finds it."""
    db, raw = zone
    copy = tmp_path / "broken.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(f"insert into {ROAMING} by name select * replace "
                    f"('no_such_session' as cdr_id) from {ROAMING} where cdr_id = 'e_roaming'")
    relationships = "relationships_roaming_sessions_cpo_cdr_id"
    every_row = data_test_results(copy, raw)
    assert every_row["assert_roaming_rows_match_cpo_view"].status == "fail"
    assert every_row[relationships].status == "pass"
    latest = execute("test", ROOT, db_path=copy, raw_dir=raw,
                     vars={"report_time": REPORT_TIME})
    assert {n.name: n.status for n in latest.nodes}[relationships] == "fail"
