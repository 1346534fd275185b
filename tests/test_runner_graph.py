"""The dependency graph: upstream, downstream, a stable build order, cycles named."""

from __future__ import annotations

import pytest

from runner.api import build, list_nodes
from runner.errors import GraphError
from runner.graph.dag import Graph


def test_upstream_downstream_and_order() -> None:
    graph = Graph({"c": {"b"}, "b": {"a"}, "d": {"a"}, "a": set(), "e": set()})
    assert graph.upstream("c") == {"a", "b"}
    assert graph.downstream("a") == {"b", "c", "d"}
    assert graph.topological_order() == ["a", "b", "c", "d", "e"]


def test_the_order_puts_every_parent_first() -> None:
    parents = {f"m{i}": {f"m{j}" for j in range(i) if (i * j) % 3 == 1} for i in range(12)}
    order = Graph(parents).topological_order()
    assert sorted(order) == sorted(parents)
    position = {name: i for i, name in enumerate(order)}
    assert all(position[p] < position[n] for n, ps in parents.items() for p in ps)


def test_a_cycle_is_named() -> None:
    graph = Graph({"a": {"c"}, "b": {"a"}, "c": {"b"}, "x": set()})
    with pytest.raises(GraphError) as info:
        graph.topological_order()
    cycle = graph.find_cycle()
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert " -> ".join(cycle) in str(info.value)


def test_a_cycle_of_models_stops_the_build(make_project, cli) -> None:
    root = make_project({
        "models/orders.sql": "select * from {{ ref('payments') }}",
        "models/payments.sql": "select * from {{ ref('orders') }}",
        "models/fine.sql": "select 1 as x",
    })
    with pytest.raises(GraphError, match="cycle"):
        list_nodes(root)
    db = root / "db.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 2
    assert "orders -> payments -> orders" in err or "payments -> orders -> payments" in err
    assert "Traceback" not in out + err
    assert not db.exists()


def test_a_self_reference_outside_is_incremental_is_a_cycle(make_project) -> None:
    root = make_project({"models/m.sql": "select * from {{ ref('m') }}"})
    with pytest.raises(GraphError, match="m -> m"):
        build(root, db_path=root / "db.duckdb")
