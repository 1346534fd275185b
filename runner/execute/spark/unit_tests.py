"""dbt's unit tests on Spark, run as dbt runs them on a warehouse: the model's SQL
(rendered with the test's overrides, transpiled to Spark SQL) reads each `given` input
as a CTE of typed literal rows in place of the relation it names, and its `expect`
columns are compared with the expected rows as multisets (Spark's EXCEPT ALL both
ways), `+` for a row the model returned, `-` for an expected one it did not.

An input's columns and types are its relation's in Spark's catalog, so, as in dbt, the
parents must have been built (a build runs them in order; `--empty` builds them with no
rows); a seed not given is read as it is. A given ephemeral model is written as
`format: sql`."""

from __future__ import annotations

import time
from typing import Any

from runner.errors import ProjectError
from runner.execute.results import NodeResult, first_lines
from runner.execute.unit_tests import (ModelRendering, columns_named, check_given, differ,
                                       typed_rows)
from runner.project.unit_tests import Fixture, UnitTest


class SparkUnitTester(ModelRendering):
    def __init__(self, project: Any, renderer: Any, adapter: Any, executor: Any):
        super().__init__(project, renderer)
        self.adapter = adapter
        # the run's SparkExecutor: a unit test's error that is the Connect server gone
        # stops the run there (lost_server), not at the next model's statement
        self.executor = executor

    def run(self, test: UnitTest) -> NodeResult:
        result = NodeResult(test.name, "unit_test", "pass", path=test.rel_path)
        if self.executor.lost:          # an earlier unit test of this model lost it
            result.status, result.message = "skipped", f"skipped: {self.executor.lost}"
            return result
        started = time.perf_counter()
        try:
            actual, expected, columns = self._queries(test)
            spark = self.adapter.spark
            got, wanted = spark.sql(actual), spark.sql(expected)
            rows = [("+",) + tuple(r) for r in got.exceptAll(wanted).collect()] + \
                   [("-",) + tuple(r) for r in wanted.exceptAll(got).collect()]
            differ(result, ["diff"] + columns, rows)
        except ProjectError as exc:
            result.status = "error"
            result.message = str(exc)
        except Exception as exc:
            from runner.execute.spark.materialize import spark_message
            result.status = "error"
            result.message = self.executor.lost_server(exc) or (
                f"model {test.model} failed over the given rows on Spark: "
                f"{first_lines(spark_message(exc))}.")
        result.seconds = time.perf_counter() - started
        return result

    def _queries(self, test: UnitTest) -> tuple[str, str, list[str]]:
        """The model's expect columns over the given rows, the expected rows, and the
        columns compared: Spark SQL."""
        import sqlglot
        from sqlglot import exp

        from runner.engines.spark_dialect import Spark4, spark_fixes
        node = self.project.models[test.model]
        sql, refs, sources = self._render(node, test.overrides, inline=False)
        check_given(self.project, test, refs, sources)
        # the given rows stand in before the SQL is made Spark's: the fixes that ask
        # Spark for a query's columns (UNION BY NAME) then read the given rows, not
        # relations that may not exist yet (`this` on a first build)
        tree = sqlglot.parse_one(sql, read="duckdb")
        stand_ins: dict[tuple[str, str], str] = {}
        ctes: list[tuple[str, str]] = []
        for i, fixture in enumerate(test.given):
            schema, name, columns = self._input(test, node, fixture)
            cte = f"__dbt__given_{i}"
            stand_ins[(schema.lower(), name.lower())] = cte
            ctes.append((cte, self._rows(test, fixture, columns, f"input {fixture.input}")))
        for table in list(tree.find_all(exp.Table)):
            cte = stand_ins.get((table.db.lower(), table.name.lower()))
            if cte:
                alias = table.args.get("alias") or exp.TableAlias(
                    this=exp.to_identifier(table.name))
                table.replace(exp.Table(this=exp.to_identifier(cte), alias=alias))
        for cte, body in ctes:
            tree = tree.with_(cte, as_=sqlglot.parse_one(body, read="spark"), append=True)
        # the given rows before the model's own CTEs: on Spark a CTE reads only those
        # defined before it
        top = tree.args.get("with_") or tree.args.get("with")
        given = {cte for cte, _ in ctes}
        top.set("expressions", sorted(top.expressions, key=lambda c: c.alias not in given))
        model_sql = spark_fixes(tree, self.adapter._columns_of).sql(dialect=Spark4)
        output = [(f.name, f.dataType.simpleString()) for f in
                  self.adapter.spark.sql(model_sql).schema.fields]
        names = {c.lower(): (c, t) for c, t in output}
        wanted = columns_named(test.expect)
        for column in wanted:
            if column.lower() not in names:
                raise ProjectError(f"'expect' of unit test {test.name} names column "
                                   f"{column!r}, which model {node.name} does not return.",
                                   path=test.rel_path, line=test.expect.line,
                                   hint=f"its columns: {', '.join(c for c, _ in output)}.")
        if test.expect.format == "sql":
            wanted = [f.name for f in self.adapter.spark.sql(
                self.adapter.transpile(test.expect.sql or "")).schema.fields]
        columns = [names[c.lower()][0] for c in wanted]
        listed = ", ".join(self.adapter.quote(c) for c in columns) or "*"
        actual = f"select {listed} from (\n{model_sql}\n) as model_output"
        expected = self._rows(test, test.expect, [names[c.lower()] for c in columns],
                              "'expect'")
        return actual, expected, columns

    def _input(self, test: UnitTest, node: Any, fixture: Fixture
               ) -> tuple[str, str, list[tuple[str, str]]]:
        """The relation a given input stands for, and its columns in Spark's catalog."""
        if fixture.this:
            schema, name = node.schema, node.alias
            if fixture.format != "sql" and self.adapter.relation_kind(schema, name) is None:
                # not built yet: the columns its full build gives (its parents are built)
                sql = self.adapter.transpile(self._render(node)[0])
                return schema, name, [(f.name, f.dataType.simpleString()) for f in
                                      self.adapter.spark.sql(sql).schema.fields]
        elif fixture.source is not None:
            table = self.project.sources[fixture.source]
            schema, name = table.schema, table.folder if table.relation else table.name
        else:
            parent = self.project.node(fixture.ref)
            deferred = self.renderer.redirected.get(fixture.ref)     # --defer
            schema, name = (deferred.schema, deferred.identifier) if deferred else \
                (parent.schema, parent.alias)
            if parent.kind == "model" and parent.materialized == "ephemeral":
                if fixture.format != "sql":
                    raise ProjectError(f"unit test {test.name}: {fixture.input} is an "
                                       "ephemeral model, which Spark has no columns for.",
                                       path=test.rel_path, line=fixture.line,
                                       hint="give it as format: sql, with every column.")
                return schema, name, []
        if fixture.format == "sql":
            return schema, name, []
        if self.adapter.relation_kind(schema, name) is None:
            raise ProjectError(f"unit test {test.name}: {fixture.input} ({schema}.{name}) is "
                               "not in Spark's catalog, and the given rows take its columns "
                               "and types from there.", path=test.rel_path, line=fixture.line,
                               hint="build the model's parents first, as dbt needs (e.g. "
                                    f"runner build --select +{test.model} --exclude "
                                    f"{test.model} --empty --target spark).")
        return schema, name, self.adapter.columns(schema, name)

    def _rows(self, test: UnitTest, fixture: Fixture, columns: list[tuple[str, str]],
              what: str) -> str:
        """A typed SELECT of the fixture's rows in Spark SQL; a column a row leaves out
        is null."""
        if fixture.format == "sql":
            return self.adapter.transpile(fixture.sql or "")
        return typed_rows(test, fixture, columns, what, self.adapter.quote, lists="array")
