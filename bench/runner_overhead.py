"""Runner overhead: build projects of 1, 20 and 100 trivial models and print
- the wall time of `runner build` (a fresh process, as a user runs it),
- the runner's own time per model (everything but DuckDB executing SQL),
- the start-up time of the `runner` command (`runner --help`).

    python bench/runner_overhead.py [--sizes 1 20 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_project(root: Path, n: int) -> None:
    models = root / "models"
    models.mkdir(parents=True)
    (models / "m_0000.sql").write_text("{{ config(materialized='table') }}\nselect 1 as id\n")
    for i in range(1, n):
        parent = f"m_{(i - 1) // 2:04d}"
        (models / f"m_{i:04d}.sql").write_text(
            "{{ config(materialized='table') }}\n"
            f"select id + {i} as id from {{{{ ref('{parent}') }}}}\n")


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    # bytecode written, as in an ordinary install (not compiled again in every run)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 100])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runner = [sys.executable, "-m", "runner.cli"]

    with tempfile.TemporaryDirectory() as tmp:
        startup = [timed(runner + ["--help"], Path(tmp)) for _ in range(args.repeat)]
        print(f"startup (runner --help): median {statistics.median(startup) * 1000:.0f} ms")
        print(f"{'models':>6} {'build wall s':>12} {'runner ms/model':>16} {'duckdb ms/model':>16}")
        from runner.api import build
        for n in args.sizes:
            root = Path(tmp) / f"p{n}"
            write_project(root, n)
            walls = [timed(runner + ["build", "--project-dir", str(root)], root)
                     for _ in range(args.repeat)]
            overheads, db = [], []
            for _ in range(args.repeat):
                result = build(root)
                assert result.ok, result.summary()
                overheads.append(result.runner_seconds / n)
                db.append(result.db_seconds / n)
            print(f"{n:>6} {statistics.median(walls):>12.3f} "
                  f"{statistics.median(overheads) * 1000:>16.2f} "
                  f"{statistics.median(db) * 1000:>16.2f}")


if __name__ == "__main__":
    main()
