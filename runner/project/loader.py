"""Load a project: dbt_project.yml (optional), models, YAML property files, seeds, macros
and singular tests. Nothing is rendered or run here."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runner.errors import ProjectError

DEFAULT_PATHS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
}
MATERIALIZATIONS = {"view", "table", "incremental", "ephemeral"}
INCREMENTAL_STRATEGIES = {"append", "delete+insert", "merge"}
# Keys of a folder block in dbt_project.yml that are configs even without a "+".
CONFIG_KEYS = {"materialized", "schema", "tags", "enabled", "alias", "unique_key",
               "incremental_strategy", "column_types", "severity", "full_refresh",
               "docs", "meta", "persist_docs", "on_schema_change", "delimiter",
               "quote_columns"}


@dataclass
class Column:
    name: str
    description: str = ""
    data_type: str | None = None
    tests: list[Any] = field(default_factory=list)


@dataclass
class Node:
    """A model or a seed."""
    kind: str                     # "model" | "seed"
    name: str
    path: Path                    # the .sql or .csv file
    rel_path: str                 # relative to the project root, with "/"
    raw_sql: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    columns: dict[str, Column] = field(default_factory=dict)
    tests: list[Any] = field(default_factory=list)   # model-level data tests
    yaml_path: Path | None = None
    # Filled in by rendering:
    refs: set[str] = field(default_factory=set)
    sources: set[tuple[str, str]] = field(default_factory=set)

    @property
    def materialized(self) -> str:
        return self.config.get("materialized", "view" if self.kind == "model" else "seed")

    @property
    def schema(self) -> str:
        return self.config.get("schema") or "main"

    @property
    def alias(self) -> str:
        return self.config.get("alias") or self.name

    @property
    def tags(self) -> list[str]:
        tags = self.config.get("tags") or []
        return [tags] if isinstance(tags, str) else list(tags)


@dataclass
class SourceTable:
    source: str
    name: str
    folder: str                   # folder name under the raw directory
    schema: str                   # DuckDB schema of the source views
    columns: dict[str, Column]
    required: list[str]
    yaml_path: Path
    description: str = ""


@dataclass
class TestDef:
    """A data test: generic (from YAML) or singular (a SQL file)."""
    name: str
    kind: str                     # "generic" | "singular"
    path: Path
    test_type: str = ""           # unique, not_null, ... for generic tests
    model: str | None = None      # the model a generic test is attached to
    column: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    raw_sql: str = ""             # singular tests
    refs: set[str] = field(default_factory=set)
    sources: set[tuple[str, str]] = field(default_factory=set)

    @property
    def severity(self) -> str:
        return str(self.config.get("severity", "error")).lower()

    @property
    def tags(self) -> list[str]:
        tags = self.config.get("tags") or []
        return [tags] if isinstance(tags, str) else list(tags)


@dataclass
class MacroFile:
    path: Path
    name: str                     # template name, e.g. "macros/money.sql"
    text: str


@dataclass
class Project:
    root: Path
    name: str
    vars: dict[str, Any]
    models: dict[str, Node]
    seeds: dict[str, Node]
    sources: dict[tuple[str, str], SourceTable]
    tests: list[TestDef]
    macros: list[MacroFile]
    paths: dict[str, list[str]]

    def node(self, name: str) -> Node:
        return self.models.get(name) or self.seeds[name]

    @property
    def nodes(self) -> dict[str, Node]:
        return {**self.seeds, **self.models}


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
    if strategy != "append" and not keys:
        raise ProjectError(f"incremental_strategy {strategy!r} needs a unique_key.",
                           node=node.name, path=node.rel_path,
                           hint="add unique_key='...' to config().")
    return strategy, keys


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProjectError("the file is not UTF-8 text.", path=str(path),
                           hint="save it as UTF-8.")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectError(f"malformed YAML: {problem}.", path=str(path),
                           line=mark.line + 1 if mark else None,
                           hint="fix the indentation or quoting at that line "
                                "(a value holding ':' or '{' needs quotes).")


def load_project(root: str | Path = ".") -> Project:
    root = Path(root).resolve()
    if not root.is_dir():
        raise ProjectError(f"the project folder {root} does not exist.",
                           hint="pass --project-dir with a folder that holds models/.")
    settings: dict[str, Any] = {}
    project_file = root / "dbt_project.yml"
    if project_file.exists():
        settings = read_yaml(project_file) or {}
        if not isinstance(settings, dict):
            raise ProjectError("dbt_project.yml must be a mapping of settings.",
                               path=str(project_file))
    name = str(settings.get("name") or root.name)
    paths = {key: list(settings.get(key) or default) for key, default in DEFAULT_PATHS.items()}
    model_dirs = [root / p for p in paths["model-paths"]]
    if not any(d.is_dir() for d in model_dirs):
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

    sources: dict[tuple[str, str], SourceTable] = {}
    tests: list[TestDef] = []
    yaml_dirs = model_dirs + [root / p for p in paths["seed-paths"]]
    for base in yaml_dirs:
        if not base.is_dir():
            continue
        for path in sorted([*base.rglob("*.yml"), *base.rglob("*.yaml")]):
            _apply_properties(path, root, models, seeds, sources, tests)

    for base in (root / p for p in paths["test-paths"]):
        if base.is_dir():
            for path in sorted(base.rglob("*.sql")):
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
    return Project(root, name, dict(project_vars), models, seeds, sources, tests,
                   macros, paths)


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


def _merge_config(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if key == "tags":
            tags = [value] if isinstance(value, str) else list(value or [])
            merged["tags"] = list(dict.fromkeys([*merged.get("tags", []), *tags]))
        elif key == "column_types" and isinstance(value, dict):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


def _config_for(defaults: dict[str, Any], folders: tuple[str, ...], default_mat: str) -> dict:
    config: dict[str, Any] = {"materialized": default_mat} if default_mat != "seed" else {}
    block = defaults
    own, children = _split_config(block)
    config = _merge_config(config, own)
    for folder in folders:
        block = children.get(folder)
        if not isinstance(block, dict):
            break
        own, children = _split_config(block)
        config = _merge_config(config, own)
    return config


def merge_config(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return _merge_config(base, extra)


def _as_list(value: Any, what: str, path: Path) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProjectError(f"{what} must be a list.", path=str(path))
    return value


def _columns(entry: dict, path: Path) -> dict[str, Column]:
    columns = {}
    for col in _as_list(entry.get("columns"), "'columns'", path):
        if not isinstance(col, dict) or "name" not in col:
            raise ProjectError("each entry of 'columns' needs a 'name'.", path=str(path))
        tests = col.get("data_tests", col.get("tests")) or []
        columns[str(col["name"])] = Column(str(col["name"]), str(col.get("description") or ""),
                                           col.get("data_type"), list(tests))
    return columns


def _apply_properties(path: Path, root: Path, models: dict[str, Node], seeds: dict[str, Node],
                      sources: dict[tuple[str, str], SourceTable], tests: list[TestDef]) -> None:
    doc = read_yaml(path)
    if doc is None:
        return
    rel = path.relative_to(root).as_posix()
    if not isinstance(doc, dict):
        raise ProjectError("a property file must be a mapping with 'version: 2'.", path=rel)

    for key, registry in (("models", models), ("seeds", seeds)):
        for entry in _as_list(doc.get(key), f"'{key}'", path):
            if not isinstance(entry, dict) or "name" not in entry:
                raise ProjectError(f"each entry of '{key}' needs a 'name'.", path=rel)
            name = str(entry["name"])
            node = registry.get(name)
            if node is None:
                from difflib import get_close_matches
                close = get_close_matches(name, registry.keys(), n=1)
                hint = f"did you mean {close[0]!r}?" if close else \
                    f"add {key[:-1]} file {name}.{'sql' if key == 'models' else 'csv'}."
                raise ProjectError(f"{rel} describes {key[:-1]} {name!r}, which does not exist.",
                                   path=rel, hint=hint)
            node.yaml_path = path
            node.description = str(entry.get("description") or "")
            extra = dict(entry.get("config") or {})
            if "column_types" in entry:
                extra["column_types"] = entry["column_types"]
            node.config = _merge_config(node.config, extra)
            node.columns = _columns(entry, path)
            node.tests = list(entry.get("data_tests", entry.get("tests")) or [])
            for col in node.columns.values():
                for spec in col.tests:
                    tests.append(_generic_test(spec, name, col.name, path))
            for spec in node.tests:
                tests.append(_generic_test(spec, name, None, path))

    for src in _as_list(doc.get("sources"), "'sources'", path):
        if not isinstance(src, dict) or "name" not in src:
            raise ProjectError("each entry of 'sources' needs a 'name'.", path=rel)
        for table in _as_list(src.get("tables"), "'tables'", path):
            if not isinstance(table, dict) or "name" not in table:
                raise ProjectError(f"each table of source {src['name']!r} needs a 'name'.",
                                   path=rel)
            columns = _columns(table, path)
            meta = table.get("meta") or {}
            required = [c.name for c in columns.values()
                        if not (meta.get("optional_columns") and c.name in meta["optional_columns"])]
            key = (str(src["name"]), str(table["name"]))
            sources[key] = SourceTable(
                key[0], key[1], str(table.get("identifier") or meta.get("folder") or key[1]),
                str(src.get("schema") or key[0]), columns, required, path,
                str(table.get("description") or ""))


GENERIC_TESTS = {"unique", "not_null", "accepted_values", "relationships",
                 "expression_is_true"}


def _generic_test(spec: Any, model: str, column: str | None, path: Path) -> TestDef:
    if isinstance(spec, str):
        test_type, args = spec, {}
    elif isinstance(spec, dict) and len(spec) == 1:
        test_type, args = next(iter(spec.items()))
        args = copy.deepcopy(args) or {}
        if not isinstance(args, dict):
            raise ProjectError(f"the arguments of test {test_type!r} on {model} must be a mapping.",
                               path=str(path))
    else:
        raise ProjectError(f"cannot read the data test {spec!r} on {model}.", path=str(path),
                           hint="write a test as a name (unique) or a mapping "
                                "(accepted_values: {values: [...]}).")
    test_type = str(test_type).split(".")[-1]    # dbt_utils.expression_is_true -> expression_is_true
    if test_type not in GENERIC_TESTS:
        raise ProjectError(f"unknown data test {test_type!r} on {model}"
                           f"{'.' + column if column else ''}.", path=str(path),
                           hint=f"use one of {', '.join(sorted(GENERIC_TESTS))}, "
                                "or write a singular test as a SQL file.")
    config = dict(args.pop("config", None) or {})
    args.update(args.pop("arguments", None) or {})
    for key in ("severity", "where", "tags", "error_if", "warn_if", "limit"):
        if key in args:
            config[key] = args.pop(key)
    column = args.pop("column_name", column)
    suffix = f"{model}_{column}" if column else model
    return TestDef(f"{test_type}_{suffix}", "generic", path, test_type, model, column,
                   args, config)
