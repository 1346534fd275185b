"""Opening the DuckDB file: one writer at a time, UTC, external access limited; the
engine adapter (runner.engines.base) over a DuckDB connection."""

from __future__ import annotations

import re
from pathlib import Path

from runner.engines.native import duckdb

from runner.engines.base import Adapter
from runner.errors import DatabaseError, DatabaseInUse, OptionError


def connect(db_path: str | Path, read_only: bool = False,
            allowed_dirs: list[Path] | None = None,
            memory_limit: str | None = None, threads: int | None = None,
            must_exist: bool | None = None) -> duckdb.DuckDBPyConnection:
    """Open the database file. With `allowed_dirs`, SQL may read and write files only
    below those folders (DuckDB's allowed_directories with external access off). A
    missing file is an error when reading (or with `must_exist`), else it is created."""
    path = Path(db_path)
    if read_only if must_exist is None else must_exist:
        if not path.exists():
            raise DatabaseError(f"the database file {path} does not exist.",
                                hint="run 'runner build' first, or pass --db with the "
                                     "right file.")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            holder = re.search(r"held in (.+?) \(PID (\d+)\)", message)
            who = f"process {holder.group(2)} ({holder.group(1)})" if holder else \
                "another process"
            raise DatabaseInUse(f"the database file {path} is in use by {who}; nothing was "
                                "changed.", hint="wait for that build to finish (or close the "
                                "program holding the file), then run again.") from None
        raise DatabaseError(f"cannot open the database file {path}: "
                            f"{message.splitlines()[0]}",
                            hint="check that the path is a DuckDB file and is writable.") \
            from None
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        if memory_limit and isinstance(exc, duckdb.OutOfMemoryException):
            raise DatabaseError(f"--memory-limit {memory_limit} is too low to open the "
                                f"database file {path}: {message}",
                                hint="raise --memory-limit (e.g. 8GB).") from None
        if memory_limit and "memory" in message.lower():
            raise OptionError(f"--memory-limit {memory_limit!r} is not a memory size: "
                              f"{message}", hint="write e.g. --memory-limit 8GB.") from None
        raise DatabaseError(f"cannot open the database file {path}: {message}",
                            hint="check that the file is a DuckDB database of this version.") \
            from None
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    if allowed_dirs is not None:
        restrict(con, allowed_dirs)
    return con


def restrict(con: duckdb.DuckDBPyConnection, allowed_dirs: list[Path]) -> None:
    """From now on this connection's SQL reads and writes files only below these folders."""
    dirs = [str(Path(d).resolve()) + "/" for d in allowed_dirs]
    listed = ", ".join("'" + d.replace("'", "''") + "'" for d in dirs)
    con.execute(f"set allowed_directories = [{listed}]")
    con.execute("set enable_external_access = false")


def has_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """A table or view of that name is in the database."""
    return bool(con.execute("select count(*) from information_schema.tables "
                            "where table_schema = ? and table_name = ?",
                            [schema, name]).fetchone()[0])


class DuckDBAdapter(Adapter):
    """runner.engines.base.Adapter over one DuckDB connection."""

    type = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def execute(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, params) if params else self.con.execute(sql)

    def fetch(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple]]:
        cursor = self.con.execute(sql)
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall() if limit is None else cursor.fetchmany(limit)

    def close(self) -> None:
        self.con.close()

    def relations(self) -> dict[tuple[str, str], str]:
        rows = self.con.execute(
            "select schema_name, table_name, 'table' from duckdb_tables() "
            "where database_name = current_database() union all "
            "select schema_name, view_name, 'view' from duckdb_views() "
            "where not internal and database_name = current_database()").fetchall()
        return {(s, n): kind for s, n, kind in rows}

    def columns(self, schema: str, name: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.con.execute(
            "select column_name, data_type from information_schema.columns where "
            "table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name]).fetchall()]

    @staticmethod
    def quote(identifier: str) -> str:
        return '"' + str(identifier).replace('"', '""') + '"'

    def drop_relation(self, schema: str, name: str, kind: str) -> None:
        self.execute(f"drop {kind} {self.relation_name(schema, name)}")

    def rename_relation(self, schema: str, name: str, new_name: str, kind: str) -> None:
        self.execute(f"alter {kind} {self.relation_name(schema, name)} rename to "
                     f"{self.quote(new_name)}")

    def unload(self, sql: str, folder: Path) -> None:
        folder.mkdir(parents=True)
        literal = "'" + str(folder / "part-0.parquet").replace("'", "''") + "'"
        self.con.execute(f"copy ({sql}) to {literal} (format parquet)")

    def create_table_as_sql(self, schema: str, name: str, sql: str,
                            config: dict | None = None) -> str:
        return f"create or replace table {self.relation_name(schema, name)} as\n{sql}"
