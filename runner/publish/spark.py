"""The serving layer with `--target spark`: `runner publish`, a build's publish, `runner
show` and `runner export` read Spark's tables, and write what the DuckDB path writes.

Spark's rows reach the DuckDB writer of the serving layer (serving.py, export.py) through
Parquet: each table is unloaded by Spark into a temporary folder and opened by an
in-memory DuckDB as a view of the same schema and name, so the published files, the
catalog and the exported files are written by the same code as from a DuckDB build (same
folders, file names, types and values). Spark's day-time (year-month) intervals, which
its Parquet writer stores as bare microseconds (months), are made intervals again in the
view. The folder is deleted when the command ends."""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from runner.engines.profiles import Target
from runner.errors import ExportError, OptionError, RunnerError
from runner.jinja.relation import quote_ident, relation_name, sql_literal


def spark_table(project_dir: str | Path, model: str, target: Target):
    """The Spark adapter of `target`, and the (schema, table) of a model or schema.table,
    which must be in Spark's catalog."""
    from runner.api import resolve_relation
    from runner.engines.base import connect
    from runner.project.loader import load_project
    project = load_project(project_dir)
    schema, table = resolve_relation(project_dir, model)
    adapter = connect(target, project.root)
    if adapter.relation_kind(schema, table) is None:
        raise RunnerError(f"{schema}.{table} is not in Spark's catalog (target "
                          f"{target.name}).", hint="run 'runner build --target spark' first.")
    return adapter, schema, table


def refuse_duckdb_options(**given) -> None:
    """--db and --memory-limit are DuckDB's: refused with --target spark, as a build does."""
    named = [k for k, v in given.items() if v]
    if named:
        flags = ", ".join("--" + k.replace("_", "-") for k in named)
        raise OptionError(f"{flags} {'is' if len(named) == 1 else 'are'} DuckDB's and not "
                          "used with --target spark.",
                          hint="leave it out; Spark's tables are in its warehouse.")


@contextmanager
def spark_tables(adapter, tables: list[tuple[str, str, str | None]],
                 allowed_dirs: list[Path] | None = None
                 ) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with a view per (schema, table, Spark SQL or None) over the
    rows Spark unloads (the query's, else the whole table). A relation Spark's catalog
    lacks is left out: the caller's own checks name it. With `allowed_dirs` the
    connection's SQL reads and writes files only below those and the unload folder."""
    from runner.engines.duckdb import restrict
    from runner.publish.readers import unloaded_columns
    folder = Path(tempfile.mkdtemp(prefix="runner-spark-"))
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for i, (schema, table, query) in enumerate(dict.fromkeys(tables)):
            if adapter.relation_kind(schema, table) is None:
                continue
            try:
                columns = unloaded_columns(adapter, schema, table)
                adapter.unload(query or f"select * from {adapter.relation_name(schema, table)}",
                               folder / str(i))
            except Exception as exc:        # Spark's own errors: its message, first line
                first = (str(exc).strip() or type(exc).__name__).splitlines()[0]
                raise ExportError(f"cannot read {schema}.{table} from Spark: {first}",
                                  hint="build it again with --target spark.") from None
            files = sql_literal(str(folder / str(i) / "*.parquet"))
            con.execute(f"create schema if not exists {quote_ident(schema)}")
            con.execute(f"create or replace view {relation_name(schema, table)} as "
                        f"select {columns} from read_parquet({files})")
        if allowed_dirs is not None:
            restrict(con, [folder, *allowed_dirs])
        yield con
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def warehouse(adapter, target: Target, root: Path) -> Path:
    """The folder Spark's tables are in: the session's warehouse (`spark.sql.warehouse.dir`),
    else the target's, else <project>/spark-warehouse. It names the publication as a
    DuckDB file names its own; a warehouse that is not a local folder (s3://, dbfs:/)
    lends only its name, the project folder its place."""
    import re
    from runner.engines.spark import plain_path
    try:
        configured = adapter.spark.conf.get("spark.sql.warehouse.dir")
    except Exception:
        configured = None
    configured = configured or str(target.warehouse or root / "spark-warehouse")
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", configured) and \
            not configured.startswith("file:"):
        name = configured.rstrip("/").rsplit("/", 1)[-1]
        return (root / (name if name and ":" not in name else "spark-warehouse")).resolve()
    return Path(plain_path(configured)).resolve()


def _read_by(specs) -> list[tuple[str, str]]:
    """The relations the specs' partition and file SQL read besides their own table
    (the CPO report's month reads the organisations' time zones)."""
    import sqlglot
    from sqlglot import exp
    out = []
    for spec in specs:
        for sql in (spec.expression, spec.file_by):
            if not sql:
                continue
            try:
                tree = sqlglot.parse_one(f"select {sql}", read="duckdb")
            except sqlglot.errors.ParseError:
                continue                    # DuckDB's own error names it when it runs
            out += [(t.db, t.name) for t in tree.find_all(exp.Table) if t.db and t.name]
    return out


def publish_spark(project_dir: str | Path, target: Target, vars: dict | None = None,
                  build_id: str | None = None,
                  on_note: Callable[[str], None] | None = None):
    """`runner publish --target spark` (and a Spark build's publish): the project's
    `publish` tables read from Spark and published by serving.publish, to
    `published/<warehouse folder's name>.duckdb` beside Spark's warehouse (or the
    `publish_dir` var). Returns serving.PublishResult (its seconds include Spark's
    unload), None when nothing is published."""
    from runner.engines.base import connect
    from runner.jinja.relation import files_view_name
    from runner.publish.serving import publish as publish_tables, settings, table_specs
    from runner.session import Session
    session = Session(project_dir, vars)      # the partition SQL runs on DuckDB
    project = session.project
    specs = table_specs(project, session.renderer)
    if not specs:
        return None
    started = time.perf_counter()
    adapter = connect(target, project.root)
    db = warehouse(adapter, target, project.root)
    tables = [(s.schema, s.table, None) for s in specs]
    tables += [(schema, table, None) for schema, table in _read_by(specs)]
    tables += [(s.schema, files_view_name(s.name), None) for s in project.sources.values()]
    allowed = [project.root, settings(project, db, vars)[0]]
    with spark_tables(adapter, tables, allowed) as con:
        if build_id is None:            # runner publish: the latest _built_at published
            built = []
            for spec in specs:
                rel = relation_name(spec.schema, spec.table)
                if con.execute("select count(*) from information_schema.columns where "
                               "table_schema = ? and table_name = ? and column_name = "
                               "'_built_at'", [spec.schema, spec.table]).fetchone()[0]:
                    built.append(con.execute(f"select max(_built_at) from {rel}"
                                             ).fetchone()[0])
            latest = max([b for b in built if b is not None], default=None)
            build_id = latest.isoformat() if latest else ""
        merged = {**project.vars, **(vars or {})}
        result = publish_tables(con, project, session.renderer, db_path=db,
                                build_id=build_id,
                                report_time=str(merged.get("report_time") or build_id),
                                vars=vars, on_note=on_note, specs=specs)
    result.seconds = time.perf_counter() - started
    return result


def show_spark(project_dir: str | Path, model: str | None, target: Target, limit: int,
               db: Path | None = None, inline: str | None = None) -> str:
    """`runner show MODEL --target spark`: the first rows of Spark's table, printed as
    from DuckDB's (instants in UTC, intervals as intervals)."""
    from runner.publish.export import format_rows
    refuse_duckdb_options(db=db)
    if inline is not None:
        raise OptionError("--inline runs on DuckDB; it is not run with --target spark yet.",
                          hint="show a model's table instead: runner show MODEL "
                               "--target spark.")
    if model is None:
        raise OptionError("show needs a model.", hint="runner show MODEL --target spark.")
    adapter, schema, table = spark_table(project_dir, model, target)
    query = f"select * from {adapter.relation_name(schema, table)} limit {int(limit)}"
    with spark_tables(adapter, [(schema, table, query)]) as con:
        return format_rows(con, relation_name(schema, table), limit)
