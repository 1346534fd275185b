"""Would running independent nodes in parallel help on DuckDB? `--threads N` in dbt runs N
nodes at once; this measures what that would buy here before the runner does it.

Builds `--models` independent table models (each `create table ... as` an aggregate over
`--rows` generated rows, the shape of the report models' heavier steps) into one database
file three ways, `--repeat` times each, interleaved, and prints the median wall time:
  sequential         one connection, one model after another, DuckDB's threads = cores
  parallel           --workers Python threads, one cursor (connection) each, DuckDB's
                     threads = cores
  parallel-split     the same, DuckDB's threads = cores / workers
Usage: python3 bench/threads.py [--models 8] [--rows 4000000] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent / "out" / "threads"


def model_sql(i: int, rows: int) -> str:
    return (f"create or replace table m{i} as select (range * {i + 7}) % 1000 as k, "
            f"count(*) as n, sum(range % 97) as s, max(md5(cast(range as varchar))) as h "
            f"from range({rows}) group by 1")


def run(way: str, models: int, rows: int, workers: int) -> float:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    cores = os.cpu_count() or 1
    threads = max(1, cores // workers) if way == "parallel-split" else cores
    con = duckdb.connect(str(OUT / "t.duckdb"), config={"threads": threads})
    started = time.perf_counter()
    if way == "sequential":
        for i in range(models):
            con.execute(model_sql(i, rows))
    else:
        def one(i: int) -> None:
            cursor = con.cursor()
            cursor.execute(model_sql(i, rows))
            cursor.close()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, range(models)))
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ways = ["sequential", "parallel", "parallel-split"]
    times: dict[str, list[float]] = {w: [] for w in ways}
    for _ in range(args.repeat):
        for way in ways:
            times[way].append(run(way, args.models, args.rows, args.workers))
    print(f"{args.models} independent table models of {args.rows:,} rows each, "
          f"{os.cpu_count()} cores, {args.workers} workers, median of {args.repeat}:")
    base = statistics.median(times["sequential"])
    for way in ways:
        median = statistics.median(times[way])
        print(f"  {way:15} {median:6.2f} s  ({base / median:.2f}x sequential)")


if __name__ == "__main__":
    main()
