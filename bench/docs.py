"""The docs site on a generated project of --models models (default 1,000) over seeds
(one per 50 models, the raw layer): chains and fan-ins over a pool of --columns column
names, each model a view with a rename, an
expression, a window function, a filter, and for one in three a join with a second
parent. Prints:

- `runner docs generate` wall time, cold (no lineage cache) and warm (cache, nothing
  changed), and after one model changed; the site's size in bytes (what index.html loads)
  and catalog.json's;
- in headless chromium (/usr/bin/chromium through Playwright): the time to open the
  site, to draw the whole model graph, to draw a selector's graph (`+<last model>`) and to
  open one column's lineage page (the deepest model's first column);
- with --dbt: `dbt docs generate` (dbt-core 1.11 with dbt-duckdb, in the venv
  --dbt-venv, default bench/out/dbt-venv-docs) on the same project, built by `dbt run`
  first, and the size of what its static site needs (index.html, manifest.json,
  catalog.json).

    python bench/docs.py [--models 1000] [--columns 300] [--dbt]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def write_project(root: Path, models: int, pool: int, seed: int = 7) -> tuple[str, str]:
    """The project; returns the deepest model and its first column."""
    rng = random.Random(seed)
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: bench_docs\nprofile: bench_docs\nconfig-version: 2\n"
        "models:\n  bench_docs:\n    +materialized: view\n")
    names = [f"c_{i:03d}" for i in range(pool)]
    columns: dict[str, list[str]] = {}
    depth: dict[str, int] = {}
    (root / "seeds").mkdir()
    nodes: list[str] = []
    for k in range(max(1, models // 50)):                  # the raw layer: seeds
        name = f"s_{k:02d}"
        own = rng.sample(names, 4)
        rows = "\n".join(",".join(str(i * (j + 1)) for j in range(5)) for i in range(10))
        (root / "seeds" / f"{name}.csv").write_text("id," + ",".join(own) + "\n" + rows + "\n")
        columns[name], depth[name] = own, 0
        nodes.append(name)
    for i in range(models):
        name = f"m_{i:04d}"
        own = rng.sample(names, 4)
        a = nodes[rng.randrange(max(0, len(nodes) - 40), len(nodes))]   # a chain
        cols_a = columns[a]
        picks = [f"a.{cols_a[k % len(cols_a)]}" for k in range(4)]
        join = ""
        if rng.random() < 1 / 3:                                # a fan-in: two parents
            b = nodes[rng.randrange(0, len(nodes))]
            picks[1] = f"b.{columns[b][0]}"
            picks[3] = f"coalesce(a.{cols_a[0]}, b.{columns[b][-1]})"
            join = f"\njoin {{{{ ref('{b}') }}}} as b on a.id = b.id"
            depth[name] = 1 + max(depth[a], depth[b])
        else:
            depth[name] = 1 + depth[a]
        body = (f"select a.id, {picks[0]} as {own[0]}, {picks[1]} + 1 as {own[1]},\n"
                f"    sum({picks[2]}) over (partition by a.id % 3 order by a.id) as {own[2]},\n"
                f"    {picks[3]} as {own[3]}\n"
                f"from {{{{ ref('{a}') }}}} as a{join}\nwhere a.{cols_a[-1]} >= 0")
        columns[name] = own
        nodes.append(name)
        (root / "models" / f"{name}.sql").write_text(body + "\n")
    deepest = max(depth, key=lambda n: (depth[n], n))
    return deepest, columns[deepest][0]


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def browser_times(index: Path, model: str, column: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        started = time.perf_counter()
        page.goto(index.as_uri())
        page.wait_for_selector("#main h1")
        out["open the site"] = time.perf_counter() - started
        started = time.perf_counter()
        page.evaluate("location.hash = '#!/graph/'")
        page.wait_for_selector(".graph svg g.n")
        out["whole graph"] = time.perf_counter() - started
        out["whole graph nodes"] = page.locator(".graph svg g.n").count()
        started = time.perf_counter()
        page.evaluate(f"location.hash = '#!/graph/' + encodeURIComponent('+{model}')")
        page.wait_for_function("document.getElementById('selector') && "
                               f"document.getElementById('selector').value === '+{model}'")
        page.wait_for_selector(".graph svg g.n")
        out[f"graph +{model}"] = time.perf_counter() - started
        out[f"graph +{model} nodes"] = page.locator(".graph svg g.n").count()
        started = time.perf_counter()
        node = f"model.bench_docs.{model}"
        page.evaluate(f"location.hash = '#!/column/{node}/{column}'")
        page.wait_for_selector("table.rawlineage")
        page.wait_for_selector(".graph svg g.n")
        out[f"lineage of {model}.{column}"] = time.perf_counter() - started
        out["lineage columns drawn"] = page.locator(".graph svg g.n").count()
        if errors:
            sys.exit(f"page errors: {errors}")
        browser.close()
    return out


def site_bytes(target: Path, names: list[str]) -> int:
    return sum((target / n).stat().st_size for n in names if (target / n).exists())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=300)
    parser.add_argument("--dbt", action="store_true")
    parser.add_argument("--dbt-venv", type=Path, default=BENCH / "out" / "dbt-venv-docs")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    runner = [sys.executable, "-m", "runner"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        deepest, column = write_project(root, args.models, args.columns)
        print(f"project: {args.models} models over {args.columns} column names; deepest "
              f"{deepest}; {os.cpu_count()} CPUs")
        build = timed(runner + ["build"], root, env)
        print(f"runner build (views): {build:.1f} s")
        cold = timed(runner + ["docs", "generate"], root, env)
        warm = timed(runner + ["docs", "generate"], root, env)
        model = root / "models" / f"m_{args.models // 2:04d}.sql"
        model.write_text(model.read_text().replace(">= 0", ">= 1"))
        one = timed(runner + ["docs", "generate"], root, env)
        target = root / "target"
        site = site_bytes(target, ["index.html", "docs.js", "docs.css", "docs_data.js"])
        print(f"runner docs generate: cold {cold:.1f} s, warm {warm:.1f} s, one model "
              f"changed {one:.1f} s")
        print(f"site: {site / 1e6:.2f} MB (docs_data.js "
              f"{(target / 'docs_data.js').stat().st_size / 1e6:.2f} MB); catalog.json "
              f"{(target / 'catalog.json').stat().st_size / 1e6:.2f} MB")
        for label, value in browser_times(target / "index.html", deepest, column).items():
            print(f"browser: {label}: " + (f"{value:.2f} s" if isinstance(value, float)
                                           else f"{value}"))
        if args.dbt:
            dbt = args.dbt_venv / "bin" / "dbt"
            if not dbt.exists():
                sys.exit(f"no dbt at {dbt}: make the venv with dbt-core 1.11 and dbt-duckdb")
            (root / "profiles.yml").write_text(
                "bench_docs:\n  target: bench\n  outputs:\n    bench:\n      type: duckdb\n"
                f"      path: {root / 'dbt.duckdb'}\n      threads: 1\n")
            dbt_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
                       "DBT_PROFILES_DIR": str(root), "DO_NOT_TRACK": "1"}
            shutil.rmtree(root / "target", ignore_errors=True)
            run = timed([str(dbt), "seed"], root, dbt_env) + \
                timed([str(dbt), "run"], root, dbt_env)
            generate = timed([str(dbt), "docs", "generate"], root, dbt_env)
            size = site_bytes(root / "target", ["index.html", "manifest.json", "catalog.json"])
            pip = subprocess.run([str(args.dbt_venv / "bin" / "python"), "-m", "pip", "list",
                                  "--format=freeze"], capture_output=True, text=True).stdout
            version = ", ".join(line for line in pip.split() if line.startswith(
                ("dbt-core==", "dbt-duckdb==")))
            print(f"dbt ({version}): seed and run "
                  f"{run:.1f} s, docs generate {generate:.1f} s, site {size / 1e6:.2f} MB "
                  f"(no column lineage)")


if __name__ == "__main__":
    main()
