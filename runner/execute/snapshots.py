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
from runner.project.nodes import Node

META = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted")


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
