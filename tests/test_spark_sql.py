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


def test_compile_for_spark_leaves_unit_tests_to_spark_and_says_so(cli, tmp_path) -> None:
    """The charging project's unit tests read models whose spark__ macros DuckDB cannot
    bind: compiling for Spark does not check them on DuckDB, and says so."""
    from conftest_reports import ROOT
    code, out, err = cli("compile", "--project-dir", ROOT, "--target", "spark",
                         "--select", "int_sessions_priced", "--target-path",
                         tmp_path / "target", "--vars", "{report_time: '2024-10-01T00:00:00Z'}")
    assert code == 0, out + err
    assert "2 unit tests not checked (they are checked on Spark" in out + err


def test_duckdb_options_are_refused_on_spark(cli, make_project) -> None:
    """Before any session starts: --threads and --memory-limit are DuckDB's (snapshots
    run on Spark: tests/test_spark_snapshots.py)."""
    root = make_project({"models/a.sql": "select 1 as x"})
    code, out, err = cli("snapshot", "--project-dir", root, "--target", "spark",
                         "--memory-limit", "1GB")
    assert code == 2 and "--memory-limit is DuckDB's" in out + err
    assert "MERGE" not in out + err
    code, out, err = cli("build", "--project-dir", root, "--target", "spark", "--threads", "2")
    assert code == 2 and "--threads is DuckDB's" in out + err


# -- the fixes of runner.engines.spark_dialect, each on the SQL the project writes ------

def test_qualify_is_kept_for_spark_4() -> None:
    out = transpile("select a from t qualify row_number() over (order by a) = 1")
    assert "QUALIFY ROW_NUMBER()" in out and "_w" not in out


def test_list_index_is_one_based_and_null_past_the_end() -> None:
    out = transpile("with r as (select list_filter([a, b], lambda x: x is not null) as l "
                    "from t) select l[1], len(l), len(name) from r")
    assert "TRY_ELEMENT_AT(l, 1)" in out and "SIZE(l)" in out
    assert "LENGTH(name)" in out          # a text's length stays a length


def test_infinite_timestamps_are_spark_extremes() -> None:
    out = transpile("select '-infinity'::timestamptz, cast('infinity' as timestamptz)")
    assert out == ("SELECT CAST('0001-01-01 00:00:00' AS TIMESTAMP), "
                   "CAST('9999-12-31 23:59:59.999999' AS TIMESTAMP)")


def test_arg_max_by_a_tuple_orders_by_a_struct() -> None:
    assert "MAX_BY(r, STRUCT(a, b))" in transpile("select arg_max(r, (a, b)) from t")


def test_days_hugeint_rowid_version_range_and_sample() -> None:
    out = transpile("select rowid as r, x - to_days(3), cast(y as hugeint), "
                    "(select library_version from pragma_version()) from t")
    assert "SELECT rowid AS r," in out
    assert "FROM (SELECT MONOTONICALLY_INCREASING_ID() AS rowid, * FROM t) AS t" in out
    assert "MAKE_DT_INTERVAL(3)" in out and "DECIMAL(38, 0)" in out
    assert "SELECT VERSION() AS library_version" in out
    assert transpile("select n from range(0, 13) as lengths(n)") == \
        "SELECT n FROM RANGE(0, 13) AS lengths(n)"
    assert transpile("select k from t using sample reservoir(100 rows) repeatable (42)") \
        == "SELECT k FROM t ORDER BY XXHASH64(42, k) LIMIT 100"


def test_union_by_name_lines_columns_up_or_says_it_cannot() -> None:
    import pytest
    from runner.engines.spark_dialect import NotTranspilable
    out = transpile("with a as (select 1 as x, 2 as y), b as (select 3 as y, 4 as z) "
                    "select * from a union all by name select * from b")
    assert "SELECT `x`, `y`, NULL AS `z` FROM (SELECT * FROM a)" in out
    assert "UNION ALL SELECT NULL AS `x`, `y`, `z` FROM (SELECT * FROM b)" in out
    with pytest.raises(NotTranspilable, match="UNION BY NAME"):
        transpile("select * from t1 union all by name select * from t2")


def test_a_table_alias_cast_to_text_is_its_row_as_json() -> None:
    out = transpile("select md5(cast(s as varchar)) from stations as s")
    assert out == "SELECT MD5(TO_JSON(STRUCT(s.*))) FROM stations AS s"
    # a column of that name in another query is a column
    assert "CAST(s AS STRING)" in transpile("select cast(s as varchar) from t")


def test_list_has_all_and_the_length_of_a_distinct_list() -> None:
    out = transpile("select list_has_all(['a', 'b'], q), len(list_distinct(q)) from t")
    assert out == ("SELECT SIZE(ARRAY_EXCEPT(q, ARRAY('a', 'b'))) = 0, "
                   "SIZE(ARRAY_DISTINCT(q)) FROM t")


def test_rowid_numbers_the_table_not_the_rows_the_where_keeps() -> None:
    """DuckDB's rowid is a row's place in its table, whatever the WHERE keeps; Spark
    numbers what reaches the SELECT, after the WHERE. Two reads of one table filtered
    differently (the keys' row ids, then the rows of those ids) must see one numbering,
    so the table is numbered in a subquery before the WHERE, and a `*` leaves it out."""
    import pytest
    from runner.engines.spark_dialect import NotTranspilable
    assert transpile("select rowid as r from s.t where k in (select k from c)") == (
        "SELECT rowid AS r FROM (SELECT MONOTONICALLY_INCREASING_ID() AS rowid, * "
        "FROM s.t) AS t WHERE k IN (SELECT k FROM c)")
    assert transpile("select rowid as r, * from t as v where rowid in (select r from c) "
                     "and not d") == (
        "SELECT rowid AS r, * EXCEPT (rowid) FROM (SELECT MONOTONICALLY_INCREASING_ID() "
        "AS rowid, * FROM t) AS v WHERE rowid IN (SELECT r FROM c) AND NOT d")
    # a qualified rowid, and a star of that table, in a join
    assert transpile("select a.rowid, a.*, b.y from t as a join u as b on a.k = b.k") == (
        "SELECT a.rowid, a.* EXCEPT (rowid), b.y FROM (SELECT "
        "MONOTONICALLY_INCREASING_ID() AS rowid, * FROM t) AS a JOIN u AS b ON a.k = b.k")
    # a subquery's column of that name is that column; a join needs the table named
    assert transpile("select rowid from (select 1 as rowid) as s") == \
        "SELECT rowid FROM (SELECT 1 AS rowid) AS s"
    with pytest.raises(NotTranspilable, match="table.rowid"):
        transpile("select rowid from t join u on t.k = u.k")
    # a query without rowid is left as it is
    assert transpile("select * from t where k = 1") == "SELECT * FROM t WHERE k = 1"
