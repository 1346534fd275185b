"""dbt's command-line flags that the runner takes as dbt does, or accepts and says it does
not act on; --target and profiles.yml: runner.engines.profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ProfilesDir = Annotated[Optional[Path], typer.Option(
    "--profiles-dir", help="The folder of profiles.yml (dbt's; default $DBT_PROFILES_DIR, "
    "else the project folder). build, run, seed, test, compile, export, report.")]
Target = Annotated[Optional[str], typer.Option(
    "--target", "-t", help="dbt's: an output of profiles.yml; without one, `spark` (a "
    "local Spark session) or `duckdb` (the default, --db). build, run, seed, test, compile, "
    "export, report.")]
Profile = Annotated[Optional[str], typer.Option(
    "--profile", help="The profile of profiles.yml (dbt's; default its only one).")]
TargetPath = Annotated[Optional[Path], typer.Option(
    "--target-path", help="Where target/ goes (run_results.json, compiled/), from the "
                          "project folder, as dbt's.")]
# text, checked by threads_number: a number option would make typer import pydantic on
# every command that has one (tests/test_import_cost.py)
Threads = Annotated[Optional[str], typer.Option(
    "--threads", metavar="N", help="DuckDB's worker threads for each query (dbt's "
    "--threads; default: the cores; nodes still run one at a time, see the README).")]


def threads_number(text: str | None) -> int | None:
    """--threads as a number of at least 1 (a usage error, exit 2, otherwise)."""
    if text is None:
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise typer.BadParameter(f"{text!r} is not a whole number of at least 1.",
                                 param_hint="'--threads'")
    return int(text)


def dbt_flags(profiles_dir: Path | None = None, target: str | None = None,
              profile: str | None = None) -> None:
    """dbt's connection flags on a command that runs on no engine (or not on Spark
    yet): accepted, and said not to be acted on."""
    for flag, value in (("--profiles-dir", profiles_dir), ("--target", target),
                        ("--profile", profile)):
        if value is not None:
            typer.echo(f"warning: {flag} {value} is not acted on by this command: only "
                       "build, run, seed, test, compile, show, export and publish choose "
                       "an engine; "
                       "this one runs as without it.", err=True)


_MULTI = {"--select", "-s", "--exclude", "--models", "-m", "--resource-type",
          "--resource-types", "--exclude-resource-type", "--exclude-resource-types"}


def dbt_argv(argv: list[str]) -> list[str]:
    """dbt's `--select a b c`: the words after --select or --exclude (or a resource
    type option), up to the next option, are one value (the runner's `--select "a b c"`)."""
    out: list[str] = []
    words: list[str] | None = None
    for arg in argv:
        if words is not None and not arg.startswith("-"):
            words.append(arg)
            continue
        if words:
            out.append(" ".join(words))
        words = [] if arg in _MULTI else None
        out.append(arg)
    if words:
        out.append(" ".join(words))
    return out
