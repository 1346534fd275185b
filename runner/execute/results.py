"""A node's result: what running one model, seed, snapshot or test did (dbt-core keeps its
run results in dbt/artifacts/schemas/results.py), and the results both engines' executors
make of a compiled model: built, failed with the engine's error, or refused before its
table changed. A run's results together are runner.artifacts.run_results.RunResult."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.errors import NotBuilt

if TYPE_CHECKING:
    from runner.jinja.compile import Compiled
    from runner.project.loader import Node


@dataclass
class NodeResult:
    name: str
    kind: str                      # model | seed | test
    status: str                    # success | error | skipped | pass | fail | warn
    message: str = ""
    seconds: float = 0.0
    db_seconds: float = 0.0        # time DuckDB spent executing
    rows: int | None = None
    failures: int | None = None
    sample: list[dict[str, Any]] = field(default_factory=list)
    materialized: str | None = None
    path: str | None = None
    compiled_path: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("success", "pass", "warn")


def model_result(item: Compiled) -> tuple[Node, NodeResult]:
    """A compiled model's node and its result, a success until something fails."""
    node = item.node
    assert node is not None
    return node, NodeResult(node.name, node.kind, "success", materialized=node.materialized,
                            path=node.rel_path, compiled_path=str(item.compiled_path)
                            if item.compiled_path else None)


def model_failed(result: NodeResult, engine: str, item: Compiled, error: str) -> None:
    """The model's result as an error of the engine's, naming its compiled SQL."""
    node = item.node
    assert node is not None
    result.status = "error"
    where = f" Compiled SQL: {item.compiled_path}." if item.compiled_path else ""
    result.message = (f"{engine} failed running {node.kind} {node.name} ({node.rel_path}): "
                      f"{first_lines(error)}.{where} Its previous version, if any, is "
                      "unchanged.")


def not_built(result: NodeResult, node: Node, why: str) -> NodeResult:
    """A model refused before its table changed (its contract failed)."""
    result.status = "error"
    result.message = (f"{why}\n  Model {node.name} ({node.rel_path}) was not built; its "
                      "previous version, if any, is unchanged.")
    return result


def plain(value: Any) -> Any:
    """A fetched value as a result keeps it: a number, text, bool or None as it is,
    anything else (a date, a decimal) as its text."""
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def first_lines(message: str, n: int = 3) -> str:
    """DuckDB's message on one line: its first lines, without the caret line that points
    into the SQL and without runs of spaces (the compiled SQL's path is given beside)."""
    lines = [" ".join(line.split()) for line in message.strip().splitlines()]
    lines = [line for line in lines if line and set(line) != {"^"}]
    return " ".join(lines[:n]).rstrip(".")


def refuse_dropped_columns(node: Node, table_columns: list[str], returned: list[str],
                           relation: str) -> None:
    """An incremental build inserts by name: a column of the table that the model no
    longer returns would be NULL in every new row, unsaid. As dbt's incremental models
    with on_schema_change 'ignore' (whose insert then fails), the model stops (NotBuilt,
    its table as it was), on every engine, with the same words."""
    have = {c.lower() for c in returned}
    gone = [c for c in table_columns if c.lower() not in have]
    if gone:
        raise NotBuilt(
            f"model {node.name} no longer returns column{'s' if len(gone) > 1 else ''} "
            f"{', '.join(gone)} of its table {relation}, and an incremental build does not "
            "drop columns (the new rows would hold NULL there). If its columns changed "
            "since its table was built, rebuild it once with --full-refresh.")
