"""What changed in a published table since its last publish, found without reading the
whole table (an hourly publish's cost grows with what a build wrote, not with the table).

The runner writes a row anew (with the build's `_built_at`) or deletes it, and a publish
records the largest `_built_at` it published (`since`). So:

- the rows written since are those with `_built_at > since`: DuckDB's row-group
  statistics on `_built_at` skip the older row groups (incremental models append), and
  the unit is computed on those rows only; their units are the changed ones;
- a changed unit's older rows were in its published file(s), so every column lies within
  the file's smallest and largest value: those bounds (kept for the columns the unit is
  computed from, see `unit_columns`) let row-group statistics skip the rest of the table
  when its rewritten rows are read;
- rows deleted from a unit that got no new row are seen in the count: the table's row
  count (table metadata) less the rows written for the changed units must equal the rows
  published for the others. When it does not, the caller compares every unit (one
  grouped scan, partitions.partition_states)."""

from __future__ import annotations

import json

from runner.engines.native import duckdb

from runner.jinja.relation import quote_ident, relation_name, sql_literal
from runner.publish.partitions import UNIT, unit_sql

# types whose Parquet statistics (as DuckDB writes them) bound a column exactly
_BOUNDED = ("DATE", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
            "USMALLINT", "UINTEGER", "UBIGINT")


def _bounded(data_type: str) -> bool:
    return data_type in _BOUNDED or data_type.startswith(("TIMESTAMP", "DECIMAL"))


def unit_columns(con: duckdb.DuckDBPyConnection, spec,
                 columns: list[tuple[str, str]]) -> list[str]:
    """The table's columns the unit's SQL reads (of types with exact statistics): those
    whose bounds a published file keeps. Any column would be correct; these are the ones
    whose bounds are narrow for one unit. Read from DuckDB's own parse of the SQL
    (json_serialize_sql): importing sqlglot for it cost a publish 0.17 s of CPU."""
    if spec.partition_by is None:
        return []
    tree = json.loads(con.execute("select json_serialize_sql(?)",
                                  [f"select {unit_sql(spec, False)}"]).fetchone()[0])
    names: set[str] = set()
    nodes = [tree]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF" and node.get("column_names"):
                names.add(node["column_names"][-1])
            nodes += node.values()
        elif isinstance(node, list):
            nodes += node
    return [n for n, t in columns if n in names and _bounded(t)]


def file_facts(con: duckdb.DuckDBPyConnection, paths: list[str], names: list[str],
               columns: list[tuple[str, str]]
               ) -> tuple[dict[str, int], dict[str, dict[str, list[str]]]]:
    """Each file's row count, and path -> {column: [smallest, largest]} as text, from the
    files' Parquet metadata, each footer read once; a column with a NULL (or no
    statistics) in a file has no bounds there."""
    types = dict(columns)
    bounds: dict[str, dict[str, list[str]]] = {p: {} for p in paths}
    if not paths:
        return {}, bounds
    # the row count from one column's row groups (every column has one per row group)
    branches = ["select file_name, null as name, sum(row_group_num_rows)::varchar, "
                "null, false from m where column_id = 0 group by 1"]
    for name in names:
        branches.append(
            f"select file_name, {sql_literal(name)}, "
            f"min(cast(stats_min_value as {types[name]}))::varchar, "
            f"max(cast(stats_max_value as {types[name]}))::varchar, "
            f"bool_or(stats_min_value is null or stats_max_value is null "
            f"or coalesce(stats_null_count, 1) > 0) "
            f"from m where path_in_schema = {sql_literal(name)} group by 1")
    rows = {p: 0 for p in paths}          # a file of no row group has no row in m
    for path, name, low, high, unknown in con.execute(
            "with m as materialized (select file_name, column_id, path_in_schema, "
            "row_group_num_rows, stats_min_value, stats_max_value, stats_null_count "
            "from parquet_metadata(?::varchar[])) " + " union all ".join(branches),
            [paths]).fetchall():
        if name is None:
            rows[path] = int(low)
        elif not unknown and low is not None and high is not None:
            bounds[path][name] = [low, high]
    return rows, bounds


def newer_rows(con: duckdb.DuckDBPyConnection, spec, columns: list[tuple[str, str]],
               since: str) -> dict[str | None, tuple[int, str]] | None:
    """unit -> (rows, largest `_built_at`) of the rows written after `since`; None when
    the table holds no row of that build or later (not the table that was published:
    another database, or restored): every unit is compared then."""
    rel = relation_name(spec.schema, spec.table)
    since = f"cast({sql_literal(since)} as {dict(columns)['_built_at']})"
    after = f"_built_at > {since}"
    if con.execute(f"select max(_built_at) from {rel} where _built_at >= {since}"
                   ).fetchone()[0] is None:
        return None
    if spec.partition_by is None:
        n, sig = con.execute(f"select count(*), max(_built_at)::varchar from {rel} "
                             f"where {after}").fetchone()
        return {None: (int(n), str(sig))} if n else {}
    rows = con.execute(f"select {UNIT}::varchar, count(*), max(_built_at)::varchar from "
                       f"(select *, {unit_sql(spec, False)} as {UNIT} from {rel} "
                       f"where {after}) as t group by {UNIT}").fetchall()
    return {k: (int(n), str(sig)) for k, n, sig in rows}


def table_rows(con: duckdb.DuckDBPyConnection, spec) -> int:
    return int(con.execute(f"select count(*) from {relation_name(spec.schema, spec.table)}"
                           ).fetchone()[0])


def older_rows_filter(con: duckdb.DuckDBPyConnection, spec, columns: list[tuple[str, str]],
                      since: str, files: list) -> str | None:
    """SQL over the table: its rows written up to `since` that can belong to the units of
    `files` (their published files): `_built_at <= since` and, per column every file has
    bounds of, within the smallest and largest of them. None when there are no such
    files (the units are new: no older row of theirs exists)."""
    if not files:
        return None
    types = dict(columns)
    parts = [f"_built_at <= cast({sql_literal(since)} as {types['_built_at']})"]
    shared = set.intersection(*[set(f.bounds or {}) for f in files])
    for name in sorted(n for n in shared if n in types and _bounded(types[n])):
        low, high = con.execute(
            f"select min(cast(l as {types[name]}))::varchar, max(cast(h as {types[name]}))"
            f"::varchar from (select unnest(?::varchar[]) as l, unnest(?::varchar[]) as h)",
            [[f.bounds[name][0] for f in files], [f.bounds[name][1] for f in files]]
        ).fetchone()
        col = quote_ident(name)
        parts += [f"{col} >= cast({sql_literal(low)} as {types[name]})",
                  f"{col} <= cast({sql_literal(high)} as {types[name]})"]
    return " and ".join(parts)


def latest(con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]],
           signatures: list[str]) -> str | None:
    """The largest of the units' signatures (their largest `_built_at`), in its type."""
    if not signatures:
        return None
    return con.execute(f"select max(cast(s as {dict(columns)['_built_at']}))::varchar "
                       f"from (select unnest(?::varchar[]) as s)", [signatures]).fetchone()[0]
