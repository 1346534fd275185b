"""Where one full `runner build` spends its CPU: start, compile, each node, the publish.

    python bench/build_cpu.py --raw-dir bench/out/full/raw-1000000 [--db F] [--top 25]

Runs `runner build` in this process, from a deleted database file (`--db`, default
bench/out/build_cpu.duckdb), and reads the CPU time of the process (user + system,
DuckDB's threads included, from getrusage) at each point it can see without changing
the runner: after Python's start and the runner's imports, around each seed, model and
data test (the executor's `run_seed`, `run_model`, `run_test`), and at each result
(`on_result`). Before the first node: loading, compiling, checking, the raw files'
checks and the unit tests of no model; between nodes: the other unit tests and the
runner's bookkeeping; after the last result: on-run-end, the publish and the artifacts.
Prints the parts and the costliest nodes. One run: compare parts of the same run, or run it twice.
"""

from __future__ import annotations

import resource


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import_started = cpu()
from runner.api import execute  # noqa: E402
from runner.execute.duckdb.materialize import Executor  # noqa: E402

imported = cpu()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", type=Path, required=True)
    parser.add_argument("--db", type=Path, default=REPO / "bench" / "out" / "build_cpu.duckdb")
    parser.add_argument("--report-time", default="2026-01-01T00:00:00Z")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", ".wal"):
        Path(str(args.db) + suffix).unlink(missing_ok=True)

    # each seed, model and data test timed around the executor's own call; the rest
    # (unit tests, bookkeeping between nodes) from the results' times
    spans: list[tuple[float, float, str, str]] = []     # (CPU at start, at end, name, kind)
    originals = {m: getattr(Executor, m) for m in ("run_seed", "run_model", "run_test")}

    def timed(method):
        def run(self, item):
            at = cpu()
            outcome = originals[method](self, item)
            spans.append((at, cpu(), outcome.name, outcome.kind))
            return outcome
        return run

    for method in originals:
        setattr(Executor, method, timed(method))
    results: list[float] = []
    started, wall = cpu(), time.perf_counter()
    try:
        result = execute("build", REPO, raw_dir=args.raw_dir, db_path=args.db,
                         vars={"report_time": args.report_time},
                         on_result=lambda *_: results.append(cpu()))
    finally:
        for method, original in originals.items():
            setattr(Executor, method, original)
    ended, wall = cpu(), time.perf_counter() - wall
    bad = [f"{n.name}: {n.status}" for n in result.nodes
           if n.status not in ("pass", "success", "warn")]
    if bad or not spans:
        sys.exit("the build did not pass:\n" + "\n".join(bad))

    by_kind: dict[str, list[float]] = {}
    for at, to, _, kind in spans:
        by_kind.setdefault(kind, []).append(to - at)
    in_nodes = sum(to - at for at, to, _, _ in spans)
    first, last = spans[0][0], max(results[-1], spans[-1][1])
    rows = [("Python start, before the runner is imported", import_started),
            ("importing runner.api", imported - import_started),
            ("load, compile, check, unit tests before the first node", first - started)]
    rows += [(f"{len(v)} {k}s (the executor's call)", sum(v))
             for k, v in sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))]
    rows += [("between nodes: unit tests, bookkeeping", last - first - in_nodes),
             ("after the last result: on-run-end, the publish, artifacts", ended - last)]
    print(f"{'part':<60} {'CPU s':>7}")
    for label, seconds in rows:
        print(f"{label:<60} {seconds:7.2f}")
    print(f"{'total (the process)':<60} {cpu():7.2f}   ({wall:.1f} s wall in execute)")
    print(f"\nthe {args.top} costliest nodes:")
    for at, to, name, kind in sorted(spans, key=lambda s: s[0] - s[1])[:args.top]:
        print(f"  {to - at:7.2f}  {kind:<6} {name}")

if __name__ == "__main__":
    main()
