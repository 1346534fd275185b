"""`runner docs generate`: target/catalog.json in dbt's catalog v1 shape (what dbt's docs
generate writes): each built model's, seed's and source's relation as the database holds
it, its type (table or view), its columns and their DuckDB types. It writes the manifest
beside it; tools that read dbt's artifacts (dbt-colibri, docs sites) take both."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

CATALOG_SCHEMA = "https://schemas.getdbt.com/dbt/catalog/v1.json"
_STATS = {"has_stats": {"id": "has_stats", "label": "Has Stats?", "value": False,
                        "include": False,
                        "description": "Indicates whether there are statistics for this "
                                       "table"}}


def generate_catalog(project_dir: str | Path = ".", db_path: str | Path | None = None,
                     vars: dict | None = None) -> tuple[Path, int, list[str]]:
    """(the catalog written, relations found, the nodes whose relation is not built)."""
    from runner.artifacts.manifest import write_json
    from runner.artifacts.run_results import _stamp
    from runner.engines.duckdb import connect
    from runner.session import Session
    session = Session(project_dir, vars, which="generate")
    db = Path(db_path).resolve() if db_path else session.db_path
    session.db_path = db
    from runner.jinja.compile import compile_models
    names = [n for n in session.select(None, None) if n in session.project.models]
    compiled = compile_models(session.project, session.renderer, names, session.target)
    manifest = session.write_artifacts(db, compiled)      # compiled, as dbt's docs generate
    con = connect(db, read_only=True)
    try:
        tables = {(s, t): (kind, comment) for s, t, kind, comment in con.execute(
            "select schema_name, table_name, 'BASE TABLE', comment from duckdb_tables() "
            "where database_name = current_database() union all "
            "select schema_name, view_name, 'VIEW', comment from duckdb_views() "
            "where database_name = current_database() and not internal").fetchall()}
        columns: dict[tuple[str, str], dict[str, Any]] = {}
        for s, t, name, kind, index, comment in con.execute(
                "select schema_name, table_name, column_name, data_type, column_index, "
                "comment from duckdb_columns() where database_name = current_database() "
                "order by schema_name, table_name, column_index").fetchall():
            columns.setdefault((s, t), {})[name] = {"type": kind, "index": index,
                                                    "name": name, "comment": comment}
    finally:
        con.close()
    missing: list[str] = []

    def entry(node: dict[str, Any], identifier: str) -> dict[str, Any] | None:
        key = (node["schema"], identifier)
        if key not in tables:
            missing.append(node["unique_id"])
            return None
        kind, comment = tables[key]
        return {"metadata": {"type": kind, "schema": key[0], "name": key[1],
                             "database": node["database"], "comment": comment,
                             "owner": None},
                "columns": columns.get(key, {}), "stats": _STATS,
                "unique_id": node["unique_id"]}
    nodes = {uid: e for uid, n in manifest["nodes"].items()
             if n["resource_type"] in ("model", "seed") and n.get("relation_name")
             and (e := entry(n, n["alias"])) is not None}
    sources = {uid: e for uid, n in manifest["sources"].items()
               if (e := entry(n, n["name"])) is not None}
    now = dt.datetime.now(dt.timezone.utc)
    out = session.target / "catalog.json"
    write_json(out, {
        "metadata": {"dbt_schema_version": CATALOG_SCHEMA, "dbt_version": "1.11.0",
                     "generated_at": _stamp(now), "invocation_id": session.invocation_id,
                     "invocation_started_at": _stamp(session.started), "env": {}},
        "nodes": nodes, "sources": sources, "errors": None})
    return out, len(nodes) + len(sources), missing
