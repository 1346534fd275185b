"""Real dbt projects, unmodified, built by the runner and by dbt-core with dbt-duckdb.

For each project of ../shared/data/public/dbt-projects/ (`jaffle_shop_duckdb`,
`jaffle-shop`), copied twice into a scratch folder, it runs the commands its SOURCE.md
gives (`build`; for jaffle-shop `seed --full-refresh --vars '{"load_source_data": true}'`
then `build`) with `runner` and with `dbt`, and prints:

- the wall time of each command, for each tool;
- every relation either tool built: its row count in each, whether the column names and
  types are the same, and EXCEPT ALL both ways (rows one has that the other lacks);
- the data tests' results, counted by status, for each tool.

It exits 1 if a relation differs or is missing from one side. jaffle-shop's packages
(dbt_utils, dbt_date, audit_helper) are taken from the project's `dbt_packages/`, or
from the folder named by RUNNER_TEST_DBT_PACKAGES.

dbt is installed once into --dbt-venv (default bench/out/dbt-venv-1.11): dbt-core
1.11.16, dbt-duckdb 1.11.1 and the runner's DuckDB version.

    python bench/dbt_projects.py [--only jaffle-shop] [--dbt-venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import vs_dbt  # noqa: E402

vs_dbt.DBT_CORE = "1.11.16"
vs_dbt.DBT_DUCKDB = "1.11.1"
PROJECTS = REPO.parent / "shared" / "data" / "public" / "dbt-projects"
SEED_VARS = '{"load_source_data": true}'
COMMANDS = {
    "jaffle_shop_duckdb": [["build"]],
    "jaffle-shop": [["seed", "--full-refresh", "--vars", SEED_VARS], ["build"]],
}


def packages_dir(project: Path) -> Path | None:
    """The installed packages of a project: RUNNER_TEST_DBT_PACKAGES, else its own."""
    given = os.environ.get("RUNNER_TEST_DBT_PACKAGES")
    if given:
        return Path(given)
    own = project / "dbt_packages"
    return own if own.is_dir() else None


def prepare(name: str, dest: Path) -> Path:
    """A writable copy of the project, with its installed packages."""
    source = PROJECTS / name
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    if name == "jaffle-shop" and not (dest / "dbt_packages").is_dir():
        packages = packages_dir(source)
        if packages is None:
            sys.exit("jaffle-shop has no dbt_packages/: set RUNNER_TEST_DBT_PACKAGES to a "
                     "folder holding dbt_utils, dbt_date and audit_helper.")
        shutil.copytree(packages, dest / "dbt_packages", symlinks=False)
    return dest


def profile(project: Path, db: Path) -> None:
    """A profiles.yml for dbt: the project's profile, target `dev`, one DuckDB file."""
    name = (yaml.safe_load((project / "dbt_project.yml").read_text()) or {}).get("profile")
    (project / "profiles.yml").write_text(yaml.safe_dump({name: {"target": "dev", "outputs": {
        "dev": {"type": "duckdb", "path": str(db), "schema": "main", "threads": 1}}}}))


def relations(db: Path) -> dict[str, list[tuple[str, str]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns where table_catalog = current_database() "
            "and table_schema not like '\\_runner%' escape '\\' "
            "order by table_schema, table_name, ordinal_position").fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, kind in rows:
        out.setdefault(f"{schema}.{table}", []).append((column, kind))
    return out


def compare(runner_db: Path, dbt_db: Path) -> bool:
    ours, theirs = relations(runner_db), relations(dbt_db)
    same = True
    con = duckdb.connect()
    con.execute(f"attach '{runner_db}' as r (read_only)")
    con.execute(f"attach '{dbt_db}' as d (read_only)")
    print(f"  {'relation':34} {'runner rows':>11} {'dbt rows':>9}  columns  "
          f"{'runner-dbt':>10} {'dbt-runner':>10}")
    for name in sorted(set(ours) | set(theirs)):
        if name not in ours or name not in theirs:
            print(f"  {name:34} only built by {'the runner' if name in ours else 'dbt'}")
            same = False
            continue
        schema, table = name.split(".", 1)
        r, d = f'r."{schema}"."{table}"', f'd."{schema}"."{table}"'
        rows_r = con.execute(f"select count(*) from {r}").fetchone()[0]
        rows_d = con.execute(f"select count(*) from {d}").fetchone()[0]
        columns_same = ours[name] == theirs[name]
        if columns_same:
            only_r = con.execute(f"select count(*) from (from {r} except all from {d})"
                                 ).fetchone()[0]
            only_d = con.execute(f"select count(*) from (from {d} except all from {r})"
                                 ).fetchone()[0]
        else:
            only_r = only_d = "-"
            print(f"    runner: {ours[name]}\n    dbt:    {theirs[name]}")
        ok = columns_same and only_r == 0 and only_d == 0 and rows_r == rows_d
        same &= ok
        print(f"  {name:34} {rows_r:>11,} {rows_d:>9,}  {'same' if columns_same else 'DIFFER':7}"
              f"  {only_r:>10} {only_d:>10}{'' if ok else '  <-- differs'}")
    con.close()
    return same


def test_counts(project: Path, tool: str) -> str:
    """Data test results by status, from target/run_results.json."""
    try:
        doc = json.loads((project / "target" / "run_results.json").read_text())
    except (OSError, ValueError):
        return "?"
    counts: dict[str, int] = {}
    for result in doc.get("results") or []:
        kind = result.get("kind") or result.get("unique_id", "").split(".")[0]
        if kind == "test":
            status = str(result.get("status"))
            counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"


def one(name: str, dbt: Path, work: Path) -> bool:
    print(f"\n== {name}")
    runner_dir = prepare(name, work / name / "runner")
    dbt_dir = prepare(name, work / name / "dbt")
    runner_db, dbt_db = work / name / "runner.duckdb", work / name / "dbt.duckdb"
    profile(dbt_dir, dbt_db)
    env = vs_dbt.dbt_env()
    totals = {"runner": 0.0, "dbt": 0.0}
    for command in COMMANDS[name]:
        label = " ".join(command)
        seconds = vs_dbt.checked(f"runner {label}", [
            sys.executable, "-m", "runner", command[0], "--project-dir", str(runner_dir),
            "--db", str(runner_db), *command[1:]], REPO)
        totals["runner"] += seconds
        dbt_seconds = vs_dbt.checked(f"dbt {label}", [
            str(dbt), command[0], "--project-dir", str(dbt_dir), "--profiles-dir",
            str(dbt_dir), *command[1:]], dbt_dir, env)
        totals["dbt"] += dbt_seconds
        print(f"  {label:60} runner {seconds:6.2f} s   dbt {dbt_seconds:6.2f} s")
    print(f"  {'total':60} runner {totals['runner']:6.2f} s   dbt {totals['dbt']:6.2f} s   "
          f"(dbt / runner: {totals['dbt'] / totals['runner']:.1f}x)")
    print(f"  data tests: runner {test_counts(runner_dir, 'runner')}; "
          f"dbt {test_counts(dbt_dir, 'dbt')}")
    return compare(runner_db, dbt_db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(COMMANDS))
    parser.add_argument("--dbt-venv", type=Path, default=BENCH / "out" / "dbt-venv-1.11")
    args = parser.parse_args()
    if not PROJECTS.is_dir():
        sys.exit(f"{PROJECTS} is absent: nothing to build.")
    dbt = vs_dbt.dbt_venv(args.dbt_venv.resolve())
    same = True
    with tempfile.TemporaryDirectory(prefix="dbt-projects-") as tmp:
        for name in [args.only] if args.only else sorted(COMMANDS, reverse=True):
            same &= one(name, dbt, Path(tmp))
    print("\nevery relation equal" if same else "\nrelations DIFFER")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
