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


def install(root: Path, settings: dict[str, Any]) -> list[tuple[str, Path, str]]:
    """`runner deps`: installs the packages into dbt_packages/: a local: package as a
    symbolic link to its folder, as dbt makes (a copy where links are not possible); a
    git: package cloned with git, at its `revision:`, from its `subdirectory:`, copied
    without .git; a hub package (package:) at the version package-lock.yml pins while
    it matches packages.yml, else resolved through the hub (runner/project/hub.py), and
    package-lock.yml written as dbt writes it. Returns (package name, installed path,
    how). Hub packages are resolved before anything is installed."""
    from runner.project import hub
    file_name, specs = read_package_specs(root)
    if file_name is None:
        return []
    unsupported = [_describe(s) for s in specs
                   if "local" not in s and "git" not in s and "package" not in s]
    if unsupported:
        named = ", ".join(f"'{name}' ({kind})" for kind, name in unsupported)
        raise ProjectError(f"cannot install {named}: the runner installs local:, git: and "
                           f"hub (package:) entries. Nothing was installed.",
                           path=file_name,
                           hint="use a git: entry with the package's repository and a "
                                "revision:, or install it into dbt_packages/ yourself.")
    target = install_path(root, settings)
    registry = hub.Registry()
    digest = lock_hash(specs)
    locked = read_lock(root, digest)
    hub_specs = [s for s in specs if "package" in s]
    if locked is not None and all(p.name and (target / p.name / "dbt_project.yml").is_file()
                                  for p in locked):
        pins, ready = locked, {p.package for p in locked}
    else:
        try:
            pins, ready = hub.resolve(hub_specs, registry, file_name), set()
        except hub.Unreachable as exc:
            raise ProjectError(f"{exc.message} Nothing was installed.", path=file_name,
                               hint=exc.hint) from None
    installed, lock_entries = [], []
    for spec in specs:
        if "git" in spec:
            installed.append(_install_git(spec, target, file_name))
            lock_entries.append({**{k: spec[k] for k in ("git", "revision", "subdirectory")
                                    if k in spec}, "name": installed[-1][0]})
        elif "local" in spec:
            source = (root / str(spec["local"])).resolve()
            name = _package_name(source, f"local package '{spec['local']}'", file_name)
            dest = _clear(target / name)
            try:
                dest.symlink_to(source, target_is_directory=True)
                how = "linked"
            except OSError:
                shutil.copytree(source, dest)
                how = "copied"
            installed.append((name, dest, how))
            lock_entries.append({"local": spec["local"], "name": name})
    for pin in pins:
        what = f"hub package {pin.package} {pin.version}"
        if pin.package in ready:
            installed.append((pin.name, target / pin.name,
                              f"{what} already installed (package-lock.yml)"))
        else:
            dest = hub.install_pin(pin, registry, target)
            installed.append((pin.name, dest, what))
        lock_entries.append({"package": pin.package, "version": pin.version,
                             "name": pin.name})
    if hub_specs and not ready:
        _write_lock(root, lock_entries, digest)
    return installed


LOCK_FILE = "package-lock.yml"


def lock_hash(specs: list[dict[str, Any]]) -> str:
    """dbt-core's sha1_hash of the package entries (deps.py's _create_sha1_hash)."""
    import hashlib
    import json
    lines = sorted(json.dumps(spec, sort_keys=True, default=str) for spec in specs)
    return hashlib.sha1("\n".join(lines).encode("utf-8")).hexdigest()


def read_lock(root: Path, digest: str) -> list[Any] | None:
    """The hub pins of package-lock.yml when it was written for these entries (its
    sha1_hash), else None."""
    from runner.project.hub import Pin
    path = root / LOCK_FILE
    doc = (read_yaml(path) or {}) if path.is_file() else {}
    if not isinstance(doc, dict) or doc.get("sha1_hash") != digest:
        return None
    pins = []
    for entry in doc.get("packages") or []:
        if isinstance(entry, dict) and "package" in entry:
            pins.append(Pin(str(entry["package"]), str(entry.get("version")),
                            str(entry.get("name") or str(entry["package"]).split("/")[-1])))
    return pins


def _write_lock(root: Path, entries: list[dict[str, Any]], digest: str) -> None:
    import yaml
    text = yaml.safe_dump({"packages": entries, "sha1_hash": digest}, sort_keys=False,
                          default_flow_style=False)
    (root / LOCK_FILE).write_text(text, encoding="utf-8")


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


def _install_git(spec: dict[str, Any], target: Path, file_name: str) -> tuple[str, Path, str]:
    import os
    import subprocess
    import tempfile
    url, revision = str(spec["git"]), spec.get("revision")
    what = f"git package '{url}'" + (f" at revision {revision!r}" if revision else "")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}

    def git(*args: str) -> None:
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

    with tempfile.TemporaryDirectory() as tmp:
        checkout = Path(tmp) / "repo"
        git("clone", "--quiet", url, str(checkout))
        if revision is not None:
            git("-C", str(checkout), "checkout", "--quiet", str(revision))
        source = checkout / str(spec.get("subdirectory") or ".")
        name = _package_name(source, what, file_name)
        dest = _clear(target / name)
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".git"))
    return name, dest, "cloned" + (f" at {revision}" if revision else "")


def deps(project_dir: str | Path) -> list[tuple[str, Path, str]]:
    """`runner deps` for the project in `project_dir`."""
    root = Path(project_dir).resolve()
    project_file = root / "dbt_project.yml"
    settings = (read_yaml(project_file) or {}) if project_file.exists() else {}
    return install(root, settings if isinstance(settings, dict) else {})


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
        for macro in package.macros:
            macro.name = f"{base}/{macro.name}"
            macro.package = package.name
            project.macros.append(macro)
        project.warnings.extend(f"{base}/{w}" for w in package.warnings)
        scoped = project.vars.get(package.name)
        package_vars.update({**package.vars, **(scoped if isinstance(scoped, dict) else {})})
        project.packages[package.name] = folder
    project.vars = {**package_vars, **project.vars}
