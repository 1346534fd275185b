"""The columns a YAML property file lists for a model or seed, checked against its output
when it is compiled, before anything runs.

The output columns come from DuckDB's own binder: an in-memory database holds an empty
stand-in of every relation the compiled queries read (the declared columns of each
source as VARCHAR, each seed read with its column_types, each model described in graph
order, and in a build the database's own tables and views, so `{{ this }}` of an
incremental model binds too), and `DESCRIBE <query>` resolves the query's columns without
reading a row. The binder that runs the model resolves `*`, `exclude`, the macros' SQL
and DuckDB-only syntax exactly as the build will; no parent has to be built first.

A column with data tests that the output lacks is an error (its tests could only fail);
a documented column without tests that the output lacks is a warning."""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Callable, Iterable

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.jinja.compile import Compiled
from runner.jinja.relation import (SOURCE_PARTS, files_view_name, part_view_name, quote_ident,
                                   relation_name, sql_literal)
from runner.project.nodes import Node, Project

Columns = list[tuple[str, str]]          # (name, DuckDB type)


def database_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Columns]:
    """Every table and view of the database, with its columns and their types."""
    out: dict[tuple[str, str], Columns] = {}
    for schema, table, column, kind in con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position").fetchall():
        out.setdefault((schema, table), []).append((column, kind))
    return out


def check_columns(project: Project, compiled: dict[str, Compiled], seeds: Iterable[str],
                  existing: dict[tuple[str, str], Columns]
                  | Callable[[], dict[tuple[str, str], Columns]],
                  warn: Callable[[str], None]) -> None:
    """Raise a ProjectError for tested YAML columns missing from the output of the
    compiled models (in graph order) and the given seeds; warn for untested ones.
    `existing` may be a function giving the database's columns, called only when a
    model or seed has YAML columns to check."""
    seeds = [s for s in seeds if project.seeds[s].columns]
    if not seeds and not any(item.node and item.node.columns for item in compiled.values()):
        return
    if callable(existing):
        existing = existing()
    con = duckdb.connect()
    try:
        stand_ins = _StandIns(con)
        for (schema, name), columns in existing.items():
            stand_ins.make(schema, name, columns)
        for table in project.sources.values():
            if table.relation:
                continue         # a relation of the database: among `existing`
            columns = [(c, "VARCHAR") for c in table.columns] + [("_source_file", "VARCHAR")]
            stand_ins.make(table.schema, table.name, columns)
            stand_ins.companions(table, columns)
        available = {n for n, node in project.nodes.items()
                     if (node.schema, node.alias) in existing}
        missing: list[ProjectError] = []
        for seed in project.seeds.values():
            columns = stand_ins.seed(seed)
            if columns is not None:
                available.add(seed.name)
                if seed.name in seeds:
                    missing += _compare(project, seed, columns, warn)
        for name, item in compiled.items():
            node = project.models[name]
            if not _parents(project, name) <= available:
                continue             # a parent neither built nor compiled in this run
            try:
                columns = [(r[0], r[1]) for r in con.execute(f"describe {item.sql}").fetchall()]
            except duckdb.Error as exc:
                if node.columns:
                    warn(f"{_rel(project, node)}: the columns of model {name} were not "
                         f"checked: DuckDB could not bind its query before the build "
                         f"({_squeezed(exc)}).")
                continue
            if node.kind == "snapshot":      # the query's columns and dbt's meta columns
                from runner.execute.snapshots import meta_columns
                columns = columns + meta_columns(node)
            if node.materialized != "ephemeral":
                stand_ins.make(node.schema, node.alias, columns)
                available.add(name)
            missing += _compare(project, node, columns, warn)
    finally:
        con.close()
    if missing:
        first = missing[0]
        raise ProjectError(first.message + (f" Also: {' '.join(m.message for m in missing[1:])}"
                                            if len(missing) > 1 else ""),
                           node=first.node, path=first.path, line=first.line,
                           hint=first.hint)


def relation_columns(project: Project, compiled: dict[str, Compiled],
                     existing: dict[tuple[str, str], Columns]) -> dict[tuple[str, str], Columns]:
    """The columns of every source table, seed and compiled model (given in graph order),
    by (schema, name): the database's own where the relation is built, else DESCRIBE of
    the seed's file or of the compiled query over stand-ins. A model DuckDB cannot bind
    before its parents are built is left out."""
    out: dict[tuple[str, str], Columns] = dict(existing)
    con = duckdb.connect()
    try:
        stand_ins = _StandIns(con)
        for (schema, name), columns in existing.items():
            stand_ins.make(schema, name, columns)
        for table in project.sources.values():
            key = (table.schema, table.name)
            if key not in out:
                out[key] = [(c, "VARCHAR") for c in table.columns] + \
                    [("_source_file", "VARCHAR")]
                stand_ins.make(*key, out[key])
            stand_ins.companions(table, out[key])
        for seed in project.seeds.values():
            if (seed.schema, seed.alias) not in out:
                columns = stand_ins.seed(seed)
                if columns is not None:
                    out[(seed.schema, seed.alias)] = columns
        for name, item in compiled.items():
            node = project.models[name]
            key = (node.schema, node.alias)
            if key in out or node.materialized == "ephemeral":
                continue
            try:
                columns = [(r[0], r[1]) for r in con.execute(f"describe {item.sql}").fetchall()]
            except duckdb.Error:
                continue
            stand_ins.make(*key, columns)
            out[key] = columns
    finally:
        con.close()
    return out


def _compare(project: Project, node: Node, columns: Columns,
             warn: Callable[[str], None]) -> list[ProjectError]:
    names = {c.lower(): c for c, _ in columns}
    errors = []
    for column in node.columns.values():
        if column.name.lower() in names:
            continue
        close = get_close_matches(column.name.lower(), names, n=1, cutoff=0.6)
        guess = f"did you mean '{names[close[0]]}'? " if close else ""
        path = _rel(project, node)
        if column.tests:
            errors.append(ProjectError(
                f"column '{column.name}' of {node.kind} {node.name} is in {path} with data "
                f"tests, but the {node.kind} has no such column; nothing was run.",
                node=node.name, path=path, line=column.line,
                hint=f"{guess}Fix the column's name in {path}, or add the column to "
                     f"{node.rel_path}. Its columns: {', '.join(names.values())}."))
        else:
            where = f"{path}:{column.line}" if column.line else path
            warn(f"{where}: column '{column.name}' of {node.kind} {node.name} is documented "
                 f"but not in its output, so its description goes nowhere"
                 f"{' (' + guess.rstrip('? ') + '?)' if guess else ''}.")
    return errors


def inlined_reads(project: Project, name: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The models and seeds, and the source tables, a model reads, through the ephemeral
    models inlined in it."""
    parents: set[str] = set()
    sources: set[tuple[str, str]] = set()
    todo, seen = [name], {name}
    while todo:
        model = project.models[todo.pop()]
        sources |= {k for k in model.sources if k in project.sources}
        for ref in model.refs:
            node = project.nodes.get(ref)
            if node is None or ref in seen:
                continue
            seen.add(ref)
            if node.kind == "model" and node.materialized == "ephemeral":
                todo.append(ref)
            else:
                parents.add(ref)
    return parents, sources


def _parents(project: Project, name: str) -> set[str]:
    """The models and seeds a model reads, through the ephemeral models inlined in it."""
    return inlined_reads(project, name)[0]


class _StandIns:
    """Empty tables in the in-memory database, named as the real relations."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.schemas: set[str] = set()

    def make(self, schema: str, name: str, columns: Columns) -> None:
        if not columns:
            return
        if schema not in self.schemas:
            self.con.execute(f"create schema if not exists {quote_ident(schema)}")
            self.schemas.add(schema)
        target = relation_name(schema, name)
        for typed in (True, False):           # a type DDL cannot spell: VARCHAR instead
            listed = ", ".join(f"{quote_ident(c)} {t if typed else 'VARCHAR'}"
                               for c, t in columns)
            try:
                self.con.execute(f"create or replace table {target} ({listed})")
                return
            except duckdb.Error:
                continue

    def companions(self, table, columns: Columns) -> None:
        """The views prepare_sources defines beside a raw folder's source view, with no
        file in them: its files (source_files()) and its rows by kind of file
        (source_parts(): `columns`, VARCHAR as the text files give them)."""
        from runner.execute.sources import files_select
        self.make(table.schema, files_view_name(table.name),
                  [(c[0], c[1]) for c in
                   self.con.execute(f"describe {files_select([])}").fetchall()])
        for part in SOURCE_PARTS:
            self.make(table.schema, part_view_name(table.name, part), columns)

    def seed(self, node: Node) -> Columns | None:
        options = f"header = true, delim = {sql_literal(str(node.config.get('delimiter') or ','))}"
        types = node.config.get("column_types") or {}
        if types:
            listed = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in types.items())
            options += f", types = {{{listed}}}"
        try:
            columns = [(r[0], r[1]) for r in self.con.execute(
                f"describe select * from read_csv({sql_literal(str(node.path))}, {options})"
            ).fetchall()]
        except duckdb.Error:
            return None               # loading the seed will say what is wrong with it
        self.make(node.schema, node.alias, columns)
        return columns


def _rel(project: Project, node: Node) -> str:
    path = node.yaml_path
    if path is None:
        return node.rel_path
    try:
        return path.relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def _squeezed(exc: BaseException) -> str:
    """DuckDB's message on one line, without the runs of spaces it pads it with."""
    return re.sub(r"\s+", " ", str(exc)).strip().rstrip(".")
