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
