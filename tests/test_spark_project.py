"""The charging project itself on Spark (marker `spark`): the SQL fixes that must give
DuckDB's very values, and landing zones built on Spark equal to their DuckDB build
cell for cell (charging_sessions_cpo, roaming_sessions_cpo, audit.rejected_sessions,
audit.reconciliation), after a full build and after incremental ones."""

from __future__ import annotations

import duckdb
import pytest

from runner.engines.spark import transpile
from test_spark import _cell  # a cell as both engines' rows are compared

pytestmark = pytest.mark.spark

HOSTILE_TEXTS = ["plain", "a b", "a,b", "a(b)", "it's", 'say "hi"', "a:b", "{x}", "[1]",
                 "a=b", "back\\slash", "NULL", "null", " lead", "trail ", "", "a;b",
                 "2024-05-01T10:00:00Z", "1.5", None]


def test_row_text_is_duckdbs(spark_session) -> None:
    """md5(cast(row(...) as varchar)) keys a session without a charge ID: Spark's text
    of a row of texts is DuckDB's, quoting and NULLs included."""
    sql = "select cast(row(a, b) as varchar) as text from t"
    with duckdb.connect() as con:
        con.execute("create table t (n int, a varchar, b varchar)")
        con.executemany("insert into t values (?, ?, ?)",
                        [(i, v, "x") for i, v in enumerate(HOSTILE_TEXTS)])
        expected = [r[0] for r in con.execute(sql + " order by n").fetchall()]
    frame = spark_session.createDataFrame(
        [(i, v, "x") for i, v in enumerate(HOSTILE_TEXTS)], "n int, a string, b string")
    frame.createOrReplaceTempView("t")
    got = [r[0] for r in spark_session.sql(transpile(sql + " order by n")).collect()]
    assert got == expected


def test_csv_files_with_columns_in_another_order_are_read_by_name(spark_session,
                                                                    tmp_path) -> None:
    """Spark's CSV reader applies the first file's header to every file it reads at
    once; a file whose columns come in another order is read by its own header."""
    from pathlib import Path
    from runner.execute.spark.sources import source_frame
    from runner.project.nodes import SourceTable
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.csv").write_text("id,name\n1,one\n")
    (tmp_path / "t" / "b.csv").write_text("name,id\ntwo,2\n")
    (tmp_path / "t" / "c.csv").write_text("id,name\n3,three\n")
    table = SourceTable("raw", "t", "t", "raw", {"id": None, "name": None}, [],
                        Path("sources.yml"))
    rows = source_frame(spark_session, tmp_path, table).collect()
    assert sorted((r["id"], r["name"], r["_source_file"].rsplit("/", 1)[-1])
                  for r in rows) == [("1", "one", "a.csv"), ("2", "two", "b.csv"),
                                     ("3", "three", "c.csv")]


# -- the project's landing zones, built on both engines ---------------------------------

REPORT_TIME = "2024-10-01T00:00:00Z"
OUTPUTS = ["reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
           "audit.rejected_sessions", "audit.reconciliation"]
BUILD_TIME_COLUMNS = {"_built_at", "_loaded_at", "_inputs_built_at", "built_at"}


def write_first_drop(raw) -> None:
    """Zone A of tests/test_reports_cpo.py (CSV, NDJSON and Parquet files, versions and
    duplicates, roaming, free usage changes, an organisation that moved zone)."""
    import test_reports_cpo as a
    from conftest_reports import SESSION_COLUMNS, empty_zone, write_csv, write_ndjson, \
        write_parquet
    empty_zone(raw)
    write_ndjson(raw / "organisations" / "2023.ndjson", a.ORGANISATIONS_OLD)
    write_csv(raw / "organisations" / "2024.csv", a.ORGANISATIONS)
    write_csv(raw / "stations" / "stations.csv", a.STATIONS)
    write_ndjson(raw / "stations" / "old.ndjson", a.STATIONS_OLD)
    write_csv(raw / "station_roaming_ids" / "ids.csv", a.ROAMING_IDS)
    write_csv(raw / "station_settings_log" / "log.csv", a.SETTINGS)
    write_csv(raw / "revenue_share_agreements" / "shares.csv", a.SHARES)
    write_csv(raw / "charging_sessions" / "a.csv", a.SESSIONS_CSV,
              list(reversed(SESSION_COLUMNS)))
    write_ndjson(raw / "charging_sessions" / "b.ndjson", a.SESSIONS_NDJSON)
    write_parquet(raw / "charging_sessions" / "c.parquet", a.SESSIONS_PARQUET,
                  SESSION_COLUMNS)


def write_second_drop(raw) -> None:
    """Zone B of tests/test_reports_rejected.py beside it (rejected rows of every
    reason: unknown station, organisation and time zone, a zone spelled in lower case,
    a row without a charge ID that arrives twice, unreadable values)."""
    import test_reports_rejected as b
    from conftest_reports import SESSION_COLUMNS, write_csv, write_ndjson
    write_csv(raw / "organisations" / "b_o.csv", b.ORGANISATIONS)
    write_csv(raw / "stations" / "b_s.csv", b.STATIONS,
              ["station_id", "evse_id", "name", "organisation_id", "current_type",
               "location_type", "updated_at"])
    write_csv(raw / "revenue_share_agreements" / "b_a.csv", b.SHARES)
    write_csv(raw / "charging_sessions" / "b_a.csv", b.SESSIONS_CSV, SESSION_COLUMNS)
    write_ndjson(raw / "charging_sessions" / "b_b.ndjson", [b.NO_ID])


def canonical(columns: list[str], rows: list[tuple]) -> tuple[list[str], list[tuple]]:
    """Columns by name (build times left out), rows sorted."""
    names = sorted(c for c in columns if c not in BUILD_TIME_COLUMNS)
    index = [columns.index(c) for c in names]
    return names, sorted((tuple(_cell(r[i]) for i in index) for r in rows), key=repr)


def duckdb_output(db, relation: str):
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(f"select * from {relation}")
        return canonical([d[0] for d in cursor.description], cursor.fetchall())


def spark_output(spark, relation: str):
    frame = spark.table(relation)
    return canonical(list(frame.columns), [tuple(r) for r in frame.collect()])


def assert_outputs_equal(spark, db) -> None:
    for relation in OUTPUTS:
        expected, got = duckdb_output(db, relation), spark_output(spark, relation)
        assert got[0] == expected[0], relation
        assert len(got[1]) == len(expected[1]), relation
        for want, have in zip(expected[1], got[1]):
            assert have == want, (relation, [(c, w, h) for c, w, h in
                                             zip(expected[0], want, have) if w != h])


@pytest.fixture(scope="module")
def zone(spark_session, tmp_path_factory):
    from conftest_reports import ROOT
    from runner.api import build
    from runner.engines.profiles import Target
    tmp = tmp_path_factory.mktemp("spark_zone")
    raw = tmp / "raw"
    write_first_drop(raw)
    variables = {"report_time": REPORT_TIME}
    spark = Target("spark", type="spark")
    first = build(ROOT, raw_dir=raw, target=spark, vars=variables, full_refresh=True)
    duck_first = build(ROOT, raw_dir=raw, db_path=tmp / "first.duckdb", vars=variables)
    return {"root": ROOT, "raw": raw, "tmp": tmp, "vars": variables, "target": spark,
            "first": first, "duck_first": duck_first}


def test_zone_built_on_spark_equals_duckdb_cell_for_cell(zone, spark_session) -> None:
    assert zone["duck_first"].ok, zone["duck_first"].summary()
    assert zone["first"].ok, zone["first"].summary()
    assert_outputs_equal(spark_session, zone["duck_first"].db_path)
    # what the zone holds shows: every kind of file read, reports not empty
    files = {r[0].rsplit("/", 1)[-1] for r in spark_session.sql(
        "select distinct _source_file from staging.stg_raw__charging_session_versions"
    ).collect()}
    assert files == {"a.csv", "b.ndjson", "c.parquet"}
    assert spark_session.table("reports.roaming_sessions_cpo").count() > 0


# -- the serving layer and export from Spark: what a DuckDB build gives -----------------

def parquet_files(paths) -> tuple[list, tuple[list[str], list[tuple]]]:
    """The files' Parquet schema (name, type, logical and converted type; the same in
    every file) and their rows, canonical."""
    paths = [str(p) for p in paths]
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        schemas = {tuple(con.execute(
            "select name, type, logical_type::varchar, converted_type from "
            "parquet_schema(?)", [p]).fetchall()) for p in paths}
        cursor = con.execute("select * from read_parquet(?)", [paths])
        rows = canonical([d[0] for d in cursor.description], cursor.fetchall())
    assert len(schemas) == 1, schemas
    return list(schemas.pop()), rows


def publication_of(catalog) -> dict:
    """relation -> (partition folders, files' schema and rows, the catalog view's
    columns and rows) of a publication."""
    from pathlib import Path
    from runner.publish.catalog import read_publication
    pub = read_publication(Path(catalog))
    out = {}
    with duckdb.connect(str(catalog), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for relation, table in pub.tables.items():
            folders = sorted(Path(f.path).parent.name for f in table.files
                             if table.partition_by)
            cursor = con.execute(f"select * from {relation}")
            view = canonical([d[0] for d in cursor.description], cursor.fetchall())
            types = con.execute(f"select column_name, column_type from (describe "
                                f"{relation}) where column_name not in "
                                f"('_built_at', '_loaded_at')").fetchall()
            out[relation] = (folders, parquet_files([f.path for f in table.files]),
                             sorted(types), view)
    return out


def test_spark_build_publishes_the_files_duckdb_publishes(zone) -> None:
    """The build's publication from Spark: the same tables, partition folders, file
    schemas (an interval as BIGINT microseconds) and rows as DuckDB's, and a catalog
    whose views give the same columns and rows (the interval an interval again)."""
    spark_pub, duck_pub = zone["first"].published, zone["duck_first"].published
    assert spark_pub is not None and duck_pub is not None
    assert spark_pub.catalog.name.endswith(".duckdb") and spark_pub.catalog.exists()
    expected, got = publication_of(duck_pub.catalog), publication_of(spark_pub.catalog)
    assert sorted(got) == sorted(expected)
    assert "reports.charging_sessions_cpo" in got
    for relation in expected:
        for part, want, have in zip(("folders", "files", "view types", "view rows"),
                                    expected[relation], got[relation]):
            assert have == want, (relation, part)
    types = dict(got["reports.charging_sessions_cpo"][2])
    assert types["duration"] == "INTERVAL"


def test_publish_and_show_on_spark(zone, cli, tmp_path) -> None:
    """`runner publish --target spark` publishes again (nothing changed: no partition
    rewritten); `runner show --target spark` prints Spark's rows; --db is refused."""
    import json
    variables = json.dumps({**zone["vars"], "publish_dir": str(tmp_path / "pub")})
    code, out, err = cli("publish", "--project-dir", zone["root"], "--target", "spark",
                         "--vars", variables)
    assert code == 0, out + err
    assert f"published: {tmp_path / 'pub'}" in out
    code, out, err = cli("publish", "--project-dir", zone["root"], "--target", "spark",
                         "--vars", variables)
    assert code == 0 and "0 partitions rewritten" in out, out + err
    code, out, err = cli("show", "charging_sessions_cpo", "--project-dir", zone["root"],
                         "--target", "spark", "-n", "3")
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert "duration" in lines[0] and len(lines) == 5
    code, out, err = cli("show", "charging_sessions_cpo", "--project-dir", zone["root"],
                         "--target", "spark", "--db", tmp_path / "x.duckdb")
    assert code == 2 and "--db is DuckDB's" in err


def exported(cli, zone, engine: str, out, *args) -> None:
    flags = ["--target", "spark"] if engine == "spark" else \
        ["--db", zone["duck_first"].db_path]
    code, stdout, err = cli("export", "charging_sessions_cpo", "--project-dir",
                            zone["root"], "--out", out, *flags, *args)
    assert code == 0, stdout + err


def test_export_partitioned_on_spark_is_duckdbs(zone, cli, tmp_path) -> None:
    """--partition-by month (derived from the start and the organisation's zone): the
    same folders and files, of the same schema and rows."""
    for engine in ("duckdb", "spark"):
        exported(cli, zone, engine, tmp_path / engine, "--partition-by", "month")
    files = {e: sorted(p.relative_to(tmp_path / e) for p in (tmp_path / e).rglob("*")
                       if p.is_file()) for e in ("duckdb", "spark")}
    assert files["spark"] == files["duckdb"] and len(files["spark"]) > 1
    for rel in files["spark"]:
        assert parquet_files([tmp_path / "spark" / rel]) == \
            parquet_files([tmp_path / "duckdb" / rel]), rel


def test_exported_interval_reads_back_as_the_same_interval(zone, cli, tmp_path) -> None:
    """The duration is Parquet's INTERVAL from either engine, read back as DuckDB's."""
    for engine in ("duckdb", "spark"):
        exported(cli, zone, engine, tmp_path / f"{engine}.parquet")
    schema, rows = parquet_files([tmp_path / "spark.parquet"])
    assert (schema, rows) == parquet_files([tmp_path / "duckdb.parquet"])
    assert [s for s in schema if s[0] == "duration"][0][3] == "INTERVAL"
    with duckdb.connect() as con:
        [(kind,)] = con.execute(f"select column_type from (describe select duration from "
                                f"'{tmp_path / 'spark.parquet'}')").fetchall()
        durations = con.execute(f"select count(duration) from "
                                f"'{tmp_path / 'spark.parquet'}'").fetchone()[0]
    assert kind == "INTERVAL" and durations > 0


def test_report_from_the_spark_build_is_duckdbs(zone, tmp_path) -> None:
    """`runner report --target spark` over the Spark build: the same file as from the
    DuckDB build, the duration (an interval in Spark's table) counted in the same
    minutes."""
    from cpo.report import write_report
    with duckdb.connect(str(zone["duck_first"].db_path), read_only=True) as con:
        orgs = [r[0] for r in con.execute("select distinct organisation_id from "
                                          "reports.charging_sessions_cpo").fetchall()]
    for name, where in (("duckdb", {"db": zone["duck_first"].db_path}),
                        ("spark", {"target": zone["target"]})):
        write_report(zone["root"], "charging-sessions", orgs, "2023-01-01", "2024-11-01",
                     tmp_path / f"{name}.csv", **where)
    text = (tmp_path / "duckdb.csv").read_text(encoding="utf-8-sig")
    assert "Duration" in text.splitlines()[0] and len(text.splitlines()) > 3
    assert (tmp_path / "spark.csv").read_bytes() == (tmp_path / "duckdb.csv").read_bytes()


def test_incremental_build_on_spark_equals_a_full_duckdb_build(zone, spark_session) -> None:
    """A second drop (rejected rows, new organisations) built incrementally on Spark
    gives what a full build of both drops gives on DuckDB. Runs after the test above."""
    from runner.api import build
    write_second_drop(zone["raw"])
    second = build(zone["root"], raw_dir=zone["raw"], target=zone["target"],
                   vars=zone["vars"])
    assert second.ok, second.summary()
    full = build(zone["root"], raw_dir=zone["raw"], db_path=zone["tmp"] / "full.duckdb",
                 vars=zone["vars"], full_refresh=True)
    assert full.ok, full.summary()
    assert_outputs_equal(spark_session, full.db_path)
    assert spark_session.table("audit.rejected_sessions").count() > 0
    rewritten = [n.name for n in second.nodes if "rewritten" in (n.message or "")]
    assert "charging_sessions_cpo" in rewritten        # it did run incrementally


def test_union_by_name_of_a_table_asks_spark_for_its_columns(spark_session) -> None:
    """A side whose columns the query does not say (`*` of a table) is lined up with
    the columns Spark's analysis gives it."""
    from runner.engines.spark import SparkAdapter
    spark_session.createDataFrame([(1, "a")], "x int, y string") \
        .createOrReplaceTempView("by_name_t")
    sql = SparkAdapter(spark_session).transpile(
        "select * from by_name_t union all by name select 'b' as y, 2 as x, 3 as z")
    assert [tuple(r) for r in spark_session.sql(sql).collect()] == [(1, "a", None),
                                                                  (2, "b", 3)]
