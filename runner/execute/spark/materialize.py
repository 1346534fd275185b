"""Models, seeds and data tests on Spark, with dbt-spark's materializations:

- view: `create or replace view`;
- table: built as `<name>__dbt_tmp`, then the old table is renamed away, the new one
  renamed in, the old one dropped (a failed build leaves the old table as it was);
- incremental: the new rows as a temporary view `<name>__dbt_tmp`, then by
  `incremental_strategy`: `append` (insert into), `insert_overwrite` (the partitions
  of `partition_by` the new rows fall in are replaced, dynamic partition overwrite),
  and `merge` / `delete+insert` on a `unique_key`: with a table format that has
  row-level changes (`file_format: delta`, `iceberg` or `hudi`) Spark's MERGE and
  DELETE; on a plain Parquet table, which refuses both, by rewriting the table
  (copy-on-write): the new rows are stored first, then the table is built again under
  a new name from its rows whose key the new rows lack and the new rows, and swapped
  in. The node's message says so. A hook's `DELETE FROM <table> WHERE ...` on such a
  table is the same rewrite, keeping the rows the condition is not true for.
- snapshot: runner/execute/spark/snapshots.py (MERGE on those formats; on Parquet
  the table rebuilt with the closed and new versions, and swapped in).

No transaction spans a model's statements on Spark: hooks run before and after."""

from __future__ import annotations

import time
from typing import Any

from runner.engines.spark import (ROW_LEVEL_FORMATS, SparkAdapter, file_format, give_up,
                                  partition_columns, server_lost)
from runner.errors import NotBuilt
from runner.execute.datatests import FAILURE_SAMPLE, judge
from runner.execute.seeds import seed_read, seed_result
from runner.execute.results import (NodeResult, first_lines, model_failed, model_result,
                                    not_built, refuse_dropped_columns)
from runner.jinja.compile import Compiled
from runner.project.loader import Node, incremental_plan


class SparkExecutor:
    def __init__(self, adapter: SparkAdapter, full_refresh: bool = False):
        self.adapter = adapter
        self.full_refresh = full_refresh
        self.db_seconds = 0.0
        # model -> column -> Spark type, of the models with an enforced contract
        self.contracts: dict[str, dict[str, str]] = {}
        self.rewrote = False
        # why the run stops: its Spark Connect server no longer answers (lost_server)
        self.lost: str | None = None

    def lost_server(self, exc: BaseException) -> str | None:
        """The node's message if `exc` is the run's Connect server no longer answering
        (runner.engines.spark.server_lost), kept in `lost`; its session then retries
        nothing more. None for any other error."""
        url = self.adapter.url
        lost = server_lost(exc, url) if url else None
        if lost is None:
            return None
        self.lost = lost[0]
        give_up(self.adapter.spark)
        return f"{lost[0]}: {lost[1]}"

    def _sql(self, sql: str) -> Any:
        started = time.perf_counter()
        try:
            return self.adapter.execute(sql)
        finally:
            self.db_seconds += time.perf_counter() - started

    def exists(self, node: Node) -> bool:
        """For is_incremental(): a table of that name is there (a view does not count)."""
        return self.adapter.relation_kind(node.schema, node.alias) == "table"

    def run_statements(self, sql: str) -> None:
        """A project hook's SQL (runner/execute/hooks.py), in the project's dialect: each
        statement (Spark runs one at a time) transpiled as a model's hooks are, then run."""
        from runner.engines.native import duckdb
        try:
            statements = [s.query for s in duckdb.extract_statements(sql)]
        except duckdb.Error:
            statements = [sql]        # not DuckDB's SQL: sqlglot's transpile says why
        for statement in statements:
            self._sql(self.adapter.transpile(statement.strip().rstrip(";")))

    # -- models and seeds ----------------------------------------------------------------
    def run_model(self, item: Compiled) -> NodeResult:
        node, result = model_result(item)
        started = time.perf_counter()
        self.rewrote = False
        try:
            failed = self._contract_mismatch(node, item.sql)
            if failed:
                result.seconds = time.perf_counter() - started
                return not_built(result, node, failed)
            for hook in item.pre_hooks:
                self._sql(hook)
            result.rows = self._materialize(node, item.sql)
            for hook in item.post_hooks:
                if not self._delete_by_rewrite(node, hook):
                    self._sql(hook)
            if node.materialized in ("table", "incremental", "snapshot"):
                result.message = f"{result.rows} rows"
            if self.rewrote:
                result.message = (result.message or "") + \
                    f" ({node.alias} rewritten: {file_format(node.config)} tables have " \
                    "no row-level changes)"
        except NotBuilt as exc:
            not_built(result, node, exc.message)
        except Exception as exc:
            lost = self.lost_server(exc)
            if lost:
                result.status, result.message = "error", f"{lost}. {node.name} was not " \
                    "built."
            else:
                model_failed(result, "Spark", item, spark_message(exc))
        result.seconds = time.perf_counter() - started
        return result

    # -- contracts -----------------------------------------------------------------------
    def _contract_mismatch(self, node: Node, sql: str) -> str | None:
        """dbt's table of the query's columns against the contract (Spark analyses the
        query; no row is read), or None."""
        if node.name not in self.contracts:
            return None
        from runner.execute.contracts import differences
        fields = self.adapter.spark.sql(sql).schema.fields
        return differences({f.name: f.dataType.simpleString() for f in fields},
                           self.contracts[node.name])

    def _contracted(self, node: Node, sql: str) -> str:
        """A contracted model's query with the declared columns in the declared order."""
        if node.name not in self.contracts:
            return sql
        listed = ", ".join(self.adapter.quote(c) for c in self.contracts[node.name])
        return f"select {listed} from (\n{sql}\n) as model_subq"

    def _check_not_null(self, node: Node, relation: str) -> None:
        """The contract's not_null columns (column- or model-level) have no null among
        the new rows: checked before they replace or join the table."""
        if node.name not in self.contracts:
            return
        columns = [c.name for c in node.columns.values()
                   if any(k.get("type") == "not_null" for k in c.constraints)]
        columns += [c for k in node.constraints if k.get("type") == "not_null"
                    for c in k.get("columns") or []]
        for column in dict.fromkeys(columns):
            nulls = self._count(f"{relation} where {self.adapter.quote(column)} is null")
            if nulls:
                raise ValueError(f"the contract's not_null constraint on column {column} "
                                 f"failed: {nulls} new rows have it null")

    def run_seed(self, node: Node) -> NodeResult:
        from runner.execute.spark.sources import seed_frame
        result = seed_result(node)
        if result.status == "error":
            return result
        started = time.perf_counter()
        try:
            frame = seed_frame(self.adapter.spark, node, seed_read(node))
            view = f"{node.alias}__dbt_seed"
            frame.createOrReplaceTempView(view)
            result.rows = self._replace_table(node, f"select * from {self.adapter.quote(view)}")
            result.message = f"{result.rows} rows"
        except Exception as exc:
            result.status = "error"
            result.message = self.lost_server(exc) or (
                f"seed {node.rel_path} could not be loaded: "
                f"{first_lines(spark_message(exc))}. Check the CSV and its column_types.")
        result.seconds = time.perf_counter() - started
        return result

    def _materialize(self, node: Node, sql: str) -> int | None:
        a = self.adapter
        a.create_schema(node.schema)
        kind = node.materialized
        current = a.relation_kind(node.schema, node.alias)
        if kind == "view":
            if current == "table":
                a.drop_relation(node.schema, node.alias, "table")
            self._sql(a.create_view_sql(node.schema, node.alias, sql))
            return None
        if kind == "table" or (kind == "incremental" and (self.full_refresh or
                                                          current != "table")):
            return self._replace_table(node, sql)
        if kind == "incremental":
            return self._incremental(node, sql)
        if kind == "snapshot":
            from runner.execute.spark.snapshots import run_snapshot
            return run_snapshot(self, node, sql)
        raise ValueError(f"materialization {kind!r} is not run on Spark yet")

    def _replace_table(self, node: Node, sql: str) -> int:
        """dbt-spark's table: built under a new name, then swapped in."""
        a, schema, name = self.adapter, node.schema, node.alias
        tmp, backup = f"{name}__dbt_tmp", f"{name}__dbt_backup"
        a.create_schema(schema)
        for leftover in (tmp, backup):
            a.drop_relation(schema, leftover, "table")
        self._sql(a.create_table_as_sql(schema, tmp, self._contracted(node, sql),
                                        node.config))
        try:
            self._check_not_null(node, a.relation_name(schema, tmp))
        except ValueError:
            a.drop_relation(schema, tmp, "table")
            raise
        current = a.relation_kind(schema, name)
        if current:
            a.rename_relation(schema, name, backup, current)
        a.rename_relation(schema, tmp, name, "table")
        if partition_columns(node.config):
            # a catalog may keep the partitions at the old name's folder: found again
            self._sql(f"alter table {a.relation_name(schema, name)} recover partitions")
        if current:
            a.drop_relation(schema, backup, current)
        return self._count(a.relation_name(schema, name))

    def _incremental(self, node: Node, sql: str) -> int:
        a = self.adapter
        strategy, keys = incremental_plan(node)
        target = a.relation_name(node.schema, node.alias)
        staged = a.quote(f"{node.alias}__dbt_tmp")
        fmt = file_format(node.config)
        self._sql(f"create or replace temporary view {staged} as\n"
                  f"{self._contracted(node, sql)}")
        table_columns = [c for c, _ in a.columns(node.schema, node.alias)]
        try:
            # analysed only: no row is read
            refuse_dropped_columns(node, table_columns, a.spark.sql(
                f"select * from {staged}").columns, target)
        except NotBuilt:
            self._sql(f"drop view if exists {staged}")
            raise
        self._check_not_null(node, staged)
        columns = ", ".join(a.quote(c) for c in table_columns)
        if strategy in ("merge", "delete+insert") and fmt not in ROW_LEVEL_FORMATS:
            rows = self._rewrite_with(node, staged, keys, columns)
            self.rewrote = True
            self._sql(f"drop view if exists {staged}")
            return rows
        rows = self._count(staged)
        if strategy == "append":
            self._sql(f"insert into {target} select {columns} from {staged}")
        elif strategy == "insert_overwrite":
            self._sql("set spark.sql.sources.partitionOverwriteMode = DYNAMIC")
            parts = ", ".join(a.quote(k) for k in keys)
            self._sql(f"insert overwrite table {target} partition ({parts}) "
                      f"select {columns} from {staged}")
        elif strategy == "delete+insert":
            listed = ", ".join(a.quote(k) for k in keys)
            self._sql(f"delete from {target} where struct({listed}) in "
                      f"(select struct({listed}) from {staged})")
            self._sql(f"insert into {target} select {columns} from {staged}")
        else:
            on = " and ".join(f"DBT_INTERNAL_SOURCE.{a.quote(k)} <=> "
                              f"DBT_INTERNAL_DEST.{a.quote(k)}" for k in keys)
            self._sql(f"merge into {target} as DBT_INTERNAL_DEST using {staged} as "
                      f"DBT_INTERNAL_SOURCE on {on} when matched then update set * "
                      "when not matched then insert *")
        self._sql(f"drop view if exists {staged}")
        return rows

    def _rewrite_with(self, node: Node, staged: str, keys: list[str], columns: str) -> int:
        """delete+insert / merge on a table without row-level changes: the new rows
        stored, then the table rebuilt from its rows whose key they lack and them."""
        a, schema = self.adapter, node.schema
        new = f"{node.alias}__dbt_new"
        a.drop_relation(schema, new, "table")
        self._sql(f"create table {a.relation_name(schema, new)} using parquet as "
                  f"select {columns} from {staged}")
        target, fresh = a.relation_name(schema, node.alias), a.relation_name(schema, new)
        listed = ", ".join(a.quote(k) for k in keys)
        kept = (f"select {columns} from {target} where struct({listed}) not in "
                f"(select struct({listed}) from {fresh})")
        if len(keys) == 1:      # a NULL key matches nothing, as in DELETE ... IN
            key = a.quote(keys[0])
            kept = (f"select {columns} from {target} where {key} is null or {key} not in "
                    f"(select {key} from {fresh} where {key} is not null)")
        self._swap(node, f"{kept}\nunion all\nselect {columns} from {fresh}")
        rows = self._count(fresh)
        a.drop_relation(schema, new, "table")
        return rows

    def _delete_by_rewrite(self, node: Node, hook: str) -> bool:
        """A hook's DELETE FROM this table, on a table without row-level changes: the
        table rebuilt from the rows the condition is not true for. False for any other
        statement, which runs as it is."""
        import sqlglot
        from sqlglot import exp
        if file_format(node.config) in ROW_LEVEL_FORMATS:
            return False
        try:
            tree = sqlglot.parse_one(hook, read="spark")
        except sqlglot.errors.ParseError:
            return False
        if not isinstance(tree, exp.Delete) or tree.this.name.lower() != node.alias.lower():
            return False
        a = self.adapter
        where = tree.args.get("where")
        condition = where.this.sql(dialect="spark") if where else "true"
        columns = ", ".join(a.quote(c) for c, _ in a.columns(node.schema, node.alias))
        self._swap(node, f"select {columns} from {a.relation_name(node.schema, node.alias)} "
                         f"where not coalesce(({condition}), false)")
        self.rewrote = True
        return True

    def _swap(self, node: Node, sql: str) -> None:
        """The table built again from `sql` (which may read it) and swapped in."""
        a, schema, name = self.adapter, node.schema, node.alias
        tmp, backup = f"{name}__dbt_tmp", f"{name}__dbt_backup"
        for leftover in (tmp, backup):
            a.drop_relation(schema, leftover, "table")
        self._sql(a.create_table_as_sql(schema, tmp, sql, node.config))
        a.rename_relation(schema, name, backup, "table")
        a.rename_relation(schema, tmp, name, "table")
        a.drop_relation(schema, backup, "table")

    def _count(self, relation: str) -> int:
        started = time.perf_counter()
        try:
            return int(self.adapter.fetch(f"select count(*) from {relation}")[1][0][0])
        finally:
            self.db_seconds += time.perf_counter() - started

    # -- data tests ----------------------------------------------------------------------
    def run_test(self, item: Compiled) -> NodeResult:
        test = item.test
        assert test is not None
        result = NodeResult(item.name, "test", "pass", path=item.path,
                            compiled_path=str(item.compiled_path) if item.compiled_path else None)
        started = time.perf_counter()
        try:
            columns, rows = self.adapter.fetch(item.sql, FAILURE_SAMPLE)
            count = len(rows)
            if count == FAILURE_SAMPLE:
                count = self._count(f"(\n{item.sql}\n) as failures")
            judge(result, test, int(count), columns, rows)
        except Exception as exc:
            result.status = "error"
            result.message = self.lost_server(exc) or (
                f"the test query failed on Spark: {first_lines(spark_message(exc))}. "
                f"Compiled SQL: {item.compiled_path}.")
        result.seconds = time.perf_counter() - started
        return result


def spark_message(exc: BaseException) -> str:
    """Spark's error without the JVM stack trace."""
    text = str(exc).strip()
    return text.split("\n\tat ")[0].split("JVM stacktrace:")[0].strip() or type(exc).__name__
