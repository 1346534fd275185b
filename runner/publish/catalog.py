"""The catalog file of a publication: a small DuckDB database whose views name the exact
Parquet files of one version, and whose `publication` schema records what it holds.

It is written under a temporary name beside its place, closed, then renamed over the
previous one: a reader that opens the path gets the previous publication or the new one,
never a mix, and a reader that has it open keeps the version it opened (the renamed-over
file lives on until it is closed). It is written with an older storage format
(STORAGE_VERSION, below) so that DuckDB clients from 1.0 on open it."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from runner.engines.native import duckdb

from runner.jinja.relation import quote_ident, relation_name, sql_literal

# The storage format DuckDB 1.0 reads; DuckDB 2.0's default (version 69) opens only in 2.x.
STORAGE_VERSION = "v1.0.0"
META = "publication"


@dataclass
class PublishedFile:
    """One Parquet file of a table: in partition `partition` (None: unpartitioned)."""
    path: str
    partition: str | None
    rows: int
    bytes: int
    signature: str          # what the unit held: see partitions.partition_states
    version: str            # the publication that wrote it
    sub: str | None = None  # the file_by value of its rows (a table with file_by)
    # column -> [smallest, largest] (text) of its rows, for the columns the unit is
    # computed from (see changes.py); None: not known
    bounds: dict[str, list[str]] | None = None


@dataclass
class PublishedTable:
    relation: str           # schema.table
    partition_by: str | None
    columns: str            # names and types, to notice a change of the table's shape
    partition_type: str = "VARCHAR"
    # INTERVAL columns, written as BIGINT microseconds: Spark, Trino and Polars read no
    # Parquet INTERVAL. The views turn them back into intervals.
    intervals: list[str] = field(default_factory=list)
    files: list[PublishedFile] = field(default_factory=list)
    file_by: str | None = None      # the SQL of the files' unit inside a partition
    built_at: str | None = None     # the largest `_built_at` published (changes.py)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


@dataclass
class Publication:
    version: str
    build_id: str
    report_time: str
    published_at: str
    database: str
    tables: dict[str, PublishedTable] = field(default_factory=dict)
    retired: list[tuple[str, str]] = field(default_factory=list)   # (path, retired_at)
    raw_files: list[tuple[str, str, int | None, str | None]] = field(default_factory=list)


def state_path(catalog: Path) -> Path:
    """The publisher's own record of the current publication, beside the catalog: the
    catalog may be held open (even read-write) by any reader, this file by none."""
    return catalog.with_name(f".{catalog.name}.state.json")


def read_publication(catalog: Path) -> Publication | None:
    """The current publication, or None when there is none (or its record is unreadable:
    a publish then rewrites every table)."""
    try:
        data = json.loads(state_path(catalog).read_text(encoding="utf-8"))
        tables = {name: PublishedTable(**{**t, "files": [PublishedFile(**f)
                                                         for f in t["files"]]})
                  for name, t in data.pop("tables").items()}
        pub = Publication(**data, tables=tables)
        pub.retired = [tuple(r) for r in pub.retired]
        pub.raw_files = [tuple(r) for r in pub.raw_files]
        return pub
    except (OSError, ValueError, TypeError, KeyError):
        return None


def write_state(catalog: Path, pub: Publication) -> None:
    path = state_path(catalog)
    tmp = path.with_name(path.name + ".tmp")
    # the dataclasses' own fields as they are (no deep copy: asdict cost a publish of
    # 287 files 0.15 s of CPU)
    tmp.write_text(json.dumps(pub, default=vars), encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _view_sql(table: PublishedTable) -> str:
    listed = "[" + ", ".join(sql_literal(f.path) for f in table.files) + "]"
    star = "*"
    if table.intervals:
        star += " replace (" + ", ".join(f"to_microseconds({quote_ident(c)}) as "
                                         f"{quote_ident(c)}" for c in table.intervals) + ")"
    if table.partition_by is None:
        return f"select {star} from read_parquet({listed})"
    key = table.partition_by
    if table.rows == 0:         # no rows: one empty file, outside the partition folders
        return (f"select {star}, cast(null as {table.partition_type}) as "
                f"{quote_ident(key)} from read_parquet({listed})")
    return (f"select {star} from read_parquet({listed}, hive_partitioning = true, "
            f"hive_types = {{{sql_literal(key)}: {sql_literal(table.partition_type)}}})")


def write_catalog(path: Path, pub: Publication) -> None:
    """Write the catalog of `pub` beside `path` and rename it into place."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach {sql_literal(str(tmp))} as pub "
                    f"(storage_version {sql_literal(STORAGE_VERSION)})")
        schemas = {r.split(".", 1)[0] for r in pub.tables} | {META}
        for schema in sorted(schemas - {"main"}):
            con.execute(f"create schema pub.{quote_ident(schema)}")
        for relation, table in sorted(pub.tables.items()):
            schema, name = relation.split(".", 1)
            con.execute(f"create view pub.{relation_name(schema, name)} as {_view_sql(table)}")
        con.execute(f"create table pub.{META}.version as select ?::varchar as version, "
                    "?::varchar as build_id, ?::varchar as report_time, "
                    "?::timestamptz as published_at, ?::varchar as database, "
                    "?::varchar as storage_version",
                    [pub.version, pub.build_id, pub.report_time, pub.published_at,
                     pub.database, STORAGE_VERSION])
        con.execute(f"create table pub.{META}.tables (relation varchar, partition_by varchar, "
                    "partition_type varchar, rows bigint, files integer, bytes bigint, "
                    "columns varchar)")
        _insert(con, "tables", [[t.relation, t.partition_by, t.partition_type, t.rows,
                                 len(t.files), sum(f.bytes for f in t.files), t.columns]
                                for t in pub.tables.values()], 7)
        con.execute(f"create table pub.{META}.files (relation varchar, path varchar, "
                    "partition varchar, rows bigint, bytes bigint, signature varchar, "
                    "version varchar)")
        files = [[t.relation, f.path, f.partition, f.rows, f.bytes, f.signature, f.version]
                 for t in pub.tables.values() for f in t.files]
        _insert(con, "files", files, 7)
        con.execute(f"create table pub.{META}.retired (path varchar, retired_at timestamptz)")
        _insert(con, "retired", [list(r) for r in pub.retired], 2)
        con.execute(f"create table pub.{META}.raw_files (source varchar, path varchar, "
                    "size_bytes bigint, modified_at varchar)")
        _insert(con, "raw_files", [list(r) for r in pub.raw_files], 4)
        con.execute("detach pub")
    except BaseException:
        con.close()
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    con.close()
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.chmod(0o444)            # for readers: open it read-only (duckdb -readonly)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _insert(con, table: str, rows: list[list], width: int) -> None:
    """Rows as one statement of column lists (executemany costs a statement per row: a
    second for the 1,500 files of a table published in files per day; a landing zone's
    raw files are as many)."""
    if rows:
        columns = [list(c) for c in zip(*rows)]
        con.execute(f"insert into pub.{META}.{table} select " +
                    ", ".join(f"unnest(${i + 1})" for i in range(width)), columns)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
