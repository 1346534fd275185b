"""`--state DIR`: a previous run's target/ folder (its manifest.json, run_results.json and
sources.json), for dbt's `state:`, `result:` and `source_status:` selectors and --defer.

    state:new                 nodes the previous manifest did not have
    state:modified            new, or changed in body, configs, contract or the macros
                              they call (dbt's sub-selectors: state:modified.body,
                              .configs, .contract, .macros, .relation)
    result:<status>           nodes whose previous result was error, fail, warn, pass,
                              success or skipped (a data test selects the models it tests)
    source_status:fresher     models that read a source whose newest row (or raw file) is
                              newer now (target/sources.json) than in the state's
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from runner.errors import GraphError, OptionError

MODIFIED = ("body", "configs", "contract", "macros", "relation")
RESULTS = ("error", "fail", "warn", "pass", "success", "skipped")


def _read(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OptionError(f"--state: cannot read {path}: {exc}.",
                          hint="pass the target/ folder of a finished run.") from None


class State:
    """A previous run's artifacts."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise OptionError(f"--state {self.folder} is not a folder.",
                              hint="pass the target/ folder of a previous run (copy it "
                                   "aside before the next run writes over it).")
        self.manifest = _read(self.folder / "manifest.json")
        if self.manifest is None:
            raise OptionError(f"--state {self.folder} holds no manifest.json.",
                              hint="pass the target/ folder of a previous run.")
        self.results = _read(self.folder / "run_results.json")
        self.sources = _read(self.folder / "sources.json")

    @property
    def db_path(self) -> Path | None:
        """The database file the previous run built (its --db)."""
        db = ((self.results or {}).get("args") or {}).get("db")
        return Path(db) if db else None


def _config(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (node.get("config") or {}).items() if k != "contract"}


def _contract(node: dict[str, Any]) -> Any:
    contract = (node.get("config") or {}).get("contract") or {}
    columns = {name: col.get("data_type") for name, col in (node.get("columns") or {}).items()}
    return contract, columns if contract.get("enforced") else None


def _macro_closure(manifest: dict[str, Any], start: list[str]) -> dict[str, str]:
    """Every macro reached from `start` through the macros' own calls, with its text."""
    macros = manifest.get("macros") or {}
    seen: dict[str, str] = {}
    todo = list(start)
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        macro = macros.get(uid) or {}
        seen[uid] = macro.get("macro_sql", "")
        todo += (macro.get("depends_on") or {}).get("macros") or []
    return seen


def modified(current: dict[str, Any], previous: dict[str, Any], how: str) -> set[str]:
    """unique_ids of the current manifest's models and seeds modified since `previous`;
    `how`: "" (any way, new nodes too) or one of MODIFIED."""
    out = set()
    for uid, node in current["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        old = previous["nodes"].get(uid)
        if old is None:
            if not how:
                out.add(uid)
            continue
        checks = {
            "body": lambda: node["checksum"] != old.get("checksum"),
            "configs": lambda: _config(node) != _config(old),
            "contract": lambda: _contract(node) != _contract(old),
            "relation": lambda: (node.get("schema"), node.get("alias")) !=
                                (old.get("schema"), old.get("alias")),
            "macros": lambda: _macro_closure(current, node["depends_on"].get("macros", []))
                              != _macro_closure(previous, node["depends_on"].get("macros", [])),
        }
        if any(checks[k]() for k in ([how] if how else MODIFIED)):
            out.add(uid)
    return out


def selector_methods(state: State | None, session: Any) -> dict[str, Callable[[str], set[str]]]:
    """The selector methods that read --state, for runner.graph.selection; each returns
    the runner's node names (models and seeds)."""
    cache: dict[str, Any] = {}

    def need(method: str, value: str) -> State:
        if state is None:
            raise GraphError(f"the selector '{method}:{value}' compares with a previous run, "
                             "and no --state was given.",
                             hint="pass --state with a previous run's target/ folder, e.g. "
                                  "copy target/ to prod-target/ and pass --state prod-target.")
        return state

    def current() -> dict[str, Any]:
        if "manifest" not in cache:
            from runner.artifacts.manifest import build_manifest
            cache["manifest"] = build_manifest(session, session.db_path,
                                               session.invocation_id)
        return cache["manifest"]

    def names(uids: set[str]) -> set[str]:
        nodes = current()["nodes"]
        out: set[str] = set()
        for uid in uids:
            node = nodes.get(uid)
            if node is None:
                continue
            if node["resource_type"] == "test":      # a test: the models it tests
                out |= {nodes[u]["name"] for u in node["depends_on"]["nodes"] if u in nodes}
            else:
                out.add(node["name"])
        return out & set(session.project.nodes)

    def state_method(value: str) -> set[str]:
        previous = need("state", value).manifest
        kind, _, how = value.partition(".")
        if kind == "new" and not how:
            return names(set(current()["nodes"]) - set(previous["nodes"]))
        if kind == "modified" and (not how or how in MODIFIED):
            return names(modified(current(), previous, how))
        raise GraphError(f"unknown state selector 'state:{value}'.",
                         hint="use state:new, state:modified or state:modified."
                              + "|".join(MODIFIED) + ".")

    def result_method(value: str) -> set[str]:
        if value not in RESULTS:
            raise GraphError(f"unknown result selector 'result:{value}'.",
                             hint="use result:" + ", result:".join(RESULTS) + ".")
        results = need("result", value).results
        if results is None:
            raise OptionError(f"--state {state.folder} holds no run_results.json, which "
                              f"result:{value} reads.", hint="pass the target/ folder of a "
                                                             "previous build, run or test.")
        return names({r["unique_id"] for r in results.get("results", [])
                      if r.get("status") == value})

    def source_status_method(value: str) -> set[str]:
        if value != "fresher":
            raise GraphError(f"unknown selector 'source_status:{value}'.",
                             hint="use source_status:fresher.")
        old = need("source_status", value).sources
        new = _read(session.target / "sources.json")
        if old is None or new is None:
            where = state.folder if old is None else session.target
            raise OptionError(f"source_status:fresher compares two sources.json files and "
                              f"{where} holds none.",
                              hint="run 'runner source freshness' before each build, and "
                                   "pass --state with the previous one's target/.")
        before = {r["unique_id"]: r.get("max_loaded_at") for r in old.get("results", [])}
        fresher = {r["unique_id"] for r in new.get("results", [])
                   if r.get("max_loaded_at") and
                   (before.get(r["unique_id"]) is None or
                    r["max_loaded_at"] > before[r["unique_id"]])}
        children = current()["child_map"]
        return names({c for uid in fresher for c in children.get(uid, [])})

    return {"state": state_method, "result": result_method,
            "source_status": source_status_method}
