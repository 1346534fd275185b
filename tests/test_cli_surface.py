"""What `runner --help` and `runner --version` show, and what git leaves out of the
project: boolean flags read as flags, the version names the package and DuckDB."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

import runner
from runner.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def test_boolean_flags_show_as_flags_without_a_value() -> None:
    group = typer.main.get_command(app)
    flags_seen = 0
    for name, command in group.commands.items():
        text = _help(name)
        assert "<bool>" not in text, (name, text)
        for param in command.params:
            if getattr(param, "is_flag", False):
                flags_seen += 1
                # a short alias (-x) is listed first: "-x, --fail-fast"
                line = next(line for line in text.splitlines()
                            if re.match(r"\s*(-\w, )?" + re.escape(param.opts[0]), line))
                # the option's name (and its off switch, if any) is followed by its
                # help text or the end of the line, not by a value
                off = (r"(\s/\s" + re.escape(param.secondary_opts[0]) + ")?"
                       if param.secondary_opts else "")
                assert re.search(re.escape(param.opts[0]) + off + r"(\s{2,}\S|$)", line), \
                    (name, line)
    assert flags_seen >= 4          # --full-refresh and --fail-fast of build and run at least
    assert "--full-refresh  " in _help("build") and "<bool>" not in _help()


def test_version_names_the_package_and_duckdb(cli) -> None:
    code, out, err = cli("--version")
    assert code == 0, err
    assert out.strip() == f"runner {runner.__version__} (DuckDB {duckdb.__version__})"
    assert "--version" in _help()


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(),
                    reason="needs git and a git checkout of the project")
@pytest.mark.parametrize("path", [".venv/bin/python",
                                  "cpo_reports.duckdb.tmp/duckdb_temp_storage-0.tmp"])
def test_git_ignores_the_virtualenv_and_duckdbs_spill_folder(path: str) -> None:
    proc = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
    assert proc.returncode == 0, f"{path} is not ignored by .gitignore"
