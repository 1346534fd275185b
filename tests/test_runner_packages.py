"""Local dbt packages: `runner deps` installs packages.yml's local: entries into
dbt_packages/, and an installed package's macros (by namespace and through dispatch),
models and seeds build with the project, with the package's own dbt_project.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, compile_sql

PACKAGE = {
    "dbt_project.yml": """
        name: my_pkg
        model-paths: [pkg_models]
        vars:
          pkg_greeting: hello
          pkg_factor: 2
        models:
          my_pkg:
            +materialized: table
            +schema: pkg
    """,
    "macros/util.sql": """
        {% macro double(x) %}({{ x }} * {{ var('pkg_factor') }}){% endmacro %}
        {% macro shout(x) %}{{ return(adapter.dispatch('shout', 'my_pkg')(x)) }}{% endmacro %}
        {% macro default__shout(x) %}upper({{ x }}){% endmacro %}
        {% macro uses_local() %}{{ double(1) }}{% endmacro %}
    """,
    "pkg_models/pkg_model.sql": "select '{{ var(\"pkg_greeting\") }}' as greeting, "
                                "{{ double(21) }} as answer",
    "seeds/pkg_seed.csv": "code,label\n1,one\n",
}


@pytest.fixture
def with_package(make_project):
    """A project whose packages.yml names a local package beside it."""
    make_project(PACKAGE, name="my_pkg")
    return make_project({
        "dbt_project.yml": "name: proj\n",
        "packages.yml": "packages:\n  - local: ../my_pkg\n",
        "models/mine.sql": "{{ config(materialized='table') }}\n"
                           "select {{ my_pkg.shout(\"'a'\") }} as s, {{ my_pkg.double(5) }} as d,"
                           " p.greeting, s.label\n"
                           "from {{ ref('pkg_model') }} p, {{ ref('pkg_seed') }} s",
    }, name="proj")


def test_deps_links_the_local_package_into_dbt_packages(with_package, cli) -> None:
    code, out, err = cli("deps", "--project-dir", with_package)
    assert code == 0, err
    installed = with_package / "dbt_packages" / "my_pkg"
    assert installed.is_symlink()
    assert installed.resolve() == (with_package.parent / "my_pkg").resolve()
    assert "installed my_pkg: linked" in out
    # again: replaces the link, no error
    assert cli("deps", "--project-dir", with_package)[0] == 0


def test_an_installed_package_builds_with_the_project(with_package, cli, query) -> None:
    assert cli("deps", "--project-dir", with_package)[0] == 0
    db = with_package / "db.duckdb"
    result = build(with_package, db_path=db)
    assert result.ok
    # the package's model: its model-paths, its +schema and +materialized, its vars
    assert query(db, "select table_type from information_schema.tables "
                     "where table_schema = 'main_pkg' and table_name = 'pkg_model'") == \
        [("BASE TABLE",)]
    assert query(db, "select * from main_pkg.pkg_model") == [("hello", 42)]
    assert query(db, "select * from main.mine") == [("A", 10, "hello", "one")]


def test_the_project_s_vars_override_the_package_s(with_package, query) -> None:
    from runner.deps.packages import deps
    deps(with_package)
    (with_package / "dbt_project.yml").write_text(
        "name: proj\nvars:\n  my_pkg:\n    pkg_greeting: hi\n  pkg_factor: 3\n")
    db = with_package / "db.duckdb"
    assert build(with_package, db_path=db).ok
    assert query(db, "select * from main_pkg.pkg_model") == [("hi", 63)]


def test_a_package_macro_sees_its_own_package_s_macros(with_package) -> None:
    from runner.deps.packages import deps
    deps(with_package)
    assert compile_sql("{{ my_pkg.uses_local() }}", with_package) == "(1 * 2)"
    # not global: the project calls it by namespace
    with pytest.raises(Exception, match="'uses_local' is undefined"):
        compile_sql("{{ uses_local() }}", with_package)


def test_the_project_overrides_a_package_macro_through_dispatch(with_package) -> None:
    from runner.deps.packages import deps
    deps(with_package)
    (with_package / "macros").mkdir()
    (with_package / "macros" / "over.sql").write_text(
        "{% macro default__shout(x) %}lower({{ x }}){% endmacro %}")
    # no dispatch: entry: the project first, then the package
    assert compile_sql("{{ my_pkg.shout('x') }}", with_package) == "lower(x)"
    (with_package / "dbt_project.yml").write_text(
        "name: proj\ndispatch:\n  - macro_namespace: my_pkg\n    search_order: [my_pkg]\n")
    assert compile_sql("{{ my_pkg.shout('x') }}", with_package) == "upper(x)"


def test_a_tarball_package_is_a_clear_error(make_project, cli) -> None:
    root = make_project({"packages.yml": "packages:\n  - local: ../x\n"
                                         "  - tarball: https://example.com/p.tar.gz\n"
                                         "    name: p\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2
    assert "'https://example.com/p.tar.gz' (tarball)" in err
    assert "packages.yml" in err and "Traceback" not in err
    assert not (root / "dbt_packages").exists()


def _git(*args: object, cwd: Path) -> str:
    import subprocess
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                           *map(str, args)], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_deps_clones_a_git_package_at_its_revision_and_subdirectory(make_project, cli,
                                                                    query) -> None:
    repo = make_project({
        "README.md": "a repository with the package in a subfolder",
        "sub/dbt_project.yml": "name: git_pkg\n",
        "sub/macros/m.sql": "{% macro version() %}'first'{% endmacro %}",
    }, name="repo")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-qm", "first", cwd=repo)
    first = _git("rev-parse", "HEAD", cwd=repo)
    (repo / "sub" / "macros" / "m.sql").write_text("{% macro version() %}'second'{% endmacro %}")
    _git("commit", "-qam", "second", cwd=repo)
    root = make_project({
        "packages.yml": f"packages:\n  - git: {repo.as_uri()}\n    revision: {first}\n"
                        f"    subdirectory: sub\n",
        "models/v.sql": "{{ config(materialized='table') }}\nselect {{ git_pkg.version() }} as v",
    })
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 0, err
    assert f"installed git_pkg: cloned at {first}" in out
    installed = root / "dbt_packages" / "git_pkg"
    assert not installed.is_symlink() and not (installed / ".git").exists()
    assert not (installed / "README.md").exists()
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select v from main.v") == [("first",)]


def test_an_unreachable_git_package_is_named(make_project, cli, tmp_path) -> None:
    missing = (tmp_path / "no_such_repo").as_uri()
    root = make_project({"packages.yml": f"packages:\n  - git: {missing}\n    revision: v1\n"})
    code, out, err = cli("deps", "--project-dir", root)
    assert code == 2 and "Traceback" not in err
    assert f"git package '{missing}' at revision 'v1'" in err and "git clone failed" in err


def test_a_local_package_without_dbt_project_yml_is_named(make_project, cli) -> None:
    root = make_project({"packages.yml": "packages:\n  - local: ../missing\n"})
    code, _, err = cli("deps", "--project-dir", root)
    assert code == 2 and "'../missing' has no dbt_project.yml" in err


def test_a_package_model_named_like_a_project_model_is_an_error(with_package) -> None:
    from runner.errors import ProjectError
    from runner.deps.packages import deps
    deps(with_package)
    (with_package / "models" / "pkg_model.sql").write_text("select 1 as x")
    with pytest.raises(ProjectError, match="'pkg_model' of package 'my_pkg'"):
        compile_sql("select 1", with_package)


def test_deps_without_packages_says_so(make_project, cli) -> None:
    code, out, _ = cli("deps", "--project-dir", make_project({}))
    assert code == 0 and "no packages to install" in out


def test_packages_install_path_is_where_deps_installs_and_the_build_looks(with_package,
                                                                          cli) -> None:
    (with_package / "dbt_project.yml").write_text("name: proj\npackages-install-path: vendor\n")
    assert cli("deps", "--project-dir", with_package)[0] == 0
    assert (with_package / "vendor" / "my_pkg").is_symlink()
    assert not (with_package / "dbt_packages").exists()
    assert compile_sql("{{ my_pkg.double(4) }}", with_package) == "(4 * 2)"
