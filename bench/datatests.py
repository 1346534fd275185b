"""The CPU each data test takes: `runner test` over every row of a built database.

    python bench/datatests.py --db bench/out/full/runner-1000000.duckdb \
        --raw-dir bench/out/full/raw-1000000 [--repeat 3] [--report-time ...] [--top 15]

Runs `runner test` in this process `repeat` times with `--vars '{test_all_rows: true,
report_time: ...}'` (every row, as after a full build) and reads the CPU time (user +
system of the process, DuckDB's threads included, from getrusage) and the wall time
around each test's own execution (`Executor.run_test`). Prints the median per test, the
costliest first, then the number of data tests and their total CPU and wall time per run.
The database is only read by the tests; run it on a copy if another build may write it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner.api import execute  # noqa: E402
from runner.execute.duckdb.materialize import Executor  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(db: Path, raw: Path, report_time: str) -> dict[str, tuple[float, float]]:
    """{test: (CPU s, wall s)} of one `runner test` run; exits if a test does not pass."""
    seen: dict[str, tuple[float, float]] = {}
    original = Executor.run_test

    def timed(self, item):
        cpu0, wall0 = cpu(), time.perf_counter()
        result = original(self, item)
        seen[item.name] = (cpu() - cpu0, time.perf_counter() - wall0)
        return result

    Executor.run_test = timed
    try:
        result = execute("test", REPO, db_path=db, raw_dir=raw,
                         vars={"test_all_rows": True, "report_time": report_time})
    finally:
        Executor.run_test = original
    bad = [f"{n.name}: {n.status} {n.message}" for n in result.nodes
           if n.status not in ("pass", "warn")]
    if bad:
        sys.exit("data tests did not pass:\n" + "\n".join(bad))
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report-time", default="2026-01-01T00:00:00Z")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    runs = [measure(args.db, args.raw_dir, args.report_time) for _ in range(args.repeat)]
    names = sorted(runs[0])
    median = {n: (statistics.median(r[n][0] for r in runs),
                  statistics.median(r[n][1] for r in runs)) for n in names}
    print(f"{'data test':<72} {'CPU s':>7} {'wall s':>7}")
    for name in sorted(names, key=lambda n: -median[n][0])[:args.top]:
        print(f"{name[:72]:<72} {median[name][0]:7.3f} {median[name][1]:7.3f}")
    totals = [(sum(c for c, _ in r.values()), sum(w for _, w in r.values())) for r in runs]
    print(f"\n{len(names)} data tests; per run, CPU s: "
          + ", ".join(f"{c:.2f}" for c, _ in totals)
          + "; wall s: " + ", ".join(f"{w:.2f}" for _, w in totals)
          + f" (median CPU {statistics.median(c for c, _ in totals):.2f})")


if __name__ == "__main__":
    main()
