"""dbt's context functions and objects that need no database: log, print,
exceptions.warn, modules.itertools, toyaml/fromyaml, builtins, graph, invocation_id,
and the adapter's database calls (from runner.jinja.database) wired into `adapter`."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import uuid
from collections.abc import Mapping
from typing import Any, Iterator



class _SafeItertools:
    """`modules.itertools`, its functions only."""

    def __init__(self) -> None:
        for name in ("accumulate", "chain", "combinations", "combinations_with_replacement",
                     "compress", "count", "cycle", "dropwhile", "filterfalse", "groupby",
                     "islice", "permutations", "product", "repeat", "starmap", "takewhile",
                     "tee", "zip_longest"):
            setattr(self, name, _wrapped(getattr(itertools, name)))


class _SafePytz:
    """`modules.pytz` (as dbt's), its zone names and `timezone()`; pytz is imported
    when one is read."""

    @property
    def all_timezones(self) -> list[str]:
        import pytz
        return list(pytz.all_timezones)

    @property
    def common_timezones(self) -> list[str]:
        import pytz
        return list(pytz.common_timezones)

    def timezone(self, name: str) -> Any:
        import pytz
        return pytz.timezone(name)


def _wrapped(function: Any) -> Any:
    """A plain function around a builtin, so that no `__self__` (the module) shows."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)
    return call


def _toyaml(value: Any, default: Any = None, sort_keys: bool = False) -> Any:
    import yaml      # here: a build whose project has no YAML does not import PyYAML
    try:
        return yaml.safe_dump(value, sort_keys=sort_keys)
    except yaml.YAMLError:
        return default


def _fromyaml(text: Any, default: Any = None) -> Any:
    import yaml
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, TypeError, AttributeError):
        return default


class LazyGraph(Mapping):
    """dbt's `graph`: `nodes` (models, seeds, tests) and `sources` by unique id, as plain
    mappings; built when first read, from the nodes the project has parsed by then."""

    def __init__(self, renderer: Any):
        self._renderer = renderer
        self._data: dict[str, Any] | None = None

    def reset(self) -> None:
        """Built again at the next read (the parse has found every node's refs)."""
        self._data = None

    def _built(self) -> dict[str, Any]:
        if self._data is None:
            self._data = build_graph(self._renderer)
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._built()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def unique_id(kind: str, package: str, name: str) -> str:
    return f"{kind}.{package}.{name}"


def build_graph(renderer: Any) -> dict[str, Any]:
    project = renderer.project
    database = renderer.context["target"].get("database")
    ids = {name: unique_id(node.kind, node.package or project.name, name)
           for name, node in project.nodes.items()}
    source_ids = {key: unique_id("source", project.name, f"{key[0]}.{key[1]}")
                  for key in project.sources}
    nodes: dict[str, Any] = {}
    for name, node in project.nodes.items():
        package = node.package or project.name
        nodes[ids[name]] = {
            "unique_id": ids[name], "name": name, "resource_type": node.kind,
            "package_name": package, "path": node.rel_path,
            "original_file_path": node.rel_path, "fqn": [package, *name.split(".")],
            "database": database, "schema": node.schema, "alias": node.alias,
            "relation_name": f'"{node.schema}"."{node.alias}"',
            "config": dict(node.config), "tags": node.tags,
            "description": node.description, "raw_code": node.raw_sql,
            "columns": {c.name: {"name": c.name, "description": c.description,
                                 "data_type": c.data_type} for c in node.columns.values()},
            "refs": [{"name": r, "package": None, "version": None} for r in sorted(node.refs)],
            "sources": [list(s) for s in sorted(node.sources)],
            "depends_on": {"macros": [],
                           "nodes": sorted([ids[r] for r in node.refs if r in ids] +
                                           [source_ids[s] for s in node.sources
                                            if s in source_ids])},
        }
    for test in renderer.project.tests:
        test_id = unique_id("test", project.name, test.name)
        nodes[test_id] = {
            "unique_id": test_id, "name": test.name, "resource_type": "test",
            "package_name": project.name, "config": dict(test.config),
            "tags": test.tags, "column_name": test.column,
            "test_metadata": {"name": test.test_type, "kwargs": dict(test.args)},
            "depends_on": {"macros": [], "nodes": sorted(ids[r] for r in test.refs
                                                         if r in ids)},
            "attached_node": ids.get(test.model or ""),
        }
    sources = {}
    for key, table in project.sources.items():
        sources[source_ids[key]] = {
            "unique_id": source_ids[key], "name": table.name, "source_name": table.source,
            "resource_type": "source", "package_name": project.name,
            "database": database, "schema": table.schema, "identifier": table.folder,
            "description": table.description,
            "columns": {c.name: {"name": c.name, "description": c.description,
                                 "data_type": c.data_type} for c in table.columns.values()},
        }
    return {"nodes": nodes, "sources": sources, "exposures": {}, "metrics": {},
            "groups": {}, "semantic_models": {}, "saved_queries": {}}


class Config:
    """dbt's `config`: called, it sets the node's config; `config.get(name, default)`
    and `config.require(name)` read it."""

    def __init__(self, renderer: Any):
        self._renderer = renderer

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return self._renderer._config(*args, **kwargs)

    def get(self, name: str, default: Any = None, validator: Any = None) -> Any:
        return self._renderer._state.get("config", {}).get(name, default)

    def require(self, name: str, validator: Any = None) -> Any:
        from runner.errors import RenderError
        config = self._renderer._state.get("config", {})
        if name not in config:
            raise RenderError(f"the config '{name}' is required here and is not set.",
                              **self._renderer.label())
        return config[name]


def more_context(renderer: Any) -> dict[str, Any]:
    """Added to the renderer's context beside extra_context()."""
    def log(message: Any, info: bool = False) -> str:
        if info:
            print(str(message), file=sys.stderr)
        return ""

    def printed(message: Any) -> str:
        print(str(message), file=sys.stderr)
        return ""

    def warn(message: Any) -> str:
        where = renderer.label()
        at = where.get("path") or where.get("node") or "template"
        renderer.warnings[f"{at}: {message}"] = None
        print(f"warning: {at}: {message}", file=sys.stderr)
        return ""

    return {
        "log": log, "print": printed, "warn": warn,
        "toyaml": _toyaml, "fromyaml": _fromyaml,
        "invocation_id": str(uuid.uuid4()),
        "config": Config(renderer),
        "builtins": {"ref": renderer._ref, "source": renderer._source,
                     "config": Config(renderer)},
        "graph": LazyGraph(renderer),
        "store_result": renderer.database.store_result,
        "load_result": renderer.database.load_result,
    }


class SafeDatetime:
    """`modules.datetime` as dbt offers it, limited to harmless constructors."""

    def __init__(self) -> None:
        self.datetime = dt.datetime
        self.date = dt.date
        self.timedelta = dt.timedelta
        self.timezone = dt.timezone
