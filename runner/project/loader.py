"""Load a project: dbt_project.yml (optional), models, YAML property files, seeds, macros
and singular tests. Nothing is rendered or run here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import ProjectError
from runner.project.keys import CONFIG_KEYS, KeyChecker
from runner.project.nodes import (Column, MacroFile, Node, Project, RunHook, SourceTable,
                                  TestDef, merge_config)
from runner.deps.packages import join_packages, read_dispatch
from runner.project.properties import apply_properties, read_yaml, read_yaml_lines

__all__ = ["Column", "MacroFile", "Node", "Project", "SourceTable", "TestDef", "read_yaml",
           "load_project", "incremental_plan", "merge_config", "MATERIALIZATIONS"]

DEFAULT_PATHS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
}
MATERIALIZATIONS = {"view", "table", "incremental", "ephemeral", "snapshot"}
# insert_overwrite (dbt-spark's): the partitions of partition_by that the new rows
# fall in are replaced whole (on DuckDB a delete+insert keyed on those columns).
INCREMENTAL_STRATEGIES = {"append", "delete+insert", "merge", "insert_overwrite"}


def incremental_plan(node: "Node") -> tuple[str, list[str]]:
    """The strategy and unique key columns of an incremental model, or a ProjectError
    (checked when the project is parsed, so a wrong strategy shows on the first build)."""
    keys = node.config.get("unique_key")
    keys = [keys] if isinstance(keys, str) else list(keys or [])
    strategy = str(node.config.get("incremental_strategy") or ("merge" if keys else "append"))
    if strategy not in INCREMENTAL_STRATEGIES:
        raise ProjectError(f"incremental_strategy {strategy!r} is not one of "
                           f"{', '.join(sorted(INCREMENTAL_STRATEGIES))}.", node=node.name,
                           path=node.rel_path)
    if strategy == "insert_overwrite":
        parts = node.config.get("partition_by")
        parts = [parts] if isinstance(parts, str) else list(parts or [])
        if not parts:
            raise ProjectError("incremental_strategy 'insert_overwrite' needs partition_by "
                               "(the partitions it replaces).", node=node.name,
                               path=node.rel_path, hint="add partition_by='...' to config().")
        return strategy, [str(p) for p in parts]
    if strategy != "append" and not keys:
        raise ProjectError(f"incremental_strategy {strategy!r} needs a unique_key.",
                           node=node.name, path=node.rel_path,
                           hint="add unique_key='...' to config().")
    return strategy, keys


def load_project(root: str | Path = ".", as_package: bool = False) -> Project:
    """The project in `root` with its installed packages; `as_package`: one package
    alone (it may have no models folder)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise ProjectError(f"the project folder {root} does not exist.",
                           hint="pass --project-dir with a folder that holds models/.")
    settings: dict[str, Any] = {}
    lines: dict[tuple, int] = {}
    project_file = root / "dbt_project.yml"
    if project_file.exists():
        settings, lines = read_yaml_lines(project_file)
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ProjectError("dbt_project.yml must be a mapping of settings.",
                               path=str(project_file))
    name = str(settings.get("name") or root.name)
    paths = {key: list(settings.get(key) or default) for key, default in DEFAULT_PATHS.items()}
    model_dirs = [root / p for p in paths["model-paths"]]
    if not as_package and not any(d.is_dir() for d in model_dirs):
        raise ProjectError(f"no models folder in {root} "
                           f"(looked for {', '.join(paths['model-paths'])}).",
                           hint="run the command in a project folder, or pass --project-dir.")

    model_defaults = _folder_defaults(settings.get("models"), name)
    seed_defaults = _folder_defaults(settings.get("seeds"), name)

    models: dict[str, Node] = {}
    for base in model_dirs:
        for path in sorted(base.rglob("*.sql")):
            rel = path.relative_to(root).as_posix()
            folders = path.relative_to(base).parts[:-1]
            node = Node("model", path.stem, path, rel,
                        raw_sql=path.read_text(encoding="utf-8"),
                        config=_config_for(model_defaults, folders, "view"))
            if node.name in models:
                raise ProjectError(f"two models are named {node.name!r}: "
                                   f"{models[node.name].rel_path} and {rel}.",
                                   path=rel, hint="rename one of the files.")
            models[node.name] = node

    seeds: dict[str, Node] = {}
    for base in (root / p for p in paths["seed-paths"]):
        if base.is_dir():
            for path in sorted(base.rglob("*.csv")):
                folders = path.relative_to(base).parts[:-1]
                rel = path.relative_to(root).as_posix()
                seeds[path.stem] = Node("seed", path.stem, path, rel,
                                        config=_config_for(seed_defaults, folders, "seed"))
                if path.stem in models:
                    raise ProjectError(f"a seed and a model are both named {path.stem!r}.",
                                       path=rel, hint="rename one of them.")

    from runner.project.snapshots import read_snapshot_files
    read_snapshot_files(root, [root / p for p in paths["snapshot-paths"]], models)

    warnings: list[str] = []
    if project_file.exists():
        checker = KeyChecker("dbt_project.yml", lines)
        checker.project_file(settings, name, lambda kind: _folders(
            root, paths["model-paths" if kind == "models" else "seed-paths"]))
        warnings += checker.warnings

    sources: dict[tuple[str, str], SourceTable] = {}
    tests: list[TestDef] = []
    unit_tests: list = []
    # dbt's unit test fixture files: tests/fixtures/, or fixtures/ in a test path
    fixture_dirs = list(dict.fromkeys([root / "tests" / "fixtures"] + [
        root / p / "fixtures" for p in paths["test-paths"]]))
    yaml_dirs = model_dirs + [root / p for p in paths["seed-paths"] + paths["snapshot-paths"]]
    for base in yaml_dirs:
        if not base.is_dir():
            continue
        for path in sorted([*base.rglob("*.yml"), *base.rglob("*.yaml")]):
            warnings += apply_properties(path, root, models, seeds, sources, tests,
                                         unit_tests, fixture_dirs)

    for base in (root / p for p in paths["test-paths"]):
        if base.is_dir():
            for path in sorted(base.rglob("*.sql")):
                if "fixtures" in path.relative_to(base).parts[:-1]:
                    continue            # unit test fixtures, not singular tests
                tests.append(TestDef(path.stem, "singular", path,
                                     raw_sql=path.read_text(encoding="utf-8")))

    macros = []
    for base in (root / p for p in paths["macro-paths"]):
        if base.is_dir():
            for path in sorted(base.rglob("*.sql")):
                macros.append(MacroFile(path, path.relative_to(root).as_posix(),
                                        path.read_text(encoding="utf-8")))

    project_vars = settings.get("vars") or {}
    if not isinstance(project_vars, dict):
        raise ProjectError("'vars' in dbt_project.yml must be a mapping.",
                           path=str(project_file))
    project = Project(root, name, dict(project_vars), models, seeds, sources, tests,
                      macros, paths, warnings,
                      {str(k): lines.get(("vars", str(k)), 0) for k in project_vars},
                      read_dispatch(settings, "dbt_project.yml"))
    project.unit_tests = unit_tests
    project.hooks = run_hooks(settings, name, lines, str(project_file))
    if not as_package:
        join_packages(project, settings, lambda folder: load_project(folder, as_package=True))
        from runner.project.docs import render_descriptions
        render_descriptions(project, settings)
    return project


def run_hooks(settings: dict[str, Any], name: str, lines: dict[tuple, int],
              path: str) -> list[RunHook]:
    """`on-run-start` and `on-run-end`: SQL text or a list of them, as dbt reads them;
    anything else is a ProjectError naming the line."""
    hooks = []
    for kind in ("on-run-start", "on-run-end"):
        value = settings.get(kind)
        items = [] if value is None else list(value) if isinstance(value, (list, tuple)) \
            else [value]
        for index, item in enumerate(items):
            line = lines.get((kind, index)) or lines.get((kind,))
            if not isinstance(item, str):
                raise ProjectError(f"{kind} item {index} ({item!r}) is not SQL text.",
                                   path=path, line=line,
                                   hint=f"write {kind} as one SQL string or a list of them.")
            hooks.append(RunHook(name, kind, index, item, line=line))
    return hooks


def _folders(root: Path, bases: list[str]) -> set[tuple[str, ...]]:
    """Every folder below the given project folders, as tuples of names."""
    found: set[tuple[str, ...]] = set()
    for base in (root / b for b in bases):
        if base.is_dir():
            found |= {p.relative_to(base).parts for p in base.rglob("*") if p.is_dir()}
    return found


def _folder_defaults(block: Any, project_name: str) -> dict[str, Any]:
    """The per-folder block of dbt_project.yml, under the project's own name if given."""
    if not isinstance(block, dict):
        return {}
    if project_name in block and isinstance(block[project_name], dict):
        merged = {k: v for k, v in block.items() if k != project_name}
        merged.update(block[project_name])
        return merged
    return block


def _split_config(block: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config, children = {}, {}
    for key, value in block.items():
        if key.startswith("+"):
            config[key[1:]] = value
        elif key in CONFIG_KEYS:
            config[key] = value
        elif isinstance(value, dict):
            children[key] = value
    return config, children


def _config_for(defaults: dict[str, Any], folders: tuple[str, ...], default_mat: str) -> dict:
    config: dict[str, Any] = {"materialized": default_mat} if default_mat != "seed" else {}
    block = defaults
    own, children = _split_config(block)
    config = merge_config(config, own)
    for folder in folders:
        block = children.get(folder)
        if not isinstance(block, dict):
            break
        own, children = _split_config(block)
        config = merge_config(config, own)
    return config


