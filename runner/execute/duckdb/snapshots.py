"""Snapshots on DuckDB: each run in one transaction of the build's database, the query's
rows held in a temporary table, the changed versions closed with an UPDATE and the new
ones inserted (what every engine shares, and the rules: runner/execute/snapshots.py)."""

from __future__ import annotations

from typing import Any

from runner.execute.snapshots import check_unique_keys, snapshot_plan
from runner.jinja.relation import quote_ident, relation_name
from runner.project.nodes import Node

# the run's time: the transaction's start, in UTC, as TIMESTAMP
NOW = "(now() at time zone 'UTC')"


def run_snapshot(executor: Any, node: Node, sql: str, hooks: Any) -> int | None:
    plan = snapshot_plan(node)
    target = relation_name(node.schema, node.alias)
    n = {k: quote_ident(v) for k, v in plan["names"].items()}
    keys = [quote_ident(k) for k in plan["keys"]]
    updated = f"{NOW}" if plan["strategy"] == "check" else f"s.{quote_ident(plan['updated_at'])}"
    current_to = plan["current"] or f"nullif({updated}, {updated})"     # typed as it
    deleted_mark = plan["hard_deletes"] == "new_record"

    def scd_id(alias: str, time: str) -> str:
        parts = [f"coalesce(cast({alias}.{k} as varchar), '')" for k in keys]
        parts.append(f"coalesce(cast({time} as varchar), '')")
        return "md5(" + " || '|' || ".join(parts) + ")"

    def is_current(alias: str) -> str:
        test = f"{alias}.{n['dbt_valid_to']} is null"
        return f"({test} or {alias}.{n['dbt_valid_to']} = {plan['current']})" \
            if plan["current"] else test

    def new_versions(source: str, extra_where: str = "") -> str:
        return (f"select s.*, {scd_id('s', updated)} as {n['dbt_scd_id']}, "
                f"{updated} as {n['dbt_updated_at']}, {updated} as {n['dbt_valid_from']}, "
                f"{current_to} as {n['dbt_valid_to']}"
                + (f", 'False' as {n['dbt_is_deleted']}" if deleted_mark else "")
                + f" from {source} as s {extra_where}")

    def body() -> int | None:
        executor._sql(f"create or replace temp table __snapshot_source as\n{sql}")
        check_unique_keys(node, plan, "__snapshot_source", quote_ident,
                          lambda q: executor._sql(q).fetchall())
        if executor.relation_kind(node.schema, node.alias) != "table":
            executor._drop_other_kind(node, "table")
            row = executor._sql(f"create table {target} as\n"
                                f"{new_versions('__snapshot_source')}").fetchone()
            executor._sql("drop table __snapshot_source")
            return int(row[0]) if row else None
        _add_new_columns(executor, target)
        on = " and ".join(f"s.{k} is not distinct from d.{k}" for k in keys)
        if plan["strategy"] == "timestamp":
            changed = f"d.{n['dbt_valid_from']} < s.{quote_ident(plan['updated_at'])}"
        else:
            cols = plan["check_cols"]
            if cols == "all":
                cols = [r[0] for r in executor._sql("describe __snapshot_source").fetchall()
                        if r[0] not in plan["keys"]]
            changed = " or ".join(f"s.{quote_ident(c)} is distinct from d.{quote_ident(c)}"
                                  for c in cols) or "false"
        if deleted_mark:
            changed = f"({changed}) or d.{n['dbt_is_deleted']} = 'True'"
        current = f"(select * from {target} as d where {is_current('d')})"
        executor._sql(f"create or replace temp table __snapshot_closed as "
                      f"select d.{n['dbt_scd_id']} as scd_id, {updated} as valid_to "
                      f"from __snapshot_source as s join {current} as d on {on} "
                      f"where {changed}")
        executor._sql("create or replace temp table __snapshot_new as "
                      + new_versions("__snapshot_source", f"left join {current} as d on {on} "
                                     f"where d.{keys[0]} is null or ({changed})"))
        gone = 0
        if plan["hard_deletes"] != "ignore":
            still = f"not (d.{n['dbt_is_deleted']} = 'True')" if deleted_mark else "true"
            executor._sql(f"create or replace temp table __snapshot_gone as select d.* "
                          f"from {current} as d where {still} and not exists (select 1 "
                          f"from __snapshot_source as s where {on})")
            gone = executor._sql("select count(*) from __snapshot_gone").fetchone()[0]
            executor._sql(f"insert into __snapshot_closed select {n['dbt_scd_id']}, {NOW} "
                          "from __snapshot_gone")
        executor._sql(f"update {target} as d set {n['dbt_valid_to']} = c.valid_to "
                      f"from __snapshot_closed as c where d.{n['dbt_scd_id']} = c.scd_id "
                      f"and {is_current('d')}")
        new_rows = executor._sql("select count(*) from __snapshot_new").fetchone()[0]
        executor._sql(f"insert into {target} by name select * from __snapshot_new")
        if deleted_mark and gone:
            executor._sql(
                f"insert into {target} by name select * exclude ({n['dbt_scd_id']}, "
                f"{n['dbt_updated_at']}, {n['dbt_valid_from']}, {n['dbt_valid_to']}, "
                f"{n['dbt_is_deleted']}), md5(d.{n['dbt_scd_id']} || '|' || "
                f"cast({NOW} as varchar)) as {n['dbt_scd_id']}, {NOW} as "
                f"{n['dbt_updated_at']}, {NOW} as {n['dbt_valid_from']}, {plan['current'] or 'null'} as "
                f"{n['dbt_valid_to']}, 'True' as {n['dbt_is_deleted']} from __snapshot_gone as d")
        for table in ("__snapshot_source", "__snapshot_closed", "__snapshot_new",
                      "__snapshot_gone"):
            executor._sql(f"drop table if exists {table}")
        return int(new_rows + gone)
    return executor._transaction(node, body, hooks)


def _add_new_columns(executor: Any, target: str) -> None:
    """Columns the query has and the snapshot table lacks are added (null in the older
    versions), as dbt's create_columns does."""
    have = {r[0].lower() for r in executor._sql(f"describe {target}").fetchall()}
    for name, kind, *_ in executor._sql("describe __snapshot_source").fetchall():
        if name.lower() not in have:
            executor._sql(f"alter table {target} add column {quote_ident(name)} {kind}")
