"""--state DIR (a previous run's target/): state:new, state:modified and its
sub-selectors, result:<status>, --defer, `runner retry`, source freshness and
source_status:fresher."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from runner.api import build, execute, list_nodes
from runner.task.freshness import source_freshness
from runner.task.retry import retry

FILES = {
    "dbt_project.yml": "name: st\n",
    "seeds/s.csv": "id,v\n1,2\n2,5\n",
    "macros/m.sql": "{% macro dbl(x) %}{{ x }} * 2{% endmacro %}\n",
    "models/a.sql": "select id, {{ dbl('v') }} as w from {{ ref('s') }}",
    "models/b.sql": "{{ config(materialized='table') }}\nselect * from {{ ref('a') }}",
    "models/c.sql": "select 1 as one",
    "models/k.sql": "{{ config(materialized='table', contract={'enforced': true}) }}\n"
                    "select 1 as id",
    "models/k.yml": "version: 2\nmodels:\n  - name: k\n    columns:\n"
                    "      - name: id\n        data_type: integer\n",
}


@pytest.fixture
def project(make_project, tmp_path: Path) -> tuple[Path, Path]:
    """A built project and a copy of its target/ as the state."""
    root = make_project(FILES, name="st")
    assert build(root, db_path=root / "st.duckdb").ok
    state = tmp_path / "prod-target"
    shutil.copytree(root / "target", state)
    return root, state


def _names(root: Path, select: str, state: Path) -> list[str]:
    return sorted(n["name"] for n in list_nodes(root, [select], state=state))


def test_nothing_changed_selects_nothing(project) -> None:
    root, state = project
    assert _names(root, "state:modified", state) == []
    assert _names(root, "state:new", state) == []


def test_state_modified_and_its_sub_selectors(project) -> None:
    root, state = project
    (root / "models" / "c.sql").write_text("select 2 as one")                  # body
    (root / "models" / "b.sql").write_text(
        "{{ config(materialized='view') }}\nselect * from {{ ref('a') }}")    # config
    (root / "macros" / "m.sql").write_text("{% macro dbl(x) %}{{ x }} * 3{% endmacro %}\n")
    (root / "models" / "k.yml").write_text(FILES["models/k.yml"].replace("integer",
                                                                          "bigint"))
    (root / "models" / "d.sql").write_text("select 1 as d")                    # new
    assert _names(root, "state:modified.body", state) == ["b", "c"]
    assert _names(root, "state:modified.configs", state) == ["b"]
    assert _names(root, "state:modified.macros", state) == ["a"]
    assert _names(root, "state:modified.contract", state) == ["k"]
    assert _names(root, "state:new", state) == ["d"]
    assert _names(root, "state:modified", state) == ["a", "b", "c", "d", "k"]
    assert _names(root, "state:modified.macros+", state) == ["a", "b"]


def test_a_state_selector_without_state_says_so(project, cli) -> None:
    root, _ = project
    code, _, err = cli("ls", "--project-dir", root, "--select", "state:modified")
    assert code == 2 and "no --state was given" in err
    code, _, err = cli("ls", "--project-dir", root, "--select", "state:changed",
                       "--state", root / "target")
    assert code == 2 and "unknown state selector" in err
    code, _, err = cli("ls", "--project-dir", root, "--select", "state:new",
                       "--state", root / "nothing")
    assert code == 2 and "is not a folder" in err


def test_result_selectors_and_retry(make_project) -> None:
    root = make_project({**FILES,
                         "models/bad.sql": "select nope from {{ ref('s') }}",
                         "models/after.sql": "select * from {{ ref('bad') }}",
                         "models/c.yml": "version: 2\nmodels:\n  - name: c\n    columns:\n"
                                         "      - name: one\n        data_tests:\n"
                                         "          - accepted_values: {values: [2]}\n"})
    db = root / "st.duckdb"
    first = build(root, db_path=db)
    assert not first.ok
    target = root / "target"
    assert sorted(n["name"] for n in list_nodes(root, ["result:error"], state=target)) == ["bad"]
    assert sorted(n["name"] for n in list_nodes(root, ["result:fail"], state=target)) == ["c"]
    assert sorted(n["name"] for n in list_nodes(root, ["result:skipped"], state=target)) == \
        ["after"]
    (root / "models" / "bad.sql").write_text("select id from {{ ref('s') }}")
    (root / "models" / "c.yml").write_text(
        "version: 2\nmodels:\n  - name: c\n    columns:\n      - name: one\n"
        "        data_tests:\n          - accepted_values: {values: [1]}\n")
    again = retry(root)
    assert again is not None and again.ok, again.summary()
    assert sorted(n.name for n in again.nodes if n.kind != "test") == ["after", "bad", "c"]
    assert retry(root) is None                                 # nothing left to retry


def test_retry_without_a_previous_run_says_so(make_project, cli) -> None:
    root = make_project({"models/a.sql": "select 1 as x"})
    code, _, err = cli("retry", "--project-dir", root)
    assert code == 2 and "nothing to retry" in err


def test_defer_reads_unselected_parents_from_the_state_database(project, tmp_path: Path,
                                                                 query) -> None:
    root, state = project
    dev = tmp_path / "dev.duckdb"
    missing = execute("run", root, db_path=dev, select=["b"])   # without --defer: no a
    assert not missing.ok and '"main"."a"' in missing.nodes[0].message, missing.summary()
    result = execute("run", root, db_path=dev, select=["b"], state=state, defer=True)
    assert result.ok, result.summary()
    assert any("--defer: a is read from" in note for note in result.notes), result.notes
    assert query(dev, "select count(*) from main.b") == [(2,)]
    assert query(dev, "select count(*) from duckdb_tables() where table_name = 'a'") == [(0,)]


SOURCES = {
    "models/orders.sql": "select * from {{ source('raw', 'orders') }}",
    "models/files.sql": "select * from {{ source('raw', 'events') }}",
    "models/s.yml": """\
        version: 2
        sources:
          - name: raw
            freshness:
              warn_after: {count: 1, period: day}
              error_after: {count: 3, period: day}
            tables:
              - name: orders
                loaded_at_field: loaded_at
                freshness:
                  warn_after: {count: 1, period: day}
                  error_after: {count: 3, period: day}
                  filter: "cast(id as integer) < 3"
              - name: events
              - name: quiet
                freshness: null
        """,
}


def _raw(tmp_path: Path, newest_days_ago: float) -> Path:
    raw = tmp_path / "raw"
    for folder in ("orders", "events", "quiet"):
        (raw / folder).mkdir(parents=True, exist_ok=True)
    stamp = lambda days: time.strftime(  # noqa: E731
        "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - days * 86400))
    (raw / "orders" / "o.csv").write_text(
        f"id,loaded_at\n1,{stamp(newest_days_ago + 5)}\n2,{stamp(newest_days_ago)}\n"
        f"3,{stamp(0)}\n")                     # id 3 is filtered out
    events = raw / "events" / "e.csv"
    events.write_text("id\n1\n")
    old = time.time() - 5 * 86400
    os.utime(events, (old, old))               # the newest file is 5 days old
    (raw / "quiet" / "q.csv").write_text("id\n1\n")
    return raw


def test_source_freshness_writes_sources_json(make_project, tmp_path: Path, cli) -> None:
    root = make_project(SOURCES, name="fr")
    raw = _raw(tmp_path, newest_days_ago=2)
    db = tmp_path / "fr.duckdb"
    results, out = source_freshness(root, raw, db)
    status = {(r.source, r.table): r.status for r in results}
    assert status == {("raw", "orders"): "warn", ("raw", "events"): "error"}
    data = json.loads(out.read_text())
    assert data["metadata"]["dbt_schema_version"] == \
        "https://schemas.getdbt.com/dbt/sources/v3.json"
    orders = next(r for r in data["results"] if r["unique_id"] == "source.fr.raw.orders")
    assert 2 * 86400 - 60 < orders["max_loaded_at_time_ago_in_s"] < 2 * 86400 + 60
    assert orders["criteria"]["filter"] == "cast(id as integer) < 3"
    assert orders["criteria"]["warn_after"] == {"count": 1, "period": "day"}
    code, out_text, _ = cli("source", "freshness", "--project-dir", root, "--raw-dir", raw,
                            "--db", db)
    assert code == 1 and "WARN  source raw.orders" in out_text
    assert "ERROR source raw.events" in out_text


def test_a_wrong_freshness_names_the_table(make_project, tmp_path: Path, cli) -> None:
    root = make_project({**SOURCES, "models/s.yml": SOURCES["models/s.yml"].replace(
        "period: day}\n                  filter", "period: days}\n                  filter")})
    code, _, err = cli("ls", "--project-dir", root)
    assert code == 2 and "raw.orders" in err and "period" in err


def test_source_status_fresher_selects_the_models_of_fresher_sources(
        make_project, tmp_path: Path) -> None:
    root = make_project(SOURCES, name="fr")
    raw = _raw(tmp_path, newest_days_ago=2)
    db = tmp_path / "fr.duckdb"
    source_freshness(root, raw, db)
    state = tmp_path / "before"
    shutil.copytree(root / "target", state)
    (raw / "orders" / "o2.csv").write_text("id,loaded_at\n2,2100-01-01 00:00:00\n")
    source_freshness(root, raw, db)
    assert [n["name"] for n in list_nodes(root, ["source_status:fresher"], state=state)] == \
        ["orders"]
