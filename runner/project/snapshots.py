"""Snapshots, as dbt reads them: `{% snapshot name %} ... {% endsnapshot %}` blocks in the
SQL files of `snapshot-paths` (default `snapshots/`), and the YAML form of dbt 1.9:

    snapshots:
      - name: stations_snapshot
        relation: source('raw', 'stations')      # or ref('stg_stations')
        config: {unique_key: station_id, strategy: check, check_cols: all}

A snapshot is a node of kind "snapshot", kept among the models (it is rendered, selected
and ordered like one); runner/execute/snapshots.py holds its rules, and each engine's
snapshots module (runner/execute/duckdb/, runner/execute/spark/) materializes it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runner.errors import ProjectError
from runner.project.nodes import Node

_BLOCK = re.compile(r"\{%-?\s*snapshot\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%\}(.*?)"
                    r"\{%-?\s*endsnapshot\s*-?%\}", re.S)
_OPEN = re.compile(r"\{%-?\s*snapshot\b")


def read_snapshot_files(root: Path, dirs: list[Path], models: dict[str, Node]) -> None:
    """Every snapshot block of the .sql files below `dirs`, into `models`."""
    for base in dirs:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.sql")):
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(root).as_posix()
            blocks = list(_BLOCK.finditer(text))
            if len(blocks) != len(_OPEN.findall(text)):
                raise ProjectError("a {% snapshot %} block is not closed by "
                                   "{% endsnapshot %}.", path=rel,
                                   hint="write {% snapshot name %} select ... "
                                        "{% endsnapshot %}.")
            for match in blocks:
                # the block's body keeps its line numbers in the file
                body = "\n" * text.count("\n", 0, match.start(2)) + match.group(2)
                _add(models, Node("snapshot", match.group(1), path, rel, raw_sql=body,
                                  config={"materialized": "snapshot"}))


def yaml_snapshot(entry: dict[str, Any], path: Path, root: Path, models: dict[str, Node],
                  line: int | None) -> None:
    """A snapshot of dbt 1.9's YAML form: `relation` is a ref() or source() call."""
    rel = path.relative_to(root).as_posix()
    relation = str(entry.get("relation") or "").strip()
    if not re.fullmatch(r"(ref|source)\(.*\)", relation):
        raise ProjectError(f"snapshot {entry['name']!r} has relation {relation!r}; write "
                           "ref('model') or source('source', 'table').", path=rel, line=line)
    _add(models, Node("snapshot", str(entry["name"]), path, rel,
                      raw_sql=f"select * from {{{{ {relation} }}}}",
                      config={"materialized": "snapshot"}))


def _add(models: dict[str, Node], node: Node) -> None:
    if node.name in models:
        raise ProjectError(f"two models or snapshots are named {node.name!r}: "
                           f"{models[node.name].rel_path} and {node.rel_path}.",
                           path=node.rel_path, hint="rename one of them.")
    models[node.name] = node
