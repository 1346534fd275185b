"""Snapshots (type 2 slowly changing dimensions), as dbt builds them.

The first run creates the table from the snapshot's query with four columns more:
`dbt_scd_id` (a hash of the unique key and the version's time), `dbt_updated_at`,
`dbt_valid_from` and `dbt_valid_to` (null, or `dbt_valid_to_current`, while the version
is current). Each later run, in one transaction:

- a key whose row changed gets its current version closed (`dbt_valid_to` = the new
  version's time) and a new current version; a new key gets its first version. Changed
  means, with `strategy: timestamp`, an `updated_at` later than the current version's
  `dbt_valid_from`; with `strategy: check`, a difference in `check_cols` (a list, or
  `all`), the version's time then being the run's time;
- a key gone from the query (`hard_deletes`): `ignore` (the default) keeps its current
  version, `invalidate` (or dbt's older `invalidate_hard_deletes: true`) closes it at
  the run's time, `new_record` closes it and adds a version marked
  `dbt_is_deleted = 'True'` (the other versions: 'False'), closed in turn when the key
  comes back.

`snapshot_meta_column_names` renames the meta columns; columns new in the query are
added to the table. The run's time is the transaction's start, in UTC, as TIMESTAMP."""

from __future__ import annotations

from typing import Any

from runner.errors import NotBuilt, ProjectError
from runner.jinja.relation import quote_ident, relation_name
from runner.project.nodes import Node

META = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted")
NOW = "(now() at time zone 'UTC')"


def snapshot_plan(node: Node) -> dict[str, Any]:
    """The snapshot's checked config (raises a ProjectError naming what is wrong)."""
    config = node.config
    where = dict(node=node.name, path=node.rel_path)
    keys = config.get("unique_key")
    keys = [keys] if isinstance(keys, str) else list(keys or [])
    if not keys:
        raise ProjectError(f"snapshot {node.name} needs a unique_key.", **where,
                           hint="add unique_key='id' (or a list) to its config.")
    strategy = config.get("strategy")
    if strategy not in ("timestamp", "check"):
        raise ProjectError(f"snapshot {node.name} has strategy {strategy!r}; use timestamp "
                           "or check.", **where)
    if strategy == "timestamp" and not config.get("updated_at"):
        raise ProjectError(f"snapshot {node.name} uses strategy timestamp without "
                           "updated_at.", **where, hint="add updated_at='column'.")
    check_cols = config.get("check_cols")
    if strategy == "check" and not (check_cols == "all" or isinstance(check_cols, list)
                                    and check_cols):
        raise ProjectError(f"snapshot {node.name} uses strategy check without check_cols.",
                           **where, hint="add check_cols='all' or a list of columns.")
    hard_deletes = config.get("hard_deletes") or (
        "invalidate" if config.get("invalidate_hard_deletes") is True else "ignore")
    if hard_deletes not in ("ignore", "invalidate", "new_record"):
        raise ProjectError(f"snapshot {node.name} has hard_deletes {hard_deletes!r}; use "
                           "ignore, invalidate or new_record.", **where)
    names = config.get("snapshot_meta_column_names") or {}
    if not isinstance(names, dict) or set(names) - set(META):
        raise ProjectError(f"snapshot_meta_column_names of snapshot {node.name} must map "
                           f"some of {', '.join(META)} to column names.", **where)
    return {"keys": keys, "strategy": strategy, "updated_at": config.get("updated_at"),
            "check_cols": check_cols, "hard_deletes": hard_deletes,
            "current": config.get("dbt_valid_to_current"),
            "names": {m: str(names.get(m) or m) for m in META}}


def check_unique_keys(node: Node, plan: dict[str, Any], source: str, quote: Any,
                      fetch: Any) -> None:
    """Raise NotBuilt when the snapshot's query (the relation `source`) returns a
    unique_key more than once: each run would otherwise add that key's versions again
    (dbt's MERGE fails on most warehouses; its DuckDB and Parquet forms would not).
    `fetch(sql)` returns rows."""
    keys = ", ".join(quote(k) for k in plan["keys"])
    rows = fetch(f"select {keys}, count(*) as n from {source} group by {keys} "
                 f"having count(*) > 1 order by n desc, {keys} limit 3")
    if not rows:
        return
    named = "; ".join(", ".join(f"{k} = {v!r}" for k, v in zip(plan["keys"], row[:-1]))
                      + f" ({row[-1]} rows)" for row in rows)
    raise NotBuilt(f"snapshot {node.name}: unique_key {', '.join(plan['keys'])} is not "
                   f"unique in its query ({named}{'; ...' if len(rows) == 3 else ''}). "
                   "Keep one row per key in the query (e.g. qualify row_number() over "
                   "(partition by the key order by the update time desc) = 1), or add "
                   "columns to unique_key.")


def meta_columns(node: Node) -> list[tuple[str, str]]:
    """The columns a snapshot adds to its query's (types as a first build makes them,
    for the stand-ins that check downstream models' columns)."""
    plan = snapshot_plan(node)
    names = plan["names"]
    out = [(names["dbt_scd_id"], "VARCHAR"), (names["dbt_updated_at"], "TIMESTAMP"),
           (names["dbt_valid_from"], "TIMESTAMP"), (names["dbt_valid_to"], "TIMESTAMP")]
    return out + ([(names["dbt_is_deleted"], "VARCHAR")]
                  if plan["hard_deletes"] == "new_record" else [])


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
