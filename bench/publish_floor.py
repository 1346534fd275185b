"""A build's publish against the floor: the same Parquet files written by DuckDB alone.
Prints figures; asserts nothing about time.

    python bench/publish_floor.py [--sessions 1000000] [--repeat 3] [--memory-limit 8GB]

A landing zone (bench/out/full/raw-<n>, as bench/full_build.py makes it; generated once
when absent) is copied into bench/out/publish_floor/ and built once with `runner build`.
Then, on that database (read-only, one process, alternately, `repeat` times each):

- full: the runner's publish (runner.publish.serving.publish, as `runner build` calls it
  after a build) into an empty folder, and the floor: per published table one
  `COPY (SELECT ... the partition key, the file_by unit) TO folder (FORMAT parquet,
  COMPRESSION zstd, COMPRESSION_LEVEL 1, PARTITION_BY (key, unit))` into an empty
  folder (one file per partition and unit, as the runner's);
- hourly: one more day of sessions (bench/scale.py's add_one_day), `runner build`
  (incremental), then the runner's publish onto a copy of the full publication (restored
  before each run), and the floor: the same units rewritten (those the runner wrote), one
  `COPY` per table, the weeks' rows found by a `start_time` range (row-group statistics)
  as someone writing it by hand for these tables would.

CPU is the process's (every DuckDB thread) over the call; the publish includes its
comparisons, catalog, state and links, the floor only its COPY statements. The medians
and the ratios runner / floor are printed, and the files, rows and bytes of both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "publish_floor"
REPORT_TIME = "2026-01-01T00:00:00Z"
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))


def clocked(action) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def runner_build(raw: Path, db: Path, served: Path, memory_limit: str | None) -> None:
    cmd = [sys.executable, "-m", "runner", "build", "--project-dir", str(ROOT),
           "--raw-dir", str(raw), "--db", str(db),
           "--vars", json.dumps({"report_time": REPORT_TIME, "publish_dir": str(served)})]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


class Publisher:
    """The runner's publish and the floor's COPY statements, on one read-only connection."""

    def __init__(self, db: Path, memory_limit: str | None):
        from runner.api import Session
        from runner.engines.duckdb import connect
        from runner.publish.serving import table_specs
        self.db = db
        self.session = Session(ROOT, {"report_time": REPORT_TIME})
        self.specs = table_specs(self.session.project, self.session.renderer)
        self.con = connect(db, read_only=True, memory_limit=memory_limit)

    def publish(self, folder: Path):
        from runner.publish.serving import publish
        vars = {"report_time": REPORT_TIME, "publish_dir": str(folder)}
        return publish(self.con, self.session.project, self.session.renderer,
                       db_path=self.db, build_id=REPORT_TIME, report_time=REPORT_TIME,
                       vars=vars, specs=self.specs)

    def floor(self, folder: Path, units: dict[str, set] | None = None) -> None:
        """One COPY per table; `units`: per table, only those (partition, unit) pairs
        (None: every row)."""
        from runner.jinja.relation import quote_ident, relation_name, sql_literal
        from runner.publish.partitions import portable, unit_sql
        from runner.publish.serving import _columns
        folder.mkdir(parents=True)
        con = self.con
        for spec in self.specs:
            if units is not None and spec.relation not in units:
                continue
            columns = _columns(con, spec)
            rel = relation_name(spec.schema, spec.table)
            target = folder / spec.relation
            if spec.partition_by is None:
                target.mkdir()
                con.execute(f"copy (select {portable(columns)} from {rel}) to "
                            f"{sql_literal(str(target / 'data_0.parquet'))} "
                            f"(format parquet, compression zstd, compression_level 1)")
                continue
            key = quote_ident(spec.partition_by)
            select = portable(columns)
            if spec.expression:
                select += f", cast(({spec.expression}) as varchar) as {key}"
            by = key
            if spec.file_by:
                select += f", {unit_sql(spec)} as unit"
                by += ", unit"
            where = ""
            if units is not None:
                mine = units[spec.relation]
                if spec.file_by:            # these tables' unit: the week of start_time
                    weeks = sorted({u for _, u in mine})
                    where = (f" where start_time >= cast({sql_literal(weeks[0])} as "
                             f"timestamp) and start_time < cast({sql_literal(weeks[-1])}"
                             f" as timestamp) + interval 7 day and {unit_sql(spec)} in "
                             f"({', '.join(sql_literal(w) for w in weeks)})")
                else:
                    parts = sorted({p for p, _ in mine if p is not None})
                    test = unit_sql(spec)
                    where = f" where {test} in ({', '.join(map(sql_literal, parts))})" \
                        if parts else f" where {test} is null"
            con.execute(f"copy (select {select} from {rel}{where}) to "
                        f"{sql_literal(str(target))} (format parquet, compression zstd, "
                        f"compression_level 1, partition_by ({by}))")


def written(pub_folder: Path, db: Path) -> dict[str, set]:
    """Per table, the (partition, unit) pairs the current version wrote."""
    from runner.publish.catalog import read_publication
    pub = read_publication(pub_folder / db.name)
    return {t.relation: {(f.partition, f.sub) for f in t.files if f.version == pub.version}
            for t in pub.tables.values()
            if any(f.version == pub.version for f in t.files)}


def parquet_summary(folder: Path) -> tuple[int, int, int]:
    """Files, rows and bytes of the Parquet files below `folder`."""
    import duckdb
    files = sorted(str(p) for p in folder.rglob("*.parquet"))
    if not files:
        return 0, 0, 0
    rows = duckdb.connect().execute("select sum(num_rows) from parquet_file_metadata(?)",
                                    [files]).fetchone()[0]
    return len(files), int(rows), sum(Path(f).stat().st_size for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", default=None)
    args = parser.parse_args()
    from full_build import landing_zone
    from scale import add_one_day
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f"raw-{args.sessions}"
    if not (raw / ".complete").exists():
        shutil.rmtree(raw, ignore_errors=True)
        shutil.copytree(landing_zone(args.sessions), raw)
        (raw / ".complete").write_text("complete\n")
    for extra in raw.glob("charging_sessions/sessions_extra_day*.parquet"):
        extra.unlink()
    work = OUT / f"work-{args.sessions}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    db = work / "build.duckdb"
    runner_build(raw, db, work / "build-published", args.memory_limit)

    times: dict[str, list[tuple[float, float]]] = {}
    summary: dict[str, tuple[int, int, int]] = {}
    base = work / "base"            # the full publication the hourly publish starts from
    pub = Publisher(db, args.memory_limit)
    for i in range(args.repeat):
        for name in ("runner full", "floor full"):
            target = work / name.replace(" ", "-")
            shutil.rmtree(target, ignore_errors=True)
            action = (lambda: pub.publish(target)) if name.startswith("runner") else \
                (lambda: pub.floor(target))
            wall, cpu, _ = clocked(action)
            times.setdefault(name, []).append((wall, cpu))
            summary[name] = parquet_summary(target / "files" if name.startswith("runner")
                                            else target)
    shutil.copytree(work / "runner-full", base, symlinks=True)
    pub.con.close()

    extra = add_one_day(raw)
    try:
        runner_build(raw, db, work / "build-published", args.memory_limit)
        pub = Publisher(db, args.memory_limit)
        hourly = work / "runner-full"       # the publication's own paths: restored in place
        for i in range(args.repeat):
            shutil.rmtree(hourly, ignore_errors=True)
            shutil.copytree(base, hourly, symlinks=True)
            wall, cpu, result = clocked(lambda: pub.publish(hourly))
            times.setdefault("runner hourly", []).append((wall, cpu))
            units = written(hourly, db)
            target = work / "floor-hourly"
            shutil.rmtree(target, ignore_errors=True)
            wall, cpu, _ = clocked(lambda: pub.floor(target, units))
            times.setdefault("floor hourly", []).append((wall, cpu))
        summary["runner hourly"] = (sum(len(u) for u in units.values()), 0,
                                    result.bytes_written)
        summary["floor hourly"] = parquet_summary(target)
        pub.con.close()
    finally:
        extra.unlink()

    print(f"{args.sessions:,} sessions, median of {args.repeat} (alternating), one process:")
    print(f"{'':>14} {'wall s':>8} {'CPU s':>8}   files, rows, MB written")
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in times.items()}
    for name, (wall, cpu) in med.items():
        files, rows, size = summary[name]
        print(f"{name:>14} {wall:>8.2f} {cpu:>8.2f}   {files} files, "
              f"{rows:,} rows, {size / 1e6:.1f} MB" if rows else
              f"{name:>14} {wall:>8.2f} {cpu:>8.2f}   {files} units, {size / 1e6:.1f} MB")
    for kind in ("full", "hourly"):
        (rw, rc), (fw, fc) = med[f"runner {kind}"], med[f"floor {kind}"]
        print(f"{kind:>6} runner / floor: wall {rw / fw:.2f}x, CPU {rc / fc:.2f}x")


if __name__ == "__main__":
    main()
