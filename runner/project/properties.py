"""YAML: reading a file with the line of every key, and applying a property file
(models:, seeds:, sources: and their data tests) to the loaded nodes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from runner.errors import ProjectError
from runner.project.external import external_location
from runner.project.keys import KeyChecker, Lines
from runner.project.nodes import Column, Node, SourceTable, TestDef, merge_config


def read_yaml(path: Path) -> Any:
    return read_yaml_lines(path)[0]


def read_yaml_lines(path: Path) -> tuple[Any, Lines]:
    """The document, and the line (1-based) of each key and list item, by its path of
    keys and indexes: {("models", 0, "config"): 6, ...}."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProjectError("the file is not UTF-8 text.", path=str(path),
                           hint="save it as UTF-8.")
    import yaml      # here: a project without YAML files does not import PyYAML
    try:
        try:
            node, doc = _parse(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            node, doc = _parse(text, yaml.SafeLoader)     # its error, worded as ever
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectError(f"malformed YAML: {problem}.", path=str(path),
                           line=mark.line + 1 if mark else None,
                           hint="fix the indentation or quoting at that line "
                                "(a value holding ':' or '{' needs quotes).")
    lines: Lines = {}
    _record_lines(node, (), lines)
    return doc, lines


def _parse(text: str, loader_class: Any) -> tuple[Any, Any]:
    """The document's node tree (for the lines) and the document. libyaml's parser
    (CSafeLoader) when PyYAML has it, several times faster than PyYAML's own; the
    document is built by the same SafeConstructor either way."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _record_lines(node: Any, at: tuple, lines: Lines) -> None:
    import yaml
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = at + (str(key.value),)
            lines.setdefault(here, key.start_mark.line + 1)
            _record_lines(value, here, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[at + (index,)] = item.start_mark.line + 1
            _record_lines(item, at + (index,), lines)


def _as_list(value: Any, what: str, path: Path) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProjectError(f"{what} must be a list.", path=str(path))
    return value


def _columns(entry: dict, path: Path, lines: Lines | None = None,
             at: tuple = ()) -> dict[str, Column]:
    columns = {}
    for index, col in enumerate(_as_list(entry.get("columns"), "'columns'", path)):
        if not isinstance(col, dict) or "name" not in col:
            raise ProjectError("each entry of 'columns' needs a 'name'.", path=str(path))
        tests = col.get("data_tests", col.get("tests")) or []
        columns[str(col["name"])] = Column(str(col["name"]), str(col.get("description") or ""),
                                           col.get("data_type"), list(tests),
                                           (lines or {}).get(at + ("columns", index, "name")),
                                           _constraints(col, path))
    return columns


def _constraints(entry: dict, path: Path) -> list[dict]:
    items = _as_list(entry.get("constraints"), "'constraints'", path)
    if not all(isinstance(c, dict) and c.get("type") for c in items):
        raise ProjectError(f"each constraint of {entry.get('name')!r} needs a 'type' "
                           "(not_null, unique, primary_key, check, foreign_key, custom).",
                           path=str(path))
    return [dict(c) for c in items]


def apply_properties(path: Path, root: Path, models: dict[str, Node], seeds: dict[str, Node],
                     sources: dict[tuple[str, str], SourceTable], tests: list[TestDef],
                     unit_tests: list | None = None, fixture_dirs: list[Path] | None = None
                     ) -> list[str]:
    """Apply one property file; returns a warning for each key the runner does not
    act on."""
    doc, lines = read_yaml_lines(path)
    if doc is None:
        return []
    rel = path.relative_to(root).as_posix()
    if not isinstance(doc, dict):
        raise ProjectError("a property file must be a mapping with 'version: 2'.", path=rel)
    checker = KeyChecker(rel, lines)
    checker.property_file(doc)

    if unit_tests is not None:
        from runner.project.unit_tests import read_unit_tests
        unit_tests += read_unit_tests(doc, lines, path, rel, fixture_dirs or [])
    for key, registry in (("models", models), ("seeds", seeds), ("snapshots", models)):
        for index, entry in enumerate(_as_list(doc.get(key), f"'{key}'", path)):
            if not isinstance(entry, dict) or "name" not in entry:
                raise ProjectError(f"each entry of '{key}' needs a 'name'.", path=rel)
            name = str(entry["name"])
            if key == "snapshots" and "relation" in entry:
                from runner.project.snapshots import yaml_snapshot
                yaml_snapshot(entry, path, root, models, lines.get((key, index)))
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
            node.config = merge_config(node.config, extra)
            node.columns = _columns(entry, path, lines, (key, index))
            node.constraints = _constraints(entry, path)
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
                str(table.get("description") or ""),
                external=external_location(src, table, root, rel),
                **dict(zip(("freshness", "loaded_at_field"),
                           _freshness(src, table, f"{rel}: source table {key[0]}.{key[1]}"))))
    return checker.warnings


PERIODS = ("minute", "hour", "day")


def _freshness(src: dict, table: dict, where: str) -> tuple[dict | None, str | None]:
    """The table's freshness and loaded_at_field: its own (a null freshness turns the
    source's off), else its source's."""
    def pick(key: str) -> tuple[bool, Any]:
        for block in (table, src):
            if key in block:
                return True, block[key]
        return False, None
    _, freshness = pick("freshness")
    _, field = pick("loaded_at_field")
    if freshness is None:
        return None, str(field) if field else None
    if not isinstance(freshness, dict):
        raise ProjectError(f"{where}: freshness must be a mapping of warn_after, "
                           "error_after and filter.")
    out: dict[str, Any] = {"filter": freshness.get("filter")}
    for key in ("warn_after", "error_after"):
        rule = freshness.get(key) or {}
        count, period = rule.get("count"), rule.get("period")
        if (count is None) != (period is None) or (period is not None and (
                period not in PERIODS or not isinstance(count, int) or count <= 0)):
            raise ProjectError(f"{where}: freshness {key} needs a positive whole count and "
                               f"a period ({', '.join(PERIODS)}), not {rule!r}.",
                               hint=f"write e.g. {key}: {{count: 12, period: hour}}.")
        out[key] = {"count": count, "period": period}
    unknown = set(freshness) - {"warn_after", "error_after", "filter"}
    if unknown:
        raise ProjectError(f"{where}: freshness has no key {sorted(unknown)[0]!r}.",
                           hint="use warn_after, error_after and filter.")
    return out, str(field) if field else None


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
    # dbt_utils.expression_is_true: a package's test; found among the macros when the
    # project is parsed (runner.execute.datatests)
    namespace, _, test_type = str(test_type).rpartition(".")
    config = dict(args.pop("config", None) or {})
    args.update(args.pop("arguments", None) or {})
    for key in ("severity", "where", "tags", "error_if", "warn_if", "limit"):
        if key in args:
            config[key] = args.pop(key)
    column = args.pop("column_name", column)
    suffix = f"{model}_{column}" if column else model
    return TestDef(f"{test_type}_{suffix}", "generic", path, test_type, namespace or None,
                   model, column, args, config)
