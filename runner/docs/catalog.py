"""What the database knows of the project's relations: columns and types, comments, row
counts, the raw files each source read; and `target/catalog.json` in dbt's schema
(catalog v1: metadata, nodes and sources, each with its columns and stats)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from runner.project.nodes import Project, SourceTable

CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
Columns = list[tuple[str, str]]


@dataclass
class DatabaseInfo:
    """What was read from the database file (empty when there is none yet)."""
    path: Path | None = None
    columns: dict[tuple[str, str], Columns] = field(default_factory=dict)
    comments: dict[tuple[str, str], str] = field(default_factory=dict)
    column_comments: dict[tuple[str, str, str], str] = field(default_factory=dict)
    kinds: dict[tuple[str, str], str] = field(default_factory=dict)    # BASE TABLE | VIEW
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    bytes: dict[tuple[str, str], int] = field(default_factory=dict)
    raw_files: dict[str, list[dict]] = field(default_factory=dict)   # folder -> files


def read_database(con: duckdb.DuckDBPyConnection | None, project: Project,
                  raw_dir: Path | None) -> DatabaseInfo:
    info = DatabaseInfo()
    if con is not None:
        from runner.jinja.columns import database_columns
        info.columns = database_columns(con)
        for schema, name, kind in con.execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_catalog = current_database()").fetchall():
            info.kinds[(schema, name)] = kind
        for schema, name, comment, rows in con.execute(
                "select schema_name, table_name, comment, estimated_size from duckdb_tables() "
                "where database_name = current_database()").fetchall():
            info.comments[(schema, name)] = comment or ""
            info.rows[(schema, name)] = int(rows or 0)
        for schema, name, comment in con.execute(
                "select schema_name, view_name, comment from duckdb_views() "
                "where database_name = current_database() and not internal").fetchall():
            info.comments[(schema, name)] = comment or ""
        for schema, name, column, comment in con.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns() "
                "where database_name = current_database() and comment is not null").fetchall():
            info.column_comments[(schema, name, column)] = comment
        info.bytes = _table_bytes(con)
        info.raw_files = _raw_files(con, project, raw_dir)
    return info


def _table_bytes(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """The bytes of the blocks each table's columns use (DuckDB's storage_info)."""
    out: dict[tuple[str, str], int] = {}
    block = con.execute("select block_size from pragma_database_size() "
                        "where database_name = current_database()").fetchone()
    if not block or not block[0]:
        return out
    tables = con.execute("select schema_name, table_name from duckdb_tables() "
                         "where database_name = current_database() and not temporary"
                         ).fetchall()
    for schema, name in tables:
        ident = f'"{schema}"."{name}"'.replace("'", "''")
        try:
            blocks = con.execute(
                "select count(distinct block_id) from pragma_storage_info(?) "
                "where persistent and block_id >= 0", [ident]).fetchone()[0]
        except duckdb.Error:
            continue
        out[(schema, name)] = int(blocks or 0) * int(block[0])
    return out


def _raw_files(con: duckdb.DuckDBPyConnection, project: Project,
               raw_dir: Path | None) -> dict[str, list[dict]]:
    """The raw files each source folder holds, as the runner's file check recorded them."""
    from runner.execute.sources import CHECKS_SCHEMA, CHECKS_TABLE
    if not con.execute("select count(*) from information_schema.tables where "
                       "table_schema = ? and table_name = ?",
                       [CHECKS_SCHEMA, CHECKS_TABLE]).fetchone()[0]:
        return {}
    out: dict[str, list[dict]] = {}
    folders = {t.folder for t in project.sources.values()}
    for path, size, rows, checked in con.execute(
            f'select path, size_bytes, row_count, checked_at from "{CHECKS_SCHEMA}".'
            f'"{CHECKS_TABLE}" order by path').fetchall():
        parts = Path(path).parts
        folder = next((p for p in reversed(parts[:-1]) if p in folders), None)
        if folder is None:
            continue
        if raw_dir is not None and not str(path).startswith(str(raw_dir)):
            continue
        out.setdefault(folder, []).append({
            "path": path, "size_bytes": size, "rows": rows,
            "checked_at": checked.isoformat() if checked else None})
    return out


def _stats(rows: int | None, size: int | None) -> dict:
    stats: dict = {}
    if rows is not None:
        stats["row_count"] = {"id": "row_count", "label": "Row count", "value": rows,
                              "include": True,
                              "description": "DuckDB's estimate of the table's rows"}
    if size is not None:
        stats["bytes"] = {"id": "bytes", "label": "Approximate size", "value": size,
                          "include": True,
                          "description": "The bytes of the storage blocks the table uses"}
    stats["has_stats"] = {"id": "has_stats", "label": "Has Stats?", "value": bool(stats),
                          "include": False,
                          "description": "Indicates whether there are statistics for this "
                                         "table"}
    return stats


def catalog_entry(unique_id: str, schema: str, name: str, columns: Columns,
                  info: DatabaseInfo, database: str) -> dict:
    key = (schema, name)
    kind = info.kinds.get(key)
    return {
        "metadata": {"type": kind or "VIEW",
                     "schema": schema, "name": name, "database": database,
                     "comment": info.comments.get(key) or None, "owner": None},
        "columns": {c: {"type": t, "index": i + 1, "name": c,
                        "comment": info.column_comments.get((schema, name, c))}
                    for i, (c, t) in enumerate(columns)},
        "stats": _stats(info.rows.get(key), info.bytes.get(key)),
        "unique_id": unique_id,
    }


def source_id(project: Project, table: SourceTable) -> str:
    return f"source.{project.name}.{table.source}.{table.name}"


def catalog_json(project: Project, info: DatabaseInfo, node_ids: dict[str, str],
                 generated_at: dt.datetime) -> dict:
    """dbt's catalog.json (v1) of the relations the database holds."""
    from runner import __version__
    database = info.path.stem if info.path else project.name
    nodes, sources = {}, {}
    for name, node in project.nodes.items():
        key = (node.schema, node.alias)
        if key in info.columns:
            uid = node_ids[name]
            nodes[uid] = catalog_entry(uid, *key, info.columns[key], info, database)
    for table in project.sources.values():
        key = (table.schema, table.name)
        if key in info.columns:
            uid = source_id(project, table)
            sources[uid] = catalog_entry(uid, *key, info.columns[key], info, database)
    return {
        "metadata": {"dbt_schema_version": CATALOG_SCHEMA,
                     "dbt_version": f"runner {__version__}",
                     "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
                     "invocation_id": str(uuid.uuid4()), "env": {}},
        "nodes": nodes, "sources": sources, "errors": None,
    }
