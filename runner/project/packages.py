"""dbt packages: `packages.yml` / `dependencies.yml`, `runner deps` (local packages, linked
into dbt_packages/ as dbt does, copied where a link cannot be made), and the installed
packages' models, seeds, tests and macros joined to the project; and the project's
`dispatch:` search orders."""

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
    """`runner deps`: installs the local packages into dbt_packages/ (a symbolic link to
    the package folder, as dbt makes; a copy where links are not possible). Returns
    (package name, installed path, "linked" or "copied"). Any other kind of entry stops
    it before anything is installed."""
    file_name, specs = read_package_specs(root)
    if file_name is None:
        return []
    unsupported = [_describe(s) for s in specs if "local" not in s]
    if unsupported:
        named = ", ".join(f"'{name}' ({kind})" for kind, name in unsupported)
        raise ProjectError(f"cannot install {named}: the runner installs local: packages "
                           f"only; installing git and hub packages (network or git) is not "
                           f"implemented yet. Nothing was installed.", path=file_name,
                           hint="install those packages into dbt_packages/ yourself (dbt "
                                "deps does), or point a local: entry at a checkout.")
    target = install_path(root, settings)
    installed = []
    for spec in specs:
        source = (root / str(spec["local"])).resolve()
        project_file = source / "dbt_project.yml"
        if not project_file.is_file():
            raise ProjectError(f"local package '{spec['local']}' has no dbt_project.yml "
                               f"(looked in {source}).", path=file_name,
                               hint="point local: at the package's folder.")
        package_settings = read_yaml(project_file) or {}
        name = str(package_settings.get("name") or "") if isinstance(package_settings, dict) \
            else ""
        if not name:
            raise ProjectError(f"the package's dbt_project.yml has no 'name'.",
                               path=str(project_file))
        dest = target / name
        target.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            shutil.rmtree(dest)
        try:
            dest.symlink_to(source, target_is_directory=True)
            how = "linked"
        except OSError:
            shutil.copytree(source, dest)
            how = "copied"
        installed.append((name, dest, how))
    return installed


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
