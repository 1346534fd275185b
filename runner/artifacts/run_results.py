"""What a run did, node by node: target/run_results.json in dbt's run-results v6 shape
(what dbt 1.11 writes, for tools that read dbt's artifacts and for `runner retry` and the
`result:` selectors), and target/runner_results.json, the runner's own record (rows,
DuckDB time, failing rows' sample, notes and warnings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import RunnerError


@dataclass
class RunResult:
    command: str
    nodes: list = field(default_factory=list)
    started_at: str = ""
    seconds: float = 0.0
    db_seconds: float = 0.0
    db_path: str | None = None
    raw_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    published: Any = None             # a publish.serving.PublishResult, after a build
    publish_error: RunnerError | None = None
    finished: list[dt.datetime] = field(default_factory=list)   # when each node ended
    invocation_id: str = ""
    args: dict[str, Any] = field(default_factory=dict)          # the command's options
    stopped: str | None = None        # why the run stopped before its end (a lost server)

    @property
    def ok(self) -> bool:
        return all(n.status not in ("error", "fail", "skipped") for n in self.nodes)

    @property
    def runner_seconds(self) -> float:
        """Wall time spent outside DuckDB's execution of SQL."""
        return self.seconds - self.db_seconds

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for node in self.nodes:
            out[node.status] = out.get(node.status, 0) + 1
        return out

    def summary(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts().items()))
        lines = [f"{self.command}: {len(self.nodes)} nodes in {self.seconds:.2f}s "
                 f"({counts or 'nothing to do'})"]
        for node in self.nodes:
            if node.status in ("error", "fail", "warn", "skipped"):
                lines.append(f"  {node.status.upper():7} {node.kind} {node.name}: {node.message}")
                for row in node.sample:
                    lines.append(f"            {row}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "started_at": self.started_at,
                "seconds": round(self.seconds, 4), "db_seconds": round(self.db_seconds, 4),
                "ok": self.ok, "db_path": self.db_path, "raw_dir": self.raw_dir,
                "counts": self.counts(), "notes": self.notes, "warnings": self.warnings,
                "stopped": self.stopped, "results": [dict(vars(n)) for n in self.nodes]}


RUN_RESULTS_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"


class Emitter:
    """Each node's outcome, as it comes, into the run's result (with the time it finished)
    and to `on_result(node_result, done, total)`; with --fail-fast, the first failure's
    reason is kept in `stop`, which skips the rest."""

    def __init__(self, result: RunResult, on_result: Any, total: int, fail_fast: bool):
        self.result, self.on_result = result, on_result
        self.total, self.fail_fast = total, fail_fast
        self.stop: list[str] = []

    def __call__(self, node_result: Any) -> None:
        self.result.nodes.append(node_result)
        self.result.finished.append(dt.datetime.now(dt.timezone.utc))
        if self.on_result:
            self.on_result(node_result, len(self.result.nodes), self.total)
        if self.fail_fast and not node_result.ok and not self.stop:
            self.stop.append(f"--fail-fast: stopped after {node_result.kind} "
                             f"{node_result.name} failed")


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dbt_run_results(result: RunResult, unique_id, manifest: dict) -> dict[str, Any]:
    """run_results.json as dbt writes it; `unique_id(kind, name)` names each node in the
    run's `manifest` (which gives its relation and compiled SQL)."""
    from runner.artifacts.manifest import DBT_VERSION
    results = []
    now = dt.datetime.now(dt.timezone.utc)
    for index, node in enumerate(result.nodes):
        end = result.finished[index] if index < len(result.finished) else now
        start = end - dt.timedelta(seconds=node.seconds)
        uid = unique_id(node.kind, node.name)
        entry = manifest["nodes"].get(uid, {})
        adapter: dict[str, Any] = {}
        if node.status not in ("skipped", "error"):
            adapter = {"_message": node.message or "OK", "code": "OK"}
            if node.rows is not None:
                adapter["rows_affected"] = node.rows
        results.append({
            "status": node.status,
            "timing": [] if node.status == "skipped" else
            [{"name": "compile", "started_at": _stamp(start), "completed_at": _stamp(start)},
             {"name": "execute", "started_at": _stamp(start), "completed_at": _stamp(end)}],
            "thread_id": "main" if node.kind == "operation" else "Thread-1",
            "execution_time": round(node.seconds, 6),
            "adapter_response": adapter, "message": node.message or None,
            "failures": node.failures, "unique_id": uid,
            "compiled": node.kind != "seed" and node.status != "skipped",
            "compiled_code": entry.get("compiled_code"),
            "relation_name": entry.get("relation_name") if node.kind == "model" else None,
            "batch_results": None})
    return {
        "metadata": {"dbt_schema_version": RUN_RESULTS_SCHEMA, "dbt_version": DBT_VERSION,
                     "generated_at": _stamp(now), "invocation_id": result.invocation_id,
                     "invocation_started_at": result.started_at.replace("+00:00", "Z"),
                     "env": {}},
        "results": results, "elapsed_time": round(result.seconds, 6),
        "args": {"which": result.command, "invocation_command":
                 "runner " + result.command, **result.args}}


def write_run_results(target: Path, result: RunResult, unique_id=None,
                      manifest: dict | None = None) -> None:
    """target/runner_results.json, and target/run_results.json in dbt's shape where the
    nodes' unique_ids are known."""
    from runner.artifacts.manifest import write_json
    write_json(target / "runner_results.json", result.to_json(), indent=2)
    if unique_id is not None:
        write_json(target / "run_results.json",
                   dbt_run_results(result, unique_id, manifest or {"nodes": {}}))
