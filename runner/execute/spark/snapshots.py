"""Snapshots on Spark, with the same rows as DuckDB's (runner/execute/snapshots.py: the
strategies, hard_deletes, snapshot_meta_column_names, dbt_valid_to_current, new
columns).

The first run creates the table from the query and the meta columns, built under a
new name and swapped in, as a table model is. A later run works out (dbt's
snapshot_staging_table) the current versions to close (a changed row's at the new
version's time, a deleted key's at the run's time), the new versions and, with
`hard_deletes: new_record`, the deletion records. Then, by the table's `file_format`:

- delta, iceberg or hudi: dbt-spark's MERGE INTO the table from those rows as a
  staging view `<name>__dbt_tmp` (`dbt_change_type` 'update' closes a current version
  by its `dbt_scd_id`, 'insert' adds one), after `alter table ... add columns` for
  the query's new columns;
- any other (parquet, the default, which takes no MERGE or UPDATE): the whole table
  built again as one query under a new name (its rows, each current version's
  `dbt_valid_to` set in one join with the query's rows; then the new versions and
  deletion records) and swapped in. A failed run leaves the old table as it was; each
  run rewrites the whole table.

The run's time is this process's clock, in UTC, taken once when the snapshot starts,
the same in every statement of the run (DuckDB's: its transaction's start)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from runner.engines.spark import ROW_LEVEL_FORMATS, file_format, partition_columns
from runner.execute.snapshots import check_unique_keys, snapshot_plan
from runner.project.nodes import Node

Columns = list[tuple[str, str]]


def quote(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"


def run_time_sql(now: dt.datetime) -> str:
    """The run's time as a Spark TIMESTAMP (microseconds since the epoch: whatever the
    session's time zone, the same instant)."""
    since = now.astimezone(dt.timezone.utc) - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return f"timestamp_micros({since // dt.timedelta(microseconds=1)})"


class SnapshotSql:
    """The statements of one snapshot run, from the snapshot's plan (snapshot_plan), its
    table's columns and the query's (names and Spark types), and the run's time."""

    def __init__(self, plan: dict[str, Any], target: str, source: str, table: Columns,
                 query: Columns, now: str, current: str | None = None):
        self.plan, self.target, self.source, self.now = plan, target, source, now
        self.current = current           # dbt_valid_to_current, in Spark's SQL
        self.n = {k: quote(v) for k, v in plan["names"].items()}
        self.keys = [quote(k) for k in plan["keys"]]
        self.table, self.query = table, query
        have = {c.lower() for c, _ in table}
        # the query's columns the table lacks: added, null in the older versions
        self.added = [(c, t) for c, t in query if c.lower() not in have]
        self.columns = table + self.added
        self.meta = {v.lower(): k for k, v in plan["names"].items()}
        self.in_query = {c.lower() for c, _ in query}
        self.strategy_time = now if plan["strategy"] == "check" else \
            f"s.{quote(plan['updated_at'])}"
        self.deleted_mark = plan["hard_deletes"] == "new_record"

    # -- pieces ----------------------------------------------------------------------
    def is_current(self, alias: str) -> str:
        test = f"{alias}.{self.n['dbt_valid_to']} is null"
        return f"({test} or {alias}.{self.n['dbt_valid_to']} = {self.current})" \
            if self.current else test

    def scd_id(self, alias: str, time: str) -> str:
        parts = [f"coalesce(cast({alias}.{k} as string), '')" for k in self.keys]
        parts.append(f"coalesce(cast({time} as string), '')")
        return "md5(" + " || '|' || ".join(parts) + ")"

    def _on(self) -> str:
        return " and ".join(f"s.{k} <=> d.{k}" for k in self.keys)

    def _changed(self) -> str:
        plan = self.plan
        if plan["strategy"] == "timestamp":
            changed = f"d.{self.n['dbt_valid_from']} < s.{quote(plan['updated_at'])}"
        else:
            cols = plan["check_cols"]
            if cols == "all":
                cols = [c for c, _ in self.query if c not in plan["keys"]]
            changed = " or ".join(f"not (s.{quote(c)} <=> d.{quote(c)})"
                                  for c in cols) or "false"
        if self.deleted_mark:
            changed = f"({changed}) or d.{self.n['dbt_is_deleted']} = 'True'"
        return changed

    def _select(self, values: dict[str, str], alias: str | None) -> str:
        """The table's columns in order: a meta column's value from `values`, another
        from `alias` (the query's rows: cast to the table's type; null where the rows
        lack it)."""
        out = []
        for name, kind in self.columns:
            meta = self.meta.get(name.lower())
            if meta in values:
                value = f"cast({values[meta]} as {kind})" if kind else values[meta]
            elif alias == "s" and name.lower() not in self.in_query:
                value = f"cast(null as {kind})"
            elif alias == "s" and (name, kind) not in self.added:
                value = f"cast(s.{quote(name)} as {kind})"
            else:
                value = f"{alias}.{quote(name)}"
            out.append(f"{value} as {quote(name)}")
        return ", ".join(out)

    def ctes(self) -> str:
        """snapshotted (the table, with the added columns as nulls), current_rows,
        source_data, found (the query's rows marked), gone (hard_deletes), closed
        (scd_id, valid_to: for MERGE), insertions and deletion_records, in one WITH
        (Spark reads only those a statement uses)."""
        n, hard = self.n, self.plan["hard_deletes"]
        kept = ", ".join([quote(c) for c, _ in self.table] +
                         [f"cast(null as {t}) as {quote(c)}" for c, t in self.added])
        updated = self.strategy_time
        current_to = self.current or f"nullif({updated}, {updated})"
        parts = [f"snapshotted as (select {kept} from {self.target})",
                 f"current_rows as (select * from snapshotted as d where "
                 f"{self.is_current('d')})",
                 f"source_data as (select * from {self.source})",
                 "found as (select *, true as __dbt_found from source_data)"]
        closing = [f"select d.{n['dbt_scd_id']} as scd_id, {updated} as valid_to from "
                   f"source_data as s join current_rows as d on {self._on()} where "
                   f"{self._changed()}"]
        if hard != "ignore":
            still = f" where not (d.{n['dbt_is_deleted']} = 'True')" \
                if self.deleted_mark else ""
            parts.append(f"gone as (select d.* from current_rows as d left anti join "
                         f"source_data as s on {self._on()}{still})")
            closing.append(f"select d.{n['dbt_scd_id']}, {self.now} from gone as d")
        parts.append("closed as (select scd_id, max(valid_to) as valid_to from (\n  "
                     + "\n  union all\n  ".join(closing) + "\n) group by scd_id)")
        values = {"dbt_scd_id": self.scd_id("s", updated), "dbt_updated_at": updated,
                  "dbt_valid_from": updated, "dbt_valid_to": current_to}
        if self.deleted_mark:
            values["dbt_is_deleted"] = "'False'"
        parts.append(f"insertions as (select {self._select(values, 's')} from "
                     f"source_data as s left join current_rows as d on {self._on()} "
                     f"where d.{self.keys[0]} is null or ({self._changed()}))")
        if self.deleted_mark:
            marks = {"dbt_scd_id": f"md5(d.{n['dbt_scd_id']} || '|' || "
                                   f"cast({self.now} as string))",
                     "dbt_updated_at": self.now, "dbt_valid_from": self.now,
                     "dbt_valid_to": self.current or "null", "dbt_is_deleted": "'True'"}
            parts.append(f"deletion_records as (select {self._select(marks, 'd')} "
                         "from gone as d)")
        return "with " + ",\n".join(parts) + "\n"

    def _old_rows(self) -> str:
        """The table's rows, a current version's dbt_valid_to set where its key's row
        changed (the new version's time) or is gone (hard_deletes: the run's time): one
        join of the table with the query's rows (a key is once in the query, as dbt
        requires of unique_key)."""
        n, hard = self.n, self.plan["hard_deletes"]
        valid_to = (f"case when s.__dbt_found and ({self._changed()}) "
                    f"then {self.strategy_time} ")
        if hard != "ignore":
            still = f" and not (d.{n['dbt_is_deleted']} = 'True')" if self.deleted_mark \
                else ""
            valid_to += (f"when s.__dbt_found is null and {self.is_current('d')}{still} "
                         f"then {self.now} ")
        valid_to += f"else d.{n['dbt_valid_to']} end"
        return (f"select {self._select({'dbt_valid_to': valid_to}, 'd')} from snapshotted "
                f"as d left join found as s on {self._on()} and {self.is_current('d')}")

    # -- statements ------------------------------------------------------------------
    def first_build(self, sql: str) -> str:
        """The first run: the query's rows and the meta columns (dbt's
        build_snapshot_table)."""
        updated = self.strategy_time
        current_to = self.current or f"nullif({updated}, {updated})"
        n = self.n
        return (f"select s.*, {self.scd_id('s', updated)} as {n['dbt_scd_id']}, "
                f"{updated} as {n['dbt_updated_at']}, {updated} as {n['dbt_valid_from']}, "
                f"{current_to} as {n['dbt_valid_to']}"
                + (f", 'False' as {n['dbt_is_deleted']}" if self.deleted_mark else "")
                + f" from (\n{sql}\n) as s")

    def rebuilt(self) -> str:
        """The whole new table (a table without row-level changes): every old row, the
        closed versions with their dbt_valid_to, then the new versions and deletion
        records."""
        tail = "\nunion all\nselect * from deletion_records" if self.deleted_mark else ""
        return (self.ctes() + self._old_rows() +
                "\nunion all\nselect * from insertions" + tail)

    def counted(self, rebuilt: str | None = None) -> str:
        """DuckDB's count of a run: the new versions and the versions a deletion closed
        (a deletion record not counted again). With the `rebuilt` table (before it
        replaces the old one): its rows more than the old table's (the new versions
        and deletion records), and with `invalidate` the keys gone."""
        gone = " + (select count(*) from gone)" if self.plan["hard_deletes"] != "ignore" \
            else ""
        if rebuilt is None:
            return self.ctes() + f"select (select count(*) from insertions){gone}"
        gone = gone if self.plan["hard_deletes"] == "invalidate" else ""
        return (self.ctes() + f"select (select count(*) from {rebuilt}) - "
                f"(select count(*) from snapshotted){gone}")

    def staging(self) -> str:
        """dbt-spark's staging rows for MERGE: 'update' rows (a current version's
        scd_id and its new dbt_valid_to, one per scd_id, the other columns null),
        'insert' rows (new versions and deletion records)."""
        closing = {"dbt_scd_id": "scd_id", "dbt_valid_to": "valid_to"}
        listed = ", ".join(
            f"cast({closing.get(self.meta.get(c.lower()), 'null')} as {t}) as {quote(c)}"
            for c, t in self.columns)
        inserts = ["insertions"] + (["deletion_records"] if self.deleted_mark else [])
        return (self.ctes() + f"select 'update' as dbt_change_type, {listed} from closed" +
                "".join(f"\nunion all\nselect 'insert' as dbt_change_type, * from {t}"
                        for t in inserts))

    def add_columns(self) -> str | None:
        """dbt-spark's create_columns: the query's new columns added to the table."""
        if not self.added:
            return None
        listed = ", ".join(f"{quote(c)} {t}" for c, t in self.added)
        return f"alter table {self.target} add columns ({listed})"

    def merge(self, staging: str) -> str:
        """dbt-spark's snapshot_merge_sql, the meta columns named as configured and the
        inserted columns listed (the staging rows carry dbt_change_type)."""
        n = self.n
        listed = ", ".join(quote(c) for c, _ in self.columns)
        values = ", ".join(f"DBT_INTERNAL_SOURCE.{quote(c)}" for c, _ in self.columns)
        return (f"merge into {self.target} as DBT_INTERNAL_DEST\n"
                f"using {staging} as DBT_INTERNAL_SOURCE\n"
                f"on DBT_INTERNAL_SOURCE.{n['dbt_scd_id']} = "
                f"DBT_INTERNAL_DEST.{n['dbt_scd_id']}\n"
                f"when matched and {self.is_current('DBT_INTERNAL_DEST')} "
                f"and DBT_INTERNAL_SOURCE.dbt_change_type = 'update'\n"
                f"  then update set {n['dbt_valid_to']} = "
                f"DBT_INTERNAL_SOURCE.{n['dbt_valid_to']}\n"
                f"when not matched and DBT_INTERNAL_SOURCE.dbt_change_type = 'insert'\n"
                f"  then insert ({listed}) values ({values})")


def valid_to_current(adapter: Any, node: Node) -> str | None:
    """dbt_valid_to_current (an expression in the project's SQL) in Spark's."""
    expression = node.config.get("dbt_valid_to_current")
    if not expression:
        return None
    import sqlglot
    select = sqlglot.parse_one(adapter.transpile(f"select {expression} as x"), read="spark")
    return select.expressions[0].this.sql(dialect="spark")


def run_snapshot(executor: Any, node: Node, sql: str) -> int:
    """One snapshot run on Spark (the executor's SparkExecutor); returns the row count
    DuckDB's gives (new versions and versions closed by a deletion)."""
    a = executor.adapter
    plan = snapshot_plan(node)
    now = run_time_sql(dt.datetime.now(dt.timezone.utc))
    target = a.relation_name(node.schema, node.alias)
    current = valid_to_current(a, node)
    source = f"{node.alias}__dbt_source"
    executor._sql(f"create or replace temporary view {quote(source)} as\n{sql}")
    try:
        check_unique_keys(node, plan, quote(source), quote,
                          lambda q: executor.adapter.fetch(q)[1])
        if a.relation_kind(node.schema, node.alias) != "table":
            render = SnapshotSql(plan, target, "", [], [], now, current)
            return executor._replace_table(node, render.first_build(sql))
        query = [(f.name, f.dataType.simpleString())
                 for f in a.spark.table(quote(source)).schema.fields]
        render = SnapshotSql(plan, target, quote(source), a.columns(node.schema, node.alias),
                             query, now, current)
        if file_format(node.config) in ROW_LEVEL_FORMATS:
            return _merge(executor, node, render)
        rows = _rebuild(executor, node, render)
        executor.rewrote = True
        return rows
    finally:
        executor._sql(f"drop view if exists {quote(source)}")


def _rebuild(executor: Any, node: Node, render: SnapshotSql) -> int:
    """A table without row-level changes: the new table built under `<name>__dbt_tmp`
    (a failure leaves the old one as it was), the run's rows counted (the new table's
    against the old one's), then the new one swapped in."""
    a, schema, name = executor.adapter, node.schema, node.alias
    tmp, backup = f"{name}__dbt_tmp", f"{name}__dbt_backup"
    for leftover in (tmp, backup):
        a.drop_relation(schema, leftover, "table")
    try:
        executor._sql(a.create_table_as_sql(schema, tmp, render.rebuilt(), node.config))
        rows = _scalar(executor, render.counted(a.relation_name(schema, tmp)))
    except Exception:
        a.drop_relation(schema, tmp, "table")
        raise
    a.rename_relation(schema, name, backup, "table")
    a.rename_relation(schema, tmp, name, "table")
    if partition_columns(node.config):
        # a catalog may keep the partitions at the old name's folder: found again
        executor._sql(f"alter table {render.target} recover partitions")
    a.drop_relation(schema, backup, "table")
    return rows


def _merge(executor: Any, node: Node, render: SnapshotSql) -> int:
    """Delta, Iceberg, Hudi: the new columns added, then MERGE INTO from the staging
    rows, as dbt-spark does."""
    a = executor.adapter
    check_format(a, node)
    alter = render.add_columns()
    if alter:
        executor._sql(alter)
        render = SnapshotSql(render.plan, render.target, render.source,
                             a.columns(node.schema, node.alias), render.query, render.now,
                             render.current)
    staging = quote(f"{node.alias}__dbt_tmp")
    executor._sql(f"create or replace temporary view {staging} as\n{render.staging()}")
    try:
        rows = _scalar(executor, render.counted())
        executor._sql(render.merge(staging))
        return rows
    finally:
        executor._sql(f"drop view if exists {staging}")


def check_format(adapter: Any, node: Node) -> None:
    """A snapshot merged into (its file_format delta, iceberg or hudi) whose table is of
    another format: said before anything changes, as dbt-spark does."""
    fmt = file_format(node.config)
    described = adapter.fetch(f"describe table extended "
                              f"{adapter.relation_name(node.schema, node.alias)}")[1]
    provider = next((str(r[1]).strip().lower() for r in described
                     if str(r[0]).strip() == "Provider"), fmt)
    if provider != fmt:
        raise ValueError(f"the snapshot's table {node.schema}.{node.alias} is a {provider} "
                         f"table, and its file_format is {fmt}: MERGE needs a {fmt} table. "
                         f"Set file_format back to {provider} (the table is then rewritten "
                         f"each run), or drop the table to start its history again as {fmt}")


def _scalar(executor: Any, sql: str) -> int:
    started = time.perf_counter()
    try:
        return int(executor.adapter.fetch(sql)[1][0][0])
    finally:
        executor.db_seconds += time.perf_counter() - started
