"""dbt's project hooks: `on-run-start` and `on-run-end` of dbt_project.yml (and of the
installed packages'), as dbt-core's RunTask runs them (`safe_run_hooks`).

- `build`, `run`, `seed`, `snapshot` and `test` run them; a run with nothing selected
  runs none, as dbt's does.
- Each statement is a node of its own, `<project>-on-run-start-<index>` (dbt's HookNode,
  resource type `operation`), rendered just before it runs with the project's Jinja
  context (its package's macros for a package's hook); `on-run-end` also gets `results`
  (the run's node results, dbt's shape: `.node` as the manifest lists it, `.status`,
  `.message`, `.execution_time`, ...), `schemas` and `database_schemas`. The packages'
  hooks run first, by package name, then the project's, in their order.
- They run outside a transaction, as dbt's: on DuckDB each statement commits as it runs.
- After a hook fails, the others of its kind are skipped, as in dbt. A failed
  `on-run-start` skips every node (as dbt does with its flag
  `skip_nodes_if_on_run_start_fails`, off by default there), so the build changes no
  node's table and publishes nothing; `on-run-end` then runs with dbt's `results` under
  that flag: none (neither the skipped nodes nor the failed hook), and no `schemas`.
  `on-run-end` runs after the last node whatever failed, and before the build
  publishes: a failing one fails the build (exit 1) and the previous publication stays.
  Only an engine gone mid-run (a Spark Connect server that stopped answering: `skip_end`
  says so) skips it, each hook with that reason.
- A hook that does not render is a compilation error, as in dbt (its compile is not
  part of the hook's result): a Jinja syntax error stops the command before anything
  runs; an error while rendering it (an undefined macro, a failed run_query) stops the
  command there (exit 2), the hooks after it not run. In on-run-start, no node has run
  and no run_results.json is written; in on-run-end, run_results.json is written (the
  hooks that ran, not this one) and nothing is published."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any, Callable

from runner.errors import RenderError
from runner.execute.results import NodeResult, first_lines
from runner.project.nodes import RunHook

START, END = "on-run-start", "on-run-end"


def ordered(hooks: list[RunHook], kind: str) -> list[RunHook]:
    """dbt's order: the packages' hooks by package name, then the project's own."""
    return sorted([h for h in hooks if h.kind == kind],
                  key=lambda h: (h.package is None, h.package or "", h.index))


def dbt_name(hook: RunHook) -> str:
    """The name dbt's messages give a hook: `<project>.on-run-start.0`."""
    return f"{hook.project}.{hook.kind}.{hook.index}"


class RunHooks:
    """The project hooks of one run. `run_sql(sql)` runs a hook's rendered SQL on the
    engine (raising the engine's error, which `describe` turns into text). Made before
    anything runs: it checks the hooks' Jinja."""

    def __init__(self, session: Any, run_sql: Callable[[str], Any], engine: str,
                 describe: Callable[[BaseException], str] = str):
        self.session = session
        self.renderer = session.renderer
        self.run_sql = run_sql
        self.engine = engine
        self.describe = describe            # the engine's error as text
        self.hooks = session.project.hooks
        self.active = False
        self.start_failed = False
        self.error: RenderError | None = None     # an on-run-end hook that did not render
        self.skip_end: str | None = None    # why on-run-end is skipped (the engine is gone)
        for hook in self.hooks:                 # Jinja syntax errors: before anything runs
            try:
                self.renderer._get(self._template(hook), hook.name, hook.path)
            except RenderError as exc:
                raise RenderError(f"{hook.kind} hook {hook.index}: {exc.message}",
                                  node=hook.name, path=hook.path, line=hook.line,
                                  hint=exc.hint) from None

    def total(self, nodes: int) -> int:
        """The run's count of results: its nodes, and the hooks if a node is selected."""
        self.active = nodes > 0
        return nodes + (len(self.hooks) if self.active else 0)

    def _template(self, hook: RunHook) -> str:
        name = f"operation:{hook.name}"
        self.renderer.loader.templates.setdefault(name, (hook.sql, hook.path))
        return name

    def start(self, emit: Any) -> None:
        """on-run-start; if one fails, every node of the run is skipped."""
        if not self.active:
            return
        failed = self._run(START, emit, {})
        self.start_failed = failed is not None
        if failed and not emit.stop:
            emit.stop.append(f"skipped: on-run-start hook {failed} failed")

    def end(self, emit: Any, db_path: Any, compiled: dict | None = None,
            compiled_tests: dict | None = None) -> None:
        """on-run-end, with the run's results, schemas and database_schemas (`db_path`:
        the database the manifest names, as the run's artifacts do); none after a failed
        on-run-start, as dbt passes none when it skips the nodes (RunTask.after_run gets
        no node results). A hook that does not render is kept in `error`: the caller
        writes run_results.json, publishes nothing and raises it, as dbt does."""
        if not self.active or not any(h.kind == END for h in self.hooks):
            return
        from runner.artifacts.manifest import Ids, build_manifest
        manifest = build_manifest(self.session, db_path,
                                  self.session.invocation_id, compiled, compiled_tests)
        ids = Ids(self.session)
        results = [] if self.start_failed else emit.result.nodes
        try:
            self._run(END, emit, end_context(results, manifest, ids))
        except RenderError as exc:
            self.error = exc

    def _run(self, kind: str, emit: Any, extra: dict[str, Any]) -> str | None:
        """The hooks of one kind in order; the name of the first that failed, if one."""
        failed: str | None = None
        for hook in ordered(self.hooks, kind):
            result = NodeResult(hook.name, "operation", "success",
                                path=hook.path, compiled_path=None)
            gone = self.skip_end if kind == END else None
            if failed or gone:
                result.status, result.message = "skipped", f"{dbt_name(hook)} " \
                    f"{gone or 'skipped'}"
                result.failures = 1
                emit(result)
                continue
            started = time.perf_counter()
            error = self._execute(hook, extra)
            result.seconds = time.perf_counter() - started
            result.failures = 0 if error is None else 1      # dbt's count for a hook
            if error is None:
                result.message = f"{dbt_name(hook)} passed"
            else:
                failed = hook.name
                result.status = "error"
                at = f"{hook.path}:{hook.line}" if hook.line else hook.path
                end = "" if error[-1:] in ".!?" else "."
                after = " The run's nodes are skipped: their tables stay as they were." \
                    if kind == START else ""
                result.message = f"{kind} hook {hook.index} ({at}) failed: {error}{end}{after}"
            emit(result)
        return failed

    def _execute(self, hook: RunHook, extra: dict[str, Any]) -> str | None:
        """Render and run one hook; the error, if it failed."""
        context = self.renderer.context
        saved = {key: context.get(key) for key in extra}
        context.update(extra)
        try:
            rendered = self.renderer._render(self._template(hook), hook.name, hook.path, {},
                                             True, node=hook).sql
        except RenderError as exc:      # dbt's compile of the hook raises: no result
            after = "; run_results.json has the run's results, nothing was published" \
                if hook.kind == END else "; no node was run"
            raise RenderError(f"{hook.kind} hook {hook.index} did not render: "
                              f"{exc.message.rstrip('.')}{after}.", node=hook.name,
                              path=hook.path, line=hook.line,
                              hint=exc.hint or f"fix the hook in {hook.path}.") from None
        finally:
            for key, value in saved.items():
                if value is None:
                    context.pop(key, None)
                else:
                    context[key] = value
        sql = hook_sql(rendered)
        hook.compiled = sql
        if not sql.strip():
            return None                      # dbt: an empty hook passes ("OK")
        try:
            self.run_sql(sql)
        except Exception as exc:             # the engine's error, whichever it is
            return f"{self.engine}: {first_lines(self.describe(exc))}"
        return None


def hook_sql(rendered: str) -> str:
    """dbt's get_hook_dict: a hook that renders to JSON `{"sql": ...}` runs its sql."""
    try:
        value = json.loads(rendered)
    except ValueError:
        return rendered
    return str(value.get("sql") or "") if isinstance(value, dict) else rendered


def end_context(nodes: list[NodeResult], manifest: dict, ids: Any) -> dict[str, Any]:
    """dbt's `results`, `schemas` and `database_schemas` of on-run-end: the run's results
    (the hooks that ran before only where they failed), and the schemas of the models,
    seeds and snapshots that were built."""
    entries = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    results = []
    for node in nodes:
        if node.kind == "operation" and node.status != "error":
            continue
        uid = ids.of(node.kind, node.name)
        entry = entries.get(uid) or {"unique_id": uid, "name": node.name,
                                     "resource_type": node.kind}
        results.append(SimpleNamespace(
            node=SimpleNamespace(**entry), status=node.status,
            message=node.message or None, execution_time=node.seconds,
            failures=node.failures, thread_id="main" if node.kind == "operation" else
            "Thread-1", timing=[], batch_results=None,
            adapter_response={} if node.status in ("error", "skipped") else
            {"_message": node.message or "OK", "code": "OK",
             **({"rows_affected": node.rows} if node.rows is not None else {})}))
    built = {(r.node.database, r.node.schema) for r in results
             if r.node.resource_type in ("model", "seed", "snapshot") and
             r.status not in ("error", "fail", "skipped")}
    return {"results": results, "schemas": sorted({s for _, s in built}),
            "database_schemas": sorted(built)}


def manifest_nodes(session: Any, database: str, macros: dict,
                   calls: Callable[[str, dict, str], set]) -> dict[str, dict[str, Any]]:
    """The hooks as dbt's manifest lists them: nodes of resource type `operation`."""
    from runner.artifacts.manifest import sha256
    out: dict[str, dict[str, Any]] = {}
    for hook in session.project.hooks:
        package = hook.package or session.project.name
        out[hook.unique_id] = {
            "database": database, "schema": "main", "name": hook.name,
            "resource_type": "operation", "package_name": package,
            "path": f"hooks/{hook.name}.sql", "original_file_path": "./dbt_project.yml",
            "unique_id": hook.unique_id, "fqn": [package, "hooks", hook.name],
            "alias": hook.name, "checksum": sha256(hook.sql),
            "config": {"enabled": True, "alias": None, "schema": None, "database": None,
                       "tags": [], "meta": {}, "group": None, "materialized": "view",
                       "incremental_strategy": None, "persist_docs": {},
                       "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {},
                       "full_refresh": None, "unique_key": None,
                       "on_schema_change": "ignore", "on_configuration_change": "apply",
                       "grants": {}, "packages": [],
                       "docs": {"show": True, "node_color": None},
                       "contract": {"enforced": False, "alias_types": True}},
            "tags": [hook.kind], "description": "", "columns": {}, "meta": {},
            "group": None, "docs": {"show": True, "node_color": None}, "patch_path": None,
            "build_path": None, "unrendered_config": {}, "created_at": 0.0,
            "relation_name": None, "raw_code": hook.sql, "doc_blocks": [],
            "language": "sql", "refs": [], "sources": [], "metrics": [], "functions": [],
            "depends_on": {"macros": sorted(calls(hook.sql, macros, package)),
                           "nodes": []},
            "compiled_path": None, "compiled": hook.compiled is not None,
            "extra_ctes_injected": hook.compiled is not None, "extra_ctes": [],
            "contract": {"enforced": False, "alias_types": True, "checksum": None},
            "index": hook.index}
        if hook.compiled is not None:
            out[hook.unique_id]["compiled_code"] = hook.compiled
    return out
