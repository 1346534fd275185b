"""Reading built tables back: the first rows for a person, files for tools.

The format follows the extension of --out: `.parquet` Parquet (zstd), `.csv` CSV (a
header row, UTF-8); with --partition-by a folder of Hive-partitioned Parquet. Any other
extension is refused before anything is written. A file or folder appears complete or
not at all: it is written beside its destination under a temporary name and renamed
into place."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from runner.engines.native import duckdb

from runner.errors import ExportError, RunnerError
from runner.jinja.relation import quote_ident, relation_name, sql_literal

if TYPE_CHECKING:
    from runner.publish.export_keys import ExportKey


def _open(project_dir: str | Path, model: str, db: str | Path | None,
          memory_limit: str | None = None, published_fallback: bool = False):
    from runner.api import default_db_path, resolve_relation
    from runner.engines.duckdb import has_relation
    from runner.project.loader import load_project
    project = load_project(project_dir)
    schema, table = resolve_relation(project_dir, model)
    path = Path(db).resolve() if db else default_db_path(project)
    # Read-only, and the only SQL run here is the runner's own: views over a raw folder
    # anywhere must stay readable, so file access is not narrowed as in a build. With
    # `published_fallback` (show), while a build holds the file its publication is read
    # instead (publish/readers.py).
    from runner.publish.readers import connect_for_reading
    con, path = connect_for_reading(project, path, memory_limit=memory_limit,
                                    fallback=published_fallback,
                                    on_note=lambda note: print(f"note: {note}",
                                                               file=sys.stderr))
    if not has_relation(con, schema, table):
        con.close()
        raise RunnerError(f"{schema}.{table} is not in {path}.",
                          hint="run 'runner build' first (or pass --db with the right file).")
    return con, relation_name(schema, table)


def show_rows(project_dir: str | Path, model: str, db: str | Path | None, limit: int) -> str:
    con, relation = _open(project_dir, model, db, published_fallback=True)
    try:
        return format_rows(con, relation, limit)
    finally:
        con.close()


def format_rows(con: duckdb.DuckDBPyConnection, relation: str, limit: int) -> str:
    """The first `limit` rows of `relation` as a text table (show)."""
    try:
        cursor = con.execute(f"select * from {relation} limit ?", [limit])
        columns = [d[0] for d in cursor.description]
        rows = [["" if v is None else str(v) for v in row] for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise RunnerError(f"cannot read {relation}: {str(exc).splitlines()[0]}",
                          hint="build it again ('runner build --select MODEL'); a view also "
                               "needs the raw files it reads.") from None
    widths = [min(40, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(columns)]
    line = lambda cells: " | ".join(c[:w].ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [line(columns), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows]
    return "\n".join(out)


def table_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [d[0] for d in con.execute(f"select * from {relation} limit 0").description]


FILE_FORMATS = {".parquet": "format parquet, compression zstd",
                ".csv": "format csv, header true"}          # DuckDB writes UTF-8


def export_options(out: Path, partitioned: bool) -> str:
    """DuckDB's COPY options for the file `out` names, or an ExportError (nothing
    written) for an extension the export does not write."""
    suffix = out.suffix.lower()
    if partitioned:
        if suffix not in ("", ".parquet"):
            raise ExportError(f"--partition-by writes a folder of Parquet files, and {out} "
                              f"names a {suffix} file; nothing was written.",
                              hint=f"name a folder, e.g. --out {out.with_suffix('')}.")
        return FILE_FORMATS[".parquet"]
    if suffix not in FILE_FORMATS:
        raise ExportError(f"cannot tell the format of {out}: export writes .parquet "
                          "(Parquet, zstd) or .csv (CSV with a header, UTF-8); nothing was "
                          "written.", hint="name the file .parquet or .csv, or pass "
                          "--partition-by COLUMN to write a folder of Parquet files.")
    return FILE_FORMATS[suffix]


def export_table(project_dir: str | Path, model: str, out: str | Path,
                 db: str | Path | None, partition_by: list[str],
                 where: str | None = None, memory_limit: str | None = None) -> int:
    """Write the table (or the rows `where` keeps) to `out`, in the format its extension
    names. A partition column the table need not hold is the model's export key
    (export_keys.py). With `memory_limit` DuckDB holds to it as in a build, spilling to
    a folder beside the database file (<db>.tmp)."""
    from runner.publish.export_keys import export_key
    out = Path(out).resolve()
    export_options(out, bool(partition_by))
    key = export_key(project_dir, model, partition_by)
    con, relation = _open(project_dir, model, db, memory_limit)
    try:
        return write_export(con, relation, out, partition_by, where, memory_limit, key)
    finally:
        con.close()


def write_export(con: duckdb.DuckDBPyConnection, relation: str, out: Path,
                 partition_by: list[str], where: str | None = None,
                 memory_limit: str | None = None, key: "ExportKey | None" = None) -> int:
    """export_table's writing, from the open connection `con` that holds `relation`
    (a Spark target's table comes as a view over its rows: spark_export.py); `key` the
    model's export partition key (export_keys.py), when --partition-by names it."""
    from runner.publish.export_keys import no_such_key
    options = export_options(out, bool(partition_by))
    columns = table_columns(con, relation)
    source = relation
    partitions = []
    for col in partition_by:
        if key is not None and col == key.name and source == relation:
            source = key.source(columns)
            try:
                con.execute(f"select * from {source} limit 0")
            except duckdb.Error as exc:
                raise ExportError(f"cannot compute the partition key {col!r} of {key.model} "
                                  f"(its export config): {str(exc).splitlines()[0]}",
                                  hint="check its partition_expression; the relations it "
                                       "reads must be built.") from None
            columns = columns if col in columns else columns + [col]
        elif col not in columns:
            raise no_such_key(col, relation, columns)
        partitions.append(quote_ident(col))
    predicate = check_where(where, columns) if where else None
    query = f"select * from {source}" + (f" where {predicate}" if predicate else "")
    try:
        rows = con.execute(f"select count(*) from ({query})").fetchone()[0]
    except duckdb.OutOfMemoryException as exc:
        raise _out_of_memory(f"cannot read {relation}", exc, memory_limit) from None
    except duckdb.Error as exc:
        raise ExportError(f"cannot read {relation}: {str(exc).splitlines()[0]}",
                          hint="build it again; a view also needs the raw files it "
                               "reads.") from None
    if partitions:
        options += f", partition_by ({', '.join(partitions)})"
    out.parent.mkdir(parents=True, exist_ok=True)

    def copy(tmp: Path) -> None:
        try:
            con.execute(f"copy ({query}) to {sql_literal(str(tmp))} ({options})")
        except duckdb.OutOfMemoryException as exc:
            raise _out_of_memory(f"could not write {out}", exc, memory_limit,
                                 "; nothing was left at that path.") from None
    write_atomically(out, copy, is_dir=bool(partitions))
    return int(rows)


def _out_of_memory(what: str, exc: duckdb.Error, memory_limit: str | None,
                   after: str = "") -> ExportError:
    """DuckDB spills to disk beyond the memory limit, but not everything an export holds
    can spill: too low a limit ends in an out-of-memory error, named as such."""
    hint = (f"raise --memory-limit (it was {memory_limit})." if memory_limit else
            "pass --memory-limit (e.g. 8GB) below this machine's free memory, so that "
            "DuckDB spills to disk sooner.")
    return ExportError(f"{what}: {str(exc).splitlines()[0]}{after}", hint=hint)


def check_where(where: str, columns: list[str]) -> str:
    """A --where filter, parsed with sqlglot: only a plain predicate over the columns."""
    import sqlglot
    from sqlglot import exp
    try:
        tree = sqlglot.parse_one(where, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise ExportError(f"--where is not a SQL predicate: {str(exc).splitlines()[0]}.",
                          hint="write e.g. --where \"currency = 'EUR' and price > 0\".") \
            from None
    allowed = (exp.Predicate, exp.Connector, exp.Not, exp.Paren, exp.Column, exp.Identifier,
               exp.Literal, exp.Boolean, exp.Null, exp.Tuple, exp.Cast, exp.DataType,
               exp.Binary, exp.Neg, exp.Between, exp.In, exp.Is, exp.Interval, exp.Var,
               exp.DataTypeParam)
    if not isinstance(tree, (exp.Predicate, exp.Connector, exp.Not, exp.Paren, exp.Boolean)):
        raise ExportError("--where must be a condition (e.g. price > 0).")
    known = {c.lower() for c in columns}
    for node in tree.walk():
        if isinstance(node, (exp.Select, exp.Subquery, exp.Query)) or \
                not isinstance(node, allowed):
            raise ExportError(f"--where may only compare the table's columns with values; "
                              f"{node.sql('duckdb')!r} is not allowed.",
                              hint="use columns, literals, comparisons, and/or/not, in, "
                                   "between, is null.")
        if isinstance(node, exp.Column):
            if node.table or node.name.lower() not in known:
                raise ExportError(f"--where names {node.sql('duckdb')!r}, which is not a "
                                  f"column of the table.",
                                  hint=f"columns: {', '.join(columns)}.")
    return tree.sql("duckdb")


def _is_previous_export(folder: Path) -> bool:
    """A folder holding only Hive partitions (col=value/...) of Parquet files."""
    return all(entry.is_dir() and "=" in entry.name and
               all(f.is_dir() or f.suffix == ".parquet" for f in entry.rglob("*"))
               for entry in folder.iterdir())


def write_atomically(out: Path, write, is_dir: bool = False) -> None:
    """Call write(tmp) on a temporary path beside `out`, then rename it into place.
    A folder at `out` is replaced only by a partitioned export, and only when it holds
    a previous partitioned export: nothing else is ever deleted."""
    if out.is_dir() and not (is_dir and _is_previous_export(out)):
        raise ExportError(f"{out} is a folder{' that holds other files' if is_dir else ''}; "
                          "nothing was written.",
                          hint="choose another --out path, or move that folder away.")
    if out.exists() and not out.is_dir() and is_dir:
        raise ExportError(f"{out} is a file; a partitioned export writes a folder there.",
                          hint="choose another --out path, or move that file away.")
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        if is_dir and out.exists():
            old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except (duckdb.Error, OSError) as exc:
        raise ExportError(f"could not write {out}: {str(exc).splitlines()[0]}; "
                          "nothing was left at that path.",
                          hint="check free disk space and that the folder is writable.") \
            from None
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
