"""Data tests: the generic ones from YAML, singular SQL files in the test paths,
severity, and the sample of failing rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.api import build

CUSTOMERS = "select * from (values (1), (2)) t(id)"
ORDERS = """
select * from (values
    (1, 1, 'open',   10, 2, 12, 'a'),
    (2, 2, 'closed', 20, 4, 24, 'b'),
    (2, 9, 'weird',   5, 1, 99, null)
) t(id, customer_id, status, amount, tax, total, note)
"""


def orders_project(make_project, tests_yaml: str, extra: dict | None = None) -> Path:
    return make_project({
        "models/customers.sql": CUSTOMERS,
        "models/orders.sql": ORDERS,
        "models/_models.yml": "version: 2\nmodels:\n  - name: orders\n" + tests_yaml,
        **(extra or {}),
    })


def column_test(column: str, spec: str) -> str:
    return f"    columns:\n      - name: {column}\n        data_tests:\n          - {spec}\n"


def model_test(spec: str) -> str:
    return f"    data_tests:\n      - {spec}\n"


CASES = {
    "unique": (column_test("id", "unique"), "unique_orders_id",
               [{"unique_value": 2, "n_records": 2}]),
    "not_null": (column_test("note", "not_null"), "not_null_orders_note",
                 [{"id": 2, "customer_id": 9, "status": "weird", "amount": 5, "tax": 1,
                   "total": 99, "note": None}]),
    "accepted_values": (column_test("status", "accepted_values: {values: [open, closed]}"),
                        "accepted_values_orders_status",
                        [{"value_field": "weird", "n_records": 1}]),
    "relationships": (column_test("customer_id",
                                  "relationships: {to: ref('customers'), field: id}"),
                      "relationships_orders_customer_id", [{"from_field": 9}]),
    "expression_model": (model_test("expression_is_true: {expression: 'amount + tax = total'}"),
                         "expression_is_true_orders", [{"id": 2, "total": 99}]),
    "expression_column": (column_test("total", "expression_is_true: {expression: '>= 20'}"),
                          "expression_is_true_orders_total", [{"id": 1, "total": 12}]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_generic_test_fails_on_its_bad_row_with_a_sample(make_project, case) -> None:
    yaml_block, name, sample = CASES[case]
    root = orders_project(make_project, yaml_block)
    result = build(root, db_path=root / "db.duckdb")
    tests = [n for n in result.nodes if n.kind == "test"]
    assert [t.name for t in tests] == [name]
    test = tests[0]
    assert test.status == "fail"
    assert test.failures == 1
    assert test.message == "1 failing row"
    for row, expected in zip(test.sample, sample, strict=True):
        assert {k: row[k] for k in expected} == expected
    assert not result.ok


@pytest.mark.parametrize("yaml_block", [
    column_test("customer_id", "unique"),
    column_test("id", "not_null"),
    column_test("status", "accepted_values: {values: [open, closed, weird]}"),
    column_test("id", "relationships: {to: ref('orders'), field: id}"),
    model_test("expression_is_true: {expression: 'amount > 0'}"),
    column_test("note", "not_null:\n              config: {where: \"status <> 'weird'\"}"),
])
def test_generic_tests_pass_on_good_data(make_project, yaml_block) -> None:
    root = orders_project(make_project, yaml_block)
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert [n.status for n in result.nodes if n.kind == "test"] == ["pass"]


@pytest.mark.parametrize("children, missing", [
    ("(0), (2), (3)", [0]),            # below every parent value
    ("(2), (3), (7)", [7]),            # above every parent value
    ("(1), (4), (5)", [4]),            # inside the range, not a parent value
    ("(null), (2)", []),               # nulls are not checked
])
def test_relationships_finds_missing_values_at_the_ends_of_the_child_range(
        make_project, children, missing) -> None:
    # the parent is read only between the child's smallest and largest value
    root = make_project({
        "models/parents.sql": "select * from (values (1), (2), (3), (5), (6)) t(id)",
        "models/children.sql": f"select * from (values {children}) t(parent_id)",
        "models/_models.yml": "version: 2\nmodels:\n  - name: children\n"
        + column_test("parent_id", "relationships: {to: ref('parents'), field: id}"),
    })
    result = build(root, db_path=root / "db.duckdb")
    test = next(n for n in result.nodes if n.kind == "test")
    assert sorted(r["from_field"] for r in test.sample) == missing
    assert test.status == ("fail" if missing else "pass")


def test_singular_test_in_the_default_tests_folder(make_project) -> None:
    root = orders_project(make_project, "", {
        "tests/assert_totals_are_small.sql":
            "-- every order total is below 50\n"
            "select id, total from {{ ref('orders') }} where total >= 50\n",
    })
    result = build(root, db_path=root / "db.duckdb")
    test = next(n for n in result.nodes if n.kind == "test")
    assert test.name == "assert_totals_are_small"
    assert (test.status, test.failures, test.sample) == ("fail", 1, [{"id": 2, "total": 99}])


def test_singular_tests_follow_test_paths(make_project) -> None:
    root = orders_project(make_project, "", {
        "dbt_project.yml": "name: p\ntest-paths: [\"tests/data_tests\"]\n",
        "tests/data_tests/assert_ids_positive.sql":
            "select * from {{ ref('orders') }} where id <= 0",
        # outside the configured test path: not a data test
        "tests/test_something.sql": "select 1 as always_fails",
    })
    result = build(root, db_path=root / "db.duckdb")
    tests = [(n.name, n.status) for n in result.nodes if n.kind == "test"]
    assert tests == [("assert_ids_positive", "pass")]
    assert result.ok


def test_severity_warn_reports_but_does_not_fail(make_project, cli) -> None:
    root = orders_project(make_project, column_test("id", "unique:\n"
                                                          "              config:\n"
                                                          "                severity: warn"), {
        "tests/assert_warned.sql": "{{ config(severity='warn') }}\n"
                                   "select * from {{ ref('orders') }} where note is null",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db)
    statuses = {n.name: n.status for n in result.nodes if n.kind == "test"}
    assert statuses == {"unique_orders_id": "warn", "assert_warned": "warn"}
    assert result.ok
    code, out, _ = cli("build", "--project-dir", root, "--db", db)
    assert code == 0
    assert "WARN" in out and "unique_value" in out


def test_severity_error_exits_non_zero_and_prints_the_sample(make_project, cli) -> None:
    root = orders_project(make_project, column_test("status", "accepted_values: "
                                                               "{values: [open, closed]}"))
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 1
    assert "FAIL" in out and "accepted_values_orders_status" in out
    assert "'weird'" in out                        # the sample row is printed
    data = json.loads((root / "target" / "runner_results.json").read_text())
    test = next(r for r in data["results"] if r["kind"] == "test")
    assert test["status"] == "fail" and test["failures"] == 1
    assert test["sample"] == [{"value_field": "weird", "n_records": 1}]


def test_the_sample_holds_the_first_rows_and_failures_the_total(make_project) -> None:
    root = make_project({
        "models/m.sql": "select i, case when i > 1 then null else i end as v "
                        "from range(12) t(i)",
        "models/p.yml": "version: 2\nmodels:\n  - name: m\n    columns:\n"
                        "      - name: v\n        data_tests: [not_null]\n",
    })
    result = build(root, db_path=root / "db.duckdb")
    test = result.nodes[-1]
    assert test.failures == 10
    assert test.message == "10 failing rows"
    assert 1 <= len(test.sample) <= 5
    assert all(row["v"] is None and row["i"] > 1 for row in test.sample)


def test_a_failing_test_skips_the_models_downstream(make_project, query) -> None:
    root = orders_project(make_project, column_test("id", "unique"), {
        "models/order_totals.sql": "{{ config(materialized='table') }}\n"
                                   "select sum(total) as total from {{ ref('orders') }}",
        "models/unrelated.sql": "{{ config(materialized='table') }}\nselect 1 as x",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db)
    by_name = {n.name: n for n in result.nodes}
    assert by_name["unique_orders_id"].status == "fail"
    assert by_name["order_totals"].status == "skipped"
    assert "unique_orders_id" in by_name["order_totals"].message
    assert by_name["unrelated"].status == "success"
    assert query(db, "select table_name from duckdb_tables()") == [("unrelated",)]


def test_every_test_of_a_model_runs_when_one_fails(make_project) -> None:
    root = orders_project(make_project,
                          "    columns:\n"
                          "      - name: id\n        data_tests: [unique]\n"
                          "      - name: note\n        data_tests: [not_null]\n")
    result = build(root, db_path=root / "db.duckdb")
    statuses = {n.name: n.status for n in result.nodes if n.kind == "test"}
    assert statuses == {"unique_orders_id": "fail", "not_null_orders_note": "fail"}


def test_model_level_tests_alias(make_project) -> None:
    root = orders_project(make_project, "    tests:\n"
                                        "      - expression_is_true: {expression: 'id > 0'}\n"
                                        "      - expression_is_true: {expression: 'id > 1'}\n")
    result = build(root, db_path=root / "db.duckdb")
    tests = [(n.name, n.status) for n in result.nodes if n.kind == "test"]
    assert tests == [("expression_is_true_orders", "pass"),
                     ("expression_is_true_orders_2", "fail")]


def test_data_tests_on_a_seed_and_a_relationship_to_it(make_project) -> None:
    root = make_project({
        "seeds/codes.csv": "code,label\nA,Alpha\nA,Again\n",
        "seeds/_seeds.yml": "version: 2\nseeds:\n  - name: codes\n    columns:\n"
                            "      - name: code\n        data_tests: [unique]\n",
        "models/uses.sql": "select 'B' as code",
        "models/p.yml": "version: 2\nmodels:\n  - name: uses\n    columns:\n"
                        "      - name: code\n        data_tests:\n"
                        "          - relationships: {to: codes, field: code}\n",
    })
    result = build(root, db_path=root / "db.duckdb")
    by_name = {n.name: n for n in result.nodes}
    assert {name: n.status for name, n in by_name.items()} == {
        "codes": "success", "unique_codes_code": "fail", "uses": "success",
        "relationships_uses_code": "fail"}
    assert by_name["unique_codes_code"].sample == [{"unique_value": "A", "n_records": 2}]
    assert by_name["relationships_uses_code"].sample == [{"from_field": "B"}]


@pytest.mark.parametrize("config, status", [
    ("error_if: '>5'", "warn"),          # 1 failing row: over warn_if (!= 0), not error_if
    ("error_if: '>0'", "fail"),
    ("warn_if: '>5'", "fail"),        # error_if (default != 0) is checked first
    ("{warn_if: '>5', severity: warn}", "pass"),
])
def test_error_if_and_warn_if_thresholds(make_project, config, status) -> None:
    if not config.startswith("{"):
        config = "{" + config + "}"
    root = orders_project(make_project, column_test("note", f"not_null: {{config: {config}}}"))
    result = build(root, db_path=root / "db.duckdb")
    test = next(n for n in result.nodes if n.kind == "test")
    assert (test.status, test.failures) == (status, 1)


@pytest.mark.parametrize("command", ["build", "test"])
def test_a_singular_test_over_a_source(make_project, tmp_path, command) -> None:
    from runner.api import execute
    root = make_project({
        "models/s.yml": "version: 2\nsources:\n  - name: shop\n    tables:\n"
                        "      - name: orders\n        columns:\n          - name: id\n",
        "models/m.sql": "select 1 as x",
        "tests/assert_ids_present.sql": "select * from {{ source('shop', 'orders') }} "
                                        "where id is null or id = ''",
    })
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "a.csv").write_text('id\n1\n""\n')
    result = execute(command, root, raw_dir=raw, db_path=tmp_path / "db.duckdb")
    test = next(n for n in result.nodes if n.kind == "test")
    assert (test.status, test.failures) == ("fail", 1), test.message
