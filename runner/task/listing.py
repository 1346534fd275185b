"""`runner ls --output selector|name|path|json --resource-type ...`: dbt's list task over
the manifest's sources, models, seeds, snapshots, data tests and unit tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from runner.errors import OptionError

OUTPUTS = ("selector", "name", "path", "json")
# dbt's default keys of `ls --output json`
JSON_KEYS = ("alias", "name", "package_name", "depends_on", "tags", "config",
             "resource_type", "source_name", "original_file_path", "unique_id")


def list_resources(project_dir: str | Path, select: list[str] | None,
                   exclude: list[str] | None, vars: dict | None,
                   resource_types: list[str] | None, state: str | Path | None = None,
                   on_warning: Callable[[str], None] | None = None,
                   exclude_resource_types: list[str] | None = None) -> list[dict[str, Any]]:
    """The selected resources' manifest entries, in build order, tests after their
    models and sources first. A source is listed when nothing is selected or a
    `source:NAME` / `source:NAME.TABLE` selector names it. `resource_types` and
    `exclude_resource_types`: dbt's (runner.graph.resource_types; without either, dbt's
    default types of `ls`)."""
    from runner.graph.plan import split_unit_tests
    from runner.graph.resource_types import DEFAULTS, resolve
    from runner.session import Session
    from runner.artifacts.manifest import Ids
    types = resolve("ls", resource_types, exclude_resource_types)
    types = DEFAULTS["ls"][0] if types is None else types
    specs = [part for spec in (select or []) for part in str(spec).split()]
    wanted = [s.split(":", 1)[1].rstrip("+") for s in specs if s.startswith("source:")]
    others = [s for s in specs if not s.startswith("source:")]
    session = Session(project_dir, vars, on_warning=on_warning, state=state)
    manifest = session.write_artifacts(session.db_path)
    ids = Ids(session)
    out: list[dict[str, Any]] = []
    for key, uid in ids.sources.items():
        if not specs or any(w in (key[0], f"{key[0]}.{key[1]}") for w in wanted):
            out.append(manifest["sources"][uid])
    project = session.project
    rest, named_units = split_unit_tests(others, project.unit_tests, project.nodes)
    chosen = session.select(rest, exclude) if rest or not specs else []
    out += [manifest["nodes"][ids.nodes[name]] for name in chosen]
    out += [manifest["nodes"][ids.tests[t.name]]
            for t in session.tests_for(set(chosen), rest)]
    units = [u for u in project.unit_tests if u.model in chosen]
    out += [manifest["unit_tests"][ids.unit_tests[u.name]]
            for u in units + [u for u in named_units if u not in units]]
    return [entry for entry in out if entry["resource_type"] in types]


def render(entry: dict[str, Any], output: str) -> str:
    if output not in OUTPUTS:
        raise OptionError(f"--output {output!r} is not one of {', '.join(OUTPUTS)}.")
    if output == "name":
        return entry["name"]
    if output == "path":
        return entry["original_file_path"]
    if output == "json":
        return json.dumps({k: entry[k] for k in JSON_KEYS if k in entry})
    if entry["resource_type"] == "unit_test":
        return f"unit_test:{entry['package_name']}.{entry['name']}"
    if entry["resource_type"] == "source":
        return f"source:{entry['package_name']}.{entry['source_name']}.{entry['name']}"
    return ".".join(entry["fqn"])
