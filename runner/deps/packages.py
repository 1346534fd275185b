"""dbt packages: `packages.yml` / `dependencies.yml`, `runner deps` (local packages linked
into dbt_packages/ as dbt does, copied where a link cannot be made; git packages cloned),
and the installed packages' models, seeds, tests and macros joined to the project; and
the project's `dispatch:` search orders."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from runner.errors import ProjectError
from runner.project.properties import read_yaml

DEFAULT_INSTALL_PATH = "dbt_packages"


def install_path(root: Path, settings: dict[str, Any]) -> Path:
    return root / str(settings.get("packages-install-path") or DEFAULT_INSTALL_PATH)


def read_dispatch(settings: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """dbt_project.yml's `dispatch:`, checked: a list of {macro_namespace, search_order}."""
    entries = settings.get("dispatch")
    if entries is None:
        return []
    hint = ("write it as dbt does: dispatch: [{macro_namespace: dbt_utils, "
            "search_order: [my_project, dbt_utils]}].")
    if not isinstance(entries, list):
        raise ProjectError("'dispatch' must be a list of {macro_namespace, search_order}.",
                           path=path, hint=hint)
    checked = []
    for index, entry in enumerate(entries, 1):
        order = entry.get("search_order") if isinstance(entry, dict) else None
        namespace = entry.get("macro_namespace") if isinstance(entry, dict) else None
        if not isinstance(namespace, str) or not isinstance(order, list) \
                or not all(isinstance(p, str) for p in order):
            raise ProjectError(f"dispatch entry {index} needs 'macro_namespace' (a package "
                               f"name) and 'search_order' (a list of package names).",
                               path=path, hint=hint)
        checked.append({"macro_namespace": namespace, "search_order": list(order)})
    return checked


def read_package_specs(root: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The `packages:` entries of packages.yml or dependencies.yml (file name, entries)."""
    specs: dict[str, list] = {}
    for name in ("packages.yml", "dependencies.yml"):
        path = root / name
        doc = (read_yaml(path) or {}) if path.exists() else {}
        entries = doc.get("packages") if isinstance(doc, dict) else None
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ProjectError("'packages' must be a list of entries (local:, git: or "
                               "package:).", path=name)
        specs[name] = entries
    if len(specs) > 1:
        raise ProjectError("packages are listed in both packages.yml and dependencies.yml.",
                           path="dependencies.yml",
                           hint="keep them in one of the two files, as dbt requires.")
    return next(iter(specs.items()), (None, []))


def _describe(spec: dict[str, Any]) -> tuple[str, str]:
    for kind in ("local", "git", "package", "tarball", "private"):
        if kind in spec:
            return kind, str(spec[kind])
    return "unknown", str(spec)


def install(root: Path, settings: dict[str, Any],
            cli_vars: dict[str, Any] | None = None) -> list[tuple[str, Path, str]]:
    """`runner deps`: see runner/deps/install.py."""
    from runner.deps.install import install as install_all
    return install_all(root, settings, cli_vars)


def _package_name(folder: Path, what: str, file_name: str) -> str:
    project_file = folder / "dbt_project.yml"
    if not project_file.is_file():
        raise ProjectError(f"{what} has no dbt_project.yml (looked in {folder}).",
                           path=file_name, hint="point the entry at the package's folder "
                                                "(for git: its subdirectory:).")
    settings = read_yaml(project_file) or {}
    name = str(settings.get("name") or "") if isinstance(settings, dict) else ""
    if not name:
        raise ProjectError("the package's dbt_project.yml has no 'name'.",
                           path=str(project_file))
    return name


def _clear(dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)
    return dest


def _install_git(spec: dict[str, Any], target: Path,
                 file_name: str) -> tuple[str, Path, str, str]:
    """Clones the package; returns its name, folder, how, and the commit installed."""
    import os
    import subprocess
    import tempfile
    url, revision = str(spec["git"]), spec.get("revision")
    what = f"git package '{url}'" + (f" at revision {revision!r}" if revision else "")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], capture_output=True, text=True, env=env,
                                  timeout=600)
        except FileNotFoundError:
            raise ProjectError(f"cannot install {what}: the git command is not installed.",
                               path=file_name, hint="install git, or use a local: entry.")
        except subprocess.TimeoutExpired:
            raise ProjectError(f"cannot install {what}: git took more than 10 minutes.",
                               path=file_name)
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise ProjectError(f"cannot install {what}: git {args[0]} failed: {reason}",
                               path=file_name, hint="check the URL and the revision, and "
                               "that the network (or the repository's folder) is reachable.")
        return done.stdout.strip()

    with tempfile.TemporaryDirectory() as tmp:
        checkout = Path(tmp) / "repo"
        git("clone", "--quiet", url, str(checkout))
        if revision is not None:
            git("-C", str(checkout), "checkout", "--quiet", str(revision))
        commit = git("-C", str(checkout), "rev-parse", "HEAD")
        source = checkout / str(spec.get("subdirectory") or ".")
        name = _package_name(source, what, file_name)
        dest = _clear(target / name)
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git"))
    return name, dest, "cloned" + (f" at {revision}" if revision else ""), commit


def deps(project_dir: str | Path,
         cli_vars: dict[str, Any] | None = None) -> list[tuple[str, Path, str]]:
    """`runner deps` for the project in `project_dir` (`cli_vars`: --vars)."""
    root = Path(project_dir).resolve()
    project_file = root / "dbt_project.yml"
    settings = (read_yaml(project_file) or {}) if project_file.exists() else {}
    return install(root, settings if isinstance(settings, dict) else {}, cli_vars)


def installed_packages(root: Path, settings: dict[str, Any]) -> list[Path]:
    """The package folders in dbt_packages/ (each with a dbt_project.yml), by name."""
    target = install_path(root, settings)
    if not target.is_dir():
        return []
    return sorted(p for p in target.iterdir() if (p / "dbt_project.yml").is_file())


def join_packages(project: Any, settings: dict[str, Any], load: Any) -> None:
    """Adds each installed package's models, seeds, sources, tests and macros to the
    project (`load` loads a package as a project of its own, from its dbt_project.yml).
    A package's vars are defaults below the project's (and the project's `vars:` block
    named after the package)."""
    package_vars: dict[str, Any] = {}
    for folder in installed_packages(project.root, settings):
        package = load(folder)
        base = folder.relative_to(project.root).as_posix()
        if package.name == project.name:
            raise ProjectError(f"the package in {base} has the project's own name "
                               f"{project.name!r}.", path=f"{base}/dbt_project.yml")
        for kind, own, theirs in (("model", project.models, package.models),
                                  ("seed", project.seeds, package.seeds)):
            for name, node in theirs.items():
                node.rel_path = f"{base}/{node.rel_path}"
                if name in project.models or name in project.seeds:
                    other = project.node(name)
                    raise ProjectError(f"the {kind} {name!r} of package {package.name!r} "
                                       f"has the name of {other.rel_path}.",
                                       path=node.rel_path,
                                       hint="two nodes cannot share a name; disable or "
                                            "rename one of them.")
                node.package = package.name
                own[name] = node
        project.sources.update(package.sources)
        project.tests.extend(package.tests)
        for hook in package.hooks:
            hook.package, hook.path = package.name, f"{base}/{hook.path}"
            project.hooks.append(hook)
        for macro in package.macros:
            macro.name = f"{base}/{macro.name}"
            macro.package = package.name
            project.macros.append(macro)
        project.warnings.extend(f"{base}/{w}" for w in package.warnings)
        scoped = project.vars.get(package.name)
        package_vars.update({**package.vars, **(scoped if isinstance(scoped, dict) else {})})
        project.packages[package.name] = folder
    project.vars = {**package_vars, **project.vars}
