"""dbt's node selection syntax: `model`, `+model`, `model+`, `2+model`, `tag:x`,
`path:models/staging`, `config.materialized:view`, several separated by spaces (a
union), and `a,b` (an intersection).

A selector whose method and value match no node is an error naming the option, the
selector and the closest existing name, tag, path or value: a misspelt selector would
otherwise build nothing and succeed."""

from __future__ import annotations

import fnmatch
import re
from difflib import get_close_matches
from typing import Callable

from runner.errors import GraphError
from runner.graph.dag import Graph
from runner.project.loader import Node

_SELECTOR = re.compile(r"^(?P<up>\d*\+)?(?P<body>[^+]+?)(?P<down>\+\d*)?$")


Methods = dict[str, Callable[[str], set[str]]]


def select_nodes(nodes: dict[str, Node], graph: Graph, select: list[str] | None,
                 exclude: list[str] | None, methods: Methods | None = None) -> set[str]:
    """`methods`: further selector methods by name (state:, result:, ...), each giving the
    node names a value selects; what they select may be nothing (nothing changed)."""
    chosen = set(nodes) if not select else _union(nodes, graph, select, "--select",
                                                  methods or {})
    if exclude:
        chosen -= _union(nodes, graph, exclude, "--exclude", methods or {})
    return chosen


def _split(specs: list[str]) -> list[str]:
    return [part for spec in specs for part in str(spec).split()]


def _union(nodes: dict[str, Node], graph: Graph, specs: list[str], option: str,
           methods: Methods) -> set[str]:
    result: set[str] = set()
    for spec in _split(specs):
        parts = [_one(nodes, graph, p, option, methods) for p in spec.split(",")]
        result |= set.intersection(*parts)
    return result


def _one(nodes: dict[str, Node], graph: Graph, spec: str, option: str,
         methods: Methods) -> set[str]:
    match = _SELECTOR.match(spec)
    if not match:
        raise GraphError(f"cannot read the selector {spec!r}.",
                         hint="write e.g. my_model, +my_model, my_model+, tag:nightly "
                              "or path:models/staging.")
    body = match["body"]
    method = _split_method(body)[0]
    base = methods[method](_split_method(body)[1]) if method in methods else \
        _method(nodes, body)
    if not base and method not in methods:
        raise _matches_nothing(nodes, body, option)
    result = set(base)
    if match["up"]:
        depth = int(match["up"][:-1]) if len(match["up"]) > 1 else None
        for node in base:
            result |= _within(graph.parents, node, depth)
    if match["down"]:
        depth = int(match["down"][1:]) if len(match["down"]) > 1 else None
        for node in base:
            result |= _within(graph.children, node, depth)
    return {n for n in result if n in nodes}


def _within(edges: dict[str, set[str]], start: str, depth: int | None) -> set[str]:
    seen: set[str] = set()
    frontier = {start}
    level = 0
    while frontier and (depth is None or level < depth):
        frontier = {n for f in frontier for n in edges.get(f, ())} - seen
        seen |= frontier
        level += 1
    return seen


def _method(nodes: dict[str, Node], body: str) -> set[str]:
    method, value, _ = _split_method(body)
    if method == "tag":
        return {n for n, node in nodes.items() if value in node.tags}
    if method == "path":
        value = value.rstrip("/")
        return {n for n, node in nodes.items()
                if node.rel_path == value or node.rel_path.startswith(value + "/")
                or fnmatch.fnmatch(node.rel_path, value)}
    if method.startswith("config."):
        key = method.split(".", 1)[1]
        return {n for n, node in nodes.items() if str(node.config.get(key)) == value}
    if method in ("fqn", "model", "seed", "resource_type"):
        if method == "resource_type":
            return {n for n, node in nodes.items() if node.kind == value}
        return {n for n in nodes if fnmatch.fnmatchcase(n, value)}
    raise GraphError(f"unknown selector method {method!r} in {body!r}.",
                     hint="use tag:, path:, config.<key>: or a model name.")


def _split_method(body: str) -> tuple[str, str, str]:
    """(method, value, prefix as written): `tag:x` -> ("tag", "x", "tag:")."""
    if ":" in body:
        method, value = body.split(":", 1)
        return method, value, method + ":"
    return ("path" if "/" in body else "fqn"), body, ""


def _candidates(nodes: dict[str, Node], method: str) -> set[str]:
    """The values a selector method could have matched: tags, paths and their folders,
    config values, resource types, or node names."""
    if method == "tag":
        return {tag for node in nodes.values() for tag in node.tags}
    if method == "path":
        paths = {node.rel_path for node in nodes.values()}
        return paths | {"/".join(p.split("/")[:i]) for p in paths
                        for i in range(1, p.count("/") + 1)}
    if method.startswith("config."):
        key = method.split(".", 1)[1]
        return {str(node.config.get(key)) for node in nodes.values()
                if node.config.get(key) is not None}
    if method == "resource_type":
        return {node.kind for node in nodes.values()}
    return set(nodes)


def _matches_nothing(nodes: dict[str, Node], body: str, option: str) -> GraphError:
    method, value, prefix = _split_method(body)
    close = get_close_matches(value.rstrip("/"), sorted(_candidates(nodes, method)), n=1,
                              cutoff=0.5)
    what = {"tag": "tag", "path": "path", "resource_type": "resource type"}.get(
        method, "value" if method.startswith("config.") else "model or seed name")
    return GraphError(f"{option} {body!r} matches no model or seed.",
                      hint=f"did you mean {prefix + close[0]!r}?" if close else
                      f"no {what} is like {value!r}; run 'runner ls' to list the models "
                      "and seeds.")


def split_test_types(specs: list[str] | None) -> tuple[list[str] | None,
                                                        list[tuple[str | None, str]]]:
    """dbt's `test_type:unit` and `test_type:data` in --select: the selectors without
    them (None when there is none, i.e. all nodes; [] when every selector names a test
    type), and for each one that does, the rest of its intersection (None: all nodes)
    and the test type. `test_type:data` alone selects every data test."""
    if not specs:
        return None, []
    plain: list[str] = []
    typed: list[tuple[str | None, str]] = []
    for token in _split(specs):
        parts = token.split(",")
        types = [p.split(":", 1)[1] for p in parts if p.startswith("test_type:")]
        rest = ",".join(p for p in parts if not p.startswith("test_type:")) or None
        if not types:
            plain.append(token)
            continue
        for kind in types:
            if kind not in ("unit", "data", "generic", "singular"):
                raise GraphError(f"--select {token!r}: test_type must be unit, data, "
                                 "generic or singular.")
            typed.append((rest, kind))
    return plain, typed
