"""What a loaded project is made of: models and seeds (nodes), source tables, data
tests, macro files and the project itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Column:
    name: str
    description: str = ""
    data_type: str | None = None
    tests: list[Any] = field(default_factory=list)
    line: int | None = None       # of its entry in the YAML property file
    constraints: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Node:
    """A model or a seed."""
    kind: str                     # "model" | "seed" | "snapshot" (kept among the models)
    name: str
    path: Path                    # the .sql or .csv file
    rel_path: str                 # relative to the project root, with "/"
    raw_sql: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    columns: dict[str, Column] = field(default_factory=dict)
    tests: list[Any] = field(default_factory=list)   # model-level data tests
    constraints: list[dict[str, Any]] = field(default_factory=list)   # model-level
    yaml_path: Path | None = None
    package: str | None = None    # an installed package's name; None: the project's own
    # Filled in by rendering:
    refs: set[str] = field(default_factory=set)
    sources: set[tuple[str, str]] = field(default_factory=set)
    # Where it lands, from the generate_*_name macros (runner.jinja.naming)
    relation_database: str | None = None
    relation_schema: str | None = None
    relation_alias: str | None = None

    @property
    def materialized(self) -> str:
        return self.config.get("materialized", "view" if self.kind == "model" else "seed")

    @property
    def schema(self) -> str:
        # a snapshot's legacy target_schema is taken as it is, as dbt does
        return (self.config.get("target_schema") or self.relation_schema
                or self.config.get("schema") or "main")

    @property
    def alias(self) -> str:
        return self.relation_alias or self.config.get("alias") or self.name

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
    # an existing relation `schema.folder` (dbt's meaning), not a folder of files
    relation: bool = False
    external: str | None = None   # dbt-duckdb's meta.external_location, as SQL
    # freshness: {warn_after: {count, period}, error_after: {...}, filter}, or None
    freshness: dict[str, Any] | None = None
    loaded_at_field: str | None = None


@dataclass
class TestDef:
    """A data test: generic (from YAML) or singular (a SQL file)."""
    name: str
    kind: str                     # "generic" | "singular"
    path: Path
    test_type: str = ""           # unique, not_null, ... for generic tests
    namespace: str | None = None  # the package of `dbt_utils.expression_is_true`
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
    package: str | None = None    # an installed package's name; None: the project's own


@dataclass
class RunHook:
    """One statement of `on-run-start` or `on-run-end` in a dbt_project.yml: dbt's
    HookNode, named `<project>-on-run-start-<index>`."""
    project: str                  # the project (or package) whose dbt_project.yml it is in
    kind: str                     # "on-run-start" | "on-run-end"
    index: int
    sql: str                      # the Jinja SQL, rendered when it runs
    path: str = "dbt_project.yml"     # from the root project's folder
    line: int | None = None
    package: str | None = None    # an installed package's name; None: the project's own
    compiled: str | None = None   # the SQL as it ran

    @property
    def name(self) -> str:
        return f"{self.project}-{self.kind}-{self.index}"

    @property
    def unique_id(self) -> str:
        return f"operation.{self.project}.{self.name}"


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
    # What the runner does not act on, one message per key ("file:line: ..."), and the
    # line of each var's default in dbt_project.yml.
    warnings: list[str] = field(default_factory=list)
    var_lines: dict[str, int] = field(default_factory=dict)
    # dbt_project.yml's dispatch: search orders, and the installed packages' folders
    dispatch: list[dict[str, Any]] = field(default_factory=list)
    packages: dict[str, Path] = field(default_factory=dict)
    unit_tests: list[Any] = field(default_factory=list)    # project/unit_tests.UnitTest
    hooks: list[RunHook] = field(default_factory=list)     # on-run-start, on-run-end

    def node(self, name: str) -> Node:
        return self.models.get(name) or self.seeds[name]

    @property
    def nodes(self) -> dict[str, Node]:
        return {**self.seeds, **self.models}


def merge_config(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
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
