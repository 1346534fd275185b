"""The library entry points: what the CLI calls, and what tests and scripts may call.

    from runner.api import build, compile_sql
    result = build("path/to/project", raw_dir="data/raw", db_path="x.duckdb",
                   vars={"report_time": "2024-10-01T00:00:00Z"})
    assert result.ok, result.summary()

Each command loads the project and renders it (runner.session.Session), builds the
graph and selects; `execute` then runs the pipeline of an engine: DuckDB's in
runner.execute.duckdb.run, Spark's in runner.execute.spark.run.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Callable

from runner.artifacts.run_results import RunResult
from runner.engines.profiles import Target
from runner.errors import RunnerError
from runner.project.loader import load_project
from runner.session import Session, default_db_path

__all__ = ["Session", "default_db_path", "execute", "build", "vacuum", "publish",
           "compile_project", "compile_sql", "list_nodes", "resolve_relation"]

def execute(command: str, project_dir: str | Path = ".", raw_dir: str | Path | None = None,
            db_path: str | Path | None = None, vars: dict | None = None,
            select: list[str] | None = None, exclude: list[str] | None = None,
            full_refresh: bool = False, fail_fast: bool = False,
            on_result: Callable | None = None, on_note: Callable | None = None,
            memory_limit: str | None = None, threads: int | None = None,
            on_warning: Callable[[str], None] | None = None,
            target_path: str | Path | None = None, empty: bool = False,
            state: str | Path | None = None, defer: bool = False,
            target: "Target | None" = None, resource_types: list[str] | None = None,
            exclude_resource_types: list[str] | None = None) -> RunResult:
    """build | run | seed | test: compile, check, then run the selected nodes in order.

    `empty`: every model built with zero rows (refs and sources read none); `state`: a
    previous run's target/ for state:/result: selectors; `defer`: unselected parents
    missing from this database are read from the state's database. `target`:
    runner.engines.profiles.Target (--target): DuckDB's runs runner.execute.duckdb.run, Spark's
    runner.execute.spark.run. `resource_types` / `exclude_resource_types`: dbt's
    --resource-type / --exclude-resource-type (runner.graph.resource_types)."""
    from runner.graph.resource_types import resolve, words
    resolve(command, resource_types, exclude_resource_types)    # checked before loading
    types = {"resource_types": words(resource_types) or None,
             "exclude_resource_types": words(exclude_resource_types) or None}
    if target is not None and target.type == "spark":
        from runner.execute.spark.run import execute_on_spark
        return execute_on_spark(command, target, project_dir, raw_dir, vars, select, exclude,
                                full_refresh, fail_fast, on_result, on_note, on_warning,
                                target_path, db_path=db_path, empty=empty, state=state,
                                defer=defer, memory_limit=memory_limit, threads=threads,
                                **types)
    if target is not None and target.path and db_path is None:
        db_path = Path(project_dir) / target.path     # from the project, if relative
    from runner.execute.duckdb.run import execute_duckdb
    return execute_duckdb(command, project_dir, raw_dir, db_path, vars, select, exclude,
                          full_refresh, fail_fast, on_result, on_note, memory_limit,
                          threads, on_warning, target_path, empty, state, defer, **types)


def build(project_dir: str | Path = ".", **kwargs: Any) -> RunResult:
    return execute("build", project_dir, **kwargs)


def vacuum(project_dir: str | Path = ".", db_path: str | Path | None = None,
           memory_limit: str | None = None) -> tuple[int, int, float]:
    """Checkpoint the database with DuckDB's vacuum: adjacent row groups that deletes
    left partly empty are merged and their blocks freed. Incremental builds skip it (see
    execute); run it now and then, e.g. nightly. Returns the used blocks before and after
    and the seconds it took."""
    from runner.engines.duckdb import connect
    project = load_project(project_dir)
    db = Path(db_path).resolve() if db_path else default_db_path(project)
    con = connect(db, memory_limit=memory_limit, must_exist=True)
    try:
        def used() -> int:
            return int(con.execute("select used_blocks from pragma_database_size() "
                                   "where database_name = current_database()").fetchone()[0])
        before = used()
        started = time.perf_counter()
        con.execute("reset max_vacuum_tasks")
        # DuckDB checkpoints (and vacuums) only a database with a change to write: a
        # table made and dropped is that change.
        con.execute("create or replace table main.__runner_vacuum as select 1 as x")
        con.execute("drop table main.__runner_vacuum")
        con.execute("checkpoint")
        return before, used(), time.perf_counter() - started
    finally:
        con.close()


def publish(project_dir: str | Path = ".", *args: Any, **kwargs: Any):
    """`runner publish`: runner.publish.command.publish_database."""
    from runner.publish.command import publish_database
    return publish_database(project_dir, *args, **kwargs)


def compile_project(project_dir: str | Path = ".", vars: dict | None = None,
                    select: list[str] | None = None, exclude: list[str] | None = None,
                    on_warning: Callable[[str], None] | None = None,
                    full_refresh: bool = False, target_path: str | Path | None = None,
                    target: "Target | None" = None) -> dict[str, Path | None]:
    """Render and check the selected models; write them to target/compiled (for a
    Spark target, transpiled to Spark SQL)."""
    from runner.jinja.compile import compile_models
    session = Session(project_dir, vars, full_refresh, on_warning=on_warning,
                      target_path=target_path)
    project = session.project
    from runner.jinja.columns import check_columns
    chosen = session.select(select, exclude)
    names = [n for n in chosen if n in project.models]
    if target is not None and target.type == "spark":
        from runner.execute.spark.run import for_spark
        compiled = for_spark(session, target, names)
    else:
        compiled = compile_models(project, session.renderer, names, session.target)
    session.flush_warnings()
    check_columns(project, compiled, [n for n in chosen if n in project.seeds], {},
                  session.log.add)
    # contracts and unit tests, as a build does; a Spark target's unit tests run on Spark
    # (dispatched macros render Spark's SQL, which DuckDB cannot bind)
    from runner.graph.plan import checks
    spark = target is not None and target.type == "spark"
    unit_tests = [u for u in project.unit_tests if u.model in names]
    if spark and unit_tests:
        session.log.add(f"compile --target spark: {len(unit_tests)} unit tests not checked "
                        "(they are checked on Spark when they run).")
    tester = checks(project, session.renderer, names, [] if spark else unit_tests, {},
                    session.log.add)[1]
    if tester:
        tester.close()
    from runner.execute.results import NodeResult
    result = RunResult("compile", started_at=session.started.isoformat(),
                       invocation_id=session.invocation_id,
                       args={"select": list(select or []), "exclude": list(exclude or []),
                             "vars": vars or {}})
    for name in compiled:       # dbt's compile records each compiled node as a success
        result.nodes.append(NodeResult(name, "model", "success", "compiled"))
        result.finished.append(dt.datetime.now(dt.timezone.utc))
    session.write_artifacts(default_db_path(project), compiled, None, result)
    return {name: item.compiled_path for name, item in compiled.items()}


def compile_sql(sql: str, project_dir: str | Path = ".", vars: dict | None = None) -> str:
    """Render a SQL string with the project's macros, vars and refs."""
    from runner.jinja.render import Renderer
    project = load_project(project_dir)
    return Renderer(project, vars or {}).render_string(sql, "inline").sql


def list_nodes(project_dir: str | Path = ".", select: list[str] | None = None,
               exclude: list[str] | None = None, vars: dict | None = None,
               on_warning: Callable[[str], None] | None = None,
               state: str | Path | None = None) -> list[dict]:
    session = Session(project_dir, vars, on_warning=on_warning, state=state)
    out = []
    for name in session.select(select, exclude):
        node = session.project.node(name)
        out.append({"name": name, "kind": node.kind, "materialized": node.materialized,
                    "relation": f"{node.schema}.{node.alias}", "path": node.rel_path,
                    "tags": node.tags, "depends_on": sorted(session.graph.parents[name])})
    session.write_artifacts(default_db_path(session.project))
    return out


def resolve_relation(project_dir: str | Path, name: str) -> tuple[str, str]:
    """`model`, or `schema.table`, to (schema, table), rendering only that model."""
    if "." in name:
        schema, table = name.split(".", 1)
        return schema, table
    from difflib import get_close_matches
    from runner.errors import RenderError
    from runner.jinja.render import Renderer
    project = load_project(project_dir)
    nodes = project.nodes
    if name not in nodes:
        close = get_close_matches(name, nodes.keys(), n=1, cutoff=0.5)
        raise RunnerError(f"there is no model or seed named {name!r}.",
                          hint=f"did you mean {close[0]!r}?" if close else
                          "run 'runner ls' to list them.")
    node = nodes[name]
    renderer = Renderer(project)
    if node.kind == "model":
        try:        # its own config() may name another schema or alias
            node.config = renderer.render_node(node, execute=False).config
        except RenderError:
            pass    # e.g. a var given only at build time: the folder and YAML config stand
    from runner.jinja.naming import apply_naming
    apply_naming(renderer, [node])
    return node.schema, node.alias
