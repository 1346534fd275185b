"""`runner docs generate`: the project as the runner loaded and compiled it, the database's
catalog, the column-level lineage and the last run's test results, gathered into one
document for the site (runner/docs/site.py) and target/catalog.json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from runner.docs.catalog import DatabaseInfo, catalog_json, read_database, source_id
from runner.docs.lineage import LineageError, analyse
from runner.project.nodes import Project

CACHE_FILE = "lineage_cache.json"
GLOSSARY_VAR = "docs_column_glossary"


@dataclass
class Generated:
    target: Path
    index: Path
    catalog: Path
    nodes: int
    columns: int
    analysed: int                  # models whose lineage was computed now
    cached: int                    # models whose lineage came from the cache
    seconds: float
    notes: list[str] = field(default_factory=list)


def node_id(project: Project, name: str) -> str:
    node = project.node(name)
    return f"{node.kind}.{project.name}.{name}"


def generate(project_dir: str | Path = ".", db_path: str | Path | None = None,
             vars: dict | None = None, on_note: Callable[[str], None] | None = None,
             on_warning: Callable[[str], None] | None = None) -> Generated:
    from runner.api import Session, default_db_path
    from runner.docs.site import write_site
    from runner.engines.duckdb import connect
    from runner.jinja.columns import relation_columns
    from runner.jinja.compile import compile_models
    started = time.perf_counter()
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        if on_note:
            on_note(text)

    session = Session(project_dir, vars, which="compile", on_warning=on_warning)
    project = session.project
    order = session.graph.topological_order()
    compiled = compile_models(project, session.renderer,
                              [n for n in order if n in project.models], session.target)
    session.flush_warnings()
    db = Path(db_path).resolve() if db_path else default_db_path(project)
    session.write_artifacts(db, compiled)      # the manifest, compiled, as dbt's docs generate
    info = DatabaseInfo()
    glossary: dict[tuple[str, str], dict[str, Any]] = {}
    if db.exists():
        # the glossary query is the project's SQL: it reads files only below the project
        # and the database's folder, as a model does
        con = connect(db, read_only=True, allowed_dirs=[project.root, db.parent])
        try:
            info = read_database(con, project, None)
            info.path = db
            glossary = _glossary(project, session.renderer, vars, con)
        finally:
            con.close()
    else:
        note(f"no database at {db}: column types come from the compiled SQL, and there are "
             f"no row counts or raw files (run 'runner build' first for them)")
        glossary = _glossary(project, session.renderer, vars, None)
    columns = relation_columns(project, compiled, info.columns)

    ids = {name: node_id(project, name) for name in project.nodes}
    by_relation = {f"{n.schema}.{n.alias}": ids[name] for name, n in project.nodes.items()
                   if not (n.kind == "model" and n.materialized == "ephemeral")}
    by_relation.update({f"{t.schema}.{t.name}": source_id(project, t)
                        for t in project.sources.values()})

    lineage, analysed, cached = _lineage(project, compiled, columns, session.target, note)
    edges = {ids[name]: {col: [[by_relation.get(rel, rel), c, k] for rel, c, k in items]
                         for col, items in cols.items()}
             for name, cols in lineage.items()}

    from runner.docs.document import build_document
    generated_at = dt.datetime.now(dt.timezone.utc)
    document = build_document(session, compiled, columns, info, ids, edges, glossary,
                              _run_results(session.target), generated_at)
    catalog = catalog_json(project, info, ids, generated_at)
    index = write_site(session.target, document)
    catalog_path = session.target / "catalog.json"
    catalog_path.write_text(json.dumps(catalog, indent=2, default=str))
    return Generated(session.target, index, catalog_path, len(document["nodes"]),
                     sum(len(n["columns"]) for n in document["nodes"].values()),
                     analysed, cached, time.perf_counter() - started, notes)


def _reads(project: Project, name: str) -> set[tuple[str, str]]:
    """The relations a model's compiled SQL reads, through its inlined ephemeral models."""
    from runner.jinja.columns import inlined_reads
    parents, sources = inlined_reads(project, name)
    return {(project.sources[k].schema, project.sources[k].name) for k in sources} | \
        {(project.nodes[r].schema, project.nodes[r].alias) for r in parents}


def _source_parts(project: Project, schema: dict) -> dict[tuple[str, str], tuple[str, str]]:
    """The source_parts() views of the raw sources among `schema`'s relations, each to
    its source: a column read from a part is the source's column."""
    from runner.jinja.relation import SOURCE_PARTS, part_view_name
    return {(t.schema, part_view_name(t.name, part)): (t.schema, t.name)
            for t in project.sources.values() if (t.schema, t.name) in schema
            and not t.relation and not t.external for part in SOURCE_PARTS}


def _as_source(relation: str, parts: dict[tuple[str, str], tuple[str, str]]) -> str:
    schema, _, name = relation.partition(".")
    return ".".join(parts.get((schema, name), (schema, name)))


def _lineage(project: Project, compiled: dict, columns: dict, target: Path,
             note: Callable[[str], None]) -> tuple[dict, int, int]:
    """Each model's lineage, from the cache where its compiled SQL and the columns of
    what it reads are unchanged, else analysed now (and cached)."""
    cache_path = target / CACHE_FILE
    try:
        cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    except (OSError, ValueError):
        note(f"{cache_path} was unreadable: every model's lineage is analysed again")
        cache = {}
    fresh: dict[str, dict] = {}
    out: dict[str, dict] = {}
    analysed = hits = 0
    for name, item in compiled.items():
        if project.models[name].materialized == "ephemeral":
            continue
        schema = {key: [c for c, _ in columns[key]]
                  for key in sorted(_reads(project, name)) if key in columns}
        parts = _source_parts(project, schema)
        schema.update({view: schema[key] for view, key in parts.items()})
        digest = hashlib.sha256(json.dumps(
            [item.sql, sorted([list(k), v] for k, v in schema.items())]).encode()).hexdigest()
        entry = cache.get(name)
        if entry and entry.get("hash") == digest:
            hits += 1
        else:
            analysed += 1
            try:
                result, partial = analyse(item.sql, schema)
                result = {col: [[_as_source(edge[0], parts), *edge[1:]] for edge in edges]
                          for col, edges in result.items()}
                entry = {"hash": digest, "columns": result}
                if partial:
                    entry["partial"] = partial
            except LineageError as exc:
                entry = {"hash": digest, "columns": {}, "error": str(exc)}
        if entry.get("error"):
            note(f"model {name}: no column lineage, sqlglot could not analyse its compiled "
                 f"SQL ({entry['error']})")
        elif entry.get("partial"):
            note(f"model {name}: column lineage in part: sqlglot could not place every "
                 f"column ({entry['partial'].removeprefix('partial: ')}); a column of a "
                 f"SELECT over several relations it could not place is left out")
        fresh[name] = entry
        out[name] = {col: [tuple(e) for e in edges] for col, edges in entry["columns"].items()}
    target.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(fresh, separators=(",", ":")))
    return out, analysed, hits


def _glossary(project: Project, renderer, vars: dict | None, con) -> dict:
    """The var `docs_column_glossary`: a query, rendered like a model, whose rows are
    (relation `schema.table`, column name, any further fields to show on the column's
    page). It runs on the database, or where there is none on the project's seeds."""
    import duckdb
    from runner.errors import ProjectError
    text = {**project.vars, **(vars or {})}.get(GLOSSARY_VAR)
    if not text:
        return {}
    sql = renderer.render_string(str(text), GLOSSARY_VAR).sql
    own = con is None
    if own:
        con = duckdb.connect()
        from runner.jinja.relation import quote_ident, relation_name
        for seed in project.seeds.values():
            con.execute(f"create schema if not exists {quote_ident(seed.schema)}")
            con.execute(f"create table {relation_name(seed.schema, seed.alias)} as "
                        f"select * from read_csv(?, header = true)", [str(seed.path)])
        from runner.engines.duckdb import restrict
        restrict(con, [project.root])
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise ProjectError(f"the var {GLOSSARY_VAR} in dbt_project.yml does not run: "
                           f"{str(exc).splitlines()[0]}",
                           path="dbt_project.yml", line=project.var_lines.get(GLOSSARY_VAR),
                           hint="it must be a query whose first two columns are the "
                                "relation (schema.table) and the column's name.")
    finally:
        if own:
            con.close()
    if len(names) < 2:
        raise ProjectError(f"the var {GLOSSARY_VAR} returns {len(names)} column(s); it needs "
                           "the relation (schema.table) and the column's name first.",
                           path="dbt_project.yml", line=project.var_lines.get(GLOSSARY_VAR))
    return {(str(r[0]), str(r[1])): {n: v for n, v in zip(names[2:], r[2:])} for r in rows}


def _run_results(target: Path) -> dict[str, dict]:
    """The last run's results by kind and name: the runner's own record of it
    (run_results.json is dbt's shape, by unique_id)."""
    path = target / "runner_results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for item in data.get("results", []):
        out[(item.get("kind"), item.get("name"))] = {
            "status": item.get("status"), "message": item.get("message"),
            "failures": item.get("failures"), "rows": item.get("rows"),
            "seconds": item.get("seconds"), "at": data.get("started_at")}
    return {f"{k[0]}:{k[1]}": v for k, v in out.items()}
