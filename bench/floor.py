"""The floor: the four report and audit tables written by one hand-written DuckDB script.

    python bench/floor.py RAW_DIR DB [--report-time 2026-01-01T00:00:00Z]
                          [--memory-limit 16GB] [--compare RUNNER_DB]

It reads the same landing zone as `runner build` (RAW_DIR, laid out as in
/work/shared/spec/raw-sources.md) and the project's seeds, and writes into a new DuckDB
file DB the tables `reports.charging_sessions_cpo`, `reports.roaming_sessions_cpo`,
`audit.rejected_sessions` and `audit.reconciliation`, with the project's columns and
values (the spec /work/shared/spec/reports.md, as the models read it), `_built_at` aside.
It uses no runner code and no Jinja: plain SQL, each unit of work done once.

- Parquet is read as typed (its timestamps, integers and decimals are not turned into
  text and back); only CSV and NDJSON text is converted. The text of a typed value is
  made only where the output shows it (rejected rows) or a tie between versions needs it.
- The latest version of each session is found by one aggregate over the versions, and
  the winners are priced and attributed in the same statement: one table of sessions is
  stored (`work.sessions`), narrow enough for the four outputs, and nothing else is.
- The reconciliation is counted from that table (each session is raw, and either
  reported or rejected, under the organisation and month its station gives it).

`--compare RUNNER_DB` then checks the four tables equal to the runner's, row for row
(EXCEPT ALL both ways, every column but `_built_at`), prints the counts and exits 1 if
any differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floor_inputs import q, reference_statements  # noqa: E402
from floor_sessions import session_statements  # noqa: E402

TABLES = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
          "audit.rejected_sessions", "audit.reconciliation"]


def sql_script(raw: Path, report_time: str) -> list[str]:
    return reference_statements(raw) + session_statements(raw, report_time)


def build(raw: Path, db: Path, report_time: str, memory_limit: str | None,
          keep_work: bool = False) -> None:
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(db), config={"memory_limit": memory_limit} if memory_limit
                         else {})
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    con.execute("set checkpoint_threshold = '4GB'")
    for statement in sql_script(raw.resolve(), report_time):
        con.execute(statement)
    if not keep_work:
        con.execute("drop table work.sessions")
    con.close()


def compare(ours: Path, theirs: Path) -> bool:
    """The four tables equal row for row, every column but _built_at."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    con.execute(f"attach {q(str(ours))} as floor (read_only)")
    con.execute(f"attach {q(str(theirs))} as runner (read_only)")
    same = True
    for table in TABLES:
        schema, name = table.split(".")
        columns = [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'runner' "
            "and schema_name = ? and table_name = ? and column_name <> '_built_at' "
            "order by column_index", [schema, name]).fetchall()]
        listed = ", ".join(f'"{c}"' for c in columns)
        counts = []
        for left, right in (("floor", "runner"), ("runner", "floor")):
            counts.append(con.execute(
                f"select count(*) from (select {listed} from {left}.{table} except all "
                f"select {listed} from {right}.{table})").fetchone()[0])
        rows = [con.execute(f"select count(*) from {side}.{table}").fetchone()[0]
                for side in ("floor", "runner")]
        ok = counts == [0, 0] and rows[0] == rows[1]
        same &= ok
        print(f"{table}: floor {rows[0]:,} rows, runner {rows[1]:,}; floor EXCEPT ALL "
              f"runner {counts[0]:,}, runner EXCEPT ALL floor {counts[1]:,} "
              f"{'equal' if ok else 'DIFFERENT'}")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("db", type=Path)
    parser.add_argument("--report-time", default="2026-01-01T00:00:00Z")
    parser.add_argument("--memory-limit")
    parser.add_argument("--compare", type=Path, metavar="RUNNER_DB")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep work.sessions, the one intermediate table")
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.raw_dir, args.db, args.report_time, args.memory_limit, args.keep_work)
    print(f"floor: {args.db} in {time.perf_counter() - started:.1f} s", flush=True)
    if args.compare and not compare(args.db, args.compare):
        sys.exit(1)


if __name__ == "__main__":
    main()
