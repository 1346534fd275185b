"""Publishing: how long a build's publish takes after a full build and after one more
day of sessions, how many bytes an hourly publish rewrites, and how long a reader's query
of the catalog takes while a build runs. Also what writing the build database in the
storage format DuckDB 1.0 reads would cost. Prints figures; asserts nothing about time.

    python bench/publish.py --sizes 1000000 10000000 --memory-limit 16GB

Per size: a landing zone generated once (bench/out/publish/raw-<n>), a fresh database
and serving folder; `runner build` (full), then `runner publish` into an empty folder (a
full publish on its own), then one more day of sessions (bench/scale.py's add_one_day)
and `runner build` (hourly) while a reader process queries the catalog in a loop (a new
read-only connection per query, as a dashboard's refresh would), then the same reader
while the database is idle.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "publish"
REPORT_TIME = "2026-01-01T00:00:00Z"
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

QUERY = """
    select report_month, count(*), sum(price)
    from reports.charging_sessions_cpo
    where organisation_id = (select min(organisation_id) from reports.roaming_sessions_cpo)
    group by 1 order by 1
"""
READER = f"""
import duckdb, json, sys, time, os
catalog, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(stop):
    started = time.perf_counter()
    try:
        with duckdb.connect(catalog, read_only=True) as con:
            con.execute('''{QUERY}''').fetchall()
        print(json.dumps({{"seconds": time.perf_counter() - started}}), flush=True)
    except Exception as exc:
        print(json.dumps({{"error": str(exc).splitlines()[0]}}), flush=True)
    time.sleep(0.05)
"""


def runner(command: str, db: Path, raw: Path | None, publish_dir: Path,
           memory_limit: str | None) -> tuple[float, str]:
    vars = json.dumps({"report_time": REPORT_TIME, "publish_dir": str(publish_dir)})
    cmd = [sys.executable, "-m", "runner", command, "--project-dir", str(ROOT),
           "--db", str(db), "--vars", vars]
    if raw is not None:
        cmd += ["--raw-dir", str(raw)]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def publish_line(out: str) -> dict:
    m = re.search(r"publish: version \S+ in ([\d.]+)s, (\d+) partitions? rewritten "
                  r"\(([\d,]+) bytes\)", out)
    return {"seconds": float(m.group(1)), "partitions": int(m.group(2)),
            "bytes": int(m.group(3).replace(",", ""))}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.parquet"))


def with_reader(catalog: Path, work: Path, action) -> tuple[object, list[float], int]:
    stop = work / "stop-reader"
    stop.unlink(missing_ok=True)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(catalog), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        result = action()
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=600)
    # lines of the reader's own (JSON) only: DuckDB may print a progress bar on a slow query
    reads = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return result, [r["seconds"] for r in reads if "seconds" in r], \
        sum("error" in r for r in reads)


def latency(label: str, seconds: list[float], errors: int) -> str:
    if not seconds:
        return f"{label}: no reads, {errors} refused"
    q = statistics.quantiles(seconds, n=20) if len(seconds) > 1 else seconds
    return (f"{label}: {len(seconds)} reads, median {statistics.median(seconds) * 1000:.0f} "
            f"ms, p95 {q[-1] * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms, "
            f"{errors} refused")


def storage_cost(db: Path, work: Path) -> str:
    """The build database copied into a file in DuckDB 2.0's storage format and into
    one in the format 1.0 reads: the time and the size of each."""
    import duckdb
    lines = []
    for label, option in (("default (2.0)", ""), ("v1.0.0", "(storage_version 'v1.0.0')")):
        target = work / f"storage-{label.split()[0]}.duckdb"
        target.unlink(missing_ok=True)
        with duckdb.connect() as con:
            con.execute(f"attach '{db}' as src (read_only)")
            con.execute(f"attach '{target}' as dst {option}")
            started = time.perf_counter()
            con.execute("copy from database src to dst")
            con.execute("detach dst")
            seconds = time.perf_counter() - started
        lines.append(f"    {label:14} copy {seconds:6.1f} s, {target.stat().st_size / 1e6:8.1f} MB")
        target.unlink()
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--memory-limit", default=None)
    parser.add_argument("--skip-storage", action="store_true")
    args = parser.parse_args()
    from cpo.sample import generate
    from scale import add_one_day
    OUT.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        raw = OUT / f"raw-{size}-{args.seed}"
        marker = raw / ".complete"
        if not marker.exists():
            shutil.rmtree(raw, ignore_errors=True)
            started = time.perf_counter()
            generate(raw, size, args.seed)
            marker.write_text("complete\n")
            print(f"{size:,} sessions: generated in {time.perf_counter() - started:.0f} s")
        for extra in raw.glob("charging_sessions/sessions_extra_day*.parquet"):
            extra.unlink()
        work = OUT / f"work-{size}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        db, served, alone = work / "build.duckdb", work / "published", work / "alone"
        catalog = served / db.name           # the catalog is named as the database

        seconds, out = runner("build", db, raw, served, args.memory_limit)
        full = publish_line(out)
        print(f"{size:,} sessions: full build {seconds:.0f} s, of which publish "
              f"{full['seconds']:.1f} s ({full['partitions']} partitions, "
              f"{full['bytes'] / 1e6:.0f} MB of Parquet)")
        seconds, out = runner("publish", db, None, alone, args.memory_limit)
        print(f"{'':>11}  runner publish into an empty folder: {seconds:.1f} s "
              f"(publish {publish_line(out)['seconds']:.1f} s)")

        extra = add_one_day(raw)

        def hourly() -> tuple[float, str]:
            return runner("build", db, raw, served, args.memory_limit)
        (seconds, out), during, refused = with_reader(catalog, work, hourly)
        day = publish_line(out)
        total = folder_bytes(served)
        print(f"{'':>11}  one more day: build {seconds:.1f} s, of which publish "
              f"{day['seconds']:.2f} s; {day['partitions']} partitions rewritten, "
              f"{day['bytes'] / 1e6:.1f} MB ({day['bytes'] / total * 100:.1f} % of the "
              f"{total / 1e6:.0f} MB on disk, the grace period's files included)")
        print(f"{'':>11}  " + latency("reader during that build", during, refused))
        _, idle, refused = with_reader(catalog, work, lambda: time.sleep(5))
        print(f"{'':>11}  " + latency("reader, database idle", idle, refused))
        if not args.skip_storage:
            print(f"{'':>11}  the build database copied into a new file:")
            print(storage_cost(db, work))
        extra.unlink()


if __name__ == "__main__":
    main()
