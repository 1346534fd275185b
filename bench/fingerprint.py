"""Fingerprints of the report and audit tables, to compare two builds of the same
landing zone when two copies of the database do not fit on the disk (at 100 M sessions
each is over 50 GB): take the fingerprint of the incremental build, rebuild with
--full-refresh, take it again and compare.

A table's fingerprint is its row count and two sums over its rows of 64-bit hashes of
every column but _built_at (the build that wrote the row), each summed exactly: equal
multisets of rows give equal fingerprints, and two different ones the same pair of sums
only by a hash collision. It is the same comparison as EXCEPT ALL both ways, up to that.

    python bench/fingerprint.py DB --out incremental.json
    python bench/fingerprint.py DB --out full.json --compare incremental.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TABLES = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
          "audit.rejected_sessions", "audit.reconciliation"]


def fingerprint(db: Path, memory_limit: str | None = None) -> dict[str, dict]:
    import duckdb
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        con.execute("set enable_progress_bar = false")
        cols = "columns(lambda c: c <> '_built_at')"
        for table in TABLES:
            started = time.perf_counter()
            rows, h1, h2 = con.execute(
                f"select count(*), cast(coalesce(sum(cast(hash(*{cols}) as hugeint)), 0) "
                f"as varchar), cast(coalesce(sum(cast(hash(*{cols}, 'second') as hugeint)), "
                f"0) as varchar) from {table}").fetchone()
            out[table] = {"rows": rows, "hash_sum": h1, "second_hash_sum": h2}
            print(f"{table:34} {rows:>12,} rows  {h1}  "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--out", type=Path, help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", type=Path, help="a fingerprint JSON file to compare with")
    parser.add_argument("--memory-limit", default=None)
    args = parser.parse_args()
    if not args.db.exists():
        print(f"error: {args.db} does not exist", file=sys.stderr)
        return 2
    prints = fingerprint(args.db, args.memory_limit)
    if args.out:
        args.out.write_text(json.dumps(prints, indent=2) + "\n")
    if args.compare:
        other = json.loads(args.compare.read_text())
        differing = [t for t in TABLES if prints.get(t) != other.get(t)]
        for table in TABLES:
            print(f"{table:34} {'differs' if table in differing else 'equal'}")
        return 1 if differing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
