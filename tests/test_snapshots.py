"""Snapshots: type 2 history of a query, in dbt's SQL block and YAML forms, with the
timestamp and check strategies and hard_deletes; `runner snapshot` and `runner build`."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, execute

SQL_SNAPSHOT = """\
{% snapshot people_history %}
{{ config(unique_key='id', strategy='timestamp', updated_at='updated',
          hard_deletes='HARD') }}
select id, name, cast(updated as timestamp) as updated from {{ ref('people') }}
{% endsnapshot %}
"""

YAML_SNAPSHOT = """\
version: 2
snapshots:
  - name: people_names
    relation: ref('people')
    config:
      schema: history
      unique_key: [id]
      strategy: check
      check_cols: all
      snapshot_meta_column_names: {dbt_valid_from: valid_from, dbt_valid_to: valid_to,
                                   dbt_scd_id: version_id}
"""


def _project(make_project, hard: str = "ignore") -> Path:
    return make_project({
        "seeds/people.csv": "id,name,updated\n1,ann,2024-01-01\n2,bob,2024-01-01\n",
        "snapshots/people_history.sql": SQL_SNAPSHOT.replace("HARD", hard),
        "snapshots/_snapshots.yml": YAML_SNAPSHOT,
        "models/current_people.sql":
            "select id, name from {{ ref('people_history') }} where dbt_valid_to is null",
    })


def _rebuild(root: Path, csv: str, command: str = "build"):
    (root / "seeds/people.csv").write_text("id,name,updated\n" + csv)
    if command != "build":
        assert execute("seed", root, db_path=root / "db.duckdb").ok
    result = execute(command, root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    return result


def _history(query, root: Path, extra: str = "") -> list[tuple]:
    return query(root / "db.duckdb",
                 "select id, name, strftime(dbt_valid_from, '%Y-%m-%d'), "
                 "dbt_valid_to is null, strftime(dbt_valid_to, '%Y-%m-%d')" + extra +
                 " from people_history order by id, dbt_valid_from")


def test_timestamp_strategy_keeps_every_version(make_project, query) -> None:
    root = _project(make_project)
    first = build(root, db_path=root / "db.duckdb")
    assert first.ok, first.summary()
    order = [n.name for n in first.nodes]
    assert order.index("people_history") < order.index("current_people")
    assert {n.kind for n in first.nodes if n.name.startswith("people_")} == {"snapshot"}
    _rebuild(root, "1,ann,2024-01-01\n2,bobby,2024-02-01\n3,cy,2024-02-01\n")
    assert _history(query, root) == [
        (1, "ann", "2024-01-01", True, None),
        (2, "bob", "2024-01-01", False, "2024-02-01"),
        (2, "bobby", "2024-02-01", True, None),
        (3, "cy", "2024-02-01", True, None)]
    # an unchanged run adds nothing; ids are a hash of the key and the version's time
    _rebuild(root, "1,ann,2024-01-01\n2,bobby,2024-02-01\n3,cy,2024-02-01\n")
    assert len(_history(query, root)) == 4
    ids = query(root / "db.duckdb", "select count(distinct dbt_scd_id), count(*), "
                "count(*) filter (where dbt_updated_at = dbt_valid_from) from people_history")
    assert ids == [(4, 4, 4)]
    assert query(root / "db.duckdb", "select * from current_people order by id") == [
        (1, "ann"), (2, "bobby"), (3, "cy")]


def test_check_strategy_in_yaml_with_renamed_meta_columns(make_project, query) -> None:
    root = _project(make_project)
    assert build(root, db_path=root / "db.duckdb").ok
    # a changed name at the same `updated`: the check strategy sees it
    _rebuild(root, "1,ann,2024-01-01\n2,rob,2024-01-01\n", command="snapshot")
    rows = query(root / "db.duckdb", "select id, name, valid_to is null, "
                 "version_id is not null from main_history.people_names order by id, valid_from")
    assert rows == [(1, "ann", True, True), (2, "bob", False, True), (2, "rob", True, True)]
    closed = query(root / "db.duckdb", "select count(*) from main_history.people_names as a "
                   "join main_history.people_names as b on a.valid_to = b.valid_from")
    assert closed == [(1,)]


@pytest.mark.parametrize("hard, expected", [
    ("ignore", [(1, "ann", True, "False?"), (2, "bob", True, "False?")]),
    ("invalidate", [(1, "ann", True, "False?"), (2, "bob", False, "False?")]),
    ("new_record", [(1, "ann", True, "False"), (2, "bob", False, "False"),
                    (2, "bob", True, "True")]),
])
def test_hard_deletes(make_project, query, hard: str, expected: list) -> None:
    root = _project(make_project, hard)
    assert build(root, db_path=root / "db.duckdb").ok
    _rebuild(root, "1,ann,2024-01-01\n")
    deleted = ", dbt_is_deleted" if hard == "new_record" else ", 'False?'"
    rows = [(r[0], r[1], r[3], r[5]) for r in _history(query, root, deleted)]
    assert rows == expected
    if hard == "new_record":      # the key comes back: the deletion record is closed
        _rebuild(root, "1,ann,2024-01-01\n2,bob,2024-05-01\n")
        rows = [(r[0], r[1], r[3], r[5]) for r in _history(query, root, deleted)]
        current = sorted((r[0], r[3]) for r in rows if r[2])
        assert current == [(1, "False"), (2, "False")] and len(rows) == 4, rows


def test_run_leaves_snapshots_and_new_columns_are_added(make_project, query) -> None:
    root = _project(make_project)
    db = root / "db.duckdb"
    assert execute("seed", root, db_path=db).ok
    run = execute("run", root, db_path=db, select=["people", "current_people"])
    assert [n.name for n in run.nodes if n.kind == "snapshot"] == []
    snap = execute("snapshot", root, db_path=db)
    assert sorted(n.name for n in snap.nodes) == ["people_history", "people_names"]
    sql = root / "snapshots/people_history.sql"
    sql.write_text(sql.read_text().replace("select id, name,", "select id, name, 'x' as tag,"))
    _rebuild(root, "1,ann,2024-01-01\n2,bob,2024-01-01\n", command="snapshot")
    assert query(db, "select count(*), count(tag) from people_history") == [(2, 0)]


@pytest.mark.parametrize("change, message", [
    ("unique_key='id', ", "snapshot people_history needs a unique_key"),
    ("updated_at='updated',", "snapshot people_history uses strategy timestamp without "
                              "updated_at"),
    ("strategy='timestamp'", "has strategy 'timestamps'"),
    ("hard_deletes='ignore'", "has hard_deletes 'drop'"),
])
def test_a_wrong_snapshot_config_stops_before_anything_runs(make_project, cli, change,
                                                            message) -> None:
    root = _project(make_project)
    sql = root / "snapshots/people_history.sql"
    replacement = {"strategy='timestamp'": "strategy='timestamps'",
                   "hard_deletes='ignore'": "hard_deletes='drop'"}.get(change, "")
    sql.write_text(sql.read_text().replace(change, replacement))
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2, out + err
    assert message in err and "snapshots/people_history.sql" in err


def test_snapshot_keys_are_not_warned(make_project) -> None:
    root = _project(make_project, "invalidate")
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok and result.warnings == [], result.warnings


def test_a_unique_key_repeated_in_the_query_stops_the_snapshot(make_project, query) -> None:
    """Each run would add the repeated key's versions again: the snapshot stops, naming
    the keys, on its first build and on a later one, and its table stays as it was."""
    root = _project(make_project)
    (root / "seeds/people.csv").write_text(
        "id,name,updated\n1,ann,2024-01-01\n2,bob,2024-01-01\n2,bo,2024-01-01\n")
    first = build(root, db_path=root / "db.duckdb")
    assert not first.ok
    status = {n.name: n for n in first.nodes}
    assert (status["people_history"].status, status["current_people"].status) == \
        ("error", "skipped")
    message = status["people_history"].message
    assert "unique_key id is not unique in its query (id = 2 (2 rows))" in message, message
    assert "was not built" in message
    assert query(root / "db.duckdb", "select count(*) from duckdb_tables() "
                 "where table_name = 'people_history'") == [(0,)]

    _rebuild(root, "1,ann,2024-01-01\n2,bob,2024-01-01\n")
    before = _history(query, root)
    (root / "seeds/people.csv").write_text(
        "id,name,updated\n1,ann,2024-03-01\n1,anna,2024-03-01\n2,bob,2024-01-01\n")
    later = execute("build", root, db_path=root / "db.duckdb")
    assert not later.ok
    failed = {n.name: n for n in later.nodes if n.status == "error"}
    assert "unique_key id is not unique in its query (id = 1 (2 rows))" in \
        failed["people_history"].message
    assert _history(query, root) == before
