"""`--target spark`: a small project (tests/fixtures/spark_project: a seed, a source of
CSV, NDJSON and Parquet files, a view, a table, an insert_overwrite and an append
incremental model, a dispatched macro, data tests) built on local Spark equals the same
project built on DuckDB, cell for cell; so does an incremental build against a full
refresh; `runner export --target spark` reads Spark's table."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from runner.api import build
from runner.engines.profiles import Target

pytestmark = pytest.mark.spark

FIXTURE = Path(__file__).parent / "fixtures" / "spark_project"
RELATIONS = ["main.tariffs", "main.stg_sessions", "main.sessions_priced",
             "main.monthly_energy", "main.station_log"]
SPARK = Target("spark", type="spark")
HEADER = "session_id,station,started_at,kwh,tariff_id\n"


def drop_one(raw: Path) -> None:
    folder = raw / "sessions"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + "1,s1,2024-01-03 10:00:00,12.5,1\n"
                                  "2,s2,2024-01-20 18:30:00,30.25,2\n"
                                  "3,s1,2024-02-02 07:15:00,8,3\n", encoding="utf-8")
    (folder / "b.ndjson").write_text(
        '{"session_id": "4", "station": "s3", "started_at": "2024-02-10 12:00:00", '
        '"kwh": "41.7", "tariff_id": "2"}\n'
        '{"session_id": "5", "station": "s2", "started_at": "2024-02-11 09:00:00", '
        '"kwh": "3.3", "tariff_id": "1", "extra": "x"}\n', encoding="utf-8")
    con = duckdb.connect()
    con.execute(f"copy (select '6' as session_id, 's1' as station, "
                f"'2024-01-05 23:59:59' as started_at, '19.99' as kwh, '3' as tariff_id) "
                f"to '{folder / 'c.parquet'}' (format parquet)")
    con.close()


def drop_two(raw: Path) -> None:
    """Later rows: more in February (the latest month built) and a new month."""
    (raw / "sessions" / "d.csv").write_text(
        HEADER + "7,s2,2024-02-25 20:00:00,22.2,1\n8,s1,2024-03-01 06:00:00,5.5,2\n",
        encoding="utf-8")


def duckdb_table(db: Path, relation: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(f"select * from {relation}")
        return [d[0] for d in cursor.description], cursor.fetchall()


def spark_table(spark, relation: str) -> tuple[list[str], list[tuple]]:
    frame = spark.table(relation)
    return list(frame.columns), [tuple(r) for r in frame.collect()]


def _cell(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dt.datetime) and value.tzinfo:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def canonical(table: tuple[list[str], list[tuple]]) -> tuple[list[str], list[tuple]]:
    """Columns by name (Spark puts partition columns last), rows sorted."""
    columns, rows = table
    names = sorted(columns)
    index = [columns.index(c) for c in names]
    return names, sorted((tuple(_cell(r[i]) for i in index) for r in rows), key=repr)


def outcome_of(result) -> dict[str, tuple[str, int | None]]:
    return {n.name: (n.status, n.failures) for n in result.nodes if n.kind == "test"}


@pytest.fixture(scope="module")
def built(spark_session, tmp_path_factory):
    """The fixture project and its raw files, built on DuckDB and on Spark."""
    root = tmp_path_factory.mktemp("spark") / "project"
    shutil.copytree(FIXTURE, root)
    raw = root.parent / "raw"
    drop_one(raw)
    duck = build(root, raw_dir=raw, db_path=root.parent / "ref.duckdb")
    spark = build(root, raw_dir=raw, target=SPARK)
    return root, raw, duck, spark


def test_spark_build_equals_duckdb_cell_for_cell(built, spark_session) -> None:
    root, raw, duck, spark = built
    assert duck.ok, duck.summary()
    assert spark.ok, spark.summary()
    assert [n.name for n in spark.nodes if n.kind != "test"] == \
        [n.name for n in duck.nodes if n.kind != "test"]
    for relation in RELATIONS:
        expected = canonical(duckdb_table(Path(duck.db_path), relation))
        got = canonical(spark_table(spark_session, relation))
        assert got == expected, relation
    # every file of the three formats was read, its name carried through
    names = {r[0] for r in spark_session.sql(
        "select distinct file_name from main.sessions_priced").collect()}
    assert names == {"a.csv", "b.ndjson", "c.parquet"}
    # Spark's own types: dbt's seed types, the partitioned incremental table
    assert dict(spark_session.table("main.tariffs").dtypes) == {
        "tariff_id": "int", "price_per_kwh": "double", "valid_from": "date",
        "label": "string"}
    described = spark_session.sql("describe table extended main.monthly_energy").collect()
    assert any(r[0] == "# Partition Information" for r in described)


def test_data_tests_have_the_same_outcome(built) -> None:
    root, raw, duck, spark = built
    outcome = outcome_of(spark)
    assert outcome == outcome_of(duck)
    assert len(outcome) == 7
    warned = [name for name, (status, _) in outcome.items() if status == "warn"]
    assert len(warned) == 1 and outcome[warned[0]][1] == 1      # station s3


def test_dispatched_macro_and_transpiled_sql_are_what_ran(built) -> None:
    root = built[0]
    compiled = next((root / "target" / "compiled").rglob("sessions_priced.sql")).read_text()
    assert "UNIX_TIMESTAMP(" in compiled.upper() and "EPOCH(" not in compiled.upper()
    assert "`main`.`stg_sessions`" in compiled          # Spark's quoting: transpiled


def test_export_reads_spark_table(built, cli, tmp_path) -> None:
    root, raw, duck, spark = built
    out = tmp_path / "priced.parquet"
    code, stdout, err = cli("export", "sessions_priced", "--project-dir", root,
                            "--target", "spark", "--out", out)
    assert code == 0, stdout + err
    assert "wrote 6 rows" in stdout
    with duckdb.connect() as con:
        cursor = con.execute(f"select * from '{out}'")
        exported = [d[0] for d in cursor.description], cursor.fetchall()
    assert canonical(exported) == canonical(duckdb_table(Path(duck.db_path),
                                                         "main.sessions_priced"))


def test_incremental_on_spark_equals_a_full_refresh(built, spark_session) -> None:
    """Runs last: adds the second drop and builds incrementally on Spark."""
    root, raw, duck, spark = built
    before = spark_session.sql("select count(*) from main.station_log").collect()[0][0]
    drop_two(raw)
    incremental = build(root, raw_dir=raw, target=SPARK)
    assert incremental.ok, incremental.summary()
    full = build(root, raw_dir=raw, db_path=root.parent / "full.duckdb", full_refresh=True)
    assert full.ok, full.summary()
    for relation in RELATIONS:
        assert canonical(spark_table(spark_session, relation)) == \
            canonical(duckdb_table(Path(full.db_path), relation)), relation
    # the incremental models did run incrementally: 2 rows appended, 2 months replaced
    by_name = {n.name: n for n in incremental.nodes}
    assert by_name["station_log"].rows == 2 and before == 6
    assert by_name["monthly_energy"].rows == 4      # Feb (3 stations) and March (1)


def test_merge_on_parquet_rewrites_the_table(spark_session, make_project, tmp_path) -> None:
    """Parquet tables refuse MERGE and DELETE: merge (and delete+insert) rewrites the
    table, keeping the rows whose key the new rows lack, and says so."""
    root = make_project({
        "models/keyed.sql": """
            {{ config(materialized='incremental', unique_key='id', schema='merge_test') }}
            select 1 as id, '{{ var("v", "a") }}' as v
            {% if is_incremental() %}union all select 2, 'b'{% endif %}
            """})
    first = build(root, target=SPARK)
    assert first.ok, first.summary()
    second = build(root, target=SPARK, vars={"v": "c"})
    [node] = second.nodes
    assert node.status == "success", node.message
    assert "rewritten: parquet tables have no row-level changes" in node.message
    [schema] = [d.name for d in spark_session.catalog.listDatabases()
                if d.name.endswith("merge_test")]
    rows = sorted(tuple(r) for r in spark_session.table(f"{schema}.keyed").collect())
    assert rows == [(1, "c"), (2, "b")]
