"""The SQL written for Spark (runner.engines.spark.transpile): no Spark needed."""

from __future__ import annotations

from runner.engines.spark import SparkAdapter, transpile


def test_materialized_cte_hint_is_dropped_for_spark() -> None:
    sql = "with a as materialized (select 1 as x) select x from a"
    out = transpile(sql)
    assert "MATERIALIZED" not in out.upper()
    assert out == "WITH a AS (SELECT 1 AS x) SELECT x FROM a"


def test_identifiers_are_quoted_the_spark_way() -> None:
    assert transpile('select "x" from "main"."t"') == "SELECT `x` FROM `main`.`t`"


def test_create_table_as_is_dbt_sparks() -> None:
    sql = SparkAdapter(None).create_table_as_sql(
        "main", "t", "select 1", {"file_format": "delta", "partition_by": ["m"]})
    assert sql == "create table `main`.`t`\nusing delta\npartitioned by (`m`)\nas\nselect 1"


def test_compile_for_spark_writes_spark_sql_with_spark_macros(cli, tmp_path) -> None:
    """`runner compile --target spark` needs no Spark: the fixture project's models are
    compiled with the spark__ macro and written in Spark's dialect."""
    import shutil
    from pathlib import Path
    root = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "fixtures" / "spark_project", root)
    code, out, err = cli("compile", "--project-dir", root, "--target", "spark")
    assert code == 0, out + err
    text = next((root / "target" / "compiled").rglob("sessions_priced.sql")).read_text()
    assert "UNIX_TIMESTAMP(s.started_at)" in text and "`main`.`stg_sessions`" in text
    code, out, err = cli("compile", "--project-dir", root)
    text = next((root / "target" / "compiled").rglob("sessions_priced.sql")).read_text()
    assert code == 0 and "EPOCH(" in text.upper() and '"main"."stg_sessions"' in text


def test_snapshots_and_duckdb_options_are_refused_on_spark(cli, make_project) -> None:
    """Before any session starts: a snapshot needs MERGE, which Spark's Parquet tables
    refuse; --threads is DuckDB's."""
    root = make_project({"models/a.sql": "select 1 as x"})
    code, out, err = cli("snapshot", "--project-dir", root, "--target", "spark")
    assert code == 2
    assert "MERGE" in out + err and "Parquet" in out + err and "Delta or Iceberg" in out + err
    code, out, err = cli("build", "--project-dir", root, "--target", "spark", "--threads", "2")
    assert code == 2 and "--threads is DuckDB's" in out + err
