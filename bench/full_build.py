"""Full build against the floor: `runner build` from an empty file, and bench/floor.py.

    python bench/full_build.py [--sizes 1000000 10000000] [--repeat 2]
                               [--memory-limit 16GB] [--report-time ...]
                               [--baseline COMMIT] [--runner-args "..."]

For each size, a landing zone is generated once (`cpo.sample.generate(out, n, seed=42)`,
into bench/out/full/raw-<n>/). Then, alternately, `repeat` times each: the floor
(bench/floor.py, a fresh process writing a new file) and the full `runner build` (a fresh
process, every model and data test, and its publish, from a deleted database file). Each
run's wall time, CPU time (user + system of that process alone) and peak resident memory
(of that process, from wait4) are printed, then the medians and the ratios runner / floor.
From the runner's target/run_results.json: the seconds in models, in data tests and the
rest (checking raw files, compiling, publishing). After each build, its publish runs
again alone (`runner publish` into an empty folder, a fresh process): its CPU is what the
build spends on the Parquet files readers read, which the floor does not write, and the
runner's CPU less it is printed against the floor's too. And the same publication is
written from the runner's database by DuckDB alone (bench/publish_floor.py's COPY
statements, in this process): the runner's CPU is printed against the floor's build plus
that, the same outputs on both sides. After the first pair, the four tables
are compared (floor.py --compare: EXCEPT ALL both ways, `_built_at` aside); the script
exits 1 if they differ. `--baseline COMMIT`: that commit's project and runner too (`git
archive` into a temporary folder), built and published the same way in each round, after
this code's: before and after in one run, under the same load ("before" rows).
`--runner-args`: more options for every `runner build` of the run, e.g.
`--runner-args "--exclude-resource-type unit_test"` (a production build, as dbt advises:
the unit tests run on their fixtures in CI, not in the build that refreshes the tables).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import floor  # noqa: E402


def measured(cmd: list[str], cwd: Path, log: Path, code: Path = REPO
             ) -> tuple[float, float, float, str]:
    """Wall s, CPU s and peak resident GB of one process running `code`'s packages, and its
    output (also in log)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(":")
    started = time.perf_counter()
    out = open(log, "w+")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    out.seek(0)
    text = out.read()
    out.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n" + "\n".join(text.splitlines()[-30:]))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024 ** 2, text


def landing_zone(n: int) -> Path:
    raw = BENCH / "out" / "full" / f"raw-{n}"
    if not (raw / "charging_sessions").is_dir():
        from cpo.sample import generate
        print(f"generating {n:,} sessions into {raw} ...", flush=True)
        generate(raw, n, seed=42)
    return raw


def runner_build(project: Path, raw: Path, db: Path, work: Path, report_time: str,
                 limit: list[str], publish_dir: Path, alone_dir: Path,
                 extra: list[str] | tuple = ()
                 ) -> tuple[tuple[float, float, float], tuple[float, float, float], str]:
    """`project`'s runner build from a deleted database file, then its publish alone into
    an empty folder: (wall, CPU, peak) of each, and the build's output."""
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(publish_dir, ignore_errors=True)
    *run, text = measured(
        [sys.executable, "-m", "runner", "build", "--project-dir", str(project),
         "--raw-dir", str(raw), "--db", str(db),
         "--vars", json.dumps({"report_time": report_time}), *limit, *extra],
        project, work / "runner.log", project)
    # the build's publish again, alone, into an empty folder: its CPU, which the
    # floor (no Parquet) does not spend
    shutil.rmtree(alone_dir, ignore_errors=True)
    alone = measured(
        [sys.executable, "-m", "runner", "publish", "--project-dir", str(project),
         "--db", str(db), "--vars", json.dumps(
             {"report_time": report_time, "publish_dir": str(alone_dir)}), *limit],
        project, work / "publish.log", project)[:3]
    return tuple(run), alone, text


def floor_publish(db: Path, folder: Path, memory_limit: str | None
                  ) -> tuple[float, float, float]:
    """The build's publication written by DuckDB alone (bench/publish_floor.py's
    COPY statements, one per table) from `db`: (wall, CPU, 0.0), in this process."""
    from publish_floor import Publisher, clocked
    shutil.rmtree(folder, ignore_errors=True)
    publisher = Publisher(db, memory_limit)
    try:
        wall, cpu, _ = clocked(lambda: publisher.floor(folder))
    finally:
        publisher.con.close()
    return wall, cpu, 0.0


def node_seconds(project: Path) -> dict[str, float]:
    data = json.loads((project / "target" / "run_results.json").read_text())
    by_kind: dict[str, float] = {}
    for node in data["results"]:        # dbt's run_results.json
        key = "tests" if node["unique_id"].startswith("test.") else "models and seeds"
        by_kind[key] = by_kind.get(key, 0.0) + node["execution_time"]
    by_kind["rest"] = data["elapsed_time"] - sum(by_kind.values())
    return by_kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--report-time", default="2026-01-01T00:00:00Z")
    parser.add_argument("--baseline", help="an earlier commit, built in each round too")
    parser.add_argument("--runner-args", default="",
                        help="more options for every runner build, in one string")
    args = parser.parse_args()
    base = None
    if args.baseline:
        base = Path(tempfile.mkdtemp(prefix="full-build-baseline-"))
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    work = BENCH / "out" / "full"
    work.mkdir(parents=True, exist_ok=True)
    limit = ["--memory-limit", args.memory_limit] if args.memory_limit else []
    extra = shlex.split(args.runner_args)
    for n in args.sizes:
        raw = landing_zone(n)
        floor_db, runner_db = work / f"floor-{n}.duckdb", work / f"runner-{n}.duckdb"
        runs: dict[str, list[tuple[float, float, float]]] = {
            "floor": [], "runner": [], "publish alone": [], "floor publish": []}
        if base:
            runs.update({"before": [], "before publish": []})
        parts: list[dict[str, float]] = []
        for i in range(args.repeat):
            runs["floor"].append(measured(
                [sys.executable, str(BENCH / "floor.py"), str(raw), str(floor_db),
                 "--report-time", args.report_time, *limit], work, work / "floor.log")[:3])
            run, alone, text = runner_build(REPO, raw, runner_db, work, args.report_time,
                                            limit, work / "published",
                                            work / "published-alone", extra)
            runs["runner"].append(run)
            runs["publish alone"].append(alone)
            runs["floor publish"].append(floor_publish(runner_db, work / "published-floor",
                                                       args.memory_limit))
            parts.append(node_seconds(REPO))
            published = re.search(r"publish: version \S+ in ([\d.]+)s", text)
            parts[-1]["of which publish"] = float(published.group(1)) if published else 0.0
            if base:
                # its own folder: a build publishes beside its database
                before_db = work / "before" / f"runner-{n}.duckdb"
                before_db.parent.mkdir(exist_ok=True)
                run, alone, _ = runner_build(base, raw, before_db, work, args.report_time,
                                             limit, before_db.parent / "published",
                                             before_db.parent / "published-alone", extra)
                runs["before"].append(run)
                runs["before publish"].append(alone)
            for name in ("floor", "runner") + (("before",) if base else ()):
                wall, cpu, peak = runs[name][-1]
                print(f"{n:,} sessions, run {i + 1}, {name}: {wall:.1f} s wall, "
                      f"{cpu:.1f} s CPU, peak {peak:.2f} GB", flush=True)
            if i == 0 and not floor.compare(floor_db, runner_db):
                sys.exit(f"{n:,} sessions: the floor's tables differ from the runner's")
        med = {name: [statistics.median(r[k] for r in runs[name]) for k in range(3)]
               for name in runs}
        print(f"\n{n:,} sessions, median of {args.repeat} (alternating):")
        print(f"{'':>15} {'wall s':>8} {'CPU s':>8} {'peak GB':>8}")
        for name in runs:
            print(f"{name:>15} {med[name][0]:>8.1f} {med[name][1]:>8.1f} "
                  f"{med[name][2]:>8.2f}")
        for name, alone in (("runner", "publish alone"), ("before", "before publish")):
            if name not in runs:
                continue
            ratios = [med[name][k] / med["floor"][k] for k in range(3)]
            print(f"{name + ' / floor':>15} {ratios[0]:>7.2f}x {ratios[1]:>7.2f}x "
                  f"{ratios[2]:>7.2f}x")
            unpublished = med[name][1] - med[alone][1]
            print(f"{name} CPU less its publish measured alone: {unpublished:.1f} s, "
                  f"{unpublished / med['floor'][1]:.2f}x the floor's")
            both = med["floor"][1] + med["floor publish"][1]
            print(f"{name} CPU against the floor's build and the same publication written "
                  f"by DuckDB alone ({both:.1f} s): {med[name][1] / both:.2f}x")
        split = {k: statistics.median(p.get(k, 0.0) for p in parts) for k in parts[0]}
        print("runner build, wall s by part: " + ", ".join(f"{k} {v:.1f}"
                                                           for k, v in split.items()))
        print(flush=True)
    if base:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
