"""`runner clean`: delete dbt_project.yml's clean-targets (default: target/), never a
folder the project's own files are in, nor one outside the project."""

from __future__ import annotations

import shutil
from pathlib import Path

from runner.errors import ProjectError


def clean(project_dir: str | Path = ".") -> list[Path]:
    """The folders deleted (those that existed)."""
    from runner.project.loader import load_project
    from runner.project.properties import read_yaml
    project = load_project(project_dir, as_package=True)
    root = project.root
    settings = (read_yaml(root / "dbt_project.yml") or {}) \
        if (root / "dbt_project.yml").exists() else {}
    targets = settings.get("clean-targets") or [settings.get("target-path") or "target"]
    if not isinstance(targets, list):
        raise ProjectError("clean-targets must be a list of folders.", path="dbt_project.yml",
                           hint="write e.g. clean-targets: [target, dbt_packages].")
    protected = {(root / p).resolve() for key in ("model-paths", "macro-paths", "seed-paths",
                                                   "test-paths")
                 for p in project.paths[key]} | {root}
    paths = [(root / str(t)).resolve() for t in targets]
    for path in paths:
        if path in protected or any(p.is_relative_to(path) for p in protected):
            raise ProjectError(f"clean-targets names {path}, which holds the project's own "
                               "files; nothing was deleted.", path="dbt_project.yml",
                               hint="list only generated folders, e.g. target and "
                                    "dbt_packages.")
        if not path.is_relative_to(root):
            raise ProjectError(f"clean-targets names {path}, outside the project {root}; "
                               "nothing was deleted.", path="dbt_project.yml")
    removed = [p for p in paths if p.exists()]
    for path in removed:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return removed
