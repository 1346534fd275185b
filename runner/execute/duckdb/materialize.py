"""Run compiled nodes in DuckDB: seeds, the four materializations, and data tests.

Every table and incremental build is one transaction: the new rows are built beside the
old relation and swapped in at commit, so a failure leaves the previous version as it was.
A node's result is runner.execute.results.NodeResult; a data test's outcome from its
failing rows, runner.execute.datatests.judge (Spark's executor shares both).
"""

from __future__ import annotations

import time
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from runner.engines.native import duckdb

from runner.jinja.compile import Compiled
from runner.errors import ExecutionError, NotBuilt
from runner.project.loader import Node, incremental_plan
from runner.jinja.relation import quote_ident, relation_name
from runner.execute.datatests import FAILURE_SAMPLE, judge
from runner.execute.results import (NodeResult, first_lines, model_failed, model_result,
                                    not_built, refuse_dropped_columns)
from runner.execute.seeds import seed_read, seed_result, seed_select
from runner.jinja.relation import sql_literal

# A model's pre-hooks and post-hooks, rendered SQL statements.
Hooks = tuple[Sequence[str], Sequence[str]]


class Executor:
    def __init__(self, con: duckdb.DuckDBPyConnection, project_root: Path,
                 full_refresh: bool = False):
        from runner.engines.duckdb import DuckDBAdapter
        self.con = con
        self.adapter = DuckDBAdapter(con)
        self.root = project_root
        self.full_refresh = full_refresh
        self.db_seconds = 0.0
        self._catalog: dict[tuple[str, str], str] | None = None
        # model -> column -> type, of the models with an enforced contract
        self.contracts: dict[str, dict[str, str]] = {}
        # node -> its full build's SQL in batches of keys, or None (full_build_batches)
        self.batches: Callable[[Node], list[str] | None] | None = None
        self.batch_count = 1

    @contextmanager
    def _timing(self, result: NodeResult) -> Iterator[None]:
        """Wall time and DuckDB time of one node, into its result."""
        started, before = time.perf_counter(), self.db_seconds
        try:
            yield
        finally:
            result.seconds = time.perf_counter() - started
            result.db_seconds = self.db_seconds - before

    def _sql(self, sql: str, params: list | None = None) -> duckdb.DuckDBPyConnection:
        started = time.perf_counter()
        try:
            return self.adapter.execute(sql, params)
        finally:
            self.db_seconds += time.perf_counter() - started

    # -- what is in the database ---------------------------------------------------------
    def relation_kind(self, schema: str, name: str) -> str | None:
        """'table', 'view' or None; the catalog is read once and kept up to date."""
        if self._catalog is None:
            self._catalog = self.adapter.relations()
        return self._catalog.get((schema, name))

    def _record(self, node: Node, kind: str | None) -> None:
        self.relation_kind(node.schema, node.alias)
        assert self._catalog is not None
        if kind is None:
            self._catalog.pop((node.schema, node.alias), None)
        else:
            self._catalog[(node.schema, node.alias)] = kind

    def count_rows(self, node: Node) -> int:
        return int(self._sql(f"select count(*) from "
                             f"{relation_name(node.schema, node.alias)}").fetchone()[0])

    def exists(self, node: Node) -> bool:
        """For is_incremental(): a table of that name is there (a view does not count)."""
        return self.relation_kind(node.schema, node.alias) == "table"

    def run_statements(self, sql: str) -> None:
        """A project hook's SQL (runner/execute/hooks.py), outside a transaction: each
        statement commits. It may create or drop relations: the catalog is read again."""
        self._catalog = None
        self._sql(sql)

    # -- models and seeds ----------------------------------------------------------------
    def run_model(self, item: Compiled) -> NodeResult:
        node, result = model_result(item)
        with self._timing(result):
            try:
                if node.name in self.contracts:
                    from runner.execute.contracts import mismatch
                    failed = mismatch(self.con, node, item.sql, self.contracts[node.name])
                    if failed:
                        return not_built(result, node, failed)
                self.batch_count = 1
                result.rows = self._materialize(node, item.sql,
                                                (item.pre_hooks, item.post_hooks))
                if node.materialized in ("table", "incremental"):
                    result.message = f"{result.rows} rows" + (
                        f", built in {self.batch_count} batches of its keys"
                        if self.batch_count > 1 else "")
            except NotBuilt as exc:
                not_built(result, node, exc.message)
            except duckdb.Error as exc:
                model_failed(result, "DuckDB", item, str(exc))
                if node.materialized == "incremental" and not self.full_refresh and \
                        isinstance(exc, (duckdb.BinderException, duckdb.ConversionException)):
                    result.message += (" If the model's columns changed since its table was "
                                       "built, rebuild it once with --full-refresh.")
        return result

    def run_seed(self, node: Node) -> NodeResult:
        result = seed_result(node)
        if result.status == "error":
            return result
        read = seed_read(node)
        with self._timing(result):
            try:
                result.rows = self._replace_table(node, seed_select(self.con, node, read))
                result.message = f"{result.rows} rows"
            except duckdb.Error as exc:
                result.status = "error"
                result.message = (f"seed {node.rel_path} could not be loaded: "
                                  f"{first_lines(str(exc))}. Check the CSV and its "
                                  "column_types.")
        return result

    def _materialize(self, node: Node, sql: str, hooks: Hooks = ((), ())) -> int | None:
        kind = node.materialized
        if kind == "view":
            return self._transaction(node, lambda: self._create_view(node, sql), hooks)
        if kind == "table":
            return self._replace_table(node, sql, hooks, batched=True)
        if kind == "incremental":
            if self.full_refresh or self.relation_kind(node.schema, node.alias) != "table":
                return self._replace_table(node, sql, hooks, batched=True)
            return self._incremental(node, sql, hooks)
        if kind == "snapshot":
            from runner.execute.duckdb.snapshots import run_snapshot
            return run_snapshot(self, node, sql, hooks)
        raise ExecutionError(f"cannot run materialization {kind!r}.", node=node.name)

    def _transaction(self, node: Node, body: Callable[[], int | None],
                     hooks: Hooks = ((), ())) -> int | None:
        """One transaction: the model's hooks and its statement commit together or not
        at all."""
        pre_hooks, post_hooks = hooks
        self._sql("begin transaction")
        try:
            self.adapter.create_schema(node.schema)
            for hook in pre_hooks:
                self._sql(hook)
            rows = body()
            for hook in post_hooks:
                self._sql(hook)
            self._comment(node)
            self._sql("commit")
            self._record(node, "view" if node.materialized == "view" else "table")
            return rows
        except BaseException:
            try:
                self.con.execute("rollback")
            except duckdb.Error:
                pass
            self._catalog = None      # read it again: the rollback restored the old state
            raise

    def _drop_other_kind(self, node: Node, wanted: str) -> None:
        current = self.relation_kind(node.schema, node.alias)
        if current and current != wanted:
            self.adapter.drop_relation(node.schema, node.alias, current)

    def _create_view(self, node: Node, sql: str) -> None:
        self._drop_other_kind(node, "view")
        self._sql(self.adapter.create_view_sql(node.schema, node.alias, sql))

    def _replace_table(self, node: Node, sql: str, hooks: Hooks = ((), ()),
                       batched: bool = False) -> int | None:
        """A table built whole, or (`batched`, a model's full_build_batches) in batches of
        its keys: the first creates it, the others insert, in the one transaction."""
        def body() -> int | None:
            self._drop_other_kind(node, "table")
            target = relation_name(node.schema, node.alias)
            batches = (self.batches(node) if batched and self.batches else None) or [sql]
            self.batch_count = len(batches)
            if node.name in self.contracts:      # the declared columns and constraints
                from runner.execute.contracts import create_table_sql, insert_sql
                self._sql(create_table_sql(target, node, self.contracts[node.name]))
                rows = [self._sql(insert_sql(target, node, b)).fetchone() for b in batches]
            else:
                rows = [self._sql(self.adapter.create_table_as_sql(node.schema, node.alias,
                                                                   batches[0])).fetchone()]
                rows += [self._sql(f"insert into {target} by name\n{b}").fetchone()
                         for b in batches[1:]]
            return sum(int(r[0]) for r in rows) if all(rows) else None
        return self._transaction(node, body, hooks)

    def _incremental(self, node: Node, sql: str, hooks: Hooks = ((), ())) -> int | None:
        strategy, keys = incremental_plan(node)
        target = relation_name(node.schema, node.alias)
        staged = quote_ident(f"{node.alias}__incoming")

        def body() -> int | None:
            self._sql(f"create or replace temp table {staged} as\n{sql}")
            self._refuse_dropped_columns(node, staged)
            rows = self._sql(f"select count(*) from {staged}").fetchone()[0]
            if strategy == "append":
                self._sql(f"insert into {target} by name select * from {staged}")
            elif strategy in ("delete+insert", "insert_overwrite"):   # keys: the partitions
                key_list = ", ".join(quote_ident(k) for k in keys)
                self._sql(f"delete from {target} where ({key_list}) in "
                          f"(select ({key_list}) from {staged})" if len(keys) > 1 else
                          f"delete from {target} where {key_list} in "
                          f"(select {key_list} from {staged})")
                self._sql(f"insert into {target} by name select * from {staged}")
            else:
                on = " and ".join(f"t.{quote_ident(k)} is not distinct from s.{quote_ident(k)}"
                                  for k in keys)
                self._sql(f"merge into {target} as t using {staged} as s on {on} "
                          f"when matched then update by name when not matched then insert by name")
            self._sql(f"drop table {staged}")
            return int(rows)
        return self._transaction(node, body, hooks)

    def _refuse_dropped_columns(self, node: Node, staged: str) -> None:
        """The table's columns against the staged rows' (refuse_dropped_columns)."""
        returned = [r[0] for r in self._sql(f"describe {staged}").fetchall()]
        table = [r[0] for r in self._sql(
            "select column_name from information_schema.columns where table_catalog = "
            "current_database() and table_schema = ? and table_name = ? order by "
            "ordinal_position", [node.schema, node.alias]).fetchall()]
        refuse_dropped_columns(node, table, returned, relation_name(node.schema, node.alias))

    def _comment(self, node: Node) -> None:
        """The YAML descriptions as the relation's and its columns' comments. Only those
        that differ are written: a table an incremental build keeps has them already
        (an hourly build of the charging project wrote 219 comments otherwise)."""
        if not node.description and not any(c.description for c in node.columns.values()):
            return
        target = relation_name(node.schema, node.alias)
        kind = "view" if node.materialized == "view" else "table"
        catalog = "duckdb_views()" if kind == "view" else "duckdb_tables()"
        name = "view_name" if kind == "view" else "table_name"
        # the relation's comment (column NULL) and each column's, in one query
        current = dict(self.con.execute(
            f"select null, comment from {catalog} where database_name = current_database() "
            f"and schema_name = ? and {name} = ? union all "
            "select column_name, comment from duckdb_columns() where database_name = "
            "current_database() and schema_name = ? and table_name = ?",
            [node.schema, node.alias, node.schema, node.alias]).fetchall())
        if node.description and current.get(None) != node.description:
            self._sql(f"comment on {kind} {target} is {sql_literal(node.description)}")
        for column in node.columns.values():
            if column.description and column.name in current and \
                    current[column.name] != column.description:
                self._sql(f"comment on column {target}.{quote_ident(column.name)} is "
                          f"{sql_literal(column.description)}")

    # -- data tests ----------------------------------------------------------------------
    def run_test(self, item: Compiled) -> NodeResult:
        test = item.test
        assert test is not None
        result = NodeResult(item.name, "test", "pass", path=item.path,
                            compiled_path=str(item.compiled_path) if item.compiled_path else None)
        with self._timing(result):
            try:
                # The first rows are fetched from the test's own query: wrapping it in
                # `select * ... limit n` can make DuckDB 2.0 hang on some plans.
                cursor = self._sql(item.sql)
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(FAILURE_SAMPLE)
                count = len(rows)
                if count == FAILURE_SAMPLE:
                    count = self._sql(f"select count(*) from (\n{item.sql}\n) as failures"
                                      ).fetchone()[0]
                judge(result, test, int(count), columns, rows)
            except duckdb.Error as exc:
                result.status = "error"
                result.message = (f"the test query failed: {first_lines(str(exc))}. "
                                  f"Compiled SQL: {item.compiled_path}.")
        return result
