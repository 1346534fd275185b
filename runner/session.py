"""One invocation of a command: the loaded project, its renderer, data tests, graph and
selection (with --state's selector methods), and where its database and raw files are."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from runner.artifacts.run_results import RunResult, write_run_results
from runner.errors import SourceError
from runner.project.loader import Node, Project, TestDef, incremental_plan, load_project


class Session:
    """One invocation: the loaded project, its renderer, graph and selection."""

    def __init__(self, project_dir: str | Path = ".", vars: dict | None = None,
                 full_refresh: bool = False, exists: Callable[[Node], bool] | None = None,
                 which: str = "compile", on_warning: Callable[[str], None] | None = None,
                 state: str | Path | None = None, target_path: str | Path | None = None):
        from runner.jinja.render import Renderer
        from runner.project.keys import WarningLog
        from runner.project.typed_vars import check_vars
        import uuid
        self.started = dt.datetime.now(dt.timezone.utc)
        self.invocation_id = str(uuid.uuid4())
        self.project: Project = load_project(project_dir)
        check_vars(self.project, vars or {})
        self.log = WarningLog(on_warning)
        self.target = self.project.root / (target_path or "target")   # dbt's --target-path
        self.renderer = Renderer(self.project, vars or {}, exists=exists,
                                 full_refresh=full_refresh, run_started_at=self.started,
                                 which=which,
                                 cache_dir=self.target / "jinja-cache")
        self.renderer.context["invocation_id"] = self.invocation_id    # the artifacts' too
        self.tests: list[TestDef] = []
        self.test_sql: dict[str, str] = {}
        self._parse()
        self.renderer.context["graph"].reset()
        self.graph = self._graph()
        self.db_path = default_db_path(self.project)
        from runner.graph.state import State, selector_methods
        self.state = State(state) if state else None
        self.methods = selector_methods(self.state, self)
        self.flush_warnings()

    def flush_warnings(self) -> None:
        """Keys of the project and its config() blocks the runner does not act on."""
        self.log.add(*self.project.warnings, *self.renderer.warnings)

    def _parse(self) -> None:
        from runner.execute.datatests import generic_test_sql, test_macro
        from runner.jinja.naming import apply_naming, render_config_values
        for node in self.project.nodes.values():
            render_config_values(self.renderer, node)
        for node in self.project.models.values():
            node.config = self.renderer.render_node(node, execute=False).config
        disabled: set[str] = set()
        for nodes in (self.project.models, self.project.seeds):
            for name in [n for n, node in nodes.items()
                         if node.config.get("enabled", True) is False]:
                disabled.add(name)
                del nodes[name]         # enabled: false, as in dbt
        if self.project.unit_tests:      # (not imported for a project without them)
            from runner.project.unit_tests import check_models
            check_models(self.project, disabled)
        from runner.execute.snapshots import snapshot_plan
        for node in self.project.models.values():
            if node.materialized == "incremental":
                incremental_plan(node)
            elif node.kind == "snapshot":
                snapshot_plan(node)
        from runner.execute.seeds import render_seed_configs
        render_seed_configs(self.project.seeds, lambda text, node: self.renderer.render_string(
            text, f"seed {node.name}", node.rel_path).sql)
        apply_naming(self.renderer, list(self.project.nodes.values()))
        seen: dict[str, int] = {}
        for test in self.project.tests:
            if test.name in seen:
                seen[test.name] += 1
                test.name = f"{test.name}_{seen[test.name]}"
            else:
                seen[test.name] = 1
            model = self.project.models.get(test.model or "")
            text = test.raw_sql if test.kind == "singular" else \
                generic_test_sql(test, model.config if model else None,
                                 lambda ns, kind: test_macro(self.renderer, ns, kind))
            rendered = self.renderer.render_test(test, text)
            test.config = {**test.config, **{k: v for k, v in rendered.config.items()}}
            self.test_sql[test.name] = text
            self.tests.append(test)

    def write_artifacts(self, db: Path, compiled: dict | None = None,
                        compiled_tests: dict | None = None,
                        result: RunResult | None = None) -> dict:
        """target/manifest.json, and the run's target/run_results.json."""
        from runner.artifacts.manifest import Ids, build_manifest, write_json
        manifest = build_manifest(self, db, self.invocation_id, compiled, compiled_tests)
        write_json(self.target / "manifest.json", manifest)
        if result is not None:
            write_run_results(self.target, result, Ids(self).of, manifest)
        return manifest

    def _graph(self):
        from runner.graph.dag import Graph
        parents = {name: set() for name in self.project.seeds}
        for name, node in self.project.models.items():
            parents[name] = {r for r in node.refs if r in self.project.nodes}
        return Graph(parents)

    def select(self, select: list[str] | None, exclude: list[str] | None) -> list[str]:
        from runner.graph.selection import select_nodes
        chosen = select_nodes(self.project.nodes, self.graph, select, exclude, self.methods)
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


def resolve_raw_dir(project: Project, raw_dir: str | Path | None, notes: list[str],
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
