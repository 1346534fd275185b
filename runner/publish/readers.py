"""Reading a project's tables while a build holds its database: the publication.

DuckDB lets one process write a file or several read it, so a reader of the database
being built is refused. `runner show` and `runner report` then read the catalog of the
same database's latest publication (serving.py), which a build never locks, and say so."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from runner.engines.native import duckdb

from runner.errors import DatabaseInUse


def connect_for_reading(project, db_path: Path, allowed_dirs: list[Path] | None = None,
                        memory_limit: str | None = None, fallback: bool = True,
                        on_note: Callable[[str], None] | None = None
                        ) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A read-only connection to `db_path`, or, while another process holds it (and with
    `fallback`), to its publication's catalog. Returns the connection and the file it
    opened."""
    from runner.engines.duckdb import connect
    from runner.publish.catalog import read_publication
    from runner.publish.serving import catalog_path
    try:
        return connect(db_path, read_only=True, allowed_dirs=allowed_dirs,
                       memory_limit=memory_limit), db_path
    except DatabaseInUse as exc:
        if not fallback:
            raise
        catalog = catalog_path(project, db_path)
        pub = read_publication(catalog)
        if pub is None or Path(pub.database) != Path(db_path).resolve() or \
                not catalog.exists():
            raise DatabaseInUse(f"{exc.message} It has no publication to read instead "
                                f"(none at {catalog}).", hint=exc.hint) from None
        con = connect(catalog, read_only=True, memory_limit=memory_limit,
                      allowed_dirs=None if allowed_dirs is None else
                      [*allowed_dirs, catalog.parent])
        if on_note:
            on_note(f"{db_path} is in use by a build: read its publication of "
                    f"{pub.published_at} (build {pub.build_id}) from {catalog}")
        return con, catalog


def unloaded_columns(adapter, schema: str, table: str) -> str:
    """The select list that reads a relation unloaded by `adapter` as the relation: Spark's
    Parquet writer stores a day-time interval as bare int64 microseconds (a year-month one
    as int32 months), made an INTERVAL again here."""
    from runner.jinja.relation import quote_ident
    replaced = []
    for name, kind in adapter.columns(schema, table) if adapter.type == "spark" else []:
        kind = kind.lower()
        if kind.startswith("interval"):
            function = "to_months" if "year" in kind or "month" in kind else \
                "to_microseconds"
            replaced.append(f"{function}({quote_ident(name)}) as {quote_ident(name)}")
    return "*" + (f" replace ({', '.join(replaced)})" if replaced else "")


def copy_tables(adapter, tables: list[tuple[str, str, str | None]],
                con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """Relations of another engine's build (a Spark target's), copied into an in-memory
    DuckDB through Parquet files, for a reader that runs DuckDB SQL over them (`runner
    report --target spark`): each as (schema, table, a predicate in the project's dialect
    or None, so that only the rows the reader needs move). A relation not in the
    engine's catalog is left out: the reader's own checks name it."""
    import shutil
    import tempfile
    from runner.jinja.relation import quote_ident
    con = con or duckdb.connect()
    folder = Path(tempfile.mkdtemp(prefix="runner-read-"))
    try:
        for i, (schema, table, where) in enumerate(tables):
            if adapter.relation_kind(schema, table) is None:
                continue
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            sql = f"select * from {name}" + (f" where {where}" if where else "")
            adapter.unload(adapter.transpile(sql), folder / str(i))
            literal = "'" + str(folder / str(i) / "*.parquet").replace("'", "''") + "'"
            con.execute(f"create schema if not exists {quote_ident(schema)}")
            con.execute(f"create or replace table {name} as select "
                        f"{unloaded_columns(adapter, schema, table)} from "
                        f"read_parquet({literal})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return con
