"""target/run_results.json: what a run did, node by node (status, timing, rows), with
its notes and warnings."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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
                "results": [asdict(n) for n in self.nodes]}


def write_run_results(target: Path, result: RunResult) -> None:
    target.mkdir(parents=True, exist_ok=True)
    out = target / "run_results.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=2, default=str), encoding="utf-8")
    tmp.replace(out)
