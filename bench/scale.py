"""Scale: the full report build at growing sizes, the runner against the same compiled
SQL run directly through DuckDB, an incremental rebuild after one more day of sessions,
and the partitioned Parquet export. Prints figures; asserts nothing about time.

Runner vs raw DuckDB: --repeat pairs of runs, alternating (runner, raw, runner, raw, ...),
each process into an empty database with the seeds loaded first (untimed). Per run: the
process's wall and CPU (user + system) time and its execution time (the runner's node
times from target/runner_results.json; the raw script's time executing the models'
statements); then the medians of each side, the ratio of the medians and of the minima,
and the time outside execution (start-up, compile, sources).

    python bench/scale.py --sizes 1000000 10000000 --memory-limit 16GB --repeat 5
    python bench/scale.py --sizes 100000000 --memory-limit 16GB --skip-run --one-database

Landing zones and databases go to bench/out/scale/ (git-ignored); a landing zone is
generated once per size and reused.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT_TIME = "2026-01-01T00:00:00Z"

sys.path.insert(0, str(ROOT / "bench"))
import vs_dbt  # noqa: E402    its checked(): wall time, CPU time and output of one child

vs_dbt.TIMEOUT = None       # no time limit on a build, as in run_child


def run_child(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GiB) of one child process."""
    started = time.perf_counter()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"scale-{os.getpid()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{log.read_text()[-3000:]}")
    return seconds, usage.ru_maxrss / 1024 / 1024


def runner_cmd(command: str, raw: Path, db: Path, memory_limit: str | None,
               extra: list[str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "runner", command, "--project-dir", str(ROOT),
           "--db", str(db), "--vars", f"{{report_time: '{REPORT_TIME}'}}"]
    if command != "seed":
        cmd += ["--raw-dir", str(raw)]
    if memory_limit and command != "seed":
        cmd += ["--memory-limit", memory_limit]
    return cmd + (extra or [])


# The same models in the same order, into a database the seeds were loaded into (as the
# runner's). Prints its time from after the imports (as the runner's runner_results.json
# "seconds") and its time executing the models' statements (as the runner's node times).
RAW_DUCKDB = r"""
import json, sys, time
from pathlib import Path
import duckdb
from runner.api import Session
from runner.jinja.compile import compile_models
from runner.execute.sources import prepare_sources
from runner.jinja.relation import quote_ident, relation_name

started = time.perf_counter()
root, raw, db, report_time, memory_limit = sys.argv[1:6]
session = Session(root, {"report_time": report_time})
project = session.project
names = [n for n in session.select(None, None) if n in project.models
         and project.models[n].materialized != "ephemeral"]
compiled = compile_models(project, session.renderer, names, None)
con = duckdb.connect(db)
con.execute("set TimeZone = 'UTC'")
con.execute("set enable_progress_bar = false")
if memory_limit != "-":
    con.execute(f"set memory_limit = '{memory_limit}'")
# the settings the runner gives a build (runner/execute/duckdb/run.py), so that only the runner differs
con.execute("set checkpoint_threshold = '4GB'")
con.execute("set max_vacuum_tasks = 0")
used = sorted({k for n in names for k in project.models[n].sources})
prepare_sources(con, Path(raw), [project.sources[k] for k in used])
executing = time.perf_counter()
for name in names:
    node = project.models[name]
    kind = "view" if node.materialized == "view" else "table"
    con.execute(f"create schema if not exists {quote_ident(node.schema)}")
    for hook in compiled[name].pre_hooks:
        con.execute(hook)
    con.execute(f"create or replace {kind} {relation_name(node.schema, node.alias)} as "
                f"{compiled[name].sql}")
    for hook in compiled[name].post_hooks:
        con.execute(hook)
executed = time.perf_counter() - executing
con.close()
print(json.dumps({"seconds": time.perf_counter() - started, "exec_seconds": executed}))
"""


def timed_run(what: str, cmd: list[str]) -> dict:
    """Wall and CPU seconds of one child process, and its output."""
    wall = vs_dbt.checked(what, cmd, ROOT)
    return {"wall": wall, "cpu": vs_dbt.checked.last_cpu, "output": vs_dbt.checked.last_output}


def runner_run(raw: Path, db: Path, memory_limit: str | None) -> dict:
    """`runner run`; from its target/runner_results.json, the command's own time ("seconds",
    from after the imports) and the sum of its nodes' times ("exec")."""
    out = timed_run("runner run", runner_cmd("run", raw, db, memory_limit))
    out["seconds"] = out["exec"] = math.nan
    try:
        results = json.loads((ROOT / "target" / "runner_results.json").read_text())
    except (OSError, ValueError):
        results = {}
    # someone else's command in this project may have written the file since
    if results.get("command") == "run" and results.get("db_path") == str(db.resolve()):
        out["seconds"] = results["seconds"]
        out["exec"] = sum(node["seconds"] for node in results["results"])
    else:
        print("  (target/runner_results.json is not this run's: no node times)", flush=True)
    return out


def raw_run(raw: Path, db: Path, memory_limit: str | None) -> dict:
    out = timed_run("raw DuckDB", [sys.executable, "-c", RAW_DUCKDB, str(ROOT), str(raw),
                                   str(db), REPORT_TIME, memory_limit or "-"])
    printed = json.loads(out["output"].strip().splitlines()[-1])
    out["seconds"], out["exec"] = printed["seconds"], printed["exec_seconds"]
    return out


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs) if runs else math.nan


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def runner_vs_raw(work: Path, raw: Path, repeat: int, with_raw: bool,
                  memory_limit: str | None, fresh) -> dict:
    """Step 1: `repeat` runner runs, alternating with as many raw DuckDB runs, each into
    an empty database with the seeds loaded (untimed); prints every run and the medians."""
    db, raw_db = work / "runner.duckdb", work / "raw_duckdb.duckdb"
    ours: list[dict] = []
    theirs: list[dict] = []
    print(f"{'':>11}  runner run vs raw DuckDB, {repeat} run(s) each, alternating "
          "(wall s / CPU s / execution s; execution = the runner's node times, the raw "
          "script's statements)", flush=True)
    for i in range(repeat):
        fresh(db)
        ours.append(runner_run(raw, db, memory_limit))
        fresh(db, seed=False)       # disk: one database at a time
        line = (f"{'':>11}  run {i + 1}: runner {ours[-1]['wall']:8.2f} "
                f"{ours[-1]['cpu']:8.2f} {ours[-1]['exec']:8.2f}")
        if with_raw:
            fresh(raw_db)
            theirs.append(raw_run(raw, raw_db, memory_limit))
            fresh(raw_db, seed=False)
            line += (f" | raw {theirs[-1]['wall']:8.2f} {theirs[-1]['cpu']:8.2f} "
                     f"{theirs[-1]['exec']:8.2f}")
        print(line, flush=True)
    out = {key: median(ours, key) for key in ("wall", "cpu", "exec", "seconds")}
    raw_m = {key: median(theirs, key) for key in ("wall", "cpu", "exec", "seconds")}
    out["raw"] = raw_m["wall"]
    out["wall_ratio"] = ratio(out["wall"], raw_m["wall"])
    out["exec_ratio"] = ratio(out["exec"], raw_m["exec"])
    min_ratio = ratio(min(r["wall"] for r in ours),
                      min(r["wall"] for r in theirs)) if theirs else math.nan
    print(f"{'':>11}  median: runner {out['wall']:.2f} s, raw {raw_m['wall']:.2f} s; "
          f"runner/raw wall {out['wall_ratio']:.3f} (of the minima {min_ratio:.3f}), "
          f"CPU {ratio(out['cpu'], raw_m['cpu']):.3f}, execution {out['exec_ratio']:.3f} "
          f"({out['exec']:.2f} s / {raw_m['exec']:.2f} s)", flush=True)
    print(f"{'':>11}  outside execution (median): runner "
          f"{out['wall'] - out['exec']:.2f} s (start-up {out['wall'] - out['seconds']:.2f} s, "
          f"compile and sources {out['seconds'] - out['exec']:.2f} s), raw "
          f"{raw_m['wall'] - raw_m['exec']:.2f} s (start-up "
          f"{raw_m['wall'] - raw_m['seconds']:.2f} s, compile and sources "
          f"{raw_m['seconds'] - raw_m['exec']:.2f} s)", flush=True)
    return out


def add_one_day(raw: Path, day: int = 1) -> Path:
    """A drop of one more day of sessions: the last day's sessions again, `day` days
    later, under new charge IDs (prefixed X for day 1, Y for day 2, ...), as a new
    Parquet file (about 0.1 % more sessions). Days after the first let a benchmark add
    day after day to one database."""
    import duckdb
    folder = raw / "charging_sessions"
    out = folder / ("sessions_extra_day.parquet" if day == 1
                    else f"sessions_extra_day{day}.parquet")
    prefix = chr(ord("X") + day - 1)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        files = f"read_parquet('{folder}/sessions_[0-9]*.parquet')"  # the generated months
        # the last day first, on one column: a CTE read twice would be materialised,
        # which at 100 M sessions spills every row to disk
        [(last_day,)] = con.execute(f"select max(start_time)::date from {files}").fetchall()
        con.execute(f"""
            copy (
                select * replace (
                    '{prefix}' || charge_id as charge_id,
                    created_at + to_days({day}) as created_at,
                    start_time + to_days({day}) as start_time,
                    stop_time + to_days({day}) as stop_time,
                    updated_at + to_days({day}) as updated_at,
                    case when counter_charge_of is not null
                         then '{prefix}' || counter_charge_of end as counter_charge_of)
                from {files}
                where start_time::date = ?
            ) to '{out}' (format parquet)""", [last_day])
    return out


def extra_rows(path: Path, _db: Path) -> str:
    import duckdb
    query = f"select count(*) from read_parquet('{path}')"
    return f"{duckdb.sql(query).fetchall()[0][0]:,} rows"


COMPARED = ("reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
            "audit.rejected_sessions", "audit.reconciliation")
COLUMNS = "columns(lambda c: c <> '_built_at')"     # every column but when the row was written


def compare(db: Path, other: str, memory_limit: str | None = None) -> str:
    """EXCEPT ALL both ways, for every report and audit table, against another database
    file, or against a folder of Parquet files written by save_tables (at 100 M sessions
    the disk holds one database, not two)."""
    import duckdb
    out = []
    with duckdb.connect(str(db), read_only=True) as con:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        if Path(other).is_dir():
            def theirs(table: str) -> str:
                return f"read_parquet('{Path(other) / table}.parquet')"
        else:
            con.execute(f"attach '{other}' as other (read_only)")

            def theirs(table: str) -> str:
                return f"other.{table}"
        for table in COMPARED:
            a = con.execute(f"select count(*) from (select {COLUMNS} from {table} except all "
                            f"select {COLUMNS} from {theirs(table)})").fetchall()[0][0]
            b = con.execute(f"select count(*) from (select {COLUMNS} from {theirs(table)} "
                            f"except all select {COLUMNS} from {table})").fetchall()[0][0]
            out.append(f"{table.split('.')[1]} {a}/{b}")
    return ", ".join(out)


def save_tables(db: Path, folder: Path) -> None:
    """The compared tables as Parquet files, to compare after the database is replaced."""
    import duckdb
    folder.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(db), read_only=True) as con:
        for table in COMPARED:
            con.execute(f"copy (select {COLUMNS} from {table}) to '{folder / table}.parquet' "
                        "(format parquet, compression zstd)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--memory-limit", default=None, help="e.g. 16GB")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "out" / "scale")
    parser.add_argument("--skip-raw", action="store_true", help="skip the raw DuckDB run")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runner runs (and as many raw DuckDB runs, alternating) per "
                             "size; medians reported (default 3)")
    parser.add_argument("--only-run", action="store_true",
                        help="step 1 only (runner run against raw DuckDB)")
    parser.add_argument("--skip-run", action="store_true",
                        help="skip `runner run` and the raw DuckDB run (benchmark 2)")
    parser.add_argument("--one-database", action="store_true",
                        help="keep one database on disk: save the incremental build's tables "
                             "as Parquet, then full-refresh into the same file and compare")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    from cpo.sample import generate

    rows = []
    for n in args.sizes:
        work = args.work_dir / str(n)
        raw = work / "raw"
        marker = work / ".generated"
        if not marker.exists():
            shutil.rmtree(work, ignore_errors=True)
            started = time.perf_counter()
            generate(raw, n, seed=42)
            marker.write_text("ok\n")
            print(f"{n:>11,} sessions generated in {time.perf_counter() - started:8.1f} s",
                  flush=True)
        db = work / "runner.duckdb"

        def fresh(path: Path, seed: bool = True) -> None:
            for leftover in work.glob(path.name + "*"):
                leftover.unlink()
            if seed:
                run_child(runner_cmd("seed", raw, path, None))      # seeds are not timed

        step1 = {"wall": math.nan, "raw": math.nan, "wall_ratio": math.nan,
                 "exec_ratio": math.nan}
        if not args.skip_run:
            step1 = runner_vs_raw(work, raw, args.repeat, not args.skip_raw,
                                  args.memory_limit, fresh)
        run_s, raw_s = step1["wall"], step1["raw"]
        if args.only_run:
            continue
        for leftover in work.glob("runner.duckdb*"):
            leftover.unlink()
        build_s, build_mem = run_child(runner_cmd("build", raw, db, args.memory_limit))
        export_s = 0.0
        for table in ("charging_sessions_cpo", "roaming_sessions_cpo"):
            shutil.rmtree(work / f"export_{table}", ignore_errors=True)
            export_s += run_child([sys.executable, "-m", "runner", "export", table,
                                   "--project-dir", str(ROOT), "--db", str(db), "--out",
                                   str(work / f"export_{table}"), "--partition-by",
                                   "month"] + (["--memory-limit", args.memory_limit]
                                               if args.memory_limit else []))[0]
        extra = add_one_day(raw)
        try:
            extra_count = extra_rows(extra, db)
            incr_s, _ = run_child(runner_cmd("build", raw, db, args.memory_limit))
            if args.one_database:
                saved = work / "incremental_tables"
                shutil.rmtree(saved, ignore_errors=True)
                save_tables(db, saved)
                for leftover in work.glob("runner.duckdb*"):
                    leftover.unlink()
                full_db, other = db, str(saved)
            else:
                full_db = work / "full.duckdb"
                for leftover in work.glob("full.duckdb*"):
                    leftover.unlink()
                other = str(full_db)
            full_s, _ = run_child(runner_cmd("build", raw, full_db, args.memory_limit,
                                             ["--full-refresh"]))
            differ = compare(full_db if args.one_database else db,
                             other, args.memory_limit)
        finally:
            extra.unlink()          # the landing zone stays as generated
        rows.append((n, run_s, step1["wall_ratio"], step1["exec_ratio"], build_s))
        print(f"{n:>11,} sessions: runner run {run_s:8.1f} s, raw DuckDB {raw_s:8.1f} s "
              f"(medians; runner/raw {step1['wall_ratio']:5.3f}, execution "
              f"{step1['exec_ratio']:5.3f}); full build with tests {build_s:8.1f} s, "
              f"peak memory {build_mem:5.1f} GiB; both report views exported by month "
              f"{export_s:6.1f} s", flush=True)
        print(f"{'':>11}  one more day ({extra_count}): incremental build "
              f"{incr_s:8.1f} s vs full refresh {full_s:8.1f} s "
              f"({incr_s / full_s:6.1%}); rows differing from the full refresh: {differ}",
              flush=True)

    print("\nsessions     build s  per M sessions     run s   runner/raw  execution")
    base = None
    for n, run_s, wall_ratio, exec_ratio, build_s in rows:
        per_m = build_s / (n / 1e6)
        base = base or per_m
        print(f"{n:>11,} {build_s:8.1f} {per_m:10.2f} s ({per_m / base:4.2f}x) "
              f"{run_s:8.1f} {wall_ratio:8.3f} {exec_ratio:10.3f}")

if __name__ == "__main__":
    main()
