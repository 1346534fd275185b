"""dbt's model contracts: `config: {contract: {enforced: true}}` with a `data_type` for
every column in YAML, and the `constraints` DuckDB can enforce.

Before a contracted model's table changes, its query's columns (DuckDB binds it; no row
is read) are compared with the declared ones by name, and their types as DuckDB
normalises them (`text` is VARCHAR, `timestamptz` TIMESTAMP WITH TIME ZONE, `numeric`
DECIMAL(18,3)). A difference fails the model with dbt's table of column_name,
definition_type, contract_type and mismatch_reason, and its previous table stays.
The order of the columns need not match: as dbt does, the table is created with the
declared columns in the declared order, with their constraints (`not_null`, `unique`,
`primary_key`, `check`, column- or model-level), and the query's rows are inserted into
it, so a row that breaks a constraint fails the model. `foreign_key` and `custom` are
warned about as not enforced (a foreign key would bind the parent table, which the
runner replaces whole)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.jinja.relation import quote_ident
from runner.project.nodes import Node

ENFORCED = ("not_null", "unique", "primary_key", "check")


def enforced(node: Node) -> bool:
    contract = node.config.get("contract")
    return isinstance(contract, dict) and contract.get("enforced") is True


def check_declarations(nodes: list[Node], root: Path,
                       warn: Callable[[str], None]) -> dict[str, dict[str, str]]:
    """Before anything runs: every contracted model declares a valid data_type for each
    column; returns the normalised types, per model and column. Constraints DuckDB does
    not enforce here are warned about."""
    out: dict[str, dict[str, str]] = {}
    contracted = [node for node in nodes if enforced(node)]
    if not contracted:
        return out      # no DuckDB instance to open (20 ms of every build's start)
    con = duckdb.connect()
    try:
        for node in contracted:
            path = yaml_location(node, root)
            if node.materialized not in ("table", "incremental", "view"):
                raise ProjectError(f"model {node.name} has an enforced contract but is "
                                   f"materialized as {node.materialized}; dbt enforces "
                                   "contracts on tables, incremental models and views.",
                                   node=node.name, path=path)
            if not node.columns:
                raise ProjectError(f"model {node.name} has an enforced contract but its YAML "
                                   "lists no columns.", node=node.name, path=path,
                                   hint="list every column with its data_type.")
            types: dict[str, str] = {}
            for column in node.columns.values():
                if not column.data_type:
                    raise ProjectError(f"column {column.name} of model {node.name} has no "
                                       "data_type, which its enforced contract needs.",
                                       node=node.name, path=path, line=column.line,
                                       hint="add data_type: (e.g. varchar, integer, "
                                            "decimal(18,4), timestamptz).")
                try:
                    types[column.name] = con.execute(
                        f"select typeof(cast(null as {column.data_type}))").fetchone()[0]
                except duckdb.Error:
                    raise ProjectError(f"column {column.name} of model {node.name} declares "
                                       f"data_type {column.data_type!r}, which DuckDB does "
                                       "not know.", node=node.name, path=path,
                                       line=column.line) from None
            out[node.name] = types
            for constraint in all_constraints(node):
                kind = str(constraint.get("type"))
                if kind not in ENFORCED:
                    warn(f"{path}: constraint {kind} of model {node.name} is not enforced "
                         "by the runner (DuckDB enforces not_null, unique, primary_key and "
                         "check here); it has no effect.")
    finally:
        con.close()
    return out


def yaml_location(node: Node, root: Path) -> str:
    """The model's YAML file (else its own), relative to the project where it can be."""
    path = node.yaml_path or node.path
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def all_constraints(node: Node) -> list[dict[str, Any]]:
    return list(node.constraints) + [c for col in node.columns.values()
                                     for c in col.constraints]


def mismatch(con: duckdb.DuckDBPyConnection, node: Node, sql: str,
             declared: dict[str, str]) -> str | None:
    """dbt's table of the differences between the query's columns and the contract's,
    or None when they agree."""
    return differences({r[0]: r[1] for r in con.execute(f"describe {sql}").fetchall()},
                       declared)


def differences(actual: dict[str, str], declared: dict[str, str]) -> str | None:
    """dbt's table of what differs between a query's columns (name -> type) and the
    contract's, or None when they agree."""
    actual_lower = {k.lower(): (k, t) for k, t in actual.items()}
    rows = []
    for name, wanted in declared.items():
        got = actual_lower.get(name.lower())
        if got is None:
            rows.append((name, "", wanted, "missing in definition"))
        elif got[1] != wanted:
            rows.append((name, got[1], wanted, "data type mismatch"))
    declared_lower = {k.lower() for k in declared}
    rows += [(name, kind, "", "missing in contract") for name, kind in actual.items()
             if name.lower() not in declared_lower]
    if not rows:
        return None
    header = ("column_name", "definition_type", "contract_type", "mismatch_reason")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    table = "\n".join("    | " + " | ".join(v.ljust(w) for v, w in zip(r, widths)) + " |"
                      for r in [header, *rows])
    return ("This model has an enforced contract that failed. Please ensure the name, "
            "data_type, and number of columns in your contract match the columns in your "
            "model's definition.\n" + table)


def create_table_sql(target: str, node: Node, declared: dict[str, str]) -> str:
    """CREATE TABLE with the declared columns, in their order, and their constraints."""
    parts = []
    for column in node.columns.values():
        text = f"{quote_ident(column.name)} {declared[column.name]}"
        for constraint in column.constraints:
            text += _column_constraint(constraint)
        parts.append(text)
    for constraint in node.constraints:
        clause = _table_constraint(constraint)
        if clause:
            parts.append(clause)
    return f"create or replace table {target} (\n  " + ",\n  ".join(parts) + "\n)"


def insert_sql(target: str, node: Node, sql: str) -> str:
    listed = ", ".join(quote_ident(c) for c in node.columns)
    return f"insert into {target} ({listed})\nselect {listed} from (\n{sql}\n) as model_subq"


def _column_constraint(constraint: dict[str, Any]) -> str:
    kind = constraint.get("type")
    if kind == "not_null":
        return " not null"
    if kind == "unique":
        return " unique"
    if kind == "primary_key":
        return " primary key"
    if kind == "check" and constraint.get("expression"):
        return f" check ({constraint['expression']})"
    return ""


def _table_constraint(constraint: dict[str, Any]) -> str:
    kind = constraint.get("type")
    columns = ", ".join(quote_ident(c) for c in constraint.get("columns") or [])
    if kind == "primary_key" and columns:
        return f"primary key ({columns})"
    if kind == "unique" and columns:
        return f"unique ({columns})"
    if kind == "check" and constraint.get("expression"):
        return f"check ({constraint['expression']})"
    if kind == "not_null" and columns:
        return ", ".join(f"check ({quote_ident(c)} is not null)"
                         for c in constraint.get("columns") or [])
    return ""
