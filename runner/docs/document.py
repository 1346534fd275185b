"""The site's one document: every model, seed, source, data test and unit test with what
the site shows of it, the column-level lineage edges, and the search index's text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from runner.docs.catalog import DatabaseInfo, source_id

CONFIG_KEYS = ("materialized", "schema", "alias", "tags", "unique_key",
               "incremental_strategy", "enabled")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _columns(declared: dict, output: list[tuple[str, str]] | None, tests: dict,
             relation: str, glossary: dict, comments: dict) -> list[dict]:
    out = []
    seen = set()
    for index, (name, kind) in enumerate(output or []):
        column = declared.get(name) or next(
            (c for n, c in declared.items() if n.lower() == name.lower()), None)
        seen.add(column.name if column else name)
        schema, _, table = relation.partition(".")
        out.append({"name": name, "type": kind, "index": index + 1,
                    "description": (column.description if column else "") or
                    comments.get((schema, table, name)) or "",
                    "tests": tests.get(name.lower(), []),
                    "glossary": _plain(glossary.get((relation, name)))})
    for name, column in declared.items():
        if name not in seen:
            out.append({"name": name, "type": column.data_type or "", "index": None,
                        "description": column.description or "",
                        "tests": tests.get(name.lower(), []), "missing": True,
                        "glossary": _plain(glossary.get((relation, name)))})
    return out


def build_document(session, compiled: dict, columns: dict, info: DatabaseInfo,
                   ids: dict[str, str], edges: dict, glossary: dict, results: dict,
                   generated_at: dt.datetime) -> dict:
    project = session.project
    graph = session.graph
    # descriptions come with their doc() blocks rendered, as the project loaded them
    nodes: dict[str, dict] = {}
    tests: dict[str, dict] = {}
    column_tests: dict[str, dict[str, list[str]]] = {}
    for test in session.tests:
        tid = f"test.{project.name}.{test.name}"
        attached = [ids[r] for r in sorted(test.refs) if r in ids]
        attached += [source_id(project, project.sources[k]) for k in sorted(test.sources)
                     if k in project.sources]
        tests[tid] = {
            "id": tid, "name": test.name, "kind": test.kind, "type": test.test_type or
            "singular", "model": ids.get(test.model or ""), "column": test.column,
            "args": _plain(test.args), "severity": test.severity, "nodes": attached,
            "path": _rel(project, test.path),
            "sql": session.test_sql.get(test.name, ""),
            "result": results.get(f"test:{test.name}")}
        if test.model in ids:
            key = (test.column or "").lower()
            column_tests.setdefault(ids[test.model], {}).setdefault(key, []).append(tid)
    units = _unit_tests(project, ids, results)
    children: dict[str, set[str]] = {}
    for name in project.nodes:
        for parent in graph.parents.get(name, set()):
            children.setdefault(ids[parent], set()).add(ids[name])
    for key, table in project.sources.items():
        sid = source_id(project, table)
        relation = f"{table.schema}.{table.name}"
        files = info.raw_files.get(table.folder, [])
        nodes[sid] = {
            "id": sid, "kind": "source", "name": f"{table.source}.{table.name}",
            "relation": relation, "description": table.description,
            "path": _rel(project, table.yaml_path), "folder": table.folder,
            "raw_folders": sorted({str(_parent(f["path"])) for f in files}),
            "files": files, "required": table.required,
            "columns": _columns(table.columns, columns.get((table.schema, table.name)),
                                {}, relation, glossary, info.column_comments),
            "parents": [], "stats": _stats(info, table.schema, table.name),
            "config": {"schema": table.schema}, "tests": []}
        for name, node in project.models.items():
            if key in node.sources:
                children.setdefault(sid, set()).add(ids[name])
    for name, node in project.nodes.items():
        nid = ids[name]
        relation = f"{node.schema}.{node.alias}"
        parents = sorted(ids[p] for p in graph.parents.get(name, set()) if p in ids)
        parents += sorted(source_id(project, project.sources[k]) for k in node.sources
                          if k in project.sources)
        item = compiled.get(name)
        nodes[nid] = {
            "id": nid, "kind": node.kind, "name": name, "relation": relation,
            "description": node.description, "path": node.rel_path,
            "package": node.package,
            "config": _plain({k: node.config[k] for k in CONFIG_KEYS if k in node.config}
                             | {"materialized": node.materialized, "schema": node.schema,
                                "tags": node.tags}),
            "raw_sql": node.raw_sql if node.kind == "model" else "",
            "compiled_sql": item.sql if item else "",
            "columns": _columns(node.columns, columns.get((node.schema, node.alias)),
                                column_tests.get(nid, {}), relation, glossary,
                                info.column_comments),
            "parents": parents, "stats": _stats(info, node.schema, node.alias),
            "result": results.get(f"{node.kind}:{name}"),
            "tests": [t for t, v in tests.items() if nid in v["nodes"]],
            "unit_tests": [u for u, v in units.items() if v["model"] == nid]}
    for nid, node in nodes.items():
        node["children"] = sorted(children.get(nid, set()))
    return {"project": project.name, "generated_at": generated_at.isoformat(),
            "database": str(info.path) if info.path else None,
            "nodes": nodes, "tests": tests, "unit_tests": units, "lineage": edges}


def _unit_tests(project, ids: dict[str, str], results: dict) -> dict[str, dict]:
    """dbt's unit tests by the manifest's id (unit_test.<project>.<model>.<name>): what
    each gives its model, and the last run's result of it."""
    out = {}
    for unit in getattr(project, "unit_tests", []):
        uid = f"unit_test.{project.name}.{unit.model}.{unit.name}"
        out[uid] = {
            "id": uid, "name": unit.name, "model": ids.get(unit.model),
            "description": unit.description, "path": unit.rel_path, "tags": unit.tags,
            "given": [{"input": g.input, "format": g.format,
                       "rows": len(g.rows) if g.rows is not None else None}
                      for g in unit.given],
            "result": results.get(f"unit_test:{unit.name}")}
    return out


def _stats(info: DatabaseInfo, schema: str, name: str) -> dict:
    key = (schema, name)
    out: dict[str, Any] = {}
    if key in info.kinds:
        out["type"] = info.kinds[key]
    if key in info.rows:
        out["rows"] = info.rows[key]
    if key in info.bytes:
        out["bytes"] = info.bytes[key]
    return out


def _parent(path: str) -> str:
    from pathlib import PurePath
    return str(PurePath(path).parent)


def _rel(project, path) -> str:
    if path is None:
        return ""
    try:
        return path.relative_to(project.root).as_posix()
    except ValueError:
        return str(path)
