"""The charging project's full build on DuckDB against the same models on local Spark.

    python bench/spark_vs_duckdb.py [--sessions 1000000] [--repeat 1] [--master local[2]]

The landing zone is bench/full_build.py's (`cpo.sample.generate(out, n, seed=42)` into
bench/out/full/raw-<n>/, generated once). Then, alternately, `repeat` times each, from
nothing: `runner build` into a new DuckDB file, and `runner build --target bench_spark`
(a profiles.yml written for it: `method: session`, `master`, a new warehouse folder).
Both builds also publish the Parquet serving layer (its seconds are printed, from
each build's own line; Spark's reads its tables through Parquet into DuckDB). Printed: wall time, CPU time and peak resident memory of each, with the Spark
JVM's own: a Spark build's figures are those of the runner and every process it starts,
sampled from /proc every 0.2 s (the runner's own from wait4). Then the ratios Spark /
DuckDB. After the first pair, the four outputs are compared cell for cell: Spark's tables
read back through the runner's export (Parquet), EXCEPT ALL both ways with DuckDB's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO)]

from full_build import landing_zone  # noqa: E402

OUTPUTS = ["charging_sessions_cpo", "roaming_sessions_cpo", "rejected_sessions",
           "reconciliation"]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(root: int) -> dict[int, tuple[float, int]]:
    """The processes of `root`'s session: pid -> (CPU s, resident bytes)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) != root:       # the session id (field 6 of stat)
            continue
        out[int(entry)] = ((int(fields[11]) + int(fields[12])) / TICKS,
                           int(fields[21]) * PAGE)
    return out


def measured(cmd: list[str], log: Path) -> tuple[float, float, float]:
    """Wall s, CPU s and peak resident GB of `cmd` and every process it starts."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        cpu: dict[int, float] = {}
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                tree = _tree(proc.pid)
                for pid, (seconds, _) in tree.items():
                    cpu[pid] = max(cpu.get(pid, 0.0), seconds)
                peak[0] = max(peak[0], sum(rss for _, rss in tree.values()))
                done.wait(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n" + "\n".join(log.read_text().splitlines()[-30:]))
    # the runner's own CPU exactly (wait4), its children's as last sampled
    cpu[proc.pid] = usage.ru_utime + usage.ru_stime
    peak[0] = max(peak[0], usage.ru_maxrss * 1024)
    return wall, sum(cpu.values()), peak[0] / 1024 ** 3


def compare(duck_db: Path, spark_args: list[str], work: Path) -> list[str]:
    """The outputs that differ between the two builds (EXCEPT ALL both ways)."""
    import duckdb
    differ = []
    con = duckdb.connect(str(duck_db), read_only=True)
    for name in OUTPUTS:
        out = work / f"{name}.parquet"
        subprocess.run([sys.executable, "-m", "runner", "export", name, "--out", str(out),
                        *spark_args], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                       check=True, capture_output=True)
        [schema] = con.execute("select table_schema from information_schema.tables where "
                               "table_name = ?", [name]).fetchone()
        types = con.execute("select column_name, data_type from information_schema.columns "
                            "where table_schema = ? and table_name = ? and column_name <> "
                            "'_built_at' order by ordinal_position", [schema, name]).fetchall()
        listed = ", ".join(c for c, _ in types)
        mine = f"select {listed} from {schema}.{name}"
        theirs = f"select {listed} from read_parquet('{out}')"   # an INTERVAL as DuckDB's
        counts = con.execute(f"select (select count(*) from ({mine} except all {theirs})), "
                             f"(select count(*) from ({theirs} except all {mine}))"
                             ).fetchone()
        if counts != (0, 0):
            differ.append(f"{name}: {counts[0]} rows only on DuckDB, {counts[1]} only on Spark")
    con.close()
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--report-time", default="2026-01-01T00:00:00Z")
    args = parser.parse_args()
    raw = landing_zone(args.sessions)
    work = Path(tempfile.mkdtemp(prefix="spark-vs-duckdb-", dir=BENCH / "out"))
    vars = json.dumps({"report_time": args.report_time,
                       "publish_dir": str(work / "published")})
    runs: dict[str, list[tuple[float, float, float]]] = {"duckdb": [], "spark": []}
    for i in range(args.repeat):
        duck_db = work / f"duck-{i}.duckdb"
        runs["duckdb"].append(measured(
            [sys.executable, "-m", "runner", "build", "--raw-dir", str(raw), "--db",
             str(duck_db), "--vars", vars], work / "duckdb.log"))
        profiles = work / f"profiles-{i}"
        profiles.mkdir()
        warehouse = work / f"warehouse-{i}"
        (profiles / "profiles.yml").write_text(json.dumps({"cpo_reports": {
            "target": "bench_spark", "outputs": {"bench_spark": {
                "type": "spark", "method": "session", "master": args.master,
                "warehouse": str(warehouse)}}}}))
        spark_args = ["--target", "bench_spark", "--profiles-dir", str(profiles)]
        runs["spark"].append(measured(
            [sys.executable, "-m", "runner", "build", "--raw-dir", str(raw), "--vars", vars,
             *spark_args], work / "spark.log"))
        for name in ("duckdb", "spark"):
            wall, cpu, peak = runs[name][-1]
            print(f"{args.sessions:,} sessions, run {i + 1}, {name}: {wall:.1f} s wall, "
                  f"{cpu:.1f} s CPU, peak {peak:.2f} GB", flush=True)
        for name in ("duckdb", "spark"):
            published = re.search(r"publish: version \S+ in ([\d.]+)s",
                                  (work / f"{name}.log").read_text())
            if published:
                print(f"  ({name}'s wall time includes its publish: "
                      f"{published.group(1)} s)")
        if i == 0:
            differ = compare(duck_db, spark_args, work)
            print("outputs equal cell for cell" if not differ else "\n".join(differ))
            if differ:
                sys.exit(1)
    med = {name: [statistics.median(r[k] for r in runs[name]) for k in range(3)]
           for name in runs}
    print(f"\n{args.sessions:,} sessions, median of {args.repeat} (alternating), "
          f"Spark {args.master}:")
    print(f"{'':>8} {'wall s':>8} {'CPU s':>8} {'peak GB':>8}")
    for name in runs:
        print(f"{name:>8} {med[name][0]:>8.1f} {med[name][1]:>8.1f} {med[name][2]:>8.2f}")
    ratios = [med["spark"][k] / med["duckdb"][k] for k in range(3)]
    print(f"{'spark/duckdb':>8} {ratios[0]:>5.2f}x {ratios[1]:>7.2f}x {ratios[2]:>7.2f}x")
    print(f"(work folder: {work})")


if __name__ == "__main__":
    main()
