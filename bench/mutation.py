"""Mutation check: how many plausible one-line mistakes the test suite catches.

Each mutant in bench/mutants.py is one exact text replacement in one file of the project
(a model, macro, seed, data test or runner module). For each, the project is copied to a
scratch folder, the mistake put in, and the tests that cover it run there (the copy
first on PYTHONPATH, so the installed package is not what is tested). A mutant is killed
when those tests fail, survives when they pass. The real tree is never modified.

    python3 bench/mutation.py              # every mutant, as many at once as cores
    python3 bench/mutation.py -j 1 --only vat_from_net --only duration_strict
    python3 bench/mutation.py --list       # the mutants, their files and tests

A mutant whose original text no longer occurs exactly once in its file is stale: the run
names it and fails (exit 2) before running anything, so that the list is kept current.
Exit 0 when every mutant is killed, 1 when one survives or a run goes wrong.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from mutants import MUTANTS, Mutant  # noqa: E402

# what is not copied into a scratch project: history, builds, caches
SKIP = {".git", "target", ".hypothesis", ".benchmarks", "__pycache__", ".pytest_cache",
        ".ci"}
SKIP_SUFFIXES = (".duckdb", ".duckdb.wal", ".pyc")


@dataclass
class Outcome:
    mutant: Mutant | None        # None: the baseline (no mistake put in)
    status: str                  # killed | survived | timed out | error
    seconds: float
    detail: str = ""


def stale(mutant: Mutant, root: Path = ROOT) -> str | None:
    """Why the mutant cannot be applied to the tree at `root`, or None."""
    path = root / mutant.file
    if not path.is_file():
        return f"{mutant.file} does not exist"
    count = path.read_text(encoding="utf-8").count(mutant.original)
    if count != 1:
        return (f"its original text occurs {count} times in {mutant.file} "
                f"(must be exactly once)")
    if mutant.original == mutant.replacement:
        return "its replacement equals its original text"
    return None


def copy_project(dest: Path) -> Path:
    """The working tree (uncommitted changes included) copied to dest/project, with
    dest/shared pointing at the project's ../shared (public data the tests read)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIP or n.endswith(SKIP_SUFFIXES)}
    project = dest / "project"
    shutil.copytree(ROOT, project, ignore=ignore, symlinks=True)
    shared = ROOT.parent / "shared"
    if shared.exists():
        (dest / "shared").symlink_to(shared)
    return project


def pytest_args(tests: tuple[str, ...]) -> list[str]:
    """Node ids, paths and `-k EXPR` entries as pytest arguments (the whole suite for
    none)."""
    args: list[str] = []
    for entry in tests:
        args.extend(shlex.split(entry) if entry.startswith("-") else [entry])
    return args or ["tests"]


def run_tests(project: Path, tests: tuple[str, ...], timeout: float,
              stop_first: bool = True) -> tuple[int | None, str]:
    env = {**os.environ, "PYTHONPATH": str(project), "PYTHONDONTWRITEBYTECODE": "1"}
    # -n 0: the mutants already run side by side (--jobs), each in one pytest process;
    # a mutant's files run their `slow` tests too (a mutant's own -m comes after)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
           "-m", "not spark and not connect and not browser",
           *(["-x"] if stop_first else []), *pytest_args(tests)]
    try:
        proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    return proc.returncode, "\n".join(lines[-6:])


def run_one(mutant: Mutant | None, scratch: Path, timeout: float) -> Outcome:
    name = mutant.name if mutant else "baseline"
    started = time.perf_counter()
    dest = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=scratch))
    try:
        project = copy_project(dest)
        if mutant:
            path = project / mutant.file
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(mutant.original, mutant.replacement, 1),
                            encoding="utf-8")
            tests = mutant.tests
        elif all(m.tests and not any(t.startswith("-") for t in m.tests)
                 for m in MUTANTS):
            tests = tuple(sorted({t for m in MUTANTS for t in m.tests}))
        else:                 # a mutant covered by -k or by the whole suite
            tests = ()
        code, tail = run_tests(project, tests, timeout, stop_first=mutant is not None)
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    seconds = time.perf_counter() - started
    if code is None:
        return Outcome(mutant, "timed out", seconds)
    if code in (0, 1, 2) and mutant is None:
        return Outcome(None, "passed" if code == 0 else "error", seconds, tail)
    if code == 0:
        return Outcome(mutant, "survived", seconds, tail)
    if code in (1, 2):        # tests failed, or failed to import/collect with the mistake
        return Outcome(mutant, "killed", seconds, tail)
    # 3 internal error, 4 usage error (a test id that does not exist), 5 no tests ran
    return Outcome(mutant, "error", seconds, f"pytest exit {code}: {tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                        help="mutants run at once (default: the number of cores)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds before a mutant's tests count as timed out "
                             "(default 900)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of every covering test without a mistake")
    args = parser.parse_args(argv)

    names = [m.name for m in MUTANTS]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        print(f"mutant names used twice in bench/mutants.py: {', '.join(repeated)}")
        return 2
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:32} {m.file}\n{'':32} {m.description}\n"
                  f"{'':32} tests: {' '.join(m.tests) or 'the whole suite'}")
        print(f"{len(MUTANTS)} mutants")
        return 0
    chosen = MUTANTS
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            print(f"no mutant named {', '.join(unknown)} (see --list)")
            return 2
        chosen = [m for m in MUTANTS if m.name in args.only]

    problems = [(m, why) for m in chosen if (why := stale(m))]
    if problems:
        print(f"STALE: {len(problems)} mutant(s) no longer match the code; update their "
              "original text in bench/mutants.py (or remove them):")
        for m, why in problems:
            print(f"  {m.name}: {why}")
        return 2

    started = time.perf_counter()
    jobs: list[Mutant | None] = ([] if args.no_baseline or args.only else [None])
    jobs += list(chosen)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, m, Path(scratch), args.timeout) for m in jobs]
        for i, future in enumerate(as_completed(futures), 1):
            o = future.result()
            outcomes.append(o)
            print(f"[{i}/{len(jobs)}] {o.status:9} {o.seconds:6.1f}s  "
                  f"{o.mutant.name if o.mutant else 'baseline (no mistake)'}", flush=True)
    total = time.perf_counter() - started

    mutants = [o for o in outcomes if o.mutant]
    killed = [o for o in mutants if o.status in ("killed", "timed out")]
    survived = [o for o in mutants if o.status == "survived"]
    errors = [o for o in outcomes if o.status == "error"]
    for o in errors:
        print(f"\nERROR {o.mutant.name if o.mutant else 'baseline'}: the tests did not run "
              f"as listed, or failed without a mistake\n{o.detail}")
    if survived:
        print(f"\nSURVIVED ({len(survived)}): no test failed with these mistakes in place")
        for o in survived:
            m = o.mutant
            print(f"  {m.name} ({m.file}): {m.description}")
    timed_out = [o.mutant.name for o in mutants if o.status == "timed out"]
    if timed_out:
        print(f"\ntimed out (counted as killed): {', '.join(timed_out)}")
    score = 100 * len(killed) / len(mutants) if mutants else 0.0
    print(f"\nscore: {len(killed)} of {len(mutants)} mutants killed ({score:.0f} %), "
          f"{len(survived)} survived; {total / 60:.1f} min with -j {args.jobs}")
    return 0 if not survived and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
