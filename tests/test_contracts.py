"""Model contracts: `contract: {enforced: true}` checks the columns and data types before
the table changes, and applies the constraints DuckDB enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build

YAML = """\
version: 2
models:
  - name: orders
    config:
      materialized: {materialized}
      unique_key: id
      contract: {{enforced: true}}
    constraints:
      - type: check
        expression: "amount >= 0"
    columns:
      - name: id
        data_type: integer
        constraints: [{{type: primary_key}}]
      - name: currency
        data_type: text
        constraints: [{{type: not_null}}]
      - name: amount
        data_type: decimal(18,2)
"""

GOOD = ("select cast(id as integer) as id, cast(amount as decimal(18,2)) as amount, currency "
        "from (values (1, 10.5, 'EUR'), (2, 3, 'USD')) as t(id, amount, currency)")


def _project(make_project, sql: str = GOOD, materialized: str = "table", **extra) -> Path:
    return make_project({"models/orders.sql": sql,
                         "models/_orders.yml": YAML.format(materialized=materialized),
                         **extra})


def test_the_table_has_the_declared_columns_in_their_order_and_constraints(
        make_project, query) -> None:
    root = _project(make_project)
    assert build(root, db_path=root / "db.duckdb").ok
    columns = query(root / "db.duckdb", "select column_name, data_type, is_nullable from "
                    "information_schema.columns where table_name = 'orders' "
                    "order by ordinal_position")
    assert columns == [("id", "INTEGER", "NO"), ("currency", "VARCHAR", "NO"),
                       ("amount", "DECIMAL(18,2)", "YES")]
    sql = query(root / "db.duckdb", "select sql from duckdb_tables() "
                "where table_name = 'orders'")[0][0]
    assert "PRIMARY KEY" in sql and "CHECK((amount >= 0))" in sql


@pytest.mark.parametrize("materialized", ["table", "incremental"])
def test_a_wrong_type_fails_the_model_with_a_table_and_keeps_the_previous_one(
        make_project, cli, query, materialized: str) -> None:
    root = _project(make_project, materialized=materialized)
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models/orders.sql").write_text(
        GOOD.replace("cast(amount as decimal(18,2))", "cast(amount as double)")
        .replace("(2, 3, 'USD')", "(3, 1, 'SEK')"))
    code, out, _ = cli("build", "--project-dir", root, "--db", db)
    assert code == 1, out
    assert "This model has an enforced contract that failed" in out
    rows = [" ".join(line.split()) for line in out.splitlines()]
    assert "| column_name | definition_type | contract_type | mismatch_reason |" in rows
    assert "| amount | DOUBLE | DECIMAL(18,2) | data type mismatch |" in rows
    assert query(db, "select id from orders order by id") == [(1,), (2,)]


def test_missing_and_extra_columns_are_named(make_project, cli) -> None:
    root = _project(make_project, "select 1 as id, 'EUR' as currency, 2 as extra")
    code, out, _ = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 1
    rows = [" ".join(line.split()) for line in out.splitlines()]
    assert "| amount | | DECIMAL(18,2) | missing in definition |" in rows, out
    assert "| extra | INTEGER | | missing in contract |" in rows, out


# A duplicate id in an incremental model's new rows is merged on its unique_key, not a
# constraint's business: that case is the table's only.
@pytest.mark.parametrize("materialized, bad_row", [
    ("table", "(3, 1, null)"), ("table", "(1, 1, 'SEK')"), ("table", "(3, -1, 'SEK')"),
    ("incremental", "(3, 1, null)"), ("incremental", "(3, -1, 'SEK')")])
def test_a_row_breaking_a_constraint_fails_the_model(make_project, query, materialized,
                                                     bad_row) -> None:
    root = _project(make_project, materialized=materialized)
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    broken = GOOD.replace("(2, 3, 'USD')", f"(2, 3, 'USD'), {bad_row}")
    (root / "models/orders.sql").write_text(broken)
    result = build(root, db_path=db)
    node = next(n for n in result.nodes if n.name == "orders")
    assert node.status == "error", result.summary()
    assert "constraint" in node.message.lower(), node.message
    assert query(db, "select id, amount from orders order by id") == [(1, 10.5), (2, 3)]


def test_a_view_is_checked_too(make_project) -> None:
    root = _project(make_project, "select 1 as id, 'EUR' as currency, 1.0 as amount",
                    materialized="view")
    result = build(root, db_path=root / "db.duckdb")
    assert [n.status for n in result.nodes] == ["error"]
    assert "| amount | DECIMAL(2,1) | DECIMAL(18,2) | data type mismatch |" in \
        " ".join(result.nodes[0].message.split()).replace("| |", "| |")


@pytest.mark.parametrize("change, message", [
    ("        data_type: decimal(18,2)\n", "column amount of model orders has no data_type"),
    ("decimal(18,2)", "declares data_type 'decimall(18,2)', which DuckDB does not know"),
])
def test_a_contract_without_valid_types_stops_before_anything_runs(make_project, cli, change,
                                                                   message) -> None:
    root = _project(make_project)
    yml = root / "models/_orders.yml"
    text = yml.read_text()
    yml.write_text(text.replace(change, "" if "data_type" in change else "decimall(18,2)"))
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2, out + err
    assert message in err and "models/_orders.yml" in err


def test_constraints_duckdb_does_not_enforce_here_are_warned(make_project) -> None:
    root = _project(make_project)
    yml = root / "models/_orders.yml"
    yml.write_text(yml.read_text().replace(
        "      - type: check\n", "      - type: foreign_key\n        columns: [id]\n"
        "        to: ref('x')\n        to_columns: [id]\n      - type: check\n"))
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok
    assert any("constraint foreign_key of model orders is not enforced" in w
               for w in result.warnings), result.warnings
    assert not any("'contract'" in w or "'data_type'" in w or "'constraints'" in w
                   for w in result.warnings), result.warnings
