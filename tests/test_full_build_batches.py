"""full_build_batches: a full build made in batches of whole keys (runner/jinja/batches.py)
builds the same table as one statement, says so, and refuses a model that would put
every row in every batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpo import sample as gen
from runner.api import build
from test_incremental import COMPARED, differences

UPSTREAM = "select k, v from range(10) r(v), (values ('a'), ('b'), ('c'), ('d')) t(k)"
BATCHED = """
{{ config(materialized='table',
          full_build_batches={'rows_of': 'up', 'rows_per_batch': var('per_batch')}) }}
select k, count(*) as n, sum(v) as total, max(v) as top
from {{ ref('up') }}
where {{ batch_filter('k') }}
group by k
"""


def test_batches_build_the_same_table_and_say_so(make_project, query) -> None:
    root = make_project({"models/up.sql": UPSTREAM, "models/m.sql": BATCHED})
    whole, batched = root / "whole.duckdb", root / "batched.duckdb"
    assert build(root, db_path=whole, vars={"per_batch": 1000}).ok
    result = build(root, db_path=batched, vars={"per_batch": 10})
    assert result.ok, result.summary()
    [node] = [n for n in result.nodes if n.name == "m"]
    # 40 rows of `up`, 10 a batch: 4 batches, each a set of whole keys
    assert node.message == "4 rows, built in 4 batches of its keys"
    table = "select * from main.m order by k"
    assert query(batched, table) == query(whole, table) == [
        ("a", 10, 45, 9), ("b", 10, 45, 9), ("c", 10, 45, 9), ("d", 10, 45, 9)]
    [node] = [n for n in build(root, db_path=whole, vars={"per_batch": 1000}).nodes
              if n.name == "m"]
    assert node.message == "4 rows"


def test_a_failed_batch_leaves_the_previous_table(make_project, query) -> None:
    failing = BATCHED.replace("group by k", "group by k having error('batch ' || k) "
                              "is null or k <> 'c'")
    root = make_project({"models/up.sql": UPSTREAM, "models/m.sql": BATCHED})
    db = root / "x.duckdb"
    assert build(root, db_path=db, vars={"per_batch": 1000}).ok
    (root / "models/m.sql").write_text(failing)
    result = build(root, db_path=db, vars={"per_batch": 10})
    assert not result.ok
    assert query(db, "select count(*) from main.m") == [(4,)]


def test_a_batched_model_must_filter_its_rows(make_project, cli) -> None:
    root = make_project({"models/up.sql": UPSTREAM, "models/m.sql": BATCHED.replace(
        "where {{ batch_filter('k') }}", "")})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "x.duckdb",
                         "--vars", "{per_batch: 10}")
    assert code == 2, out + err
    assert "model m sets full_build_batches but its SQL does not call batch_filter" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("setting, says", [
    ("{'rows_of': 'nope', 'rows_per_batch': 10}", "counts the rows of 'nope'"),
    ("{'rows_of': 'up', 'rows_per_batch': 0}", "must be a positive whole number"),
    ("{'rows_of': 'up'}", "must name exactly rows_of and rows_per_batch"),
])
def test_a_bad_setting_is_named(make_project, cli, setting, says) -> None:
    model = BATCHED.replace("{'rows_of': 'up', 'rows_per_batch': var('per_batch')}", setting)
    root = make_project({"models/up.sql": UPSTREAM, "models/m.sql": model})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "x.duckdb")
    assert code == 2, out + err
    assert says in err and "models/m.sql" in err


def test_the_sessions_in_batches_equal_one_statement(tmp_path: Path) -> None:
    """int_sessions_priced in batches of sessions (forced small) equals its full build
    in one statement, and so does every report: the versions of one session are never
    split between batches."""
    raw = tmp_path / "raw"
    gen.generate(raw, 2 * gen.PLANT_PERIOD, seed=5)
    vars = {"report_time": "2026-01-01T00:00:00Z"}
    whole, batched = tmp_path / "whole.duckdb", tmp_path / "batched.duckdb"
    assert build(gen_root(), raw_dir=raw, db_path=whole, vars=vars).ok
    result = build(gen_root(), raw_dir=raw, db_path=batched,
                   vars={**vars, "versions_per_batch": 700})
    assert result.ok, result.summary()
    [priced] = [n for n in result.nodes if n.name == "int_sessions_priced"]
    assert "batches of its keys" in priced.message, priced.message
    # every column but when the rows were loaded and built
    assert differences(batched, whole, COMPARED + ["intermediate.int_sessions_priced"],
                       ("_built_at", "_loaded_at", "last_loaded_at")) == {}


def gen_root() -> Path:
    return Path(__file__).resolve().parents[1]
