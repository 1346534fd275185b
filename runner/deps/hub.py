"""dbt's package hub for `runner deps`: a `package: owner/name` entry with `version:` (an
exact version, or a list of ranges such as [">=1.0.0", "<2.0.0"]) is resolved as dbt-core
does it: the hub's API (`<hub>/api/v1/<owner>/<name>.json`, the base URL from
DBT_PACKAGE_HUB_URL, default https://hub.getdbt.com/) lists the versions; the newest
non-prerelease version that satisfies every range is chosen, its `packages:` are resolved
the same way, and its `downloads.tarball` (the package's git repository at that tag) is
unpacked into dbt_packages/<its name>."""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import ProjectError

DEFAULT_HUB_URL = "https://hub.getdbt.com/"
TIMEOUT_SECONDS = 30

_VERSION = re.compile(r"^\s*(?P<matcher>>=|<=|>|<|=)?\s*v?(?P<major>\d+)\.(?P<minor>\d+)"
                      r"\.(?P<patch>\d+)(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$")


@dataclass(frozen=True)
class Version:
    """A semantic version, ordered as semver orders it (a prerelease before its release)."""
    major: int
    minor: int
    patch: int
    prerelease: str = ""

    def key(self) -> tuple:
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                    for p in self.prerelease.split(".")) if self.prerelease else ()
        return (self.major, self.minor, self.patch, 0 if pre else 1, pre)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{self.prerelease}" if self.prerelease else text


@dataclass(frozen=True)
class Specifier:
    """One of a package's version constraints: `1.1.1`, `=1.1.1`, `>=1.0.0`, `<2.0.0`."""
    matcher: str
    version: Version

    def matches(self, version: Version) -> bool:
        a, b = version.key(), self.version.key()
        return {"=": a == b, ">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b}[self.matcher]

    def __str__(self) -> str:
        return f"{'' if self.matcher == '=' else self.matcher}{self.version}"


def parse_version(text: Any) -> Specifier | None:
    match = _VERSION.match(str(text))
    if not match:
        return None
    return Specifier(match["matcher"] or "=", Version(int(match["major"]), int(match["minor"]),
                                                     int(match["patch"]), match["pre"] or ""))


def specifiers(package: str, version: Any, where: str) -> list[Specifier]:
    """A hub entry's `version:` (a string or a list), checked."""
    raw = version if isinstance(version, list) else [version]
    if version is None or not raw:
        raise ProjectError(f"the hub package '{package}' has no version:.", path=where,
                           hint="add e.g. version: [\">=1.0.0\", \"<2.0.0\"] (dbt requires "
                                "one).")
    out = []
    for item in raw:
        spec = parse_version(item)
        if spec is None:
            raise ProjectError(f"the hub package '{package}' has version {item!r}, which is "
                               f"not a version or a range.", path=where,
                               hint="write e.g. 1.3.0, or a list of ranges such as "
                                    "[\">=1.0.0\", \"<2.0.0\"].")
        out.append(spec)
    return out


def choose(package: str, available: list[str], wanted: list[Specifier],
           prerelease: bool = False) -> str:
    """The newest available version satisfying every specifier (prereleases only when
    asked for, or when a specifier names one), as dbt-core's resolve_to_specific_version."""
    prerelease = prerelease or any(s.version.prerelease for s in wanted)
    parsed = [(v, parse_version(v)) for v in available]
    candidates = sorted(((text, spec.version) for text, spec in parsed
                         if spec is not None and spec.matcher == "=" and
                         (prerelease or not spec.version.prerelease)),
                        key=lambda item: item[1].key())
    fitting = [text for text, version in candidates
               if all(s.matches(version) for s in wanted)]
    if not fitting:
        listed = ", ".join(text for text, _ in candidates[-8:]) or "none"
        raise ProjectError(f"no version of hub package '{package}' satisfies "
                           f"{', '.join(str(s) for s in wanted)} (the newest available: "
                           f"{listed}).",
                           hint="change its version: in packages.yml (two entries or "
                                "packages asking for the same package must have ranges "
                                "that overlap).")
    return fitting[-1]


class Registry:
    """The hub's API, read over HTTP; `base_url` defaults as dbt-core's (the
    DBT_PACKAGE_HUB_URL environment variable, else hub.getdbt.com)."""

    def __init__(self, base_url: str | None = None):
        base = base_url or os.environ.get("DBT_PACKAGE_HUB_URL") or DEFAULT_HUB_URL
        self.base_url = base if base.endswith("/") else base + "/"
        self._cache: dict[str, dict[str, Any]] = {}

    def versions(self, package: str) -> dict[str, Any]:
        """{version: its metadata (name, packages, downloads.tarball)} of one package."""
        if package not in self._cache:
            url = f"{self.base_url}api/v1/{package}.json"
            doc = json.loads(self._get(url, package).decode("utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
                raise ProjectError(f"the package hub's answer for '{package}' ({url}) has no "
                                   f"'versions'.", hint="check DBT_PACKAGE_HUB_URL.")
            self._cache[package] = doc["versions"]
        return self._cache[package]

    def download(self, url: str, package: str, dest: Path) -> None:
        dest.write_bytes(self._get(url, package))

    def _get(self, url: str, package: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise ProjectError(f"the hub package '{package}' was not found ({url}: "
                                   f"404).", hint="check its name (owner/name, as on "
                                                  "hub.getdbt.com).") from None
            raise ProjectError(f"the package hub answered {exc.code} for '{package}' "
                               f"({url}).", hint="try again later.") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise Unreachable(package, url, str(reason)) from None


class Unreachable(ProjectError):
    """The hub (or a package's download) cannot be reached: no network, most often."""

    def __init__(self, package: str, url: str, reason: str):
        self.package = package
        super().__init__(
            f"cannot install hub package '{package}': {url} cannot be reached ({reason}).",
            hint="without the network, install it with a local: entry (a folder holding "
                 "the package) or a git: entry (a repository you can reach, with its "
                 "revision:) in packages.yml; or set DBT_PACKAGE_HUB_URL to a reachable "
                 "mirror of the hub.")


@dataclass
class Pin:
    """A hub package resolved to one version."""
    package: str
    version: str
    name: str = ""                    # the package's project name (dbt_packages/<name>)
    tarball: str = ""
    wanted: list[Specifier] = field(default_factory=list)


def resolve(entries: list[dict[str, Any]], registry: Registry, where: str) -> list[Pin]:
    """Every hub entry, and the hub packages they need, resolved to one version each
    (all the ranges asking for a package must meet)."""
    wanted: dict[str, list[Specifier]] = {}
    prerelease: dict[str, bool] = {}
    pins: dict[str, Pin] = {}
    queue = [(str(e["package"]), e.get("version"), bool(e.get("install-prerelease")),
              str(e.get("_from") or where)) for e in entries]
    while queue:
        package, version, pre, source = queue.pop(0)
        wanted.setdefault(package, []).extend(specifiers(package, version, source))
        prerelease[package] = prerelease.get(package, False) or pre
        chosen = choose(package, list(registry.versions(package)), wanted[package],
                        prerelease[package])
        if package in pins and pins[package].version == chosen:
            continue
        meta = registry.versions(package)[chosen] or {}
        tarball = (meta.get("downloads") or {}).get("tarball") or ""
        pins[package] = Pin(package, chosen, str(meta.get("name") or package.split("/")[-1]),
                            str(tarball), wanted[package])
        for dep in meta.get("packages") or []:
            if isinstance(dep, dict) and "package" in dep:
                queue.append((str(dep["package"]), dep.get("version"),
                              bool(dep.get("install-prerelease")),
                              f"{where} (needed by {package} {chosen})"))
    return list(pins.values())


def install_pin(pin: Pin, registry: Registry, target: Path) -> Path:
    """Downloads the pinned version's tarball and unpacks it as target/<name>."""
    if not pin.tarball:
        raise ProjectError(f"the package hub gives no download for '{pin.package}' "
                           f"{pin.version}.", hint="use a git: entry for it instead.")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "package.tar.gz"
        registry.download(pin.tarball, pin.package, archive)
        unpacked = Path(tmp) / "unpacked"
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise ProjectError(f"the download of hub package '{pin.package}' {pin.version} "
                               f"({pin.tarball}) is not a readable tar.gz: {exc}.") from None
        tops = [p for p in unpacked.iterdir() if p.is_dir()]
        source = tops[0] if len(tops) == 1 and not (unpacked / "dbt_project.yml").exists() \
            else unpacked
        project = source / "dbt_project.yml"
        if not project.is_file():
            raise ProjectError(f"the download of hub package '{pin.package}' {pin.version} "
                               f"({pin.tarball}) holds no dbt_project.yml.")
        from runner.project.properties import read_yaml
        settings = read_yaml(project)
        if isinstance(settings, dict) and settings.get("name"):
            pin.name = str(settings["name"])      # dbt_packages/<the project's name>
        dest = target / pin.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.exists():
            shutil.rmtree(dest)
        shutil.move(str(source), str(dest))
    return dest
