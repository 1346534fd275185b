"""`runner build|run|seed|snapshot|test` on DuckDB: the pipeline of runner.api.execute
(Spark's is runner.execute.spark.run, laid out the same way). It reads top to bottom:
take the database's lock -> check the raw files -> compile and check everything ->
on-run-start -> seeds, unit tests, models (and snapshots) in the graph's order, each data
test as soon as what it reads is built, a node whose parent failed (or whose unit test or
data test failed) skipped -> on-run-end -> publish (runner.publish) after a successful
build -> target/run_results.json and manifest.json."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from runner.artifacts.run_results import RunResult
from runner.project.loader import Node
from runner.session import Session, resolve_raw_dir, default_db_path


def execute_duckdb(command: str, project_dir: str | Path = ".",
                   raw_dir: str | Path | None = None, db_path: str | Path | None = None,
                   vars: dict | None = None, select: list[str] | None = None,
                   exclude: list[str] | None = None, full_refresh: bool = False,
                   fail_fast: bool = False, on_result: Callable | None = None,
                   on_note: Callable | None = None, memory_limit: str | None = None,
                   threads: int | None = None,
                   on_warning: Callable[[str], None] | None = None,
                   target_path: str | Path | None = None, empty: bool = False,
                   state: str | Path | None = None, defer: bool = False,
                   resource_types: list[str] | None = None,
                   exclude_resource_types: list[str] | None = None) -> RunResult:
    """runner.api.execute on DuckDB: `db_path` the database file (default_db_path when
    None), `memory_limit` and `threads` DuckDB's settings."""
    from runner.jinja.compile import compile_batches, compile_models, compile_test
    from runner.engines.duckdb import connect, restrict
    from runner.execute.duckdb.materialize import Executor
    from runner.execute.results import NodeResult

    started = time.perf_counter()
    executor_box: list = []
    tester_box: list = []

    def exists(node: Node) -> bool:
        return bool(executor_box) and executor_box[0].exists(node)

    session = Session(project_dir, vars, full_refresh, exists, which=command,
                      on_warning=on_warning, target_path=target_path, state=state)
    project = session.project
    if defer:
        from runner.task.defer import require_state
        require_state(session)
    result = RunResult(command, started_at=session.started.isoformat(),
                       invocation_id=session.invocation_id)
    result.warnings = session.log.messages
    from runner.graph.plan import plan, runnable
    planned: list[str] = []
    order, tests, unit_tests = plan(session, command, select, exclude, resource_types,
                                    exclude_resource_types, planned)
    result.notes += planned
    for note in planned if on_note else ():
        on_note(note)
    models, seeds = runnable(project, command, order)

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
        raw = resolve_raw_dir(project, raw_dir, result.notes, needed=bool(used_sources),
                       on_note=on_note)
        result.raw_dir = str(raw) if raw else None
        from runner.execute.duckdb.source_relations import classify_sources
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
        if hooks.error:
            pass            # an on-run-end hook did not render: raised below, unpublished
        elif command == "build" and result.ok and empty:
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
                   "state": str(state) if state else None, "threads": threads,
                   "resource_types": list(resource_types or []),
                   "exclude_resource_types": list(exclude_resource_types or [])}
    session.write_artifacts(db, compiled, compiled_tests, result)
    if hooks.error:         # as dbt's after_run: run_results.json written, then the error
        raise hooks.error
    return result


# The vars of runner/publish/serving.py's settings: the serving folder and grace period.
PUBLISH_VARS = ("publish_dir", "publish_grace_minutes")


def _publishes(project: Any, vars: dict | None) -> bool:
    """Whether a build needs runner.publish: a model or seed with a `publish` config
    (serving.table_specs' test), or a publish var (its folder is then opened to DuckDB,
    its grace period checked). Otherwise the serving folder is `published/` beside the
    database, already open to DuckDB, and publishing does nothing; not importing it
    spares the build its modules."""
    merged = {**project.vars, **(vars or {})}
    from runner.graph.plan import publish_configured
    return any(key in merged for key in PUBLISH_VARS) or publish_configured(project)
