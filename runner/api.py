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

from runner.artifacts.run_results import RunResult, write_run_results
from runner.errors import RunnerError, SourceError
from runner.project.loader import Node, Project, TestDef, incremental_plan, load_project

Callback = Callable[["NodeResultT", int, int], None]
NodeResultT = Any


class Session:
    """One invocation: the loaded project, its renderer, graph and selection."""

    def __init__(self, project_dir: str | Path = ".", vars: dict | None = None,
                 full_refresh: bool = False, exists: Callable[[Node], bool] | None = None,
                 which: str = "compile", on_warning: Callable[[str], None] | None = None):
        from runner.jinja.render import Renderer
        from runner.project.keys import WarningLog
        from runner.project.typed_vars import check_vars
        self.started = dt.datetime.now(dt.timezone.utc)
        self.project: Project = load_project(project_dir)
        check_vars(self.project, vars or {})
        self.log = WarningLog(on_warning)
        self.target = self.project.root / "target"
        self.renderer = Renderer(self.project, vars or {}, exists=exists,
                                 full_refresh=full_refresh, run_started_at=self.started,
                                 which=which,
                                 cache_dir=self.target / "jinja-cache")
        self.tests: list[TestDef] = []
        self.test_sql: dict[str, str] = {}
        self._parse()
        self.graph = self._graph()
        self.flush_warnings()

    def flush_warnings(self) -> None:
        """Keys of the project and its config() blocks the runner does not act on."""
        self.log.add(*self.project.warnings, *self.renderer.warnings)

    def _parse(self) -> None:
        from runner.execute.datatests import generic_test_sql
        for node in self.project.models.values():
            node.config = self.renderer.render_node(node, execute=False).config
        disabled = {n for n, node in self.project.models.items()
                    if node.config.get("enabled", True) is False}
        for name in disabled:
            del self.project.models[name]         # enabled: false, as in dbt
        from runner.project.unit_tests import check_models
        check_models(self.project, disabled)
        from runner.execute.snapshots import snapshot_plan
        for node in self.project.models.values():
            if node.materialized == "incremental":
                incremental_plan(node)
            elif node.kind == "snapshot":
                snapshot_plan(node)
        seen: dict[str, int] = {}
        for test in self.project.tests:
            if test.name in seen:
                seen[test.name] += 1
                test.name = f"{test.name}_{seen[test.name]}"
            else:
                seen[test.name] = 1
            model = self.project.models.get(test.model or "")
            text = test.raw_sql if test.kind == "singular" else \
                generic_test_sql(test, model.config if model else None)
            rendered = self.renderer.render_test(test, text)
            test.config = {**test.config, **{k: v for k, v in rendered.config.items()}}
            self.test_sql[test.name] = text
            self.tests.append(test)

    def _graph(self):
        from runner.graph.dag import Graph
        parents = {name: set() for name in self.project.seeds}
        for name, node in self.project.models.items():
            parents[name] = {r for r in node.refs if r in self.project.nodes}
        return Graph(parents)

    def select(self, select: list[str] | None, exclude: list[str] | None) -> list[str]:
        from runner.graph.selection import select_nodes
        chosen = select_nodes(self.project.nodes, self.graph, select, exclude)
        return [n for n in self.graph.topological_order() if n in chosen]

    def tests_for(self, chosen: set[str], select: list[str] | None) -> list[TestDef]:
        """Tests that touch a chosen node (dbt's eager indirect selection)."""
        picked = []
        for test in self.tests:
            refs = test.refs & set(self.project.nodes)
            if not select and not refs:
                picked.append(test)
            elif refs & chosen:
                picked.append(test)
        return picked


def _raw_dir(project: Project, raw_dir: str | Path | None, notes: list[str],
             needed: bool, on_note: Callable[[str], None] | None = None) -> Path | None:
    if raw_dir is not None:
        path = Path(raw_dir).resolve()
        if not path.is_dir():
            raise SourceError(f"the raw folder {path} does not exist.",
                              hint="pass --raw-dir with the folder that holds the landing "
                                   "zone (one subfolder per raw table).")
        return path
    default = project.root / "data" / "raw"
    if default.is_dir() or not needed:
        return default if default.is_dir() else None
    sessions = project.vars.get("sample_sessions")
    if not sessions:
        return None
    seed = int(project.vars.get("sample_seed", 42))
    sample = project.root / "target" / "sample-raw"
    marker = sample / f".generated-{int(sessions)}-{seed}"
    described = f"{int(sessions):,} sessions, seed {seed}"
    notes.append(f"no landing zone at {default}: " +
                 (f"reusing the generated sample in {sample} ({described})" if marker.exists()
                  else f"building the generated sample ({described}) in {sample}"))
    if on_note:
        on_note(notes[-1])
    if not marker.exists():
        from cpo.sample import generate
        import shutil
        shutil.rmtree(sample, ignore_errors=True)
        generate(sample, int(sessions), seed)
        marker.write_text("complete\n")
    return sample


def default_db_path(project: Project) -> Path:
    return project.root / f"{project.name}.duckdb"


def execute(command: str, project_dir: str | Path = ".", raw_dir: str | Path | None = None,
            db_path: str | Path | None = None, vars: dict | None = None,
            select: list[str] | None = None, exclude: list[str] | None = None,
            full_refresh: bool = False, fail_fast: bool = False,
            on_result: Callable | None = None, on_note: Callable | None = None,
            memory_limit: str | None = None, threads: int | None = None,
            on_warning: Callable[[str], None] | None = None) -> RunResult:
    """build | run | seed | test: compile, check, then run the selected nodes in order."""
    from runner.jinja.compile import compile_models, compile_test
    from runner.engines.duckdb import connect, restrict
    from runner.execute.materialize import Executor, NodeResult

    started = time.perf_counter()
    executor_box: list = []
    tester_box: list = []

    def exists(node: Node) -> bool:
        return bool(executor_box) and executor_box[0].exists(node)

    session = Session(project_dir, vars, full_refresh, exists, which=command,
                      on_warning=on_warning)
    project = session.project
    result = RunResult(command, started_at=session.started.isoformat())
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
        from runner.publish.serving import settings as publish_settings
        # An installed package may be a link to a folder elsewhere (runner deps).
        restrict(con, [project.root, db.parent, publish_settings(project, db, vars)[0]] +
                 ([raw] if raw else []) + list(project.packages.values()))
        executor = Executor(con, project.root, full_refresh)
        executor_box.append(executor)
        # Compile and check everything before anything runs.
        compiled = compile_models(project, session.renderer, models, session.target)
        compiled_tests = {t.name: compile_test(project, session.renderer, t,
                                               session.test_sql[t.name], session.target)
                          for t in tests}
        session.flush_warnings()
        from runner.jinja.columns import check_columns, database_columns
        existing = database_columns(con)
        check_columns(project, compiled, seeds, existing, session.log.add)
        from runner.graph.plan import checks
        executor.contracts, tester, prepared = checks(project, session.renderer, models,
                                                      unit_tests, existing, session.log.add)
        tester_box.extend([tester] if tester else [])
        from runner.execute.sources import prepare_sources
        sources = [project.sources[k] for k in sorted(used_sources)]
        for note in prepare_sources(con, raw, sources, recheck=full_refresh):
            result.notes.append(note)
            if on_note:
                on_note(note)

        total = len(seeds) + len(models) + len(tests) + len(unit_tests)
        broken: dict[str, str] = {}       # node -> why its children are skipped
        done: set[str] = set()
        pending_tests = list(tests)
        stop_reason: list[str] = []
        in_run = set(seeds) | set(models)
        failed_tests: dict[str, str] = {}   # node -> a failing test: its children are skipped

        def emit(node_result: NodeResult) -> None:
            result.nodes.append(node_result)
            if on_result:
                on_result(node_result, len(result.nodes), total)
            if fail_fast and not node_result.ok and not stop_reason:
                stop_reason.append(f"--fail-fast: stopped after {node_result.kind} "
                                   f"{node_result.name} failed")

        def run_ready_tests() -> None:
            for test in list(pending_tests):
                refs = test.refs & set(project.nodes)
                if not (refs & in_run) <= (done | set(broken)):
                    continue
                pending_tests.remove(test)
                item = compiled_tests[test.name]
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
                outcome = executor.run_seed(node) if node.kind == "seed" else \
                    executor.run_model(compiled[name])
                emit(outcome)
                if outcome.status == "error":
                    broken[name] = "failed"
                else:
                    done.add(name)
            run_ready_tests()
        run_ready_tests()
        result.db_seconds = executor.db_seconds
        if command == "build" and result.ok:
            from runner.publish.command import publish_after_build
            publish_after_build(con, session, db, vars, result, on_note)
    finally:
        con.close()
        if tester_box:
            tester_box[0].close()
    result.seconds = time.perf_counter() - started
    write_run_results(session.target, result)
    return result


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
                    on_warning: Callable[[str], None] | None = None
                    ) -> dict[str, Path | None]:
    """Render and check the selected models; write them to target/compiled."""
    from runner.jinja.compile import compile_models
    session = Session(project_dir, vars, on_warning=on_warning)
    project = session.project
    from runner.jinja.columns import check_columns
    chosen = session.select(select, exclude)
    names = [n for n in chosen if n in project.models]
    compiled = compile_models(project, session.renderer, names, session.target)
    session.flush_warnings()
    check_columns(project, compiled, [n for n in chosen if n in project.seeds], {},
                  session.log.add)
    from runner.graph.plan import checks     # contracts and unit tests, as a build does
    tester = checks(project, session.renderer, names, [
        u for u in project.unit_tests if u.model in names], {}, session.log.add)[1]
    if tester:
        tester.close()
    return {name: item.compiled_path for name, item in compiled.items()}


def compile_sql(sql: str, project_dir: str | Path = ".", vars: dict | None = None) -> str:
    """Render a SQL string with the project's macros, vars and refs."""
    from runner.jinja.render import Renderer
    project = load_project(project_dir)
    return Renderer(project, vars or {}).render_string(sql, "inline").sql


def list_nodes(project_dir: str | Path = ".", select: list[str] | None = None,
               exclude: list[str] | None = None, vars: dict | None = None,
               on_warning: Callable[[str], None] | None = None) -> list[dict]:
    session = Session(project_dir, vars, on_warning=on_warning)
    out = []
    for name in session.select(select, exclude):
        node = session.project.node(name)
        out.append({"name": name, "kind": node.kind, "materialized": node.materialized,
                    "relation": f"{node.schema}.{node.alias}", "path": node.rel_path,
                    "tags": node.tags, "depends_on": sorted(session.graph.parents[name])})
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
    if node.kind == "model":
        try:        # its own config() may name another schema or alias
            node.config = Renderer(project).render_node(node, execute=False).config
        except RenderError:
            pass    # e.g. a var given only at build time: the folder and YAML config stand
    return node.schema, node.alias
