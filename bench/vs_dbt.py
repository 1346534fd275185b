"""Runner vs dbt: the same projects built by `runner build` and by dbt-core with dbt-duckdb.

1. Overhead: projects of 1, 20 and 100 trivial chained models (bench/runner_overhead.py's
   `write_project`), each built by `runner build` and by `dbt build` in a fresh process;
   prints the median wall time of --repeat runs and the ratio dbt / runner.
2. With --reports: the project's own models, macros, seeds and data tests over a generated
   landing zone of --sessions sessions, built by both into separate DuckDB files; prints
   both wall times, then compares reports.charging_sessions_cpo and
   reports.roaming_sessions_cpo row for row (EXCEPT ALL both ways) and exits 1 if they
   differ.

dbt is installed once into its own virtual environment (--dbt-venv, default
bench/out/dbt-venv-1.11) with pinned versions, and the same DuckDB version as the runner's.

    python bench/vs_dbt.py [--sizes 1 20 100] [--repeat 3]
    python bench/vs_dbt.py --reports [--sessions 100000] [--skip-overhead]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from runner_overhead import write_project  # noqa: E402

DBT_CORE = "1.11.16"
DBT_DUCKDB = "1.11.1"
REPORT_TIME = "2025-01-01T00:00:00Z"
REPORT_TABLES = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo"]

# The runner's built-in generic test, which dbt-core lacks (dbt_utils has one like it).
EXPRESSION_IS_TRUE = """\
{% test expression_is_true(model, expression, column_name=None) %}
select * from {{ model }} as t
where not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})
{% endtest %}
"""


# --- dbt's virtual environment --------------------------------------------------------

def dbt_venv(venv: Path) -> Path:
    """The dbt executable, installing dbt-core and dbt-duckdb into `venv` the first time."""
    duckdb_version = importlib.metadata.version("duckdb")
    pins = [f"dbt-core=={DBT_CORE}", f"dbt-duckdb=={DBT_DUCKDB}", f"duckdb=={duckdb_version}"]
    marker = venv / "bench-pins.txt"
    dbt = venv / "bin" / "dbt"
    if marker.exists() and marker.read_text().split() == pins and dbt.exists():
        return dbt
    print(f"installing {' '.join(pins)} into {venv} ...", flush=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *pins], check=True)
    marker.write_text("\n".join(pins) + "\n")
    return dbt


# The runner's dependencies (pyproject.toml), installed into its own environment at the
# versions this interpreter has.
RUNNER_DEPS = ["duckdb", "sqlglot", "jinja2", "typer", "pyyaml", "pytz", "openpyxl"]


def runner_venv(venv: Path) -> Path:
    """A Python for the runner in a virtual environment of its own, as dbt has: the
    project's dependencies at the versions installed here, and the repository on its
    path (a .pth file, so that the runner is this checkout's). The interpreter running
    this script may carry start-up hooks of its site-packages that a fresh environment
    does not (here 35 ms of CPU per process); each tool gets a clean one."""
    pins = [f"{d}=={importlib.metadata.version(d)}" for d in RUNNER_DEPS]
    python = venv / "bin" / "python"
    marker = venv / "bench-pins.txt"
    if not (marker.exists() and marker.read_text().split() == pins and python.exists()):
        print(f"installing {' '.join(pins)} into {venv} ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", *pins], check=True)
        marker.write_text("\n".join(pins) + "\n")
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "cpo_reports_checkout.pth").write_text(str(REPO) + "\n")
    return python


def tool_env() -> dict[str, str]:
    """The environment both tools run in: this one, but Python writes its bytecode
    (PYTHONDONTWRITEBYTECODE unset), as in an ordinary install, so that neither tool
    compiles its modules again in every run (pip compiled dbt's when it installed them)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def dbt_env() -> dict[str, str]:
    env = tool_env()
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="False", DBT_VERSION_CHECK="False",
               DO_NOT_TRACK="1", DBT_USE_COLORS="False")
    return env


def write_dbt_files(root: Path, settings: dict, db_path: Path, name: str) -> None:
    """dbt_project.yml (from `settings`) and a profiles.yml for one DuckDB file."""
    settings = {**settings, "name": name, "profile": name, "config-version": 2}
    (root / "dbt_project.yml").write_text(yaml.safe_dump(settings, sort_keys=False))
    profile = {name: {"target": "bench", "outputs": {"bench": {
        "type": "duckdb", "path": str(db_path), "schema": "main", "threads": 1,
        "settings": {"TimeZone": "UTC", "enable_progress_bar": False}}}}}
    (root / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))


# --- running and timing ---------------------------------------------------------------

TIMEOUT = 1800.0    # seconds one build may take; set by --timeout


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env or tool_env(), capture_output=True,
                              text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) \
            else (exc.stdout or "")
        done = subprocess.CompletedProcess(cmd, -9, out, f"timed out after {TIMEOUT:.0f} s")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.last_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.perf_counter() - started, done


def checked(what: str, cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    seconds, done = run(cmd, cwd, env)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
        sys.exit(f"{what} failed (exit {done.returncode}):\n{tail}")
    checked.last_output = done.stdout + done.stderr
    checked.last_cpu = run.last_cpu
    return seconds


def dbt_summary(output: str) -> str:
    """dbt's closing line, e.g. 'PASS=131 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=131'."""
    lines = [line for line in output.splitlines() if "Done. PASS=" in line]
    return lines[-1].split("Done. ", 1)[1].strip() if lines else "?"


def runner_summary(project: Path) -> str:
    """The node counts of the runner's last run, from target/runner_results.json."""
    try:
        counts = json.loads((project / "target" / "runner_results.json").read_text())["counts"]
    except (OSError, ValueError, KeyError):
        return "?"
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


RUNNER_PYTHON = sys.executable     # set by --runner-venv
BASELINE: Path | None = None       # set by --baseline: another checkout, timed alongside


def runner_cmd(project: Path, db: Path, *extra: str) -> list[str]:
    return [str(RUNNER_PYTHON), "-m", "runner", "build", "--project-dir", str(project),
            "--db", str(db), *extra]


def dbt_cmd(dbt: Path, project: Path, *extra: str) -> list[str]:
    return [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project),
            *extra]


# --- 1. overhead on trivial projects --------------------------------------------------

def overhead(dbt: Path, sizes: list[int], repeat: int, work: Path) -> None:
    print(f"\nRunner vs dbt, trivial chained models (median of {repeat} runs, wall time "
          "of a fresh process, target/ and the DuckDB file kept between runs)")
    print("(CPU s: user + system time of the process, less sensitive to a shared machine's load)")
    if BASELINE:
        print(f"(and the runner of {BASELINE} as 'before', from the same Python, each "
              "run of the three interleaved)")
    print(f"{'models':>6} {'runner s':>9} {'dbt s':>8} {'dbt/runner':>11} "
          f"{'runner CPU s':>13} {'dbt CPU s':>10} {'CPU ratio':>10}")
    for n in sizes:
        ours, theirs = work / f"runner_{n}", work / f"dbt_{n}"
        write_project(ours, n)
        write_project(theirs, n)
        write_dbt_files(theirs, {"version": "1.0.0", "model-paths": ["models"]},
                        work / f"dbt_{n}.duckdb", "bench")
        runner_s, dbt_s, runner_cpu, dbt_cpu, before_s, before_cpu = [], [], [], [], [], []
        if BASELINE:
            write_project(work / f"before_{n}", n)
        for _ in range(repeat):      # interleaved, so both see the same machine load
            runner_s.append(checked(f"runner build ({n} models)",
                                    runner_cmd(ours, work / f"runner_{n}.duckdb"), ours))
            runner_cpu.append(checked.last_cpu)
            if BASELINE:
                before = work / f"before_{n}"
                before_s.append(checked(f"runner build of {BASELINE} ({n} models)",
                                        runner_cmd(before, work / f"before_{n}.duckdb"),
                                        before, {**tool_env(), "PYTHONPATH": str(BASELINE)}))
                before_cpu.append(checked.last_cpu)
            dbt_s.append(checked(f"dbt build ({n} models)", dbt_cmd(dbt, theirs), theirs,
                                 dbt_env()))
            dbt_cpu.append(checked.last_cpu)
        r, d = statistics.median(runner_s), statistics.median(dbt_s)
        rc, dc = statistics.median(runner_cpu), statistics.median(dbt_cpu)
        print(f"{n:>6} {r:>9.3f} {d:>8.3f} {d / r:>10.1f}x {rc:>13.3f} {dc:>10.3f} "
              f"{dc / rc:>9.1f}x", flush=True)
        if BASELINE:
            b, bc = statistics.median(before_s), statistics.median(before_cpu)
            print(f"{'before':>6} {b:>9.3f} {d:>8.3f} {d / b:>10.1f}x {bc:>13.3f} "
                  f"{dc:>10.3f} {dc / bc:>9.1f}x", flush=True)


# --- 2. the report models --------------------------------------------------------------

PROJECT_DIRS = ["models", "macros", "seeds"]


def copy_project(dest: Path) -> dict:
    """Copy the project's models, macros, seeds and data tests; return its settings."""
    settings = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    folders = PROJECT_DIRS + list(settings.get("test-paths") or [])
    for folder in folders:
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, dest / folder,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return settings


def landing_zone(sessions: int, seed: int, out: Path) -> Path:
    """The generated landing zone, written once per (sessions, seed) and kept."""
    raw = out / f"raw-{sessions}-{seed}"
    marker = raw / ".complete"
    if not marker.exists():
        from cpo.sample import generate
        shutil.rmtree(raw, ignore_errors=True)
        print(f"generating a landing zone of {sessions:,} sessions into {raw} ...", flush=True)
        started = time.perf_counter()
        generate(raw, sessions, seed)
        marker.write_text("complete\n")
        print(f"  {time.perf_counter() - started:.1f} s")
    return raw


def point_sources_at(project: Path, database: str) -> None:
    """Make dbt's source('raw', t) render "<database>"."<schema>"."<t>", the runner's view,
    and drop the runner's one config extension, data_tests_where (dbt renders property
    YAML with var and env_var only, and has no such config: its tests read every row)."""
    for path in (project / "models").rglob("*.yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            continue
        for model in doc.get("models") or []:
            (model.get("config") or {}).pop("data_tests_where", None)
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
        if not doc.get("sources"):
            continue
        for src in doc["sources"]:
            src["database"] = database
            src["schema"] = src.get("schema") or src["name"]
            for table in src.get("tables") or []:
                table.pop("identifier", None)     # the runner's view is named after the table
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")


def raw_views(project: Path, raw: Path, db: Path) -> float:
    """Create the raw.<table> views in dbt's file with the runner's own code."""
    import duckdb
    from runner.project.loader import load_project
    from runner.execute.sources import prepare_sources
    started = time.perf_counter()
    sources = load_project(project).sources
    con = duckdb.connect(str(db))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        prepare_sources(con, raw, [sources[k] for k in sorted(sources)])
    finally:
        con.close()
    return time.perf_counter() - started


def compare(runner_db: Path, dbt_db: Path) -> bool:
    import duckdb
    con = duckdb.connect(str(runner_db), read_only=True)
    same = True
    try:
        con.execute(f"attach '{dbt_db}' as dbt_side (read_only)")
        ours = con.execute("select current_database()").fetchone()[0]
        print(f"\n{'table':<32} {'runner rows':>11} {'dbt rows':>9} "
              f"{'runner-dbt':>10} {'dbt-runner':>10}")
        for table in REPORT_TABLES:
            a, b = f"{ours}.{table}", f"dbt_side.{table}"
            cols_a = con.execute(f"describe {a}").fetchall()
            cols_b = con.execute(f"describe {b}").fetchall()
            if [c[:2] for c in cols_a] != [c[:2] for c in cols_b]:
                same = False
                print(f"{table}: the columns differ:\n  runner {[c[:2] for c in cols_a]}\n"
                      f"  dbt    {[c[:2] for c in cols_b]}")
                continue
            rows_a = con.execute(f"select count(*) from {a}").fetchone()[0]
            rows_b = con.execute(f"select count(*) from {b}").fetchone()[0]
            # every column but _built_at: each tool stamps its own build's start
            cols = "columns(lambda c: c <> '_built_at')"
            only_a = con.execute(f"select count(*) from (select {cols} from {a} except all "
                                 f"select {cols} from {b})").fetchone()[0]
            only_b = con.execute(f"select count(*) from (select {cols} from {b} except all "
                                 f"select {cols} from {a})").fetchone()[0]
            print(f"{table:<32} {rows_a:>11,} {rows_b:>9,} {only_a:>10,} {only_b:>10,}")
            same = same and only_a == 0 and only_b == 0 and rows_a == rows_b
    finally:
        con.close()
    return same


def reports(dbt: Path, sessions: int, seed: int, repeat: int, work: Path, out: Path,
            report_time: str = REPORT_TIME) -> bool:
    raw = landing_zone(sessions, seed, out)
    ours, theirs = work / "runner_project", work / "dbt_project"
    settings = copy_project(ours)
    (ours / "dbt_project.yml").write_text((REPO / "dbt_project.yml").read_text())
    copy_project(theirs)
    dbt_db, runner_db = work / "dbt_side.duckdb", work / "runner_side.duckdb"
    write_dbt_files(theirs, settings, dbt_db, settings.get("name", "cpo_reports"))
    (theirs / "macros" / "test_expression_is_true.sql").write_text(EXPRESSION_IS_TRUE)
    point_sources_at(theirs, dbt_db.stem)
    report_vars = json.dumps({"report_time": report_time})

    print(f"\nThe report models over {sessions:,} generated sessions (seed {seed}), "
          f"report_time {report_time}, median of {repeat} run(s)")
    runner_s, dbt_s, views_s, runner_cpu, dbt_cpu = [], [], [], [], []
    for _ in range(repeat):
        runner_db.unlink(missing_ok=True)
        dbt_db.unlink(missing_ok=True)
        runner_s.append(checked("runner build (reports)",
                                runner_cmd(ours, runner_db, "--raw-dir", str(raw),
                                           "--vars", report_vars), ours))
        runner_cpu.append(checked.last_cpu)
        views_s.append(raw_views(ours, raw, dbt_db))
        dbt_s.append(checked("dbt build (reports)",
                             dbt_cmd(dbt, theirs, "--vars", report_vars), theirs, dbt_env()))
        dbt_cpu.append(checked.last_cpu)
        dbt_nodes = dbt_summary(checked.last_output)
    r, d, v = (statistics.median(x) for x in (runner_s, dbt_s, views_s))
    print(f"  runner nodes: {runner_summary(ours)}; dbt nodes: {dbt_nodes}")
    print(f"  runner build (checks the raw files, creates the raw views): {r:8.2f} s")
    print(f"  raw views for dbt (runner.execute.sources.prepare_sources):           {v:8.2f} s")
    print(f"  dbt build:                                                   {d:8.2f} s")
    print(f"  dbt / runner: {d / r:.2f}x (dbt build alone), "
          f"{(d + v) / r:.2f}x (with the raw views)")
    rc, dc = statistics.median(runner_cpu), statistics.median(dbt_cpu)
    print(f"  CPU time (user + system): runner {rc:.2f} s, dbt {dc:.2f} s, "
          f"dbt / runner {dc / rc:.2f}x")
    same = compare(runner_db, dbt_db)
    print("the report tables are identical" if same else "THE REPORT TABLES DIFFER")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 100])
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per size, median reported (default 3)")
    parser.add_argument("--reports", action="store_true",
                        help="also build the report models with both and compare them")
    parser.add_argument("--skip-overhead", action="store_true",
                        help="skip the trivial projects")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--report-time", default=REPORT_TIME,
                        help=f"the var report_time of both builds (default {REPORT_TIME})")
    parser.add_argument("--report-repeat", type=int, default=1,
                        help="runs of the report build, median reported (default 1)")
    parser.add_argument("--dbt-venv", type=Path, default=BENCH / "out" / "dbt-venv-1.11")
    parser.add_argument("--runner-venv", type=Path, default=BENCH / "out" / "runner-venv",
                        help="the runner's own virtual environment ('' for this Python)")
    parser.add_argument("--work-dir", type=Path,
                        help="keep the projects and DuckDB files here (default: a temp dir)")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout of the project (e.g. `git worktree add "
                             "DIR <commit>`), its runner timed on the trivial projects too, "
                             "interleaved, from the same Python (its folder first on "
                             "PYTHONPATH)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="give up on a build after this many seconds (default 1800)")
    args = parser.parse_args()
    globals()["TIMEOUT"] = args.timeout
    globals()["BASELINE"] = args.baseline.resolve() if args.baseline else None

    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    dbt = dbt_venv(args.dbt_venv.resolve())
    if str(args.runner_venv) not in ("", "."):
        globals()["RUNNER_PYTHON"] = runner_venv(args.runner_venv.resolve())
    print(f"runner: python {sys.version.split()[0]} ({RUNNER_PYTHON}), duckdb "
          f"{importlib.metadata.version('duckdb')}; "
          f"dbt: dbt-core {DBT_CORE}, dbt-duckdb {DBT_DUCKDB}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="vs_dbt-") as tmp:
        work = args.work_dir.resolve() if args.work_dir else Path(tmp)
        if args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        if not args.skip_overhead:
            overhead(dbt, args.sizes, args.repeat, work / "overhead")
        if args.reports:
            same = reports(dbt, args.sessions, args.seed, args.report_repeat,
                           work / "reports", out, args.report_time)
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
