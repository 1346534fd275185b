"""Every example command in the help texts (each command's docstring, `Example: runner
...`) and in README.md's ```sh blocks runs, as written, against a project built from a
small generated sample, and succeeds.

What it runs: the project (models, macros, seeds, data tests, roles.yml) copied into a
temporary folder with `runner generate --sessions 3000` in its data/raw, built once; each
example then runs in that folder, in the order the help texts and the README give them.
`runner` and `python3 -m runner` run in this process (the same entry point as the
installed command); `duckdb FILE -c SQL` runs its SQL through DuckDB's Python module;
`runner generate` runs in a scratch folder of its own, so that it does not replace the
sample the other examples read. The README's pip and pytest commands are not run; they
are named in NOT_RUN with why. Select these tests with `pytest -m examples`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import typer

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ["dbt_project.yml", "roles.yml", "models", "macros", "seeds",
                 "tests/data_tests"]
SAMPLE_SESSIONS = 3000
NOT_RUN = {
    "python3 -m pip install -e .": "installs the package this test is already running",
    "python3 -m pip install -e '.[dev]'": "installs the package this test is already running",
    "python3 -m pytest -q": "the test suite itself",
    "python3 -m pip install duckdb-cli": "installs the DuckDB CLI from PyPI; "
        "tests/test_publish_readers.py opens the catalog with it, in a venv of its own",
}

pytestmark = pytest.mark.examples


def help_examples() -> list[tuple[str, str]]:
    from runner.cli import app
    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():
        for example in re.findall(r"Example: (runner [^\n]+)", command.help or ""):
            found.append((f"runner {name} --help", example.strip()))
    return found


def readme_examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                found += [("README.md", part.strip()) for part in line.split(" && ")]
    return found


EXAMPLES = [(where, example) for where, example in help_examples() + readme_examples()
            if example not in NOT_RUN]


def test_every_command_has_an_example_and_the_readme_has_some() -> None:
    from runner.cli import app
    commands = set(typer.main.get_command(app).commands)
    assert {where.split()[1] for where, _ in help_examples()} == commands
    assert len(readme_examples()) >= 6
    # every command left out is still in the README: the list does not go stale
    assert set(NOT_RUN) <= {example for _, example in readme_examples()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The project copied into a temporary folder, with a small sample in data/raw,
    built once."""
    root = tmp_path_factory.mktemp("examples") / "project"
    for rel in PROJECT_FILES:
        source, target = ROOT / rel, root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for args in (["generate", "--out", "data/raw", "--sessions", str(SAMPLE_SESSIONS)],
                 ["build"]):
        proc = subprocess.run([sys.executable, "-m", "runner", *args], cwd=root, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return root


@pytest.mark.parametrize("where, example", EXAMPLES,
                         ids=[f"{where}: {example}" for where, example in EXAMPLES])
def test_example_runs(where: str, example: str, workspace: Path, cli, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    words = shlex.split(example)
    monkeypatch.chdir(workspace)
    if words[:3] == ["python3", "-m", "runner"]:
        words = ["runner", *words[3:]]
    if words[0] == "runner":
        if words[1:2] == ["generate"]:
            monkeypatch.chdir(tmp_path)
        code, out, err = cli(*words[1:])
        assert code == 0, f"{where}: {example}\n{out[-2000:]}\n{err[-2000:]}"
    elif words[0] == "duckdb" and [w for w in words if w != "-readonly"][2:3] == ["-c"]:
        words = [w for w in words if w != "-readonly"]
        with duckdb.connect(words[1], read_only=True) as con:
            assert con.execute(words[3]).fetchall(), f"{where}: {example} returned no rows"
    else:
        pytest.fail(f"{where}: the example {example!r} is neither a runner command nor "
                    "one this test knows how to run; add it to NOT_RUN with the reason")
