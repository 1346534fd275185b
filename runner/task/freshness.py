"""`runner source freshness`: how old the newest row of each source table is, against its
`freshness:` warn_after / error_after (dbt's source freshness), written to
target/sources.json in dbt's sources v3 shape.

The newest row is max(loaded_at_field) (after the freshness `filter`); a table without a
loaded_at_field is as fresh as the newest file in its raw folder (its modification time)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb

from runner.errors import OptionError

SOURCES_SCHEMA = "https://schemas.getdbt.com/dbt/sources/v3.json"
SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class Freshness:
    source: str
    table: str
    unique_id: str
    status: str                       # pass | warn | error | runtime error
    max_loaded_at: dt.datetime | None = None
    age_seconds: float | None = None
    message: str = ""
    seconds: float = 0.0
    criteria: dict[str, Any] = field(default_factory=dict)


def status_of(age_seconds: float, criteria: dict[str, Any]) -> str:
    """error past error_after, warn past warn_after, else pass."""
    for status, key in (("error", "error_after"), ("warn", "warn_after")):
        rule = criteria.get(key) or {}
        if rule.get("count") and age_seconds > rule["count"] * SECONDS[rule["period"]]:
            return status
    return "pass"


def _newest(con: Any, table: Any) -> tuple[dt.datetime | None, str]:
    from runner.jinja.relation import files_view_name, quote_ident, relation_name
    criteria = table.freshness or {}
    if table.loaded_at_field:
        where = f" where {criteria['filter']}" if criteria.get("filter") else ""
        # cast: the raw files' columns may be read as text (ISO timestamps)
        sql = (f"select max(cast({quote_ident(table.loaded_at_field)} as timestamptz)) "
               f"from {relation_name(table.schema, table.name)}{where}")
        what = f"max({table.loaded_at_field})"
    else:
        sql = f"select max(modified_at) from {relation_name(table.schema, files_view_name(table.name))}"
        what = "the newest raw file"
    value = con.execute(sql).fetchone()[0]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)        # the runner's time zone
    return value, what


def source_freshness(project_dir: str | Path = ".", raw_dir: str | Path | None = None,
                     db_path: str | Path | None = None, vars: dict | None = None,
                     select: list[str] | None = None,
                     on_result: Callable[[Freshness], None] | None = None
                     ) -> tuple[list[Freshness], Path]:
    """Check every source table with a freshness (or those `source:NAME[.TABLE]`
    selects); returns the results and the sources.json written."""
    from runner.session import Session, resolve_raw_dir
    from runner.artifacts.manifest import Ids, write_json
    from runner.artifacts.run_results import _stamp
    from runner.engines.duckdb import connect, restrict
    from runner.execute.sources import prepare_sources
    started = time.perf_counter()
    session = Session(project_dir, vars, which="freshness")
    project = session.project
    wanted = [s.split(":", 1)[-1] for spec in (select or []) for s in str(spec).split()]
    tables = [t for key, t in sorted(project.sources.items()) if t.freshness and
              (not wanted or key[0] in wanted or f"{key[0]}.{key[1]}" in wanted)]
    if select and not tables:
        raise OptionError(f"--select {' '.join(select)} names no source table with a "
                          "freshness.", hint="write --select source:NAME or "
                                             "source:NAME.TABLE of a table with freshness:.")
    ids = Ids(session)
    results: list[Freshness] = []
    db = Path(db_path).resolve() if db_path else session.db_path
    con = connect(db)
    try:
        raw = resolve_raw_dir(project, raw_dir, [], needed=bool(tables))
        restrict(con, [project.root, db.parent] + ([raw] if raw else []))
        prepare_sources(con, raw, tables)
        for table in tables:
            began = time.perf_counter()
            item = Freshness(table.source, table.name, ids.sources[(table.source, table.name)],
                             "pass", criteria=table.freshness)
            try:
                newest, what = _newest(con, table)
            except duckdb.Error as exc:
                item.status, item.message = "runtime error", str(exc).splitlines()[0]
            else:
                if newest is None:
                    item.status, item.message = "error", f"{what} is empty: no rows to date"
                else:
                    now = dt.datetime.now(dt.timezone.utc)
                    item.max_loaded_at = newest
                    item.age_seconds = (now - newest).total_seconds()
                    item.status = status_of(item.age_seconds, table.freshness)
                    item.message = f"{what} {newest.isoformat()}, " \
                                   f"{item.age_seconds / 3600:.1f} h ago"
            item.seconds = time.perf_counter() - began
            results.append(item)
            if on_result:
                on_result(item)
    finally:
        con.close()
    now = dt.datetime.now(dt.timezone.utc)
    out = session.target / "sources.json"
    write_json(out, {
        "metadata": {"dbt_schema_version": SOURCES_SCHEMA, "dbt_version": "1.11.0",
                     "generated_at": _stamp(now), "invocation_id": session.invocation_id,
                     "invocation_started_at": _stamp(session.started), "env": {}},
        "results": [_entry(r, now) for r in results],
        "elapsed_time": round(time.perf_counter() - started, 6)})
    session.write_artifacts(db)
    return results, out


def _entry(item: Freshness, now: dt.datetime) -> dict[str, Any]:
    from runner.artifacts.run_results import _stamp
    if item.max_loaded_at is None:
        return {"unique_id": item.unique_id, "error": item.message,
                "status": "runtime error" if item.status == "runtime error" else "error"}
    return {"unique_id": item.unique_id, "max_loaded_at": _stamp(item.max_loaded_at),
            "snapshotted_at": _stamp(now),
            "max_loaded_at_time_ago_in_s": round(item.age_seconds or 0.0, 3),
            "status": item.status,
            "criteria": {k: item.criteria.get(k) or {"count": None, "period": None}
                         for k in ("warn_after", "error_after")} |
            {"filter": item.criteria.get("filter")},
            "adapter_response": {}, "timing": [], "thread_id": "Thread-1",
            "execution_time": round(item.seconds, 6)}
