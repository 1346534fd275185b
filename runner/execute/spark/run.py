"""`runner build|run|seed|snapshot|test --target spark`: the pipeline of
runner.execute.duckdb.run on a Spark session. The models are compiled as for DuckDB (the
project's dialect), then transpiled to Spark SQL (runner.engines.spark.transpile; the
file under target/compiled is the Spark SQL); sources are read with Spark's readers; seeds,
unit tests, models and data tests run in the graph's order, a node whose parent failed
(or whose unit test failed) skipped. --empty, --defer/--state and contracts as on DuckDB
(runner.execute.spark.options); on-run-start and on-run-end as on DuckDB
(runner.execute.hooks), their SQL transpiled as the models' hooks are.

Snapshots run in the graph's order like the models (runner.execute.spark.snapshots:
MERGE on Delta, Iceberg or Hudi; a rewrite of the table on Parquet). Not on Spark (said,
not silently dropped): full_build_batches (a model is built whole). A successful build
publishes the tables marked `publish` as on DuckDB, read from Spark
(runner.publish.spark)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from runner.artifacts.run_results import RunResult
from runner.engines.profiles import Target
from runner.errors import SqlSyntaxError
from runner.jinja.compile import Compiled
from runner.project.loader import Node
from runner.session import Session, resolve_raw_dir


def to_spark(adapter, item: Compiled) -> Compiled:
    """The compiled node with its SQL and hooks transpiled (and written so)."""
    try:
        item.sql = adapter.transpile(item.sql)
        item.pre_hooks = [adapter.transpile(h) for h in item.pre_hooks]
        item.post_hooks = [adapter.transpile(h) for h in item.post_hooks]
    except Exception as exc:
        raise SqlSyntaxError(f"sqlglot cannot write this SQL for Spark: "
                             f"{str(exc).splitlines()[0]}", node=item.name, path=item.path,
                             hint="write that part as a dispatched macro (duckdb__name "
                                  "and spark__name).") from None
    if item.compiled_path:
        item.compiled_path.write_text(item.sql + "\n", encoding="utf-8")
    return item


def use_target(session: Session, target: Target) -> None:
    """dbt's `target` and `adapter.type()` in the Jinja context: Spark's, so that
    adapter.dispatch finds `spark__` macros first."""
    session.renderer.context["target"].update(name=target.name, type="spark",
                                              schema="default", database="spark_catalog")


def for_spark(session: Session, target: Target, names: list[str]) -> dict[str, Compiled]:
    """`runner compile --target spark`: the models compiled and transpiled, no session."""
    from runner.engines.spark import SparkAdapter
    from runner.jinja.compile import compile_models
    use_target(session, target)
    adapter = SparkAdapter(None)
    return {name: to_spark(adapter, item) for name, item in compile_models(
        session.project, session.renderer, names, session.target).items()}


def execute_on_spark(command: str, target: Target, *args: Any, db_path: Any = None,
                     memory_limit: Any = None, threads: Any = None, **options: Any
                     ) -> RunResult:
    """`runner.api.execute` with a Spark target: the options that are DuckDB's alone are
    refused, then execute_spark runs."""
    from runner.errors import OptionError
    given = [k for k, v in (("db", db_path), ("memory_limit", memory_limit),
                            ("threads", threads)) if v]
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise OptionError(f"{flags} {'is' if len(given) == 1 else 'are'} DuckDB's and not "
                          "used with --target spark.",
                          hint="leave it out; Spark's tables are in its warehouse, its "
                               "resources are the session's (profiles.yml).")
    return execute_spark(command, target, *args, **options)


def execute_spark(command: str, target: Target, *args: Any, **options: Any) -> RunResult:
    """The pipeline (_execute_spark). A Connect server that stops answering during a
    node stops the run there (the node fails naming the server, the nodes not yet run
    are skipped, run_results.json is written, `result.stopped` says why); outside the
    nodes (reading the sources, say) it is a DatabaseError naming the URL (exit 3)."""
    try:
        return _execute_spark(command, target, *args, **options)
    except Exception as exc:
        from runner.engines.spark import server_lost
        from runner.errors import DatabaseError, RunnerError
        lost = None if isinstance(exc, RunnerError) or target.method != "connect" else \
            server_lost(exc, str(target.host))
        if lost is None:
            raise
        raise DatabaseError(f"{lost[0]}: {lost[1]}",
                            hint="check the server (its log), then run the command "
                                 "again.") from None


def _execute_spark(command: str, target: Target, project_dir: str | Path = ".",
                  raw_dir: str | Path | None = None, vars: dict | None = None,
                  select: list[str] | None = None, exclude: list[str] | None = None,
                  full_refresh: bool = False, fail_fast: bool = False,
                  on_result: Callable | None = None, on_note: Callable | None = None,
                  on_warning: Callable[[str], None] | None = None,
                  target_path: str | Path | None = None, empty: bool = False,
                  state: str | Path | None = None, defer: bool = False,
                  resource_types: list[str] | None = None,
                  exclude_resource_types: list[str] | None = None) -> RunResult:
    from runner.engines.base import connect
    from runner.execute.results import NodeResult
    from runner.execute.spark.materialize import SparkExecutor
    from runner.execute.spark.options import contract_types, defer_relations, prepare_empty
    from runner.execute.spark.sources import load_source
    from runner.execute.unit_tests import run_for
    from runner.graph.plan import plan, publish_configured, runnable
    from runner.jinja.compile import compile_models, compile_test

    started = time.perf_counter()
    box: list[SparkExecutor] = []
    session = Session(project_dir, vars, full_refresh,
                      lambda node: bool(box) and box[0].exists(node), which=command,
                      on_warning=on_warning, target_path=target_path, state=state)
    project = session.project
    if defer:
        from runner.task.defer import require_state
        require_state(session)
    use_target(session, target)
    result = RunResult(command, started_at=session.started.isoformat(),
                       invocation_id=session.invocation_id)
    result.warnings = session.log.messages

    def note(text: str) -> None:
        result.notes.append(text)
        if on_note:
            on_note(text)

    planned: list[str] = []
    order, tests, unit_tests = plan(session, command, select, exclude, resource_types,
                                    exclude_resource_types, planned)
    for text in planned:
        note(text)
    models, seeds = runnable(project, command, order)
    batched = [n for n in models if project.models[n].config.get("full_build_batches")]
    if batched:
        note(f"full_build_batches is DuckDB's: on Spark {', '.join(batched)} "
             "built whole (Spark spreads one query over its executors).")
    used_sources = {key for n in models for key in project.models[n].sources}
    used_sources |= {key for t in tests for key in t.sources}
    for name in models:
        used_sources |= {k for up in session.graph.upstream(name)
                         if up in project.models and project.models[up].materialized ==
                         "ephemeral" for k in project.models[up].sources}
    adapter = connect(target, project.root)
    executor = SparkExecutor(adapter, full_refresh)
    box.append(executor)
    raw = resolve_raw_dir(project, raw_dir, result.notes, needed=bool(used_sources),
                   on_note=on_note)
    result.raw_dir = str(raw) if raw else None
    executor.contracts = contract_types(adapter, project, models, session.log.add)
    if defer:
        for text in defer_relations(adapter, session, order):
            note(text)
    if empty:
        prepare_empty(session, models, executor.exists, full_refresh)
    compiled = {name: to_spark(adapter, item) for name, item in compile_models(
        project, session.renderer, models, session.target).items()}
    compiled_tests = {t.name: to_spark(adapter, compile_test(
        project, session.renderer, t, session.test_sql[t.name], session.target))
        for t in tests}
    session.flush_warnings()
    from runner.execute.hooks import RunHooks
    from runner.execute.spark.materialize import spark_message
    hooks = RunHooks(session, executor.run_statements, "Spark", spark_message)
    for key in sorted(used_sources):
        table = project.sources[key]
        if table.relation:
            continue            # an existing relation: read as it is
        note(load_source(adapter, raw, table))

    broken: dict[str, str] = {}
    from runner.artifacts.run_results import Emitter
    emit = Emitter(result, on_result, hooks.total(len(seeds) + len(models) + len(tests) +
                                                  len(unit_tests)), fail_fast)
    stop = emit.stop
    hooks.start(emit)           # on-run-start; a failed one skips every node
    tester = None
    if unit_tests:
        from runner.execute.spark.unit_tests import SparkUnitTester
        tester = SparkUnitTester(project, session.renderer, adapter, executor)

    def run_unit_tests(model: str | None, skip: str | None = None) -> str | None:
        failed = run_for(tester, {u.name: u for u in unit_tests}, [u for u in unit_tests if (
            u.model == model if model else u.model not in models)],
            skip or (stop[0] if stop else None), emit) if unit_tests else None
        if executor.lost and not stop:      # the server went during a unit test
            stop.append(f"skipped: {executor.lost}")
        return failed

    run_unit_tests(None)
    for name in seeds + models:
        node: Node = project.node(name)
        bad = sorted(session.graph.parents.get(name, set()) & set(broken))
        unit_failed = run_unit_tests(name, f"skipped: upstream {bad[0]} ({broken[bad[0]]})"
                                     if bad else None)
        if stop or bad or unit_failed:
            emit(NodeResult(name, node.kind, "skipped", stop[0] if stop else
                            f"skipped: upstream {bad[0]} ({broken[bad[0]]})" if bad else
                            f"skipped: {unit_failed}",
                            materialized=node.materialized, path=node.rel_path))
            broken[name] = unit_failed or "skipped"
            continue
        if node.kind == "model" and name in session.renderer.database.touched:
            compiled.update({n: to_spark(adapter, i) for n, i in compile_models(
                project, session.renderer, [name], session.target).items()})
        outcome = executor.run_seed(node) if node.kind == "seed" else \
            executor.run_model(compiled[name])
        emit(outcome)
        if outcome.status == "error":
            broken[name] = "failed"
        if executor.lost and not stop:      # the server is gone: nothing more runs
            stop.append(f"skipped: {executor.lost}")
    for test in tests:
        bad = sorted(test.refs & set(broken))
        if stop or bad:
            emit(NodeResult(test.name, "test", "skipped", stop[0] if stop else
                            f"skipped: {bad[0]} did not build"))
        else:
            emit(executor.run_test(compiled_tests[test.name]))
            if executor.lost and not stop:
                stop.append(f"skipped: {executor.lost}")
    warehouse = Path(target.warehouse or project.root / "spark-warehouse")
    result.stopped = executor.lost
    hooks.skip_end = f"skipped: {executor.lost}" if executor.lost else None
    hooks.end(emit, warehouse, compiled, compiled_tests)      # on-run-end
    result.db_seconds = executor.db_seconds
    result.seconds = time.perf_counter() - started
    if hooks.error:
        pass                # an on-run-end hook did not render: raised below, unpublished
    elif command == "build" and empty:
        note("--empty: nothing was published (the tables are empty).")
    elif command == "build" and result.ok and publish_configured(project):
        from runner.errors import RunnerError
        from runner.publish.spark import publish_spark
        try:        # as on DuckDB: a failed publish leaves the previous publication
            result.published = publish_spark(project_dir, target, vars,
                                             session.started.isoformat(), on_note)
        except RunnerError as exc:
            result.publish_error = exc
        result.seconds = time.perf_counter() - started
    # a Connect server's tables are in its own warehouse
    result.db_path = str(target.host) if target.method == "connect" else str(warehouse)
    result.args = {"select": list(select or []), "exclude": list(exclude or []),
                   "vars": vars or {}, "full_refresh": full_refresh, "target": target.name,
                   "engine": "spark", "raw_dir": result.raw_dir, "empty": empty,
                   "defer": defer, "state": str(state) if state else None,
                   "resource_types": list(resource_types or []),
                   "exclude_resource_types": list(exclude_resource_types or [])}
    session.write_artifacts(warehouse, compiled, compiled_tests, result)
    if hooks.error:         # as dbt's after_run: run_results.json written, then the error
        raise hooks.error
    return result
