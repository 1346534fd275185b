"""One more day: the hourly build after a full one, this code against an earlier commit.

    python bench/one_more_day.py [--sessions 10000000] [--baseline 97e7105] [--day 1]

The landing zone of bench/full_build.py (`bench/out/full/raw-<n>`, generated once) is
linked into `bench/out/day/raw-<n>` (hard links: no copy). Each code, the baseline commit
(checked out into a temporary folder with `git worktree`) and the working tree, builds it
in full into its own database; then one more day of sessions is added (bench/scale.py's
add_one_day: the last day again, a day later, under new charge IDs, as a new Parquet file),
and each builds again, incrementally: those two builds are timed, alternately, one
process each (wall time, CPU time and peak resident memory, from wait4). Then the floor
(bench/floor.py) builds the landing zone with the extra day from nothing, and each
incremental database's four tables are compared with it (EXCEPT ALL both ways): equal to a
full build by an independent script. Exits 1 if a comparison fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402
from full_build import landing_zone, measured  # noqa: E402

REPORT_TIME = "2026-01-01T00:00:00Z"


def build(code: Path, raw: Path, db: Path, log: Path, memory_limit: str | None
          ) -> tuple[float, float, float]:
    """One `runner build` of `code` (a checkout) in a fresh process: wall s, CPU s, peak GB."""
    limit = ["--memory-limit", memory_limit] if memory_limit else []
    return measured([sys.executable, "-m", "runner", "build", "--project-dir", str(code),
                     "--raw-dir", str(raw), "--db", str(db), "--vars",
                     json.dumps({"report_time": REPORT_TIME,
                                 "publish_dir": str(db.parent / f"published-{db.stem}")}),
                     *limit], code, log, code)[:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000_000)
    parser.add_argument("--baseline", default="97e7105", help="the earlier commit")
    parser.add_argument("--day", type=int, default=1)
    parser.add_argument("--memory-limit")
    args = parser.parse_args()
    from scale import add_one_day

    work = BENCH / "out" / "day"
    raw = work / f"raw-{args.sessions}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(landing_zone(args.sessions), raw, copy_function=os.link)
    checkout = Path(tempfile.mkdtemp(prefix="baseline-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout),
                    args.baseline], check=True, capture_output=True)
    codes = {f"baseline {args.baseline}": checkout, "this code": REPO}
    dbs = {name: work / f"runner-{i}.duckdb" for i, name in enumerate(codes)}
    try:
        for name, code in codes.items():
            wall, cpu, peak = build(code, raw, dbs[name], work / "full.log", args.memory_limit)
            print(f"{name}: full build {wall:.1f} s wall, {cpu:.1f} s CPU, peak {peak:.2f} GB",
                  flush=True)
        day = add_one_day(raw, args.day)
        print(f"one more day: {day.name}", flush=True)
        for name, code in codes.items():
            wall, cpu, peak = build(code, raw, dbs[name], work / "day.log", args.memory_limit)
            print(f"{name}: one more day {wall:.1f} s wall, {cpu:.1f} s CPU, "
                  f"peak {peak:.2f} GB", flush=True)
        floor_db = work / "floor.duckdb"
        floor.build(raw, floor_db, REPORT_TIME, args.memory_limit)
        equal = True
        for name in codes:
            print(f"{name}, incremental, against the floor's full build:", flush=True)
            equal = floor.compare(floor_db, dbs[name]) and equal
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                        str(checkout)], capture_output=True)
    if not equal:
        sys.exit("an incremental build differs from the floor's full build")


if __name__ == "__main__":
    main()
