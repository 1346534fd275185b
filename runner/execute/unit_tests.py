"""Running dbt's unit tests: a model's SQL over given rows, compared with expected rows.

Each unit test runs in an in-memory DuckDB database of its own, never the build's: every
relation the project knows stands there as an empty table typed as the real one (the
database's tables and views, each source's declared columns, each model described over
its parents' stand-ins, as runner/jinja/columns.py does), each seed holds its CSV's rows,
and the test's `given` inputs replace the relations they name, in a transaction rolled
back after the test. A given input may name a subset of its relation's columns: the
others are null, typed as the real relation's. Only the columns named in `expect` are
compared, as a multiset (order aside), as dbt does; a failure lists the rows that
differ, `+` for a row the model returned and `-` for an expected one it did not.

`overrides` apply while the model is rendered: `macros` (a macro's name, e.g.
`is_incremental`, to the value it returns), `vars` and `env_vars`. Without an override,
is_incremental() is false, as in dbt."""

from __future__ import annotations

import datetime as dt
import decimal
import time
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.execute.results import NodeResult, first_lines, plain
from runner.execute.sources import sql_literal
from runner.jinja.columns import Columns, _StandIns
from runner.jinja.compile import inline_ctes, strip_trailing_semicolon
from runner.jinja.render import Renderer
from runner.jinja.relation import quote_ident, relation_name
from runner.project.nodes import Node, Project
from runner.project.unit_tests import Fixture, UnitTest

DIFF_ROWS = 10


@dataclass
class Prepared:
    test: UnitTest
    setup: list[str] = field(default_factory=list)     # statements that load the inputs
    actual: str = ""                                   # the expect columns of the model
    expected: str = ""
    columns: list[str] = field(default_factory=list)


class ModelRendering:
    """A model's SQL rendered as a unit test sees it (the test's overrides); the part of
    a unit tester that is the same on every engine."""

    def __init__(self, project: Project, renderer: Renderer):
        self.project = project
        self.renderer = renderer

    def _render(self, node: Node, overrides: dict[str, dict] | None = None,
                inline: bool = True) -> tuple[str, set[str], set[tuple[str, str]]]:
        """The model's SQL (with its ephemeral parents inlined, unless `inline` is
        false), its refs and sources, rendered with the unit test's overrides (and
        is_incremental() false unless overridden). A ref or source stands for the
        test's given rows, so --empty and --defer do not apply (as in dbt)."""
        renderer, context = self.renderer, self.renderer.context
        overrides = overrides or {}
        saved_context, saved_vars = dict(context), renderer.vars
        saved_reads = renderer.empty, renderer.redirected
        renderer.empty, renderer.redirected = False, {}
        saved_refs, saved_sources = set(node.refs), set(node.sources)
        macros = {"is_incremental": False, **overrides.get("macros", {})}
        env = {str(k): str(v) for k, v in overrides.get("env_vars", {}).items()}
        original_env_var = context["env_var"]
        try:
            renderer.vars = {**renderer.vars, **overrides.get("vars", {})}
            for name, value in macros.items():
                context[name] = (lambda v: lambda *a, **k: v)(value)
            context["env_var"] = lambda name, *default: env[name].replace("'", "''") \
                if name in env else original_env_var(name, *default)
            sql = strip_trailing_semicolon(renderer.render_node(node, execute=True).sql)
            refs, sources = set(node.refs), set(node.sources)
            if inline:
                chain: list[str] = []
                self._ephemerals(node.name, chain)
                sql = inline_ctes(sql, [(r, strip_trailing_semicolon(renderer.render_node(
                    self.project.models[r], execute=True).sql)) for r in chain])
            return sql, refs, sources
        finally:
            context.clear()
            context.update(saved_context)
            renderer.vars = saved_vars
            renderer.empty, renderer.redirected = saved_reads
            node.refs, node.sources = saved_refs, saved_sources

    def _ephemerals(self, name: str, seen: list[str]) -> None:
        for ref in sorted(self.project.models[name].refs):
            dep = self.project.models.get(ref)
            if dep is not None and dep.materialized == "ephemeral" and ref not in seen:
                self._ephemerals(ref, seen)
                seen.append(ref)


class UnitTester(ModelRendering):
    """The unit tests of one command, prepared (and checked) before anything runs."""

    def __init__(self, project: Project, renderer: Renderer,
                 existing: dict[tuple[str, str], Columns]):
        super().__init__(project, renderer)
        self.existing = existing
        self.con = duckdb.connect()
        self.stand_ins = _StandIns(self.con)
        self.described: dict[str, Columns | None] = {}
        for (schema, name), columns in existing.items():
            self.stand_ins.make(schema, name, columns)
        for table in project.sources.values():
            if table.relation:      # an existing relation, or a seed's: already stood in
                continue
            columns = self._source_columns(table.source, table.name)
            self.stand_ins.make(table.schema, table.name, columns)
            self.stand_ins.companions(table, columns)
        for seed in project.seeds.values():
            self._load_seed(seed)

    def close(self) -> None:
        self.con.close()

    # -- the relations ---------------------------------------------------------------------
    def _source_columns(self, source: str, table: str) -> Columns:
        found = self.project.sources[(source, table)]
        if found.relation:          # dbt's source: the relation's own columns
            columns = self.existing.get((found.schema, found.folder))
            if columns is None:
                seed = next((n for n in self.project.seeds.values()
                             if (n.schema, n.alias) == (found.schema, found.folder)), None)
                columns = (self.stand_ins.seed(seed) if seed is not None else None) or []
            return list(columns)
        return [(c, "VARCHAR") for c in found.columns] + [("_source_file", "VARCHAR")]

    def _load_seed(self, seed: Node) -> None:
        columns = self.stand_ins.seed(seed)        # the empty stand-in, typed
        if columns is None:
            return
        options = f"header = true, delim = {sql_literal(str(seed.config.get('delimiter') or ','))}"
        types = seed.config.get("column_types") or {}
        if types:
            listed = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in types.items())
            options += f", types = {{{listed}}}"
        self.con.execute(f"insert into {relation_name(seed.schema, seed.alias)} select * "
                         f"from read_csv({sql_literal(str(seed.path))}, {options})")
        self.described[seed.name] = columns

    def columns_of(self, name: str) -> Columns | None:
        """A model's or seed's output columns, described over its parents' stand-ins."""
        if name in self.described:
            return self.described[name]
        node = self.project.models[name]
        self.described[name] = None
        try:
            sql, refs, _ = self._render(node)
            for ref in refs:
                if ref in self.project.models and \
                        self.project.models[ref].materialized != "ephemeral":
                    self.columns_of(ref)
            columns = [(r[0], r[1]) for r in self.con.execute(f"describe {sql}").fetchall()]
        except (duckdb.Error, ProjectError):
            return None
        except Exception:           # a render error: the build reports it for the model
            return None
        if node.materialized != "ephemeral":
            self.stand_ins.make(node.schema, node.alias, columns)
        self.described[name] = columns
        return columns

    # -- preparing a test ------------------------------------------------------------------
    def prepare(self, test: UnitTest) -> Prepared:
        node = self.project.models[test.model]
        for ref in node.refs:
            if ref in self.project.models:
                self.columns_of(ref)
        sql, refs, sources = self._render(node, test.overrides, inline=False)
        prepared = Prepared(test)
        ctes: list[tuple[str, str]] = []
        for fixture in test.given:
            schema, name, columns, cte = self._target(test, node, fixture, refs, sources)
            select = self._select(test, fixture, columns, f"input {fixture.input}")
            if cte:                      # an ephemeral parent: its rows as its CTE
                ctes.append((name, select))
            else:
                prepared.setup.append(f"create or replace table {relation_name(schema, name)}"
                                      f" as\n{select}")
        check_given(self.project, test, refs, sources)
        sql = inline_ctes(sql, ctes)
        output = self._describe(test, prepared.setup, sql)
        names = {c.lower(): (c, t) for c, t in output}
        wanted = columns_named(test.expect)
        for column in wanted:
            if column.lower() not in names:
                close = get_close_matches(column.lower(), names, n=1)
                raise ProjectError(
                    f"'expect' of unit test {test.name} names column {column!r}, which model "
                    f"{node.name} does not return.", path=test.rel_path, line=test.expect.line,
                    hint=f"did you mean {names[close[0]][0]!r}?" if close else
                    f"its columns: {', '.join(c for c, _ in output)}.")
        if test.expect.format == "sql":
            wanted = [c for c, _ in self._describe(test, prepared.setup, test.expect.sql)]
        prepared.columns = [names[c.lower()][0] for c in wanted]
        listed = ", ".join(quote_ident(c) for c in prepared.columns) or "*"
        prepared.actual = f"select {listed} from (\n{sql}\n) as model_output"
        prepared.expected = self._select(test, test.expect,
                                         [(c, names[c.lower()][1]) for c in prepared.columns],
                                         "'expect'")
        return prepared

    def _target(self, test: UnitTest, node: Node, fixture: Fixture, refs: set[str],
                sources: set) -> tuple[str, str, Columns, bool]:
        """The relation a given input replaces: schema, name, columns, and whether it is
        an ephemeral model (inlined as a CTE)."""
        where = dict(path=test.rel_path, line=fixture.line)
        if fixture.this:
            columns = self.existing.get((node.schema, node.alias)) or self.columns_of(node.name)
            return node.schema, node.alias, columns or [], False
        if fixture.source is not None:
            if fixture.source not in sources:
                raise ProjectError(f"unit test {test.name} gives rows for {fixture.input}, "
                                   f"which model {node.name} does not read.", **where)
            table = self.project.sources[fixture.source]
            return (table.schema, table.folder if table.relation else table.name,
                    self._source_columns(*fixture.source), False)
        if fixture.ref not in refs:
            raise ProjectError(f"unit test {test.name} gives rows for {fixture.input}, which "
                               f"model {node.name} does not read.", **where,
                               hint=f"it reads: {', '.join(sorted(refs)) or 'no ref'}.")
        parent = self.project.node(fixture.ref)
        columns = self.columns_of(parent.name)
        if columns is None:
            raise ProjectError(f"unit test {test.name}: the columns of {fixture.input} could "
                               "not be found (its query does not bind over empty stand-ins).",
                               **where, hint="give the input as format: sql, with every "
                                             "column.")
        return parent.schema, parent.alias, columns, parent.materialized == "ephemeral"

    def _select(self, test: UnitTest, fixture: Fixture, columns: Columns, what: str) -> str:
        """A typed SELECT of the fixture's rows: every column of `columns`, in order; a
        column a row leaves out is null."""
        if fixture.format == "sql":
            return fixture.sql or ""
        return typed_rows(test, fixture, columns, what, quote_ident)

    def _describe(self, test: UnitTest, setup: list[str], sql: str | None) -> Columns:
        self.con.execute("begin transaction")
        try:
            for statement in setup:
                self.con.execute(statement)
            return [(r[0], r[1]) for r in self.con.execute(f"describe {sql}").fetchall()]
        except duckdb.Error as exc:
            raise ProjectError(f"unit test {test.name} cannot run model {test.model} over its "
                               f"given rows: {first_lines(str(exc))}.", path=test.rel_path,
                               line=test.line, hint="check the given inputs' values and "
                                                    "columns.") from None
        finally:
            self.con.execute("rollback")

    # -- running it ------------------------------------------------------------------------
    def run(self, prepared: Prepared) -> NodeResult:
        test = prepared.test
        result = NodeResult(test.name, "unit_test", "pass", path=test.rel_path)
        started = time.perf_counter()
        self.con.execute("begin transaction")
        try:
            for statement in prepared.setup:
                self.con.execute(statement)
            diff = (f"with actual as materialized (\n{prepared.actual}\n), "
                    f"expected as materialized (\n{prepared.expected}\n)\n"
                    "select '+' as diff, * from (select * from actual except all "
                    "select * from expected)\nunion all\n"
                    "select '-' as diff, * from (select * from expected except all "
                    "select * from actual)")
            cursor = self.con.execute(diff)
            header = [d[0] for d in cursor.description]
            differ(result, header, cursor.fetchall())
        except duckdb.Error as exc:
            result.status = "error"
            result.message = (f"model {test.model} failed over the given rows: "
                              f"{first_lines(str(exc))}.")
        finally:
            self.con.execute("rollback")
            result.seconds = time.perf_counter() - started
        return result


def run_for(tester: UnitTester | None, prepared: dict[str, Prepared], tests: list[UnitTest],
            skip: str | None, emit: Any) -> str | None:
    """Run (or, with a reason, skip) the given unit tests, emitting each result; the
    first failure, which skips their model ("unit test X failed"), or None."""
    failed = None
    for test in tests:
        outcome = NodeResult(test.name, "unit_test", "skipped", skip, path=test.rel_path) \
            if skip or tester is None else tester.run(prepared[test.name])
        emit(outcome)
        if outcome.status in ("fail", "error"):
            failed = failed or f"unit test {test.name} failed"
    return failed


def check_given(project: Project, test: UnitTest, refs: set[str], sources: set) -> None:
    """Every ref (but a seed's) and source the model reads has given rows."""
    missing = [f"ref('{r}')" for r in sorted(refs)
               if r not in project.seeds and not any(f.ref == r for f in test.given)]
    missing += [f"source('{s}', '{t}')" for s, t in sorted(sources)
                if not any(f.source == (s, t) for f in test.given)]
    if missing:
        raise ProjectError(f"unit test {test.name} gives no rows for {', '.join(missing)}, "
                           f"which model {test.model} reads.", path=test.rel_path,
                           line=test.line, hint="add each under 'given:' (rows: [] for "
                                                "none); a seed not given is read as it is.")


def differ(result: NodeResult, header: list[str], rows: list[tuple]) -> None:
    """A unit test failed by the rows that differ (`+` returned by the model, `-`
    expected), if any: the first DIFF_ROWS of them shown."""
    if not rows:
        return
    result.status = "fail"
    result.failures = len(rows)
    shown = sorted(rows, key=lambda r: [str(v) for v in r[1:]] + [r[0]])
    result.message = ("actual differs from expected (+ returned by the model, - expected "
                      "but not returned):\n" + _table(header, shown[:DIFF_ROWS]) +
                      (f"\n    ... {len(rows) - DIFF_ROWS} more"
                       if len(rows) > DIFF_ROWS else ""))


def typed_rows(test: UnitTest, fixture: Fixture, columns: Columns, what: str,
               quote: Any, lists: str = "") -> str:
    """A typed SELECT of a dict or csv fixture's rows: every column of `columns`, in
    order (`quote`: the engine's identifier quoting; `lists`: the function that makes
    a list, `array` on Spark, else DuckDB's `[...]`); a column a row leaves out is null."""
    types = {c.lower(): (c, t) for c, t in columns}
    for row in fixture.rows or []:
        for key in row:
            if key.lower() not in types:
                close = get_close_matches(key.lower(), types, n=1)
                raise ProjectError(
                    f"{what} of unit test {test.name} names column {key!r}, which the "
                    f"relation does not have.", path=test.rel_path, line=fixture.line,
                    hint=f"did you mean {types[close[0]][0]!r}?" if close else
                    f"its columns: {', '.join(c for c, _ in columns)}.")
    selects = []
    for row in fixture.rows or [{}]:
        given = {k.lower(): v for k, v in row.items()}
        selects.append("select " + ", ".join(
            f"cast({_literal(given.get(c.lower()), lists)} as {t}) as {quote(c)}"
            for c, t in columns))
    return "\nunion all\n".join(selects) + ("\nlimit 0" if not fixture.rows else "")


def columns_named(fixture: Fixture) -> list[str]:
    seen: dict[str, str] = {}
    for row in fixture.rows or []:
        for key in row:
            seen.setdefault(key.lower(), key)
    return list(seen.values())


def _literal(value: Any, lists: str = "") -> str:
    """A YAML or CSV value as a SQL literal (cast to the column's type by the caller); a
    list as `lists(...)` where a function is named, else DuckDB's `[...]`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(value) if not isinstance(value, decimal.Decimal) else str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return sql_literal(value.isoformat())
    if isinstance(value, list):
        items = ", ".join(_literal(v, lists) for v in value)
        return f"{lists}({items})" if lists else f"[{items}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{sql_literal(str(k))}: {_literal(v)}"
                               for k, v in value.items()) + "}"
    return sql_literal(str(value))


def _table(header: list[str], rows: list[tuple]) -> str:
    cells = [header] + [["null" if v is None else str(plain(v)) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("    " + " | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
                     for r in cells)
