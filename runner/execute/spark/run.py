"""`runner build|run|seed|test --target spark`: the pipeline of runner.api.execute on a
Spark session. The models are compiled as for DuckDB (the project's dialect), then
transpiled to Spark SQL (runner.engines.spark.transpile; the file under
target/compiled is the Spark SQL); sources are read with Spark's readers; seeds,
models and data tests run in the graph's order, a node whose parent failed skipped.

Not on Spark yet (each is said, none silently dropped): unit tests, model contracts,
snapshots, --empty, --defer, and the publish step of a build."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Callable

from runner.artifacts.run_results import RunResult
from runner.engines.profiles import Target
from runner.errors import SqlSyntaxError
from runner.jinja.compile import Compiled
from runner.project.loader import Node
from runner.session import Session, _raw_dir


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


def execute_on_spark(command: str, target: Target, *args: Any, **unsupported: Any
                     ) -> RunResult:
    """`runner.api.execute` with a Spark target: the options Spark does not act on yet
    (given as keywords) are refused, then execute_spark runs."""
    from runner.errors import OptionError
    given = [k for k, v in unsupported.items() if v]
    if given or command == "snapshot":
        flags = ", ".join("--" + k.replace("_path", "").replace("_", "-") for k in given)
        raise OptionError(f"{flags or 'runner snapshot'} is not supported with --target "
                          f"spark yet.", hint="leave it out, or build on DuckDB.")
    return execute_spark(command, target, *args)


def execute_spark(command: str, target: Target, project_dir: str | Path = ".",
                  raw_dir: str | Path | None = None, vars: dict | None = None,
                  select: list[str] | None = None, exclude: list[str] | None = None,
                  full_refresh: bool = False, fail_fast: bool = False,
                  on_result: Callable | None = None, on_note: Callable | None = None,
                  on_warning: Callable[[str], None] | None = None,
                  target_path: str | Path | None = None) -> RunResult:
    from runner.engines.base import connect
    from runner.execute.materialize import NodeResult
    from runner.execute.spark.materialize import SparkExecutor
    from runner.execute.spark.sources import load_source
    from runner.graph.plan import plan
    from runner.jinja.compile import compile_models, compile_test

    started = time.perf_counter()
    box: list[SparkExecutor] = []
    session = Session(project_dir, vars, full_refresh,
                      lambda node: bool(box) and box[0].exists(node), which=command,
                      on_warning=on_warning, target_path=target_path)
    project = session.project
    use_target(session, target)
    result = RunResult(command, started_at=session.started.isoformat(),
                       invocation_id=session.invocation_id)
    result.warnings = session.log.messages

    def note(text: str) -> None:
        result.notes.append(text)
        if on_note:
            on_note(text)

    order, tests, unit_tests = plan(session, command, select, exclude)
    kinds = {"build": ("model",), "run": ("model",)}
    models = [n for n in order if n in project.models and project.models[n].kind in
              kinds.get(command, ()) and project.models[n].materialized != "ephemeral"]
    seeds = [n for n in order if n in project.seeds] if command in ("build", "seed") else []
    left_out = [n for n in order if n in project.models and
                project.models[n].kind == "snapshot" and command in ("build", "snapshot")]
    if left_out:
        note(f"snapshots are not run on Spark yet: {', '.join(left_out)} left out.")
    if unit_tests:
        note(f"unit tests are not run on Spark yet: {len(unit_tests)} left out.")
    contracts = [n for n in models if (project.models[n].config.get("contract") or {})
                 .get("enforced")]
    if contracts:
        note(f"contracts are not enforced on Spark yet: {', '.join(contracts)}.")
    used_sources = {key for n in models for key in project.models[n].sources}
    used_sources |= {key for t in tests for key in t.sources}
    for name in models:
        used_sources |= {k for up in session.graph.upstream(name)
                         if up in project.models and project.models[up].materialized ==
                         "ephemeral" for k in project.models[up].sources}
    adapter = connect(target, project.root)
    executor = SparkExecutor(adapter, full_refresh)
    box.append(executor)
    raw = _raw_dir(project, raw_dir, result.notes, needed=bool(used_sources),
                   on_note=on_note)
    result.raw_dir = str(raw) if raw else None
    compiled = {name: to_spark(adapter, item) for name, item in compile_models(
        project, session.renderer, models, session.target).items()}
    compiled_tests = {t.name: to_spark(adapter, compile_test(
        project, session.renderer, t, session.test_sql[t.name], session.target))
        for t in tests}
    session.flush_warnings()
    for key in sorted(used_sources):
        table = project.sources[key]
        if table.relation:
            continue            # an existing relation: read as it is
        note(load_source(adapter, raw, table))

    broken: dict[str, str] = {}
    stop: list[str] = []
    total = len(seeds) + len(models) + len(tests)

    def emit(node_result: NodeResult) -> None:
        result.nodes.append(node_result)
        result.finished.append(dt.datetime.now(dt.timezone.utc))
        if on_result:
            on_result(node_result, len(result.nodes), total)
        if fail_fast and not node_result.ok and not stop:
            stop.append(f"--fail-fast: stopped after {node_result.kind} "
                        f"{node_result.name} failed")

    for name in seeds + models:
        node: Node = project.node(name)
        bad = sorted(session.graph.parents.get(name, set()) & set(broken))
        if stop or bad:
            emit(NodeResult(name, node.kind, "skipped", stop[0] if stop else
                            f"skipped: upstream {bad[0]} ({broken[bad[0]]})",
                            materialized=node.materialized, path=node.rel_path))
            broken[name] = "skipped"
            continue
        if node.kind == "model" and name in session.renderer.database.touched:
            compiled.update({n: to_spark(adapter, i) for n, i in compile_models(
                project, session.renderer, [name], session.target).items()})
        outcome = executor.run_seed(node) if node.kind == "seed" else \
            executor.run_model(compiled[name])
        emit(outcome)
        if outcome.status == "error":
            broken[name] = "failed"
    for test in tests:
        bad = sorted(test.refs & set(broken))
        if stop or bad:
            emit(NodeResult(test.name, "test", "skipped", stop[0] if stop else
                            f"skipped: {bad[0]} did not build"))
        else:
            emit(executor.run_test(compiled_tests[test.name]))
    result.db_seconds = executor.db_seconds
    result.seconds = time.perf_counter() - started
    if command == "build" and any(project.node(n).config.get("publish") for n in
                                  seeds + models):
        note("publish is not run on Spark yet: read the tables with "
             "`runner export --target spark`.")
    warehouse = Path(target.warehouse or project.root / "spark-warehouse")
    result.db_path = str(warehouse)
    result.args = {"select": list(select or []), "exclude": list(exclude or []),
                   "vars": vars or {}, "full_refresh": full_refresh, "target": target.name,
                   "raw_dir": result.raw_dir}
    session.write_artifacts(warehouse, compiled, compiled_tests, result)
    return result
