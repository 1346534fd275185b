"""Node selection: model, +model, model+, tag:, path:, several at once, --exclude."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, list_nodes
from runner.errors import GraphError


@pytest.fixture
def dag(make_project) -> Path:
    """src -> stg -> mid -> top, and stg -> side; other is on its own."""
    return make_project({
        "models/staging/src.sql": "select 1 as x",
        "models/staging/stg.sql": "{{ config(tags=['daily']) }}\n"
                                  "select * from {{ ref('src') }}",
        "models/marts/mid.sql": "{{ config(tags=['daily', 'finance']) }}\n"
                                "select * from {{ ref('stg') }}",
        "models/marts/top.sql": "select * from {{ ref('mid') }}",
        "models/marts/side.sql": "{{ config(materialized='table') }}\n"
                                 "select * from {{ ref('stg') }}",
        "models/other.sql": "select 2 as y",
    })


def names(root: Path, select=None, exclude=None) -> set[str]:
    return {n["name"] for n in list_nodes(root, select, exclude)}


@pytest.mark.parametrize("select, expected", [
    (["mid"], {"mid"}),
    (["+mid"], {"src", "stg", "mid"}),
    (["mid+"], {"mid", "top"}),
    (["+mid+"], {"src", "stg", "mid", "top"}),
    (["stg+"], {"stg", "mid", "top", "side"}),
    (["1+mid"], {"stg", "mid"}),
    (["tag:daily"], {"stg", "mid"}),
    (["tag:finance"], {"mid"}),
    (["path:models/staging"], {"src", "stg"}),
    (["path:models/marts/top.sql"], {"top"}),
    (["models/marts"], {"mid", "top", "side"}),
    (["mid other"], {"mid", "other"}),             # space-separated: a union
    (["mid", "src"], {"mid", "src"}),               # repeated --select
    (["tag:daily,path:models/marts"], {"mid"}),      # comma: an intersection
    (["+tag:finance"], {"src", "stg", "mid"}),
    (["config.materialized:table"], {"side"}),
    (["mi*"], {"mid"}),
])
def test_selectors(dag: Path, select, expected) -> None:
    assert names(dag, select) == expected


@pytest.mark.parametrize("select, exclude, expected", [
    (None, ["path:models/marts"], {"src", "stg", "other"}),
    (["+top"], ["src"], {"stg", "mid", "top"}),
    (["stg+"], ["tag:finance top"], {"stg", "side"}),
])
def test_exclude(dag: Path, select, exclude, expected) -> None:
    assert names(dag, select, exclude) == expected


def test_a_build_runs_only_the_selected_nodes(dag: Path, query) -> None:
    db = dag / "db.duckdb"
    result = build(dag, db_path=db, select=["+mid"], exclude=["src"])
    assert [n.name for n in result.nodes] == ["stg", "mid"]
    assert not result.ok                              # stg reads src, which was not built
    result = build(dag, db_path=db, select=["+mid"])
    assert result.ok, result.summary()
    assert [n.name for n in result.nodes] == ["src", "stg", "mid"]
    views = {v for v, in query(db, "select view_name from duckdb_views() where not internal")}
    assert views == {"src", "stg", "mid"}


def test_selecting_a_model_also_runs_its_tests(make_project) -> None:
    root = make_project({
        "models/a.sql": "select 1 as id",
        "models/b.sql": "select 1 as id",
        "models/p.yml": "version: 2\nmodels:\n"
                        "  - name: a\n    columns:\n      - name: id\n"
                        "        data_tests: [unique]\n"
                        "  - name: b\n    columns:\n      - name: id\n"
                        "        data_tests: [unique]\n",
    })
    result = build(root, db_path=root / "db.duckdb", select=["b"])
    assert [n.name for n in result.nodes] == ["b", "unique_b_id"]


def test_a_data_test_is_selected_and_excluded_by_its_name(make_project, cli) -> None:
    root = make_project({
        "models/a.sql": "select 1 as id",
        "models/p.yml": "version: 2\nmodels:\n  - name: a\n    columns:\n"
                        "      - name: id\n        data_tests: [unique, not_null]\n",
        "tests/assert_a_has_no_two.sql": "select * from {{ ref('a') }} where id = 2",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    code, out, err = cli("test", "--project-dir", root, "--db", db,
                         "--select", "assert_a_has_no_two")
    assert code == 0, out + err
    assert "assert_a_has_no_two" in out and "unique_a_id" not in out, out
    result = build(root, db_path=db, select=["unique_a_id a"])
    assert [n.name for n in result.nodes] == ["a", "unique_a_id", "not_null_a_id",
                                              "assert_a_has_no_two"]
    result = build(root, db_path=db, select=["a"], exclude=["not_null_a_id"])
    assert [n.name for n in result.nodes] == ["a", "unique_a_id", "assert_a_has_no_two"]
    tested = build(root, db_path=db, select=["not_null_a_id"])
    assert [n.name for n in tested.nodes] == ["not_null_a_id"]


def test_an_unknown_model_in_a_selector_suggests_the_closest(dag: Path) -> None:
    with pytest.raises(GraphError) as info:
        names(dag, ["+midd"])
    assert "'midd'" in str(info.value) and "'mid'" in str(info.value)


def test_an_unknown_selector_method_is_an_error(dag: Path) -> None:
    with pytest.raises(GraphError, match="unknown selector method"):
        names(dag, ["colour:red"])


def test_selection_on_the_cli(dag: Path, cli) -> None:
    code, out, _ = cli("ls", "--project-dir", dag, "--select", "tag:daily other",
                       "--exclude", "stg")
    assert code == 0
    listed = {line.split()[1] for line in out.strip().splitlines()}
    assert listed == {"mid", "other"}
    code, out, _ = cli("ls", "--project-dir", dag, "-s", "+side", "-s", "top")
    assert [line.split()[1] for line in out.strip().splitlines()] == \
        ["src", "stg", "side", "top"]


@pytest.mark.parametrize("option, spec, named, closest", [
    ("--select", "tag:dialy", "tag:dialy", "'tag:daily'"),
    ("--select", "+tag:financ+", "tag:financ", "'tag:finance'"),
    ("--exclude", "tag:finanse", "tag:finanse", "'tag:finance'"),
    ("--select", "path:models/stagin", "path:models/stagin", "'path:models/staging'"),
    ("--exclude", "models/mart", "models/mart", "'models/marts'"),
    ("--select", "path:models/marts/tpo.sql", "path:models/marts/tpo.sql",
     "'path:models/marts/top.sql'"),
    ("--select", "sidee+", "sidee", "'side'"),
    ("--exclude", "2+topp", "topp", "'top'"),
    ("--select", "config.materialized:tabel", "config.materialized:tabel",
     "'config.materialized:table'"),
])
def test_a_selector_that_matches_nothing_is_an_error(dag: Path, option, spec, named,
                                                     closest) -> None:
    select, exclude = ([spec], None) if option == "--select" else (None, [spec])
    with pytest.raises(GraphError) as info:
        names(dag, select, exclude)
    message = str(info.value)
    assert info.value.exit_code == 2
    assert f"{option} {named!r} matches no model or seed" in message, message
    assert f"did you mean {closest}?" in message, message


def test_a_selector_matching_nothing_among_others_is_still_an_error(dag: Path) -> None:
    with pytest.raises(GraphError, match="'tag:nightly' matches no model or seed"):
        names(dag, ["mid tag:nightly"])
    with pytest.raises(GraphError, match="'path:models/nowhere' matches no"):
        names(dag, ["tag:daily,path:models/nowhere"])


def test_a_selector_matching_nothing_on_the_cli_exits_2_and_builds_nothing(dag: Path,
                                                                           cli) -> None:
    db = dag / "db.duckdb"
    code, out, err = cli("build", "--project-dir", dag, "--db", db, "-s", "tag:dialy")
    assert code == 2, out + err
    assert "--select 'tag:dialy' matches no model or seed" in err
    assert "did you mean 'tag:daily'?" in err and "Traceback" not in out + err
    assert not db.exists()
    code, out, err = cli("ls", "--project-dir", dag, "--exclude", "path:models/stagin")
    assert code == 2 and "did you mean 'path:models/staging'?" in err
