"""A published table's units of change and the files written for them.

A table's partition key (`partition_by`, a column or a `partition_expression`) names the
Hive folders readers see. Inside them a publish compares and rewrites *units*: by default
the partition itself; with `file_by` (SQL over the row, cheap: a stored date column) one
file per unit and partition, so a publish that finds a few units changed rewrites those
files and leaves the rest of their partitions' files alone. The units' states come from
the rows written since the last publish (changes.py) or, failing that, one grouped scan
of the unit and `_built_at` (the partition expression is not evaluated on the rows the
scan reads); the partition key is computed only on the rows rewritten."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.jinja.relation import quote_ident, relation_name, sql_literal

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
UNIT = "__publish_unit"         # the unit's Hive folder in staging, never in a published file
# zstd at level 1 (DuckDB's default is 3): any zstd reader reads it, the level is not
# in the file; at 1 M sessions a publish takes 0.35 s (6 %) less CPU and writes 2.6 %
# more bytes (bench/README.md)
PARQUET = "format parquet, compression zstd, compression_level 1"


def keyed(spec, columns: list[tuple[str, str]]) -> tuple[str, str]:
    """The table with its partition key as the last column, and the key's type."""
    rel = relation_name(spec.schema, spec.table)
    names = {n: t for n, t in columns}
    if spec.expression is None:
        if spec.partition_by not in names:
            raise ProjectError(f"{spec.relation} has no column {spec.partition_by!r} to "
                               "partition by.", hint="add a partition_expression that "
                                                     "computes it.")
        return rel, names[spec.partition_by]
    if spec.partition_by in names:
        raise ProjectError(f"the partition key {spec.partition_by!r} of {spec.relation} is "
                           "also a column of it.", hint="give the key another name.")
    return (f"(select *, cast(({spec.expression}) as varchar) as "
            f"{quote_ident(spec.partition_by)} from {rel})"), "VARCHAR"


def unit_sql(spec, as_text: bool = True) -> str:
    """The unit of a row of `spec`'s relation (as VARCHAR): SQL over the relation's row."""
    if spec.file_by:
        sql = f"({spec.file_by})"
    elif spec.expression:
        sql = f"({spec.expression})"
    else:
        sql = quote_ident(spec.partition_by)
    return f"cast({sql} as varchar)" if as_text else sql


def partition_states(con: duckdb.DuckDBPyConnection, spec,
                     columns: list[tuple[str, str]]) -> dict[str | None, tuple[int, str]]:
    """unit (None: NULL, or the unpartitioned table) -> (rows, signature)."""
    names = [n for n, _ in columns]
    signature = "max(_built_at)::varchar" if "_built_at" in names else \
        "coalesce(bit_xor(hash(t))::varchar, '')"
    rel = relation_name(spec.schema, spec.table)
    if spec.partition_by is None:
        n, sig = con.execute(f"select count(*), {signature} from {rel} as t").fetchone()
        return {None: (int(n), str(sig))} if n else {}
    # grouped by the unit's own type (a date), made text once per group
    rows = con.execute(f"select {UNIT}::varchar, count(*), {signature} from (select *, "
                       f"{unit_sql(spec, False)} as {UNIT} from {rel}) as t "
                       f"group by {UNIT}").fetchall()
    return {k: (int(n), str(sig)) for k, n, sig in rows}


def value_of(folder: str) -> str | None:
    value = urllib.parse.unquote(folder.split("=", 1)[1])
    return None if value == HIVE_NULL else value


def portable(columns: list[tuple[str, str]]) -> str:
    """The select list of a published file: INTERVAL columns as BIGINT microseconds."""
    intervals = [n for n, t in columns if t == "INTERVAL"]
    return "*" + (" replace (" + ", ".join(f"epoch_us({quote_ident(n)}) as {quote_ident(n)}"
                                          for n in intervals) + ")" if intervals else "")


UNITS_PER_WRITE = 24      # a COPY writes at least this many units (weeks, or months)...
ROWS_PER_WRITE = 4_000_000  # ... and more while they hold this many rows together


def batches(changed: list[str | None], rows: dict[str | None, int]) -> list[list[str | None]]:
    """The changed units in the order of their values, split into the units of each
    COPY. A partitioned write holds a buffer for every file it has open: all of a table's
    units in one write spilled more than 21 GB at 100 M sessions (a unit there: 0.9 M
    rows). But every write scans the table again, and at 1 M sessions five writes of 24
    weeks cost 10 % more than one. So a write takes units while it has fewer than
    UNITS_PER_WRITE or they hold at most ROWS_PER_WRITE rows (`rows`: a unit's, where
    known)."""
    out: list[list[str | None]] = []
    held = 0
    for unit in sorted(changed, key=lambda u: (u is None, u or "")):
        n = rows.get(unit, 0)
        if not out or (len(out[-1]) >= UNITS_PER_WRITE and held + n > ROWS_PER_WRITE):
            out.append([])
            held = 0
        out[-1].append(unit)
        held += n
    return out


def write_units(con: duckdb.DuckDBPyConnection, spec, columns: list[tuple[str, str]],
                changed: list[str | None], staging: Path, since: str | None = None,
                older: str | None = None, rows: dict[str | None, int] | None = None,
                every: bool = False) -> list[tuple[Path, str | None, str | None]]:
    """Write the rows of the changed units under `staging`: (file, partition, unit).
    With `since` (changes.py), the units' rows are read as two scans that row-group
    statistics can cut short: those written after `since`, and the older ones where
    `older` (SQL over the row) holds; no older ones when `older` is None. `rows`: the
    units' rows where known (batches); `every`: `changed` are all of the table's units,
    so a single write reads the table without a filter."""
    target = staging / spec.relation
    staging.mkdir(exist_ok=True)
    options = PARQUET
    rel = relation_name(spec.schema, spec.table)
    if spec.partition_by is None:
        target.mkdir(parents=True)
        out = target / "part_0.parquet"
        con.execute(f"copy (select {portable(columns)} from {rel}) to "
                    f"{sql_literal(str(out))} ({options})")
        return [(out, None, None)]
    key = quote_ident(spec.partition_by)
    unit = unit_sql(spec)
    # the values as literals (a 30 % faster filter than IN (select unnest(?)) at 1 M
    # rows), compared in the unit's own type: the text of every row cost 1 s at 10 M
    raw = unit_sql(spec, False)
    extra = "" if spec.expression is None else \
        f", cast(({spec.expression}) as varchar) as {key}"
    if spec.file_by:
        extra += f", {unit} as {UNIT}"
    by = f"{key}, {UNIT}" if spec.file_by else key
    writes = batches(changed, rows or {})
    for n, part in enumerate(writes):
        values = ", ".join(sql_literal(v) for v in part if v is not None)
        condition = " or ".join(([f"{raw} in ({values})"] if values else []) +
                                ([f"{raw} is null"] if None in part else []))
        # the filter runs before the select list: the key is computed on those rows only
        rows_sql = f"select {portable(columns)}{extra} from {rel}"
        if not (every and since is None and len(writes) == 1):
            rows_sql += f" where ({condition})"
        if since is not None:
            built = f"cast({sql_literal(since)} as {dict(columns)['_built_at']})"
            rows_sql = f"{rows_sql} and _built_at > {built}" + \
                (f" union all {rows_sql} and {older}" if older else "")
        con.execute(f"copy ({rows_sql}) to {sql_literal(str(target))} ({options}, "
                    f"partition_by ({by}), filename_pattern 'part_{n}_{{i}}'"
                    f"{', overwrite_or_ignore true' if n else ''})")
    if spec.file_by:
        return [(f, value_of(f.parent.parent.name), value_of(f.parent.name))
                for f in sorted(target.glob("*=*/*=*/*.parquet"))]
    return [(f, value_of(f.parent.name), value_of(f.parent.name))
            for f in sorted(target.glob("*=*/*.parquet"))]


def write_empty(con, spec, columns: list[tuple[str, str]], staging: Path) -> Path:
    target = staging / spec.relation
    target.mkdir(parents=True, exist_ok=True)
    out = target / "empty.parquet"
    con.execute(f"copy (select {portable(columns)} from "
                f"{relation_name(spec.schema, spec.table)} limit 0) to "
                f"{sql_literal(str(out))} ({PARQUET})")
    return out
