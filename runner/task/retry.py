"""`runner retry`: run the last build, run, test or seed again (its options, database
and raw folder, from target/run_results.json) for the nodes that failed, errored or were
skipped. A failed data test reruns with the models it tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.errors import OptionError

RETRIED = {"error", "fail", "skipped", "runtime error"}


def retry_plan(project_dir: str | Path) -> tuple[str, dict[str, Any], list[str]]:
    """(command, its options, the node names to select); no names: nothing to retry."""
    target = Path(project_dir).resolve() / "target"
    path = target / "run_results.json"
    if not path.exists():
        raise OptionError(f"nothing to retry: {path} does not exist.",
                          hint="retry reruns what the last build, run, test or seed left "
                               "failed; run one first.")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        args, rows = results["args"], results["results"]
    except (OSError, ValueError, KeyError) as exc:
        raise OptionError(f"cannot read {path}: {exc}.",
                          hint="run the build again; it rewrites the file.") from None
    command = args.get("which")
    manifest_path = target / "manifest.json"
    nodes = json.loads(manifest_path.read_text())["nodes"] if manifest_path.exists() else {}
    names: set[str] = set()
    for row in rows:
        if row.get("status") not in RETRIED:
            continue
        uid = row["unique_id"]
        if uid.startswith("operation."):
            continue          # a project hook: it runs again with the command, as in dbt
        node = nodes.get(uid)
        if uid.startswith("test.") and node is not None:
            names |= {nodes[u]["name"] for u in node["depends_on"]["nodes"] if u in nodes}
        elif not uid.startswith("test."):
            names.add(node["name"] if node else uid.split(".", 2)[2])
    if names and command not in ("build", "run", "test", "seed"):
        raise OptionError(f"the last run_results.json is of '{command}', which retry does "
                          "not rerun.", hint="retry follows build, run, test and seed.")
    return command, args, sorted(names)


def retry(project_dir: str | Path = ".", **kwargs: Any):
    """The RunResult of the rerun, or None when the last run left nothing to retry."""
    from runner.api import execute
    command, args, names = retry_plan(project_dir)
    if not names:
        return None
    return execute(command, project_dir, raw_dir=args.get("raw_dir"), db_path=args.get("db"),
                   vars=args.get("vars") or {}, select=names,
                   full_refresh=bool(args.get("full_refresh")),
                   empty=bool(args.get("empty")), threads=args.get("threads"),
                   state=args.get("state"), defer=bool(args.get("defer")),
                   resource_types=args.get("resource_types") or None,
                   exclude_resource_types=args.get("exclude_resource_types") or None,
                   **kwargs)
