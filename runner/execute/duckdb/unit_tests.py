"""dbt's unit tests on DuckDB.

Each unit test runs in an in-memory DuckDB database of its own, never the build's: every
relation the project knows stands there as an empty table typed as the real one (the
database's tables and views, each source's declared columns, each model described over
its parents' stand-ins, as runner/jinja/columns.py does), each seed holds its CSV's rows,
and the test's `given` inputs replace the relations they name, in a transaction rolled
back after the test. A given input may name a subset of its relation's columns: the
others are null, typed as the real relation's. What the engines share:
runner/execute/unit_tests.py."""

from __future__ import annotations

import time
from difflib import get_close_matches

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.execute.results import NodeResult, first_lines
from runner.execute.unit_tests import (ModelRendering, Prepared, check_given, columns_named,
                                       differ, typed_rows)
from runner.jinja.columns import Columns, _StandIns
from runner.jinja.compile import inline_ctes
from runner.jinja.relation import quote_ident, relation_name, sql_literal
from runner.jinja.render import Renderer
from runner.project.nodes import Node, Project
from runner.project.unit_tests import Fixture, UnitTest


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
