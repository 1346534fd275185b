"""The options the `runner` commands share, and --vars' reading."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from runner.errors import RunnerError

ProjectDir = Annotated[Path, typer.Option("--project-dir", help="The project folder.")]
Db = Annotated[Optional[Path], typer.Option(
    "--db", help="The DuckDB file (default: <project>/<name>.duckdb).")]
RawDir = Annotated[Optional[Path], typer.Option(
    "--raw-dir", help="The raw landing zone (default: <project>/data/raw, else the sample).")]
Select = Annotated[Optional[list[str]], typer.Option(
    "--select", "-s", "--models", "-m",
    help="dbt selectors: model, +model, model+, tag:x, path:models/x (several: "
         "-s 'a b' or -s a b).")]
Exclude = Annotated[Optional[list[str]], typer.Option(
    "--exclude", help="Selectors to leave out.")]
Vars = Annotated[Optional[str], typer.Option(
    "--vars", help="YAML mapping of vars, e.g. '{report_time: 2024-10-01T00:00:00Z}'.")]
FullRefresh = Annotated[bool, typer.Option(
    "--full-refresh", help="Rebuild incremental models from scratch.")]
FailFast = Annotated[bool, typer.Option(
    "--fail-fast", "-x", help="Stop at the first failing node.")]
MemoryLimit = Annotated[Optional[str], typer.Option(
    "--memory-limit", help="DuckDB memory limit, e.g. 8GB (spills to disk beyond it).")]


def _vars(text: str | None) -> dict:
    if not text:
        return {}
    import yaml

    class TextTimestamps(yaml.SafeLoader):
        """YAML, with dates and instants kept as text: each is read on its own below, so
        that one that is not in the calendar (2024-13-45) names its var."""
    TextTimestamps.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    try:
        value = yaml.load(text, Loader=TextTimestamps)
    except yaml.YAMLError as exc:
        raise RunnerError(f"--vars is not valid YAML: {str(exc).splitlines()[0]}.",
                          hint="write a mapping, e.g. --vars '{report_time: 2024-10-01}'.")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RunnerError("--vars must be a YAML mapping, e.g. '{report_time: 2024-10-01}'.")
    out = {}
    for key, item in value.items():
        if isinstance(item, str):
            try:
                read = yaml.safe_load(item) if item.strip() else item
            except yaml.YAMLError:
                read = item
            except ValueError as exc:     # written as a date, but no such day or time
                raise RunnerError(
                    f"--vars {key}: {item!r} is written as a date but is not one in the "
                    f"calendar ({exc}); nothing was run.",
                    hint="pass an existing day, e.g. --vars '{report_time: "
                         "2024-10-01T00:00:00Z}'.")
            item = read if hasattr(read, "isoformat") else item
        out[str(key)] = item.isoformat() if hasattr(item, "isoformat") else item
    return out


Empty = Annotated[bool, typer.Option(
    "--empty", help="Build every model with zero rows (refs and sources read nothing): "
                    "checks the SQL and the schemas quickly.")]
State = Annotated[Optional[Path], typer.Option(
    "--state", help="A previous run's target/ folder, for state: and result: selectors "
                    "and --defer.")]
Defer = Annotated[bool, typer.Option(
    "--defer", help="Read unselected parents missing here from --state's relations.")]
# dbt's: repeated, several after one flag, or space-separated in the env var (the flag wins
# over the env var); checked by runner.graph.resource_types, which applies them.
ResourceType = Annotated[Optional[list[str]], typer.Option(
    "--resource-type", "--resource-types", envvar="DBT_RESOURCE_TYPES",
    help="Keep only these resource types of what --select chose: model, seed, snapshot, "
         "test, unit_test, source (ls), all, default; dbt's others (exposure, metric, "
         "...) select nothing. Repeat it or give several after it.")]
ExcludeResourceType = Annotated[Optional[list[str]], typer.Option(
    "--exclude-resource-type", "--exclude-resource-types",
    envvar="DBT_EXCLUDE_RESOURCE_TYPES",
    help="Leave out these resource types, after --resource-type, e.g. unit_test in "
         "production builds.")]
