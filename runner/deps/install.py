"""`runner deps`, as dbt-core's deps task: the entries of packages.yml (or
dependencies.yml), and those of the packages they install, into dbt_packages/:

- `local:` a symbolic link to the folder (a copy where a link cannot be made);
- `git:` cloned at its `revision:`, from its `subdirectory:`, copied without .git;
- `package: owner/name` with `version:` from dbt's package hub (runner/deps/hub.py).

package-lock.yml is written as dbt writes it (every package installed, the hub ones at
their version and the git ones at their commit, each with its `name`, and `sha1_hash`,
the hash of the entries). While the lock's hash matches the entries, the lock is what is
installed, and a hub or git package already in dbt_packages/ is kept as it is: no
network is needed. Hub entries are resolved before anything is installed, so that
without the network nothing changes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from runner.errors import ProjectError
from runner.deps import hub
from runner.deps.packages import (_clear, _describe, _install_git, _package_name,
                                     install_path, read_package_specs)
from runner.project.properties import read_yaml

LOCK_FILE = "package-lock.yml"


def lock_hash(specs: list[dict[str, Any]]) -> str:
    """dbt-core's sha1_hash of the entries (task/deps.py's _create_sha1_hash)."""
    lines = sorted(json.dumps(spec, sort_keys=True, default=str) for spec in specs)
    return hashlib.sha1("\n".join(lines).encode("utf-8")).hexdigest()


def read_lock(root: Path, digest: str) -> list[dict[str, Any]] | None:
    """The entries of package-lock.yml when it was written for these entries, else None."""
    path = root / LOCK_FILE
    doc = (read_yaml(path) or {}) if path.is_file() else {}
    if not isinstance(doc, dict) or doc.get("sha1_hash") != digest:
        return None
    return [e for e in doc.get("packages") or [] if isinstance(e, dict)]


def _write_lock(root: Path, entries: list[dict[str, Any]], digest: str) -> None:
    import yaml
    text = yaml.safe_dump({"packages": entries, "sha1_hash": digest}, sort_keys=False,
                          default_flow_style=False)
    (root / LOCK_FILE).write_text(text, encoding="utf-8")


def _check_kinds(specs: list[dict[str, Any]], file_name: str) -> None:
    unsupported = [_describe(s) for s in specs
                   if "local" not in s and "git" not in s and "package" not in s]
    if unsupported:
        named = ", ".join(f"'{name}' ({kind})" for kind, name in unsupported)
        raise ProjectError(f"cannot install {named}: the runner installs local:, git: and "
                           f"hub (package:) entries. Nothing was installed.",
                           path=file_name,
                           hint="use a git: entry with the package's repository and a "
                                "revision:, or install it into dbt_packages/ yourself.")


def _git_key(entry: dict[str, Any]) -> tuple[str, str]:
    return str(entry["git"]), str(entry.get("subdirectory") or "")


def render_specs(specs: list[dict[str, Any]], cli_vars: dict[str, Any],
                 file_name: str) -> list[dict[str, Any]]:
    """The entries with their Jinja rendered as dbt renders packages.yml: env_var() and
    var() (the --vars only: the project's vars are not in scope there, as in dbt)."""
    import os

    import jinja2
    from jinja2.sandbox import SandboxedEnvironment
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    missing = object()

    def lookup(kind: str, table: dict, name: str, default: Any) -> Any:
        if name in table:
            return table[name]
        if default is missing:
            raise ProjectError(f"{file_name} uses {kind}({name!r}), which is not set.",
                               path=file_name, hint="set it (--vars for var(), the "
                                                    "environment for env_var()) or give a "
                                                    "default.")
        return default

    def render(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [render(v) for v in value]
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value
        try:
            return env.from_string(value).render(
                env_var=lambda n, d=missing: lookup("env_var", dict(os.environ), n, d),
                var=lambda n, d=missing: lookup("var", cli_vars, n, d))
        except jinja2.TemplateError as exc:
            raise ProjectError(f"cannot render {value!r}: {exc}.", path=file_name) from None
    return [render(spec) for spec in specs]


def install(root: Path, settings: dict[str, Any],
            cli_vars: dict[str, Any] | None = None) -> list[tuple[str, Path, str]]:
    """Installs the packages; returns (package name, installed path, how) for each."""
    file_name, specs = read_package_specs(root)
    if file_name is None:
        return []
    specs = render_specs(specs, cli_vars or {}, file_name)
    _check_kinds(specs, file_name)
    target = install_path(root, settings)
    registry = hub.Registry()
    digest = lock_hash(specs)
    locked = read_lock(root, digest)
    hub_entries = [dict(s) for s in specs if "package" in s]
    if locked is None:
        _resolve(hub_entries, registry, file_name, True)   # before anything is installed

    installed: list[tuple[str, Path, str]] = []
    lock_entries: list[dict[str, Any]] = []
    git_revisions = {_git_key(e): e.get("revision") for e in locked or [] if "git" in e}
    git_names = {_git_key(e): e.get("name") for e in locked or [] if "git" in e}
    queue = [(s, root, file_name) for s in specs if "package" not in s]
    seen: set[tuple[str, str]] = set()
    while queue:
        spec, base, where = queue.pop(0)
        if "git" in spec:
            key = _git_key(spec)
            if key in seen:
                continue
            seen.add(key)
            name = git_names.get(key)
            if locked is not None and name and (target / str(name) / "dbt_project.yml").is_file():
                revision = git_revisions.get(key)
                folder, how = target / str(name), f"git package {key[0]} already installed " \
                                                   f"at {revision} ({LOCK_FILE})"
            else:
                pinned = {**spec, "revision": git_revisions.get(key) or spec.get("revision")}
                name, folder, how, revision = _install_git(pinned, target, where)
            lock_entries.append({"git": key[0], "revision": revision,
                                 **({"subdirectory": key[1]} if key[1] else {}),
                                 "name": name})
        else:
            source = (base / str(spec["local"])).resolve()
            if ("local", str(source)) in seen:
                continue
            seen.add(("local", str(source)))
            name = _package_name(source, f"local package '{spec['local']}'", where)
            folder = _clear(target / name)
            try:
                folder.symlink_to(source, target_is_directory=True)
                how = "linked"
            except OSError:
                shutil.copytree(source, folder)
                how = "copied"
            lock_entries.append({"local": spec["local"], "name": name})
        installed.append((str(name), folder, how))
        # the package's own packages, as dbt installs them
        nested_file, nested = read_package_specs(folder)
        if nested_file is not None:
            where_nested = f"{folder.relative_to(root).as_posix()}/{nested_file}" \
                if folder.is_relative_to(root) else str(folder / nested_file)
            nested = render_specs(nested, cli_vars or {}, where_nested)
            _check_kinds(nested, where_nested)
            queue += [(s, folder, where_nested) for s in nested if "package" not in s]
            hub_entries += [{**s, "_from": where_nested} for s in nested if "package" in s]

    if locked is not None:
        pins = [hub.Pin(str(e["package"]), str(e.get("version")),
                        str(e.get("name") or str(e["package"]).split("/")[-1]))
                for e in locked if "package" in e]
    else:
        pins = _resolve(hub_entries, registry, file_name, not installed)
    for pin in pins:
        what = f"hub package {pin.package} {pin.version}"
        folder = target / pin.name
        if locked is not None and (folder / "dbt_project.yml").is_file():
            installed.append((pin.name, folder, f"{what} already installed ({LOCK_FILE})"))
        else:
            if not pin.tarball:
                meta = _versions(registry, pin.package, file_name).get(pin.version) or {}
                pin.tarball = str((meta.get("downloads") or {}).get("tarball") or "")
            try:
                folder = hub.install_pin(pin, registry, target)
            except hub.Unreachable as exc:
                raise ProjectError(exc.message, path=file_name, hint=exc.hint) from None
            installed.append((pin.name, folder, what))
        lock_entries.append({"package": pin.package, "version": pin.version,
                             "name": pin.name})
    if locked is None:
        _write_lock(root, lock_entries, digest)
    return installed


def _resolve(entries: list[dict[str, Any]], registry: hub.Registry, file_name: str,
             nothing_installed: bool) -> list[hub.Pin]:
    try:
        return hub.resolve(entries, registry, file_name)
    except hub.Unreachable as exc:
        done = " Nothing was installed." if nothing_installed else \
            " The local: and git: packages were installed; no hub package was."
        raise ProjectError(exc.message + done, path=file_name, hint=exc.hint) from None
    except ProjectError as exc:
        exc.path = exc.path or file_name           # the file that asks for the package
        raise


def _versions(registry: hub.Registry, package: str, file_name: str) -> dict[str, Any]:
    try:
        return registry.versions(package)
    except hub.Unreachable as exc:
        raise ProjectError(exc.message, path=file_name, hint=exc.hint) from None
