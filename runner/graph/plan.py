"""What a command runs: the selected nodes in graph order, the data tests and the unit
tests, with dbt's `test_type:unit|data|generic|singular` in --select and --exclude."""

from __future__ import annotations

from typing import Any

from runner.graph.resource_types import described, resolve
from runner.graph.selection import _split, split_test_types


def split_unit_tests(specs: list[str] | None, unit_tests: list,
                     nodes: dict) -> tuple[list[str] | None, list]:
    """dbt selects a unit test by its name, and by `tag:x` among its config tags: those
    selectors pick the unit tests (a tag that nodes carry too picks the nodes as well).
    Returns the other selectors ([] when none is left) and the unit tests picked."""
    if not specs or not unit_tests:
        return specs, []
    named = {u.name: u for u in unit_tests}
    node_tags = {tag for node in nodes.values() for tag in node.tags}
    rest: list[str] = []
    picked: list = []
    for token in _split(specs):
        if token in named:
            picked.append(named[token])
            continue
        if token.startswith("tag:"):
            tagged = [u for u in unit_tests if token[4:] in u.tags]
            picked += [u for u in tagged if u not in picked]
            if tagged and token[4:] not in node_tags:
                continue
        rest.append(token)
    return rest, picked


def split_data_tests(specs: list[str] | None, tests: list,
                     nodes: dict) -> tuple[list[str] | None, list]:
    """dbt selects a data test by its name as well (`runner test --select assert_x`,
    `--exclude not_null_orders_id`): such a selector picks the test alone, not the nodes
    it reads. Returns the other selectors ([] when none is left) and the tests named."""
    if not specs:
        return specs, []
    named = {t.name: t for t in tests if t.name not in nodes}
    rest: list[str] = []
    picked: list = []
    for token in _split(specs):
        if token in named:
            picked.append(named[token])
        else:
            rest.append(token)
    return rest, picked


def plan(session: Any, command: str, select: list[str] | None,
         exclude: list[str] | None, resource_types: list[str] | None = None,
         exclude_resource_types: list[str] | None = None,
         notes: list[str] | None = None) -> tuple[list[str], list, list]:
    """(nodes in graph order, data tests, unit tests) of a command: those --select and
    --exclude choose, then of those the --resource-type ones less the
    --exclude-resource-type ones (runner.graph.resource_types); what the types leave out
    is counted in a note appended to `notes`."""
    project = session.project
    select, named_units = split_unit_tests(select, project.unit_tests, project.nodes)
    named_data: list = []
    excluded_data: list = []
    if command in ("build", "test"):
        select, named_data = split_data_tests(select, session.tests, project.nodes)
        exclude, excluded_data = split_data_tests(exclude, session.tests, project.nodes)
    node_select, typed = split_test_types(select) if select != [] else ([], [])
    node_exclude, typed_out = split_test_types(exclude)
    node_exclude = node_exclude or None
    order = session.select(node_select, node_exclude) if node_select != [] else []
    data: list = []
    unit: list = []
    if command in ("build", "test"):
        if node_select != []:
            data = session.tests_for(set(order), node_select)
            unit = [u for u in project.unit_tests if u.model in order]
        for rest, kind in typed:
            nodes = set(session.select([rest] if rest else None, node_exclude))
            if kind == "unit":
                unit += [u for u in project.unit_tests if u.model in nodes and u not in unit]
            else:
                data += [t for t in session.tests_for(nodes, [rest] if rest else None)
                         if (kind == "data" or t.kind == kind) and t not in data]
        for rest, kind in typed_out:
            nodes = set(session.select([rest] if rest else None, None))
            if kind == "unit":
                unit = [u for u in unit if u.model not in nodes]
            else:
                data = [t for t in data if not ((kind == "data" or t.kind == kind) and
                                                (rest is None or t.refs & nodes))]
    if command in ("build", "test"):
        unit += [u for u in named_units if u not in unit]
        data += [t for t in named_data if t not in data]
        data = [t for t in data if t not in excluded_data]
    data.sort(key=session.tests.index)
    kept = resolve(command, resource_types, exclude_resource_types)
    if kept is None:
        return order, data, unit
    order, data, unit, left = keep_types(project, command, kept, order, data, unit)
    if left and notes is not None:
        notes.append(f"{described(resource_types, exclude_resource_types)}: "
                     f"{_counted(left)} left out.")
    return order, data, unit


# what each command runs of the nodes it selects (`test` runs none: only their tests)
_RUNS = {"build": ("model", "snapshot", "seed"), "run": ("model",), "seed": ("seed",),
         "snapshot": ("snapshot",)}
_PLURAL = {"model": "models", "snapshot": "snapshots", "seed": "seeds",
           "test": "data tests", "unit_test": "unit tests"}


def runnable(project: Any, command: str, order: list[str]) -> tuple[list[str], list[str]]:
    """The models (and snapshots) and the seeds the command runs of the planned nodes, in
    graph order: what each engine's pipeline executes (an ephemeral model is compiled
    into its children, never run)."""
    runs = _RUNS.get(command, ())
    models = [n for n in order if n in project.models and project.models[n].kind in runs
              and project.models[n].materialized != "ephemeral"]
    seeds = [n for n in order if n in project.seeds] if "seed" in runs else []
    return models, seeds


def publish_configured(project: Any) -> bool:
    """Whether a model or seed has a `publish` config (serving.table_specs' test): what
    a successful build then publishes, on DuckDB (runner.execute.duckdb.run) or on Spark
    (runner.execute.spark.run)."""
    return any(node.config.get("publish") not in (None, False)
               for node in list(project.seeds.values()) + list(project.models.values()))


def keep_types(project: Any, command: str, kept: frozenset[str], order: list[str],
               data: list, unit: list) -> tuple[list[str], list, list, dict[str, int]]:
    """The nodes, data tests and unit tests of the resource types `kept`, and how many
    of each type that would have run were left out. `runner test` runs the tests of the
    nodes it selects, not the nodes: its nodes stay as they are."""
    left: dict[str, int] = {}
    if command != "test":
        for name in order:
            node = project.nodes[name]
            if node.kind not in kept and node.kind in _RUNS.get(command, ()) and \
                    node.materialized != "ephemeral":
                left[node.kind] = left.get(node.kind, 0) + 1
        order = [name for name in order if project.nodes[name].kind in kept]
    if "test" not in kept and data:
        left["test"], data = len(data), []
    if "unit_test" not in kept and unit:
        left["unit_test"], unit = len(unit), []
    return order, data, unit, left


def _counted(left: dict[str, int]) -> str:
    parts = [f"{n} {_PLURAL[kind] if n != 1 else _PLURAL[kind][:-1]}"
             for kind, n in left.items()]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def checks(project: Any, renderer: Any, models: list[str], unit_tests: list,
           existing: dict, warn: Any) -> tuple[dict, Any, dict]:
    """Before anything runs: the contracts' declared types (per model and column), and
    each unit test prepared, its inputs and columns checked against the models (a
    ProjectError otherwise). Returns the types, the unit tester (to close) and the
    prepared tests."""
    from runner.execute.contracts import check_declarations
    contracts = check_declarations([project.models[n] for n in models], project.root, warn)
    tester = None
    if unit_tests:
        from runner.execute.duckdb.unit_tests import UnitTester
        tester = UnitTester(project, renderer, existing)
    try:
        prepared = {u.name: tester.prepare(u) for u in unit_tests} if tester else {}
    except BaseException:
        if tester:
            tester.close()
        raise
    return contracts, tester, prepared
