"""Hub packages in packages.yml (`package: owner/name`, `version:`): `runner deps` resolves
them through the hub's API as dbt-core does, here a package hub served from a temporary
folder, installs their tarballs into dbt_packages/ and writes package-lock.yml."""

from __future__ import annotations

import functools
import http.server
import io
import json
import tarfile
import threading
from pathlib import Path

import pytest
import yaml

from runner.errors import ProjectError
from runner.deps.hub import choose, specifiers


def _tarball(top: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A package hub on localhost: hub(owner/name, {version: (files, deps)}) publishes a
    package; DBT_PACKAGE_HUB_URL points at it. Yields the publishing function."""
    root = tmp_path / "hub"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/"
    monkeypatch.setenv("DBT_PACKAGE_HUB_URL", base)

    def publish(package: str, versions: dict[str, tuple[dict[str, str], list]]) -> None:
        owner, name = package.split("/")
        listing = {}
        for version, (files, deps) in versions.items():
            archive = root / "tarballs" / owner / name / f"{version}.tar.gz"
            archive.parent.mkdir(parents=True, exist_ok=True)
            archive.write_bytes(_tarball(f"{name}-{version}", files))
            # the hub's name of a version is its project's name (dbt_utils)
            project_name = yaml.safe_load(files["dbt_project.yml"])["name"]
            listing[version] = {"id": f"{package}/{version}", "name": project_name,
                                "version": version, "packages": deps,
                                "downloads": {"tarball": f"{base}tarballs/{owner}/{name}/"
                                                         f"{version}.tar.gz"}}
        doc = root / "api" / "v1" / owner / f"{name}.json"
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(json.dumps({"name": name, "namespace": owner, "versions": listing}))

    yield publish
    server.shutdown()
    server.server_close()


def _pkg(name: str, version: str) -> dict[str, str]:
    return {"dbt_project.yml": f"name: {name}\nversion: '0.1.0'\n",
            "macros/v.sql": f"{{% macro which() %}}'{version}'{{% endmacro %}}"}


def test_an_exact_version_is_installed_and_locked(hub, make_project, cli) -> None:
    hub("acme/utils", {"1.0.0": (_pkg("acme_utils", "1.0.0"), []),
                       "1.1.0": (_pkg("acme_utils", "1.1.0"), [])})
    root = make_project({"packages.yml": "packages:\n  - package: acme/utils\n"
                                         "    version: 1.0.0\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0, err
    installed = root / "dbt_packages" / "acme_utils"
    assert "'1.0.0'" in (installed / "macros" / "v.sql").read_text()
    assert "installed acme_utils: hub package acme/utils 1.0.0" in out
    lock = yaml.safe_load((root / "package-lock.yml").read_text())
    assert lock["packages"] == [{"package": "acme/utils", "version": "1.0.0",
                                 "name": "acme_utils"}]
    assert len(lock["sha1_hash"]) == 40
    from runner.api import compile_sql
    assert compile_sql("{{ acme_utils.which() }}", root) == "'1.0.0'"


def test_a_range_takes_the_newest_release_in_it_and_the_package_s_own_needs(
        hub, make_project, cli) -> None:
    hub("acme/utils", {v: (_pkg("acme_utils", v), [])
                       for v in ("0.9.0", "1.0.0", "1.2.0", "1.10.1", "2.0.0", "1.11.0-b1")})
    hub("acme/dates", {"0.3.0": (_pkg("acme_dates", "0.3.0"),
                                 [{"package": "acme/utils", "version": [">=1.0.0", "<1.5.0"]}])})
    root = make_project({"packages.yml": """
        packages:
          - package: acme/utils
            version: [">=1.0.0", "<2.0.0"]
          - package: acme/dates
            version: 0.3.0
    """})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0, err
    # 1.10.1 is the newest of the first range, but acme/dates needs < 1.5.0: 1.2.0
    assert "'1.2.0'" in (root / "dbt_packages" / "acme_utils" / "macros" / "v.sql").read_text()
    assert (root / "dbt_packages" / "acme_dates" / "dbt_project.yml").is_file()
    lock = yaml.safe_load((root / "package-lock.yml").read_text())
    assert {(p["package"], p["version"]) for p in lock["packages"]} == \
        {("acme/utils", "1.2.0"), ("acme/dates", "0.3.0")}


def test_choose_orders_versions_as_semver_and_skips_prereleases() -> None:
    available = ["0.9.0", "1.0.0", "1.2.0", "1.10.1", "2.0.0", "1.11.0-b1"]
    assert choose("p", available, specifiers("p", [">=1.0.0", "<2.0.0"], "x")) == "1.10.1"
    assert choose("p", available, specifiers("p", ">1.2.0", "x")) == "2.0.0"
    assert choose("p", available, specifiers("p", "<=1.2.0", "x")) == "1.2.0"
    assert choose("p", available, specifiers("p", "=1.0.0", "x")) == "1.0.0"
    assert choose("p", available, specifiers("p", [">=1.0.0", "<2.0.0"], "x"),
                  prerelease=True) == "1.11.0-b1"
    with pytest.raises(ProjectError, match=r"no version of hub package 'p' satisfies "
                                           r">=3\.0\.0"):
        choose("p", available, specifiers("p", ">=3.0.0", "x"))
    with pytest.raises(ProjectError, match="not a version or a range"):
        specifiers("p", "latest", "packages.yml")


def test_ranges_that_do_not_meet_are_an_error_naming_the_package(hub, make_project,
                                                                  cli) -> None:
    hub("acme/utils", {v: (_pkg("acme_utils", v), []) for v in ("1.0.0", "2.0.0")})
    root = make_project({"packages.yml": "packages:\n  - package: acme/utils\n"
                                         "    version: [\">=1.5.0\", \"<2.0.0\"]\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2
    assert "acme/utils" in err and ">=1.5.0, <2.0.0" in err and "2.0.0" in err
    assert "Traceback" not in err and not (root / "dbt_packages").exists()


def test_without_the_network_a_hub_package_is_a_clear_error(make_project, cli,
                                                            monkeypatch) -> None:
    monkeypatch.setenv("DBT_PACKAGE_HUB_URL", "http://127.0.0.1:9/")   # nothing listens
    root = make_project({"packages.yml": "packages:\n  - local: ../x\n"
                                         "  - package: dbt-labs/dbt_utils\n"
                                         "    version: 1.3.0\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2
    assert "'dbt-labs/dbt_utils'" in err and "cannot be reached" in err
    assert "local:" in err and "git:" in err and "packages.yml" in err
    assert "Traceback" not in err
    assert not (root / "dbt_packages").exists() and not (root / "package-lock.yml").exists()


def test_a_package_installed_at_its_locked_version_needs_no_network(hub, make_project, cli,
                                                                   monkeypatch) -> None:
    hub("acme/utils", {v: (_pkg("acme_utils", v), []) for v in ("0.9.0", "1.0.0", "1.1.0")})
    root = make_project({"packages.yml": "packages:\n  - package: acme/utils\n"
                                         "    version: 0.9.0\n"})
    assert cli("deps", "--project-dir", root)[0] == 0
    # another version asked for: installed over the one there
    (root / "packages.yml").write_text("packages:\n  - package: acme/utils\n"
                                       "    version: 1.0.0\n")
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0 and "already" not in out, out + err
    assert "'1.0.0'" in (root / "dbt_packages" / "acme_utils" / "macros" / "v.sql").read_text()
    monkeypatch.setenv("DBT_PACKAGE_HUB_URL", "http://127.0.0.1:9/")
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0, err
    assert "acme_utils: hub package acme/utils 1.0.0 already installed" in out
    # the lock no longer matches packages.yml: the hub is asked again
    (root / "packages.yml").write_text("packages:\n  - package: acme/utils\n"
                                       "    version: 1.1.0\n")
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2 and "cannot be reached" in err
    # locked, but no longer installed: the hub is asked again
    (root / "packages.yml").write_text("packages:\n  - package: acme/utils\n"
                                       "    version: 1.0.0\n")
    import shutil
    shutil.rmtree(root / "dbt_packages" / "acme_utils")
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2 and "cannot be reached" in err


def _git(*args: object, cwd: Path) -> str:
    import subprocess
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *map(str, args)], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_a_git_package_s_own_hub_packages_are_installed_and_locked(hub, make_project, cli,
                                                                    monkeypatch) -> None:
    hub("acme/utils", {v: (_pkg("acme_utils", v), []) for v in ("0.8.0", "1.0.0", "1.4.0")})
    repo = make_project({"dbt_project.yml": "name: audit\n",
                         "packages.yml": "packages:\n  - package: acme/utils\n"
                                         "    version: [\">=0.9.0\", \"<2.0.0\"]\n"},
                        name="repo")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-qm", "first", cwd=repo)
    commit = _git("rev-parse", "HEAD", cwd=repo)
    root = make_project({"packages.yml": f"packages:\n  - git: {repo.as_uri()}\n"
                                         f"    revision: HEAD\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0, err
    assert (root / "dbt_packages" / "audit" / "dbt_project.yml").is_file()
    assert "'1.4.0'" in (root / "dbt_packages" / "acme_utils" / "macros" / "v.sql").read_text()
    lock = yaml.safe_load((root / "package-lock.yml").read_text())
    assert lock["packages"] == [
        {"git": repo.as_uri(), "revision": commit, "name": "audit"},   # the commit, as dbt
        {"package": "acme/utils", "version": "1.4.0", "name": "acme_utils"}]
    # installed as locked: neither the repository nor the hub is needed any more
    import shutil
    shutil.rmtree(repo)
    monkeypatch.setenv("DBT_PACKAGE_HUB_URL", "http://127.0.0.1:9/")
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0, err
    assert f"already installed at {commit}" in out and "acme/utils 1.4.0 already" in out


def test_packages_yml_is_rendered_with_env_var_and_vars(make_project, cli,
                                                        monkeypatch) -> None:
    make_project({"dbt_project.yml": "name: my_pkg\n"}, name="my_pkg")
    monkeypatch.setenv("PKG_PARENT", "..")
    root = make_project({"packages.yml": "packages:\n"
                         "  - local: \"{{ env_var('PKG_PARENT') }}/{{ var('pkg') }}\"\n"})
    code, out, err = cli("deps", "--project-dir", root, "--vars", "{pkg: my_pkg}")
    assert code == 0, err
    assert (root / "dbt_packages" / "my_pkg").resolve() == (root.parent / "my_pkg").resolve()
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2 and "pkg" in err and "packages.yml" in err and "Traceback" not in err


def test_a_package_the_hub_does_not_have_is_named(hub, make_project, cli) -> None:
    hub("acme/utils", {"1.0.0": (_pkg("acme_utils", "1.0.0"), [])})
    root = make_project({"packages.yml": "packages:\n  - package: acme/utlis\n"
                                         "    version: 1.0.0\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2
    assert "'acme/utlis' was not found" in err and "Traceback" not in err
    assert "packages.yml" in err
