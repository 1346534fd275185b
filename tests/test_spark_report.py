"""`runner report --target spark`: the report files read from Spark's tables equal, byte
for byte (CSV) and cell for cell (Parquet), the files read from the DuckDB build whose
tables Spark holds (the generated sample, its report tables written into Spark as a Spark
build leaves them: same schemas, names and types)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest_reports import ROOT, build_zone
from cpo.report import ReportError, write_report
from runner.engines.profiles import Target

pytestmark = pytest.mark.spark

SPARK = Target("spark", type="spark")
ORGS = ["ORG00001", "ORG00004", "ORG00006"]         # Helsinki, Reykjavik, Copenhagen
SPAN = ("2024-03-01", "2024-11-01")                 # both DST changes
READ = [("reference", "report_definitions"), ("reference", "report_columns"),
        ("reference", "currencies"), ("intermediate", "int_organisations_validated")]


@pytest.fixture(scope="module")
def sample(spark_session, tmp_path_factory) -> Path:
    """The sample built on DuckDB, and the tables a report reads copied into Spark."""
    from cpo.sample import generate
    tmp = tmp_path_factory.mktemp("spark_report")
    generate(tmp / "raw", sessions=600, seed=1)
    db = build_zone(tmp, tmp / "raw", "2024-10-15T00:00:00Z").db_path
    with duckdb.connect(str(db), read_only=True) as con:
        reports = [tuple(r[0].split(".")) for r in con.execute(
            "select relation from reference.report_definitions").fetchall()]
        for schema, table in READ + reports:
            file = tmp / f"{schema}.{table}.parquet"
            # an interval as seconds: Spark's Parquet tables cannot hold one
            con.execute(f"copy (select * replace (epoch(duration) as duration) from "
                        f"{schema}.{table}) to '{file}' (format parquet)"
                        if (schema, table) in reports else
                        f"copy (select * from {schema}.{table}) to '{file}' (format parquet)")
            spark_session.sql(f"create database if not exists {schema}")
            spark_session.read.parquet(str(file)).write.mode("overwrite") \
                .saveAsTable(f"{schema}.{table}")
    return db


@pytest.mark.parametrize("kind, suffixes", [("charging-sessions", ("csv", "parquet")),
                                            ("roaming-sessions", ("csv",))])
def test_report_from_spark_equals_the_duckdb_one(sample, tmp_path, kind, suffixes) -> None:
    for suffix in suffixes:
        on_duck, on_spark = tmp_path / f"duck.{suffix}", tmp_path / f"spark.{suffix}"
        said = write_report(ROOT, kind, ORGS, *SPAN, on_duck, db=sample)
        write_report(ROOT, kind, ORGS, *SPAN, on_spark, target=SPARK)
        assert "wrote" in said and " 0 rows" not in said
        if suffix == "csv":
            assert on_spark.read_bytes() == on_duck.read_bytes()
            assert on_duck.read_bytes().count(b"\n") > 10
        else:
            with duckdb.connect() as con:
                def read(path: Path):
                    cursor = con.execute(f"select * from '{path}'")
                    return cursor.description, cursor.fetchall()
                assert read(on_spark) == read(on_duck)


def test_report_from_spark_names_an_unknown_organisation(sample, tmp_path) -> None:
    with pytest.raises(ReportError, match="there is no organisation 'ORG99999'"):
        write_report(ROOT, "charging-sessions", ["ORG99999"], *SPAN, tmp_path / "x.csv",
                     target=SPARK)
