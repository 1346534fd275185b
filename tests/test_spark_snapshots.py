"""Snapshots on Spark (marker `spark`): one project of two snapshots (timestamp with
hard_deletes invalidate in a SQL block; check `all` in YAML with new_record,
dbt_valid_to_current and renamed meta columns) built three times on DuckDB and on Spark
with changed, deleted, returning and new rows and a new column, then snapshotted alone
(`runner snapshot`) in a run where one snapshot fails; the tables are equal cell for
cell after each run (a time of the run's own clock compared as the run it belongs to),
the failed one's as its previous run left it. And the MERGE written for Delta or
Iceberg tables, which this machine cannot run: its statement, Spark's analysis of it,
and its effect (applied by a query) against the Parquet rewrite's (check on a list)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from runner.api import build, execute
from runner.engines.profiles import Target
from runner.execute.snapshots import snapshot_plan
from runner.execute.spark.snapshots import SnapshotSql, run_time_sql
from runner.project.nodes import Node

SPARK = Target("spark", type="spark")
SCHEMA = "snaptest"

FILES = {
    "dbt_project.yml": """
        name: snapshots_on_spark
        version: "1.0"
        config-version: 2
        """,
    "snapshots/snap_ts.sql": """
        {% snapshot snap_ts %}
        {{ config(schema='snaptest', unique_key='id', strategy='timestamp',
                  updated_at='updated', hard_deletes='invalidate') }}
        select {% if var('fail', false) %}id + cast(name as integer){% else %}id{% endif %}
            as id, name, city, cast(updated as timestamp) as updated
        {%- if var('tag', false) %}, 'x' as tag{% endif %}
        from {{ ref('people') }}
        {% endsnapshot %}
        """,
    "snapshots/_snapshots.yml": """
        version: 2
        snapshots:
          - name: snap_check
            relation: ref('people')
            config:
              schema: snaptest
              unique_key: [id]
              strategy: check
              check_cols: all
              hard_deletes: new_record
              dbt_valid_to_current: "cast('9999-12-31' as timestamp)"
              snapshot_meta_column_names: {dbt_valid_from: valid_from, dbt_valid_to: valid_to,
                                           dbt_scd_id: version_id}
        """,
    "models/snap_current.sql": """
        {{ config(materialized='view', schema='snaptest') }}
        select id, name from {{ ref('snap_ts') }} where dbt_valid_to is null
        """,
}
HEADER = "id,name,city,updated\n"
ROWS = [
    "1,ann,paris,2024-01-01\n2,bob,rome,2024-01-01\n3,cy,oslo,2024-01-01\n",
    # 2 changed (later `updated`), 3 deleted, 4 new
    "1,ann,paris,2024-01-01\n2,bob,milan,2024-02-01\n4,dee,rome,2024-02-01\n",
    # 1 renamed at the same `updated` (only check sees it), 3 back, 4 deleted again,
    # a new column `tag`
    "1,anne,paris,2024-01-01\n2,bob,milan,2024-02-01\n3,cy,oslo,2024-03-01\n",
]
# the fourth run (`runner snapshot`, the rows unchanged): snap_ts's key cannot be
# computed, so snap_ts fails; the others find nothing new
VARS = [{}, {}, {"tag": True}, {"tag": True, "fail": True}]
# table -> (scd_id column, updated_at column)
TABLES = {"snap_ts": ("dbt_scd_id", "dbt_updated_at"),
          "snap_check": ("version_id", "dbt_updated_at")}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def canonical(columns: list[str], rows: list[tuple], windows: list[tuple],
              scd_id: str, updated_at: str) -> tuple[list[str], list[tuple]]:
    """A time of a run's own clock as that run's number; a version id made from one (a
    hash of it) as 'clock'; columns by name, rows sorted."""
    def cell(value):
        if isinstance(value, dt.datetime):
            for number, (start, end) in enumerate(windows, 1):
                if start <= value <= end:
                    return f"run {number}"
        return value
    names = sorted(columns)
    out = []
    for row in rows:
        values = {c: cell(v) for c, v in zip(columns, row)}
        if str(values[updated_at]).startswith("run "):
            values[scd_id] = "clock" if values[scd_id] else None
        out.append(tuple(values[c] for c in names))
    return names, sorted(out, key=repr)


def _duckdb_rows(db: Path, table: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(f"select * from main_{SCHEMA}.{table}")
        return [d[0] for d in cursor.description], cursor.fetchall()


@pytest.mark.spark
def test_snapshots_on_spark_equal_duckdbs_run_after_run(spark_session, make_project) -> None:
    duck_root = make_project(FILES, name="duck")
    spark_root = make_project(FILES, name="spark")
    db = duck_root / "db.duckdb"
    windows: dict[str, list[tuple]] = {"duck": [], "spark": []}
    schema: list[str] = []
    for run, vars in enumerate(VARS, 1):
        results = {}
        for engine, root in (("duck", duck_root), ("spark", spark_root)):
            if run <= len(ROWS):
                (root / "seeds").mkdir(exist_ok=True)
                (root / "seeds/people.csv").write_text(HEADER + ROWS[run - 1])
            where = {"db_path": db} if engine == "duck" else {"target": SPARK}
            start = _utc_now()
            results[engine] = build(root, vars=vars, **where) if run <= len(ROWS) else \
                execute("snapshot", root, vars=vars, **where)
            windows[engine].append((start, _utc_now()))
        duck, spark = results["duck"], results["spark"]
        status = {n.name: n.status for n in spark.nodes}
        assert status == {n.name: n.status for n in duck.nodes}, spark.summary()
        # the rows count as on DuckDB (new versions, and versions a deletion closed)
        assert {n.name: n.rows for n in spark.nodes if n.kind == "snapshot"} == \
            {n.name: n.rows for n in duck.nodes if n.kind == "snapshot"}
        if run <= len(ROWS):
            assert spark.ok, spark.summary()
            order = [n.name for n in spark.nodes]
            assert order.index("snap_ts") < order.index("snap_current")
        else:       # `runner snapshot`: the snapshots alone; snap_ts failed
            assert status == {"snap_ts": "error", "snap_check": "success"}, \
                spark.summary()
            failed = next(n for n in spark.nodes if n.name == "snap_ts")
            assert "previous version, if any, is unchanged" in failed.message
            assert all(n.rows == 0 for n in spark.nodes if n.name != "snap_ts")
            # no table of the failed run left
            assert not [t.name for t in spark_session.catalog.listTables(schema[0])
                        if "__dbt_" in t.name and not t.isTemporary]
        if run == 2:
            ts = next(n for n in spark.nodes if n.name == "snap_ts")
            assert "snap_ts rewritten: parquet tables have no row-level changes" in \
                ts.message
        if not schema:
            schema.append(next(d.name for d in spark_session.catalog.listDatabases()
                               if d.name.endswith(SCHEMA)))
        for table, (scd_id, updated_at) in TABLES.items():
            frame = spark_session.table(f"{schema[0]}.{table}")
            got = canonical(list(frame.columns), [tuple(r) for r in frame.collect()],
                            windows["spark"], scd_id, updated_at)
            expected = canonical(*_duckdb_rows(db, table), windows["duck"], scd_id,
                                 updated_at)
            assert got == expected, (run, table)
            if 2 <= run <= len(ROWS):       # each run changed each table
                assert any(f"run {run}" in row for row in got[1]), (run, table)
    # what the runs did (the same on both engines: checked above), spot-checked
    names, rows = canonical(*_duckdb_rows(db, "snap_check"), windows["duck"],
                            "version_id", "dbt_updated_at")
    assert names == ["city", "dbt_is_deleted", "dbt_updated_at", "id", "name", "updated",
                     "valid_from", "valid_to", "version_id"]
    key_3 = sorted(((r["dbt_is_deleted"], r["valid_from"], r["valid_to"])
                    for r in (dict(zip(names, row)) for row in rows) if r["id"] == 3),
                   key=repr)
    current = dt.datetime(9999, 12, 31)         # dbt_valid_to_current
    assert key_3 == [("False", "run 1", "run 2"), ("False", "run 3", current),
                     ("True", "run 2", "run 3")]        # deleted, then back
    names, rows = canonical(*_duckdb_rows(db, "snap_ts"), windows["duck"], "dbt_scd_id",
                            "dbt_updated_at")
    assert "tag" in names


@pytest.mark.spark
def test_a_repeated_unique_key_stops_the_snapshot_on_spark(spark_session, make_project):
    """As on DuckDB: a key the query returns twice stops the snapshot before its table
    changes, on the first build and on a later one, naming the key."""
    # a schema of its own: the session's catalog holds the other tests' snapshots
    root = make_project({k: v.replace(SCHEMA, "snapdupes") for k, v in FILES.items()},
                        name="dupes")
    (root / "seeds").mkdir(exist_ok=True)
    (root / "seeds/people.csv").write_text(HEADER + ROWS[0] + "2,bo,rome,2024-01-01\n")
    first = build(root, target=SPARK)
    status = {n.name: n for n in first.nodes}
    assert {k: status[k].status for k in ("snap_ts", "snap_check", "snap_current")} == \
        {"snap_ts": "error", "snap_check": "error", "snap_current": "skipped"}
    assert "unique_key id is not unique in its query (id = 2 (2 rows))" in \
        status["snap_ts"].message, status["snap_ts"].message
    schema = next((d.name for d in spark_session.catalog.listDatabases()
                   if d.name.endswith("snapdupes")), None)
    assert schema is None or not [
        t.name for t in spark_session.catalog.listTables(schema)
        if t.name.startswith("snap_") and not t.isTemporary]
    (root / "seeds/people.csv").write_text(HEADER + ROWS[0])
    assert build(root, target=SPARK).ok
    schema = next(d.name for d in spark_session.catalog.listDatabases()
                  if d.name.endswith("snapdupes"))
    before = sorted(tuple(r) for r in spark_session.table(f"{schema}.snap_ts").collect())
    (root / "seeds/people.csv").write_text(HEADER + ROWS[1] + "4,di,rome,2024-02-01\n")
    later = build(root, target=SPARK)
    failed = {n.name: n for n in later.nodes if n.status == "error"}
    assert "unique_key id is not unique in its query (id = 4 (2 rows))" in \
        failed["snap_ts"].message
    assert "was not built" in failed["snap_ts"].message
    assert sorted(tuple(r) for r in spark_session.table(f"{schema}.snap_ts").collect()) \
        == before


def _render(tmp_path: Path, **config) -> SnapshotSql:
    node = Node("snapshot", "snap", tmp_path / "snap.sql", "snapshots/snap.sql",
                config={"materialized": "snapshot", "unique_key": "id", **config})
    plan = snapshot_plan(node)
    table = [("id", "int"), ("name", "string"), ("updated", "timestamp")] + [
        (plan["names"][m], "timestamp" if m != "dbt_scd_id" else "string")
        for m in ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")]
    if plan["hard_deletes"] == "new_record":
        table.append(("dbt_is_deleted", "string"))
    query = [("id", "int"), ("name", "string"), ("updated", "timestamp"),
             ("tag", "string")]
    now = run_time_sql(dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc))
    return SnapshotSql(plan, "`s`.`snap`", "`snap__dbt_source`", table, query, now,
                       config.get("dbt_valid_to_current"))


def test_merge_for_delta_and_iceberg_is_dbt_sparks(tmp_path) -> None:
    """The statements a Delta/Iceberg/Hudi snapshot runs (not runnable here: no jars)."""
    render = _render(tmp_path, strategy="timestamp", updated_at="updated",
                     hard_deletes="new_record",
                     snapshot_meta_column_names={"dbt_valid_to": "valid_to"})
    assert render.add_columns() == "alter table `s`.`snap` add columns (`tag` string)"
    merge = render.merge("`snap__dbt_tmp`")
    assert merge.startswith("merge into `s`.`snap` as DBT_INTERNAL_DEST\n"
                            "using `snap__dbt_tmp` as DBT_INTERNAL_SOURCE\n"
                            "on DBT_INTERNAL_SOURCE.`dbt_scd_id` = "
                            "DBT_INTERNAL_DEST.`dbt_scd_id`\n")
    assert "when matched and DBT_INTERNAL_DEST.`valid_to` is null and " \
           "DBT_INTERNAL_SOURCE.dbt_change_type = 'update'\n" \
           "  then update set `valid_to` = DBT_INTERNAL_SOURCE.`valid_to`\n" in merge
    assert merge.endswith(
        "when not matched and DBT_INTERNAL_SOURCE.dbt_change_type = 'insert'\n"
        "  then insert (`id`, `name`, `updated`, `dbt_scd_id`, `dbt_updated_at`, "
        "`dbt_valid_from`, `valid_to`, `dbt_is_deleted`, `tag`) values ("
        "DBT_INTERNAL_SOURCE.`id`, DBT_INTERNAL_SOURCE.`name`, DBT_INTERNAL_SOURCE."
        "`updated`, DBT_INTERNAL_SOURCE.`dbt_scd_id`, DBT_INTERNAL_SOURCE.`dbt_updated_at`"
        ", DBT_INTERNAL_SOURCE.`dbt_valid_from`, DBT_INTERNAL_SOURCE.`valid_to`, "
        "DBT_INTERNAL_SOURCE.`dbt_is_deleted`, DBT_INTERNAL_SOURCE.`tag`)")
    staging = render.staging()
    # updates close by scd_id; inserts are the new versions and the deletion records
    assert "select 'update' as dbt_change_type," in staging
    assert staging.count("union all\nselect 'insert' as dbt_change_type, * from") == 2
    assert "timestamp_micros(1714564800000000)" in staging      # the run's time
    # dbt_valid_to_current: a current version is null or that value
    current = _render(tmp_path, strategy="check", check_cols="all",
                      dbt_valid_to_current="cast('9999-12-31' as timestamp)")
    assert "when matched and (DBT_INTERNAL_DEST.`dbt_valid_to` is null or " \
           "DBT_INTERNAL_DEST.`dbt_valid_to` = cast('9999-12-31' as timestamp)) and" in \
        current.merge("`snap__dbt_tmp`")
    # check `all`: every column of the query but the key
    assert "not (s.`name` <=> d.`name`) or not (s.`updated` <=> d.`updated`) or " \
           "not (s.`tag` <=> d.`tag`)" in current.staging()


@pytest.mark.spark
def test_merge_staging_rows_make_the_rewrites_table(spark_session, tmp_path) -> None:
    """Spark analyses the MERGE and its staging rows against a Parquet table (then
    refuses it for the format: a Delta table would run it); the MERGE's effect, applied
    by a query, gives the table the Parquet rewrite builds (a changed row, a deleted
    key with new_record, a new key, a new column)."""
    node = Node("snapshot", "snap", tmp_path / "snap.sql", "snapshots/snap.sql",
                config={"materialized": "snapshot", "unique_key": "id", "strategy": "check",
                        "check_cols": ["name"], "hard_deletes": "new_record"})
    plan, target, source = snapshot_plan(node), "snapmerge.snap", "snap__dbt_source"
    spark = spark_session
    rows = "(1, 'a', timestamp'2024-01-01'), (2, 'b', timestamp'2024-01-01')"
    spark.sql(f"create or replace temporary view {source} as select * from values {rows}, "
              "(3, 'c', timestamp'2024-01-01') as t(id, name, updated)")
    first = SnapshotSql(plan, target, source, [], [], run_time_sql(
        dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)), None)
    spark.sql("create database if not exists snapmerge")
    spark.sql(f"drop table if exists {target}")
    spark.sql(f"create table {target} using parquet as {first.first_build(source)}")
    spark.sql(f"create or replace temporary view {source} as select *, 'x' as tag from "
              f"values (1, 'a', timestamp'2024-01-01'), (2, 'B', timestamp'2024-01-01'), "
              "(4, 'd', timestamp'2024-01-01') as t(id, name, updated)")

    def columns(relation: str) -> list[tuple[str, str]]:
        return [(f.name, f.dataType.simpleString())
                for f in spark.table(relation).schema.fields]

    now = run_time_sql(dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    render = SnapshotSql(plan, target, source, columns(target), columns(source), now, None)
    frame = spark.sql(render.rebuilt())
    rewritten = sorted((tuple(r[c] for c in sorted(frame.columns)) for r in frame.collect()),
                       key=repr)
    assert len(rewritten) == 3 + 2 + 1         # + 2's new version, 4, 3's deletion record
    spark.sql(render.add_columns())
    render = SnapshotSql(plan, target, source, columns(target), columns(source), now, None)
    spark.sql(f"create or replace temporary view snap__dbt_tmp as {render.staging()}")
    with pytest.raises(Exception) as caught:
        spark.sql(render.merge("snap__dbt_tmp")).collect()
    text = str(caught.value).splitlines()[0]
    assert "UNSUPPORTED_FEATURE.TABLE_OPERATION" in text, text
    assert "does not support MERGE INTO TABLE" in text, text
    # what the MERGE does: a current version whose scd_id an 'update' row has takes its
    # dbt_valid_to; an 'insert' row whose scd_id the table lacks is added
    names = sorted(c for c, _ in render.columns)
    kept = ", ".join(f"case when u.dbt_scd_id is not null and d.dbt_valid_to is null "
                     f"then u.dbt_valid_to else d.dbt_valid_to end as {c}"
                     if c == "dbt_valid_to" else f"d.{c}" for c in names)
    merged = spark.sql(
        f"select {kept} from {target} as d left join (select dbt_scd_id, dbt_valid_to from "
        f"snap__dbt_tmp where dbt_change_type = 'update') as u on u.dbt_scd_id = "
        f"d.dbt_scd_id union all select {', '.join(names)} from snap__dbt_tmp as s where "
        f"dbt_change_type = 'insert' and not exists (select 1 from {target} as d where "
        f"d.dbt_scd_id = s.dbt_scd_id)").collect()
    assert sorted((tuple(r) for r in merged), key=repr) == rewritten
    # a snapshot configured for Delta whose table is Parquet: said before any change
    from runner.engines.spark import SparkAdapter
    from runner.execute.spark.snapshots import check_format
    node.config["file_format"] = "delta"
    node.relation_schema, node.relation_alias = "snapmerge", "snap"
    with pytest.raises(ValueError, match="snapmerge.snap is a parquet table, and its "
                                         "file_format is delta: MERGE needs a delta table"):
        check_format(SparkAdapter(spark), node)
    node.config["file_format"] = "parquet"
    check_format(SparkAdapter(spark), node)
