"""Seeds as dbt with dbt-duckdb loads them: the configs `column_types`, `delimiter` and
`quote_columns` (from dbt_project.yml or the seed's YAML, values rendered with vars as
dbt renders them), and the column types dbt gives the columns `column_types` does not
name. dbt infers those with agate, then dbt-duckdb creates the table with
dbt-adapters' names for them: a number column without decimals is `integer` (DuckDB's
INTEGER, where DuckDB's own CSV sniffer says BIGINT), with decimals `float8` (DOUBLE),
dates DATE, date-times TIMESTAMP, true/false BOOLEAN, text VARCHAR, and a column with no
value at all is a number column, INTEGER. A whole number column beyond INTEGER's range
stays BIGINT here (dbt-duckdb's load fails on it).

`quote_columns` is accepted with no effect on the table: DuckDB keeps the case of a
column's name whether or not it is quoted, and the runner always quotes the names."""

from __future__ import annotations

from typing import Any

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.execute.results import NodeResult
from runner.jinja.relation import sql_literal
from runner.project.nodes import Node

SEED_CONFIGS = ("column_types", "delimiter", "quote_columns")
INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"}
INT32 = (-2 ** 31, 2 ** 31 - 1)


def render_seed_configs(seeds: dict[str, Node], render: Any) -> None:
    """Renders the Jinja in the seeds' configs (`render(text, node)` gives the text) and
    checks the delimiter: one character."""
    for node in seeds.values():
        node.config = {key: _rendered(value, node, render) for key, value in
                       node.config.items()}
        delimiter = node.config.get("delimiter")
        if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
            raise ProjectError(f"the delimiter of seed {node.name} is {delimiter!r}; it "
                               f"must be one character.", node=node.name, path=node.rel_path,
                               hint="set +delimiter (or config: delimiter:) to e.g. ';' or "
                                    "'|', or leave it out for ','.")


def _rendered(value: Any, node: Node, render: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rendered(v, node, render) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v, node, render) for v in value]
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        text = render(value, node)
        # dbt renders configs natively: a rendered true/false is a boolean
        return {"true": True, "false": False}.get(text.strip().lower(), text)
    return value


def seed_select(con: duckdb.DuckDBPyConnection, node: Node, read: str) -> str:
    """The SELECT that loads the seed: `read` (its read_csv call) with the columns that
    column_types does not name typed as dbt-duckdb types them."""
    explicit = {str(k).lower() for k in (node.config.get("column_types") or {})}
    described = [(r[0], r[1]) for r in con.execute(f"describe select * from {read}").fetchall()]
    ints = [c for c, t in described if c.lower() not in explicit and t in INT_TYPES]
    texts = [c for c, t in described if c.lower() not in explicit and t == "VARCHAR"]
    if not ints and not texts:
        return f"select * from {read}"
    probes = [f"min({_q(c)}), max({_q(c)})" for c in ints] + [f"count({_q(c)})" for c in texts]
    stats = list(con.execute(f"select {', '.join(probes)} from {read}").fetchone())
    as_int = set()
    for index, column in enumerate(ints):
        low, high = stats[2 * index], stats[2 * index + 1]
        if low is None or (INT32[0] <= low and high <= INT32[1]):
            as_int.add(column)
    as_int |= {c for i, c in enumerate(texts) if stats[2 * len(ints) + i] == 0}
    columns = [f"cast({_q(c)} as INTEGER) as {_q(c)}" if c in as_int else _q(c)
               for c, _ in described]
    return f"select {', '.join(columns)} from {read}"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def seed_read(node: Node) -> str:
    """DuckDB's read_csv call of a seed, with its delimiter and column_types."""
    types = node.config.get("column_types") or {}
    delimiter = str(node.config.get("delimiter") or ",")
    options = f"header = true, delim = {sql_literal(delimiter)}, quote = '\"', " \
              "strict_mode = true"
    if types:
        listed = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in types.items())
        options += f", types = {{{listed}}}"
    return f"read_csv({sql_literal(str(node.path))}, {options})"


def ragged_row(node: Node) -> str | None:
    """What is wrong with the first row of a seed whose field count differs from the
    header's, or None (seeds are small lookup tables; DuckDB's sniffer would take such a
    row for the header, and Spark loaded it whole)."""
    import csv
    with open(node.path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=str(node.config.get("delimiter") or ","))
        header = next(reader, None)
        if header is None:
            return None
        for row in reader:
            if row and len(row) != len(header):
                return (f"seed {node.rel_path} line {reader.line_num} has {len(row)} fields "
                        f"where the header has {len(header)}; fix that row.")
    return None


def seed_result(node: Node) -> NodeResult:
    """A seed's result before it is loaded: already an error when a row of its CSV has
    another number of fields than the header (ragged_row), which every engine refuses."""
    result = NodeResult(node.name, "seed", "success", materialized="seed",
                        path=node.rel_path)
    ragged = ragged_row(node)
    if ragged:
        result.status, result.message = "error", ragged
    return result
