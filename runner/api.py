"""The library entry points: what the CLI calls, and what tests and scripts may call.

    from runner.api import build, compile_sql
    result = build("path/to/project", raw_dir="data/raw", db_path="x.duckdb",
                   vars={"report_time": "2024-10-01T00:00:00Z"})
    assert result.ok, result.summary()

The pipeline reads top to bottom: load the project -> render (parse pass) -> build the
graph -> select -> compile and check the SQL -> check the raw files -> execute -> test.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Callable

from runner.artifacts.run_results import RunResult
from runner.engines.profiles import Target
from runner.errors import RunnerError
from runner.project.loader import Node, load_project
from runner.session import Session, _raw_dir, default_db_path

__all__ = ["Session", "default_db_path", "execute", "build", "vacuum", "publish",
           "compile_project", "compile_sql", "list_nodes", "resolve_relation"]

Callback = Callable[["NodeResultT", int, int], None]
NodeResultT = Any


def execute(command: str, project_dir: str | Path = ".", raw_dir: str | Path | None = None,
            db_path: str | Path | None = None, vars: dict | None = None,
            select: list[str] | None = None, exclude: list[str] | None = None,
            full_refresh: bool = False, fail_fast: bool = False,
            on_result: Callable | None = None, on_note: Callable | None = None,
            memory_limit: str | None = None, threads: int | None = None,
            on_warning: Callable[[str], None] | None = None,
            target_path: str | Path | None = None, empty: bool = False,
            state: str | Path | None = None, defer: bool = False,
            target: "Target | None" = None) -> RunResult:
    """build | run | seed | test: compile, check, then run the selected nodes in order.

    `empty`: every model built with zero rows (refs and sources read none); `state`: a
    previous run's target/ for state:/result: selectors; `defer`: unselected parents
    missing from this database are read from the state's database. `target`:
    runner.engines.profiles.Target (--target); Spark's runs runner.execute.spark.run."""
    if target is not None and target.type == "spark":
        from runner.execute.spark.run import execute_on_spark
        return execute_on_spark(command, target, project_dir, raw_dir, vars, select, exclude,
                                full_refresh, fail_fast, on_result, on_note, on_warning,
                                target_path, db_path=db_path, empty=empty, state=state,
                                defer=defer, memory_limit=memory_limit, threads=threads)
    if target is not None and target.path and db_path is None:
        db_path = Path(project_dir) / target.path     # from the project, if relative
    from runner.jinja.compile import compile_batches, compile_models, compile_test
    from runner.engines.duckdb import connect, restrict
    from runner.execute.materialize import Executor, NodeResult

    started = time.perf_counter()
    executor_box: list = []
    tester_box: list = []

    def exists(node: Node) -> bool:
        return bool(executor_box) and executor_box[0].exists(node)

    session = Session(project_dir, vars, full_refresh, exists, which=command,
                      on_warning=on_warning, target_path=target_path, state=state)
    project = session.project
    if defer and session.state is None:
        from runner.errors import OptionError
        raise OptionError("--defer reads the parents it does not build from --state, and "
                          "no --state was given.", hint="pass --state with a previous "
                                                        "run's target/ folder.")
    result = RunResult(command, started_at=session.started.isoformat(),
                       invocation_id=session.invocation_id)
    result.warnings = session.log.messages
    from runner.graph.plan import plan
    order, tests, unit_tests = plan(session, command, select, exclude)
    kinds = {"build": ("model", "snapshot"), "run": ("model",), "snapshot": ("snapshot",)}
    models = [n for n in order if n in project.models and project.models[n].kind in
              kinds.get(command, ()) and project.models[n].materialized != "ephemeral"]
    seeds = [n for n in order if n in project.seeds] if command in ("build", "seed") else []

    used_sources = {key for n in models for key in project.models[n].sources}
    used_sources |= {key for t in tests for key in t.sources}
    for name in models:       # ephemeral models inlined into these read sources too
        used_sources |= {k for up in session.graph.upstream(name)
                         if up in project.models and project.models[up].materialized ==
                         "ephemeral" for k in project.models[up].sources}
    db = Path(db_path).resolve() if db_path else default_db_path(project)
    session.db_path = db
    result.db_path = str(db)
    # Take the database's lock first: a second build stops here, before it touches anything.
    con = connect(db, memory_limit=memory_limit, threads=threads)
    # One checkpoint per build, when the file is closed, instead of one at every commit
    # that finds the WAL over DuckDB's 16 MB default: a checkpoint of a large file has a
    # cost of its own, whatever changed (at 100 M sessions, 10 to 20 s).
    con.execute("set checkpoint_threshold = '4GB'")
    if not full_refresh:
        # An incremental build leaves DuckDB's vacuum (the merge of row groups that
        # deletes left partly empty) to `runner vacuum`: at 100 M sessions it made every
        # checkpoint cost 10 to 20 s, whatever changed. Wholly deleted row groups are
        # still freed.
        con.execute("set max_vacuum_tasks = 0")
    try:
        raw = _raw_dir(project, raw_dir, result.notes, needed=bool(used_sources),
                       on_note=on_note)
        result.raw_dir = str(raw) if raw else None
        from runner.execute.source_relations import classify_sources
        classify_sources(con, project, raw)
        publishing = _publishes(project, vars)
        if publishing:
            from runner.publish.serving import settings as publish_settings
        # An installed package may be a link to a folder elsewhere (runner deps).
        allowed = [project.root, db.parent] + \
            ([publish_settings(project, db, vars)[0]] if publishing else []) + \
            ([raw] if raw else []) + list(project.packages.values()) + \
            ([session.state.db_path.parent] if defer and session.state.db_path else [])
        restrict(con, allowed)
        from runner.project.external import check_readable
        check_readable([project.sources[k] for k in sorted(used_sources)], allowed,
                       project.root)
        executor = Executor(con, project.root, full_refresh)
        executor_box.append(executor)
        if defer:
            from runner.task.defer import defer_relations
            result.notes += defer_relations(con, session, db, order, executor.exists)
        if empty:
            from runner.task.empty import prepare_empty
            prepare_empty(con, session, models, seeds, executor.exists, full_refresh)
        # Compile and check everything before anything runs.
        session.renderer.database.attach(con, db.stem)
        compiled = compile_models(project, session.renderer, models, session.target, con)
        compiled_tests = {t.name: compile_test(project, session.renderer, t,
                                               session.test_sql[t.name], session.target, con)
                          for t in tests}
        session.renderer.database.deferring = False
        asked = session.renderer.database.touched     # compiled again when they run
        session.flush_warnings()
        from runner.execute.hooks import RunHooks
        hooks = RunHooks(session, executor.run_statements, "DuckDB")
        from runner.jinja.columns import check_columns, database_columns
        check_columns(project, compiled, seeds, lambda: database_columns(con),
                      session.log.add)
        from runner.graph.plan import checks
        executor.batches = lambda node: compile_batches(
            project, session.renderer, node, lambda name: executor.count_rows(
                project.node(name)), con)
        executor.contracts, tester, prepared = checks(
            project, session.renderer, models, unit_tests,
            database_columns(con) if unit_tests else {}, session.log.add)
        tester_box.extend([tester] if tester else [])
        from runner.execute.sources import prepare_sources
        sources = [project.sources[k] for k in sorted(used_sources)
                   if not project.sources[k].relation]
        for note in prepare_sources(con, raw, sources, recheck=full_refresh):
            result.notes.append(note)
            if on_note:
                on_note(note)

        total = len(seeds) + len(models) + len(tests) + len(unit_tests)
        broken: dict[str, str] = {}       # node -> why its children are skipped
        done: set[str] = set()
        pending_tests = list(tests)
        in_run = set(seeds) | set(models)
        failed_tests: dict[str, str] = {}   # node -> a failing test: its children are skipped
        from runner.artifacts.run_results import Emitter
        emit = Emitter(result, on_result, hooks.total(total), fail_fast)
        stop_reason = emit.stop
        hooks.start(emit)         # on-run-start; a failed one skips every node

        def run_ready_tests() -> None:
            for test in list(pending_tests):
                refs = test.refs & set(project.nodes)
                if not (refs & in_run) <= (done | set(broken)):
                    continue
                pending_tests.remove(test)
                item = compiled_tests[test.name] if test.name not in asked else \
                    compile_test(project, session.renderer, test, session.test_sql[test.name],
                                 session.target)
                bad = sorted(refs & set(broken))
                if stop_reason:
                    emit(NodeResult(test.name, "test", "skipped", stop_reason[0]))
                elif bad:
                    emit(NodeResult(test.name, "test", "skipped",
                                    f"skipped: {bad[0]} did not build"))
                else:
                    outcome = executor.run_test(item)
                    emit(outcome)
                    if outcome.status in ("fail", "error"):
                        for ref in refs:
                            failed_tests.setdefault(ref, f"data test {test.name} failed")

        def run_unit_tests(model: str | None, skip: str | None = None) -> str | None:
            if not unit_tests:
                return None
            from runner.execute.unit_tests import run_for
            return run_for(tester, prepared, [u for u in unit_tests if (
                u.model == model if model else u.model not in models)],
                skip or (stop_reason[0] if stop_reason else None), emit)

        run_unit_tests(None)
        for name in seeds + models:
            node = project.node(name)
            why = {**failed_tests, **broken}
            bad = sorted(session.graph.parents.get(name, set()) & set(why))
            unit_failed = run_unit_tests(name, f"skipped: upstream {bad[0]} ({why[bad[0]]})"
                                         if bad else None)
            if unit_failed and not stop_reason:
                emit(NodeResult(name, node.kind, "skipped", f"skipped: {unit_failed}",
                                materialized=node.materialized, path=node.rel_path))
                broken[name] = unit_failed
            elif stop_reason:
                emit(NodeResult(name, node.kind, "skipped", stop_reason[0],
                                materialized=node.materialized, path=node.rel_path))
                broken[name] = "skipped"
            elif bad:
                emit(NodeResult(name, node.kind, "skipped",
                                f"skipped: upstream {bad[0]} ({why[bad[0]]})",
                                materialized=node.materialized, path=node.rel_path))
                broken[name] = "skipped"
            else:
                if name in asked and node.kind == "model":
                    compiled.update(compile_models(project, session.renderer, [name],
                                                   session.target))
                outcome = executor.run_seed(node) if node.kind == "seed" else \
                    executor.run_model(compiled[name])
                emit(outcome)
                if outcome.status == "error":
                    broken[name] = "failed"
                else:
                    done.add(name)
            run_ready_tests()
        run_ready_tests()
        hooks.end(emit, db, compiled, compiled_tests)      # on-run-end, before publishing
        result.db_seconds = executor.db_seconds
        if command == "build" and result.ok and empty:
            result.notes.append("--empty: nothing was published (the tables are empty).")
        elif command == "build" and result.ok and publishing:
            from runner.publish.command import publish_after_build
            publish_after_build(con, session, db, vars, result, on_note)
    finally:
        con.close()
        if tester_box:
            tester_box[0].close()
    result.seconds = time.perf_counter() - started
    result.args = {"select": list(select or []), "exclude": list(exclude or []),
                   "vars": vars or {}, "full_refresh": full_refresh, "db": str(db),
                   "raw_dir": result.raw_dir, "empty": empty, "defer": defer,
                   "state": str(state) if state else None, "threads": threads}
    session.write_artifacts(db, compiled, compiled_tests, result)
    return result


# The vars of runner/publish/serving.py's settings: the serving folder and grace period.
PUBLISH_VARS = ("publish_dir", "publish_grace_minutes")


def _publishes(project: Any, vars: dict | None) -> bool:
    """Whether a build needs runner.publish: a model or seed with a `publish` config
    (serving.table_specs' test), or a publish var (its folder is then opened to DuckDB,
    its grace period checked). Otherwise the serving folder is `published/` beside the
    database, already open to DuckDB, and publishing does nothing; not importing it
    spares the build the DuckDB package's Python layer that it imports (runner/engines/
    native.py)."""
    merged = {**project.vars, **(vars or {})}
    return any(key in merged for key in PUBLISH_VARS) or any(
        node.config.get("publish") not in (None, False)
        for node in list(project.seeds.values()) + list(project.models.values()))


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
    from runner.execute.materialize import NodeResult
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
