"""Materializations: view, table, incremental (append, delete+insert, merge), full refresh,
and a failing model leaving its previous version untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build

EVENTS_YML = """
    version: 2
    sources:
      - name: app
        tables:
          - name: events
            columns:
              - name: id
              - name: v
              - name: batch
"""

INCREMENTAL = """
{{{{ config(materialized='incremental'{extra}) }}}}
select cast(id as integer) as id, v, cast(batch as integer) as batch
from {{{{ source('app', 'events') }}}}
{{% if is_incremental() %}}
where cast(batch as integer) > (select max(batch) from {{{{ this }}}})
{{% endif %}}
"""


def incremental_project(make_project, tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    root = make_project({
        "models/_sources.yml": EVENTS_YML,
        "models/events_inc.sql": INCREMENTAL.format(extra=extra),
    })
    raw = tmp_path / "raw"
    (raw / "events").mkdir(parents=True)
    (raw / "events" / "1.csv").write_text("id,v,batch\n1,a,1\n2,b,1\n")
    return root, raw


def second_batch(raw: Path) -> None:
    (raw / "events" / "2.csv").write_text("id,v,batch\n2,B,2\n3,c,2\n")


ROWS = "select id, v, batch from events_inc order by id, batch"


def test_view_and_table(make_project, query) -> None:
    root = make_project({
        "models/t.sql": "{{ config(materialized='table') }}\nselect 1 as x",
        "models/v.sql": "{{ config(materialized='view') }}\nselect x from {{ ref('t') }}",
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert query(db, "select table_name from duckdb_tables()") == [("t",)]
    assert query(db, "select view_name from duckdb_views() where not internal") == [("v",)]
    rows = {n.name: n.rows for n in result.nodes}
    assert rows["t"] == 1


def test_changing_a_view_into_a_table_replaces_it(make_project, query) -> None:
    root = make_project({"models/m.sql": "select 1 as x"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models" / "m.sql").write_text("{{ config(materialized='table') }}\nselect 2 as x")
    assert build(root, db_path=db).ok
    assert query(db, "select view_name from duckdb_views() where not internal") == []
    assert query(db, "select x from m") == [(2,)]


def test_incremental_append_adds_only_the_new_rows(make_project, tmp_path, query) -> None:
    root, raw = incremental_project(make_project, tmp_path)
    db = tmp_path / "db.duckdb"
    first = build(root, raw_dir=raw, db_path=db)
    assert first.ok, first.summary()
    assert first.nodes[0].rows == 2
    second_batch(raw)
    second = build(root, raw_dir=raw, db_path=db)
    assert second.ok, second.summary()
    assert second.nodes[0].rows == 2              # only batch 2 was selected
    assert query(db, ROWS) == [(1, "a", 1), (2, "b", 1), (2, "B", 2), (3, "c", 2)]
    assert "max(batch)" in (root / "target/compiled/models/events_inc.sql").read_text()


@pytest.mark.parametrize("strategy", ["delete+insert", "merge"])
def test_incremental_with_unique_key_replaces_changed_rows(make_project, tmp_path, query,
                                                           strategy) -> None:
    root, raw = incremental_project(
        make_project, tmp_path,
        extra=f", unique_key='id', incremental_strategy='{strategy}'")
    db = tmp_path / "db.duckdb"
    assert build(root, raw_dir=raw, db_path=db).ok
    second_batch(raw)
    result = build(root, raw_dir=raw, db_path=db)
    assert result.ok, result.summary()
    assert query(db, ROWS) == [(1, "a", 1), (2, "B", 2), (3, "c", 2)]


def test_unique_key_alone_means_merge(make_project, tmp_path, query) -> None:
    root, raw = incremental_project(make_project, tmp_path, extra=", unique_key='id'")
    db = tmp_path / "db.duckdb"
    assert build(root, raw_dir=raw, db_path=db).ok
    second_batch(raw)
    assert build(root, raw_dir=raw, db_path=db).ok
    assert query(db, ROWS) == [(1, "a", 1), (2, "B", 2), (3, "c", 2)]


def test_delete_insert_on_a_composite_key(make_project, query) -> None:
    model = ("{{ config(materialized='incremental', incremental_strategy='delete+insert', "
             "unique_key=['k1', 'k2']) }}\n"
             "select * from (values (1, 1, '{{ var('tag') }}'), (1, 2, '{{ var('tag') }}')) "
             "t(k1, k2, tag)\n"
             "{% if is_incremental() %}where k2 = 2{% endif %}")
    root = make_project({"models/m.sql": model})
    db = root / "db.duckdb"
    assert build(root, db_path=db, vars={"tag": "old"}).ok
    assert build(root, db_path=db, vars={"tag": "new"}).ok
    assert query(db, "select k1, k2, tag from m order by k2") == [(1, 1, "old"), (1, 2, "new")]


def test_full_refresh_rebuilds_an_incremental_model(make_project, tmp_path, query) -> None:
    root, raw = incremental_project(make_project, tmp_path)
    db = tmp_path / "db.duckdb"
    assert build(root, raw_dir=raw, db_path=db).ok
    # batch 1 is corrected in place: an incremental build does not see it...
    (raw / "events" / "1.csv").write_text("id,v,batch\n1,A,1\n2,b,1\n")
    second_batch(raw)
    assert build(root, raw_dir=raw, db_path=db).ok
    assert (1, "a", 1) in query(db, ROWS)
    # ...a full refresh does, and leaves no duplicates behind.
    result = build(root, raw_dir=raw, db_path=db, full_refresh=True)
    assert result.ok, result.summary()
    assert result.nodes[0].rows == 4
    assert query(db, ROWS) == [(1, "A", 1), (2, "b", 1), (2, "B", 2), (3, "c", 2)]
    compiled = (root / "target/compiled/models/events_inc.sql").read_text()
    assert "max(batch)" not in compiled              # is_incremental() was false


def test_a_failing_table_keeps_its_previous_rows(make_project, query) -> None:
    root = make_project({
        "models/t.sql": "{{ config(materialized='table') }}\n"
                        "select * from (values (1), (2), (3)) v(x)",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models" / "t.sql").write_text(
        "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as x")
    result = build(root, db_path=db)
    assert not result.ok
    assert result.nodes[0].status == "error"
    assert "unchanged" in result.nodes[0].message
    assert query(db, "select x from t order by x") == [(1,), (2,), (3,)]


def test_an_interrupt_before_the_commit_keeps_the_previous_rows(make_project, query,
                                                               monkeypatch) -> None:
    """Stopped after the new table and its hooks ran but before the commit (Ctrl-C, or
    any error that is not DuckDB's): the transaction is rolled back, not committed."""
    from runner.execute.duckdb.materialize import Executor

    root = make_project({
        "models/t.sql": "{{ config(materialized='table') }}\n"
                        "select * from (values (1), (2), (3)) v(x)",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models" / "t.sql").write_text(
        "{{ config(materialized='table') }}\nselect 4 as x")

    def interrupted(self, node):
        raise KeyboardInterrupt

    monkeypatch.setattr(Executor, "_comment", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(root, db_path=db)
    assert query(db, "select x from t order by x") == [(1,), (2,), (3,)]


def test_a_failing_view_keeps_its_previous_definition(make_project, query) -> None:
    root = make_project({"models/v.sql": "select 1 as x"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models" / "v.sql").write_text("select * from no_such_table")
    assert not build(root, db_path=db).ok
    assert query(db, "select x from v") == [(1,)]


def test_a_failing_incremental_build_keeps_the_rows_it_had(make_project, tmp_path,
                                                           query) -> None:
    root, raw = incremental_project(make_project, tmp_path, extra=", unique_key='id'")
    db = tmp_path / "db.duckdb"
    assert build(root, raw_dir=raw, db_path=db).ok
    (raw / "events" / "2.csv").write_text("id,v,batch\nnot-an-id,c,2\n")
    result = build(root, raw_dir=raw, db_path=db)
    assert result.nodes[0].status == "error"
    assert query(db, ROWS) == [(1, "a", 1), (2, "b", 1)]


def test_a_failing_model_leaves_no_temporary_relations(make_project, query) -> None:
    root = make_project({
        "models/m.sql": "{{ config(materialized='incremental', unique_key='id') }}\n"
                        "select 1 as id{% if is_incremental() %}, "
                        "cast('x' as integer) as broken{% endif %}",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert not build(root, db_path=db).ok
    names = query(db, "select table_name from duckdb_tables() union all "
                      "select view_name from duckdb_views() where not internal")
    assert names == [("m",)]


def test_a_view_turned_incremental_builds_in_full(make_project, query) -> None:
    root = make_project({"models/m.sql": "select * from range(5) t(i)"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models" / "m.sql").write_text(
        "{{ config(materialized='incremental') }}\nselect * from range(5) t(i)\n"
        "{% if is_incremental() %}where i > (select max(i) from {{ this }}){% endif %}")
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert query(db, "select count(*) from m") == [(5,)]
    assert query(db, "select table_name from duckdb_tables()") == [("m",)]


SEED_TYPES = "version: 2\nseeds:\n  - name: s\n    column_types: {b: integer}\n"


def test_a_seed_that_fails_to_load_keeps_its_previous_rows(make_project, query) -> None:
    root = make_project({"seeds/s.csv": "a,b\n1,2\n3,4\n", "seeds/p.yml": SEED_TYPES,
                         "models/m.sql": "select * from {{ ref('s') }}"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "seeds" / "s.csv").write_text("a,b\n1,2\n3,x\n")
    result = build(root, db_path=db)
    assert [(n.name, n.status) for n in result.nodes] == [("s", "error"), ("m", "skipped")]
    assert "seeds/s.csv" in result.nodes[0].message
    assert query(db, "select a, b from s order by a") == [(1, 2), (3, 4)]


def test_a_seed_with_a_ragged_row_is_an_error(make_project, query) -> None:
    root = make_project({"seeds/s.csv": "a,b\n1,2\n3,4\n"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "seeds" / "s.csv").write_text("a,b\n1,2\n3,4,5\n")
    result = build(root, db_path=db)
    assert result.nodes[0].status == "error"
    assert result.nodes[0].message == \
        "seed seeds/s.csv line 3 has 3 fields where the header has 2; fix that row."
    assert query(db, "select count(*) from s") == [(2,)]



@pytest.mark.parametrize("strategy", ["delete+insert", "merge"])
def test_incremental_rows_go_to_their_columns_by_name(make_project, query,
                                                      strategy) -> None:
    config = ("{{ config(materialized='incremental', unique_key='id', "
              f"incremental_strategy='{strategy}') }}}}\n")
    root = make_project({"models/m.sql": config + "select 1 as id, 10 as qty, 100 as price"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    (root / "models" / "m.sql").write_text(
        config + "select 1 as id, 200 as price, 20 as qty union all select 2, 300, 30")
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert query(db, "select id, qty, price from m order by id") == [(1, 20, 200),
                                                                     (2, 30, 300)]
