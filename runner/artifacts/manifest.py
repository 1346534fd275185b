"""target/manifest.json in dbt's manifest v12 shape (what dbt 1.11 writes): the project's
nodes (models, seeds, data tests), sources, macros, docs blocks, and the graph both ways.

Tools that read dbt's artifacts (orchestrators, lineage and docs tools) load it as they
load dbt's; `--state` reads it back to compare a project with a previous run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import __version__

if TYPE_CHECKING:
    from runner.api import Session

DBT_VERSION = "1.11.0"
MANIFEST_SCHEMA = "https://schemas.getdbt.com/dbt/manifest/v12.json"

# dbt's defaults for a model's (and a seed's) config, as a manifest lists them.
_NODE_CONFIG = {
    "enabled": True, "alias": None, "schema": None, "database": None, "tags": [],
    "meta": {}, "group": None, "materialized": "view", "incremental_strategy": None,
    "batch_size": None, "lookback": 1, "begin": None, "persist_docs": {}, "post-hook": [],
    "pre-hook": [], "quoting": {}, "column_types": {}, "full_refresh": None,
    "unique_key": None, "on_schema_change": "ignore", "on_configuration_change": "apply",
    "grants": {}, "packages": [], "docs": {"show": True, "node_color": None},
    "contract": {"enforced": False, "alias_types": True}, "event_time": None,
    "concurrent_batches": None}
_TEST_CONFIG = {
    "enabled": True, "alias": None, "schema": "dbt_test__audit", "database": None,
    "tags": [], "meta": {}, "group": None, "materialized": "test", "severity": "ERROR",
    "store_failures": None, "store_failures_as": None, "where": None, "limit": None,
    "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0"}
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_CALL = re.compile(r"(?<![\w.])(?:(\w+)\.)?(\w+)\s*\(")
_DOCS = re.compile(r"\{%-?\s*docs\s+(\w+)\s*-?%\}(.*?)\{%-?\s*enddocs\s*-?%\}", re.S)


def sha256(text: str | bytes) -> dict[str, str]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return {"name": "sha256", "checksum": hashlib.sha256(data).hexdigest()}


def database_name(db_path: Path) -> str:
    """The catalog name DuckDB gives an attached file: its name without the extension."""
    return Path(db_path).stem


class Ids:
    """dbt's unique_ids of the project's nodes, by the runner's names."""

    def __init__(self, session: "Session"):
        project = session.project
        self.project = project
        self.nodes: dict[str, str] = {}
        for name, node in project.nodes.items():
            self.nodes[name] = f"{node.kind}.{node.package or project.name}.{name}"
        self.tests: dict[str, str] = {}
        for test in session.tests:
            uid = f"test.{project.name}.{test.name}"
            if test.kind == "generic":
                key = json.dumps([test.test_type, test.model, test.column, test.args],
                                 sort_keys=True, default=str)
                uid += "." + hashlib.md5(key.encode()).hexdigest()[:10]
            self.tests[test.name] = uid
        self.sources = {key: f"source.{project.name}.{key[0]}.{key[1]}"
                        for key in project.sources}
        self.unit_tests = {u.name: f"unit_test.{project.name}.{u.model}.{u.name}"
                           for u in getattr(project, "unit_tests", [])}
        self.hooks = {h.name: h.unique_id for h in project.hooks}

    def of(self, kind: str, name: str) -> str:
        if kind == "unit_test":
            return self.unit_tests[name]
        if kind == "operation":
            return self.hooks[name]
        return self.tests[name] if kind == "test" else self.nodes[name]


def _fixture(fixture: Any) -> dict[str, Any]:
    rows = fixture.sql if fixture.format == "sql" else fixture.rows
    return {"format": fixture.format, "rows": rows, "fixture": None}


def unit_tests_of(session: "Session", ids: Ids) -> dict[str, dict[str, Any]]:
    """dbt's `unit_tests` of the manifest (v12's UnitTestDefinition)."""
    project = session.project
    out: dict[str, dict[str, Any]] = {}
    for unit in getattr(project, "unit_tests", []):
        uid = ids.unit_tests[unit.name]
        model = project.nodes.get(unit.model)
        out[uid] = {
            "model": unit.model, "name": unit.name, "resource_type": "unit_test",
            "package_name": project.name, "path": unit.rel_path,
            "original_file_path": unit.rel_path, "unique_id": uid,
            "fqn": [project.name, unit.model, unit.name],
            "given": [{"input": g.input, **_fixture(g)} for g in unit.given],
            "expect": _fixture(unit.expect), "description": unit.description,
            "overrides": unit.overrides or None,
            "depends_on": {"macros": [],
                           "nodes": [ids.nodes[unit.model]] if unit.model in ids.nodes
                           else []},
            "config": {"tags": unit.tags, "meta": {},
                       "enabled": unit.config.get("enabled", True) is not False},
            "checksum": None, "schema": model.schema if model else None,
            "created_at": 0.0, "versions": None, "version": None}
    return out


def _macros(session: "Session") -> dict[str, dict[str, Any]]:
    """Every macro: dbt's built-in ones this runner ships (package dbt), the project's
    and its packages'."""
    from runner.jinja.context import BUILTIN_DIR, GLOBAL_PROJECT, split_macros
    project = session.project
    files = [(GLOBAL_PROJECT, f"macros/{p.name}", p.read_text(encoding="utf-8"))
             for p in sorted(BUILTIN_DIR.glob("*.sql"))]
    files += [(m.package or project.name, m.name, m.text) for m in project.macros]
    out: dict[str, dict[str, Any]] = {}
    for package, path, text in files:
        for name, _line, block in split_macros(text):
            uid = f"macro.{package}.{name}"
            out[uid] = {
                "name": name, "resource_type": "macro", "package_name": package,
                "path": path, "original_file_path": path, "unique_id": uid,
                "macro_sql": block, "depends_on": {"macros": []}, "description": "",
                "meta": {}, "docs": {"show": True, "node_color": None},
                "config": {"meta": {}, "docs": {"show": True, "node_color": None}},
                "patch_path": None, "arguments": [], "created_at": 0.0,
                "supported_languages": None}
    for uid, macro in out.items():
        macro["depends_on"]["macros"] = sorted(
            macro_calls(macro["macro_sql"], out, macro["package_name"]) - {uid})
    return out


def macro_calls(text: str, macros: dict[str, Any], package: str) -> set[str]:
    """The macros a text calls, read from its Jinja blocks as dbt reads them: `name(...)`
    resolves to the package's own macro, then dbt's; `pkg.name(...)` to that package's."""
    found: set[str] = set()
    for block in _JINJA.findall(text):
        for namespace, name in _CALL.findall(block):
            candidates = [f"macro.{namespace}.{name}"] if namespace else \
                [f"macro.{package}.{name}", f"macro.dbt.{name}", f"macro.dbt.test_{name}"]
            found |= next(({c} for c in candidates if c in macros), set())
    return found


def _folders(node_rel: str, bases: list[str]) -> tuple[str, list[str]]:
    """(path inside its resource folder, folders) of a node's file."""
    parts = node_rel.split("/")
    for base in bases:
        base_parts = base.strip("/").split("/")
        if parts[:len(base_parts)] == base_parts:
            inner = parts[len(base_parts):]
            return "/".join(inner), inner[:-1]
    for marker in ("models", "seeds", "tests"):       # an installed package's file
        if marker in parts:
            inner = parts[parts.index(marker) + 1:]
            return "/".join(inner), inner[:-1]
    return parts[-1], []


def _columns(columns: dict) -> dict[str, Any]:
    return {name: {"name": name, "description": col.description or "", "meta": {},
                   "data_type": col.data_type, "constraints": [], "quote": None,
                   "config": {"meta": {}, "tags": []}, "tags": [], "granularity": None,
                   "doc_blocks": []} for name, col in columns.items()}


def _config(defaults: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(defaults))
    for key, value in config.items():
        key = {"post_hook": "post-hook", "pre_hook": "pre-hook"}.get(key, key)
        if key in ("post-hook", "pre-hook"):
            value = [{"sql": v, "transaction": True, "index": None}
                     for v in ([value] if isinstance(value, str) else list(value or []))]
        out[key] = value
    contract = out.get("contract")
    if isinstance(contract, dict):
        out["contract"] = {"enforced": bool(contract.get("enforced", False)),
                           "alias_types": contract.get("alias_types", True)}
    return json.loads(json.dumps(out, default=str))


def build_manifest(session: "Session", db_path: Path, invocation_id: str,
                   compiled: dict[str, Any] | None = None,
                   compiled_tests: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of the session's project; `compiled`: the models' and tests' Compiled,
    where this run compiled them (their compiled_code)."""
    project = session.project
    ids = Ids(session)
    database = database_name(db_path)
    macros = _macros(session)
    compiled, compiled_tests = compiled or {}, compiled_tests or {}
    nodes: dict[str, dict[str, Any]] = {}
    parents: dict[str, list[str]] = {}

    def relation(schema: str, alias: str) -> str:
        return f'"{database}"."{schema}"."{alias}"'

    for name, node in project.nodes.items():
        uid = ids.nodes[name]
        package = node.package or project.name
        bases = project.paths["model-paths" if node.kind == "model" else "seed-paths"]
        inner, folders = _folders(node.rel_path, bases)
        depends = sorted(ids.nodes[r] for r in session.graph.parents.get(name, ()))
        depends += sorted(ids.sources[s] for s in node.sources if s in ids.sources)
        parents[uid] = depends
        text = node.raw_sql if node.kind == "model" else ""
        entry = {
            "database": database, "schema": node.schema, "name": name,
            "resource_type": node.kind, "package_name": package, "path": inner,
            "original_file_path": node.rel_path, "unique_id": uid,
            "fqn": [package, *folders, name], "alias": node.alias,
            "checksum": sha256(node.path.read_bytes() if node.kind == "seed" else text),
            "config": _config({**_NODE_CONFIG, "materialized": node.materialized},
                              node.config),
            "tags": node.tags, "description": node.description or "",
            "columns": _columns(node.columns), "meta": node.config.get("meta") or {},
            "group": None, "docs": {"show": True, "node_color": None},
            "patch_path": f"{package}://{node.yaml_path.relative_to(project.root).as_posix()}"
            if node.yaml_path and node.yaml_path.is_relative_to(project.root) else None,
            "build_path": None, "unrendered_config": {}, "created_at": 0.0,
            "relation_name": None if node.materialized == "ephemeral" else
            relation(node.schema, node.alias),
            "raw_code": text, "doc_blocks": [], "depends_on": {"macros": [], "nodes": []},
        }
        if node.kind == "seed":
            entry["root_path"] = str(project.root)
            entry["depends_on"] = {"macros": []}
        else:
            item = compiled.get(name)
            entry.update({
                "language": "sql",
                "refs": [{"name": r, "package": None, "version": None}
                         for r in sorted(node.refs)],
                "sources": [list(s) for s in sorted(node.sources)], "metrics": [],
                "functions": [],
                "depends_on": {"macros": sorted(macro_calls(text, macros, package)),
                               "nodes": depends},
                "compiled_path": _shown(item.compiled_path, project.root)
                if item is not None and item.compiled_path else None,
                "compiled": item is not None,
                "extra_ctes_injected": item is not None, "extra_ctes": [],
                "contract": {**entry["config"]["contract"], "checksum": None},
                "access": "protected", "constraints": [], "version": None,
                "latest_version": None, "deprecation_date": None, "primary_key": [],
                "time_spine": None})
            if item is not None:
                entry["compiled_code"] = item.sql
        nodes[uid] = entry

    for test in session.tests:
        uid = ids.tests[test.name]
        depends = sorted(ids.nodes[r] for r in test.refs if r in ids.nodes)
        depends += sorted(ids.sources[s] for s in test.sources if s in ids.sources)
        parents[uid] = depends
        text = test.raw_sql if test.kind == "singular" else \
            f"{{{{ test_{test.test_type}(**_dbt_generic_test_kwargs) }}}}"
        rel = test.path.relative_to(project.root).as_posix() \
            if test.path.is_relative_to(project.root) else str(test.path)
        config = {k: v for k, v in test.config.items() if k != "severity"}
        config["severity"] = test.severity.upper()
        entry = {
            "database": database, "schema": "main_dbt_test__audit", "name": test.name,
            "resource_type": "test", "package_name": project.name,
            "path": f"{test.name}.sql", "original_file_path": rel, "unique_id": uid,
            "fqn": [project.name, test.name], "alias": test.name,
            "checksum": sha256(text) if test.kind == "singular" else
            {"name": "none", "checksum": ""},
            "config": _config(_TEST_CONFIG, config), "tags": test.tags,
            "description": "", "columns": {}, "meta": {}, "group": None,
            "docs": {"show": True, "node_color": None}, "patch_path": None,
            "build_path": None, "unrendered_config": {}, "created_at": 0.0,
            "relation_name": None, "raw_code": text, "doc_blocks": [], "language": "sql",
            "refs": [{"name": r, "package": None, "version": None} for r in sorted(test.refs)],
            "sources": [list(s) for s in sorted(test.sources)], "metrics": [],
            "functions": [],
            "depends_on": {"macros": sorted(macro_calls(text, macros, project.name)),
                           "nodes": depends},
            "compiled_path": None, "compiled": test.name in compiled_tests,
            "extra_ctes_injected": True, "extra_ctes": [],
            "contract": {"enforced": False, "alias_types": True, "checksum": None}}
        if test.name in compiled_tests:
            entry["compiled_code"] = compiled_tests[test.name].sql
        if test.kind == "generic":
            entry.update({
                "column_name": test.column, "file_key_name": f"models.{test.model}",
                "attached_node": ids.nodes.get(test.model or ""),
                "test_metadata": {"name": test.test_type, "namespace": None,
                                  "kwargs": json.loads(json.dumps(
                                      {**test.args, "column_name": test.column},
                                      default=str))}})
        nodes[uid] = entry

    from runner.execute.hooks import manifest_nodes       # on-run-start, on-run-end
    nodes.update(manifest_nodes(session, database, macros, macro_calls))
    sources = {}
    for key, table in project.sources.items():
        uid = ids.sources[key]
        rel = table.yaml_path.relative_to(project.root).as_posix() \
            if table.yaml_path.is_relative_to(project.root) else str(table.yaml_path)
        parents.setdefault(uid, [])
        sources[uid] = {
            "database": database, "schema": table.schema, "name": key[1],
            "resource_type": "source", "package_name": project.name, "path": rel,
            "original_file_path": rel, "unique_id": uid,
            "fqn": [project.name, key[0], key[1]], "source_name": key[0],
            "source_description": "", "loader": "", "identifier": table.folder,
            "quoting": {"database": None, "schema": None, "identifier": None,
                        "column": None},
            "loaded_at_field": getattr(table, "loaded_at_field", None),
            "loaded_at_query": None,
            "freshness": getattr(table, "freshness", None) or
            {"warn_after": {"count": None, "period": None},
             "error_after": {"count": None, "period": None}, "filter": None},
            "external": None, "description": table.description or "",
            "columns": _columns(table.columns), "meta": {}, "source_meta": {}, "tags": [],
            "config": {"enabled": True, "event_time": None, "freshness": None,
                       "loaded_at_field": None, "loaded_at_query": None, "meta": {},
                       "tags": []},
            "patch_path": None, "unrendered_config": {},
            "relation_name": relation(table.schema, key[1]), "created_at": 0.0,
            "unrendered_database": None, "unrendered_schema": None, "doc_blocks": []}

    children: dict[str, list[str]] = {uid: [] for uid in parents}
    for uid, ups in parents.items():
        for up in ups:
            children.setdefault(up, []).append(uid)
    now = dt.datetime.now(dt.timezone.utc)
    return {
        "metadata": {
            "dbt_schema_version": MANIFEST_SCHEMA, "dbt_version": DBT_VERSION,
            "generated_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "invocation_id": invocation_id,
            "invocation_started_at": session.started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "env": {"RUNNER_VERSION": __version__},
            "project_name": project.name,
            "project_id": hashlib.md5(project.name.encode()).hexdigest(),
            "user_id": None, "send_anonymous_usage_stats": False, "adapter_type": "duckdb",
            "quoting": {"database": True, "schema": True, "identifier": True,
                        "column": None},
            "run_started_at": session.started.isoformat()},
        "nodes": nodes, "sources": sources, "macros": macros, "docs": _docs(project),
        "exposures": {}, "metrics": {}, "groups": {}, "selectors": {}, "disabled": {},
        "parent_map": {k: sorted(v) for k, v in parents.items()},
        "child_map": {k: sorted(v) for k, v in children.items()},
        "group_map": {}, "saved_queries": {}, "semantic_models": {},
        "unit_tests": unit_tests_of(session, Ids(session)),
        "functions": {}}


def _docs(project) -> dict[str, Any]:
    """The `{% docs name %}` blocks of the .md files beside the models."""
    out = {}
    for base in project.paths["model-paths"]:
        folder = project.root / base
        for path in sorted(folder.rglob("*.md")) if folder.is_dir() else []:
            rel = path.relative_to(project.root).as_posix()
            for name, body in _DOCS.findall(path.read_text(encoding="utf-8")):
                uid = f"doc.{project.name}.{name}"
                out[uid] = {"name": name, "resource_type": "doc",
                            "package_name": project.name,
                            "path": path.relative_to(folder).as_posix(),
                            "original_file_path": rel, "unique_id": uid,
                            "block_contents": body.strip()}
    return out


def write_json(path: Path, data: dict[str, Any], indent: int | None = None) -> None:
    """Write a JSON artifact whole or not at all (compact, as dbt writes its own). The
    temporary file is this process's own: two builds of one project at once each replace
    the artifact whole, neither fails on the other's temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=indent, default=str), encoding="utf-8")
    tmp.replace(path)


def _shown(path: Path, root: Path) -> str:
    """A path as the manifest shows it: from the project folder where it is inside it
    (dbt's), else whole (a --target-path elsewhere)."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
