"""dbt's safety net on Spark, each compared with the same project on DuckDB: unit tests
(one passing, one failing, which skips its model), enforced contracts (one kept, one
whose types differ, one whose not_null column has a null), pre- and post-hooks,
--empty, --defer with state:modified selection, an incremental model that drops a
column, and a failing model's error said without PySpark's logged stack trace."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb
import pytest

from runner.api import build
from runner.engines.profiles import Target

pytestmark = pytest.mark.spark

SPARK = Target("spark", type="spark")
FILES = {
    "dbt_project.yml": """
        name: spark_features
        version: "1.0"
        config-version: 2
        """,
    "seeds/f_rates.csv": "rate_id,price\n1,0.25\n2,0.40\n",
    "models/f_base.sql": """
        {{ config(materialized='table', alias=var('base_alias', 'f_base')) }}
        select rate_id, price, rate_id * 10 as kwh from {{ ref('f_rates') }}
        """,
    "models/f_priced.sql": """
        {{ config(materialized='view') }}
        -- a CTE reads the given rows in a unit test, as the charging project's models do
        with base as (select * from {{ ref('f_base') }})
        select rate_id, round(price * kwh, 2) as cost from base
        """,
    "models/f_contracted.sql": """
        {{ config(materialized='table') }}
        select cast(cost as double) as cost, rate_id from {{ ref('f_priced') }}
        """,
    "models/f_wrong_types.sql": """
        {{ config(materialized='table') }}
        select cast(rate_id as varchar) as rate_id, cost from {{ ref('f_priced') }}
        """,
    "models/f_nulls.sql": """
        {{ config(materialized='table') }}
        select rate_id, case when rate_id = 2 then null else cost end as cost
        from {{ ref('f_priced') }}
        """,
    "models/f_unit_failed.sql": """
        {{ config(materialized='table') }}
        select rate_id, cost * 2 as doubled from {{ ref('f_priced') }}
        """,
    "models/f_hooked.sql": """
        {{ config(materialized='table',
                  pre_hook="create table if not exists main.f_hook_log (what varchar, n bigint)",
                  post_hook="insert into main.f_hook_log select 'rows', count(*) from {{ this }}") }}
        select * from {{ ref('f_base') }}
        """,
    "models/f_growing.sql": """
        {{ config(materialized='incremental', unique_key='rate_id') }}
        with new_rows as (
            select rate_id, price, [cast(rate_id as varchar)] as tags from {{ ref('f_base') }}
        )
        select * from new_rows
        {% if is_incremental() %}
        union all by name
        select * from {{ this }} where rate_id not in (select rate_id from new_rows)
        {% endif %}
        """,
    "models/schema.yml": """
        version: 2
        models:
          - name: f_contracted
            config: {contract: {enforced: true}}
            columns:
              - {name: rate_id, data_type: integer, constraints: [{type: not_null}]}
              - {name: cost, data_type: double}
          - name: f_wrong_types
            config: {contract: {enforced: true}}
            columns:
              - {name: rate_id, data_type: integer}
              - {name: cost, data_type: double}
          - name: f_nulls
            config: {contract: {enforced: true}}
            columns:
              - {name: rate_id, data_type: integer}
              - {name: cost, data_type: double, constraints: [{type: not_null}]}
        unit_tests:
          - name: priced_is_price_times_kwh
            model: f_priced
            given:
              - input: ref('f_base')
                rows: [{rate_id: 7, price: 0.5, kwh: 3}, {rate_id: 8, price: 0.1, kwh: 5}]
            expect:
              rows: [{rate_id: 7, cost: 1.5}, {rate_id: 8, cost: 0.5}]
          - name: doubled_is_wrong_on_purpose
            model: f_unit_failed
            given:
              - input: ref('f_priced')
                rows: [{rate_id: 1, cost: 2.0}]
            expect:
              rows: [{rate_id: 1, doubled: 5.0}]
          - name: growing_keeps_the_keys_it_does_not_rebuild
            model: f_growing
            overrides: {macros: {is_incremental: true}}
            given:
              - input: this
                rows: [{rate_id: 9, price: 1.0, tags: [nine]}, {rate_id: 1, tags: []}]
              - input: ref('f_base')
                rows: [{rate_id: 1, price: 0.25, kwh: 10}]
            expect:
              rows: [{rate_id: 1, tags: ['1']}, {rate_id: 9, tags: [nine]}]
        """,
}


def write(root: Path) -> Path:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def statuses(result) -> dict[str, str]:
    return {n.name: n.status for n in result.nodes}


def spark_rows(spark, sql: str) -> list[tuple]:
    return sorted(tuple(r) for r in spark.sql(sql).collect())


def duck_rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(con.execute(sql).fetchall())


@pytest.fixture(scope="module")
def both(spark_session, tmp_path_factory):
    """The project built on DuckDB and on Spark; Spark's target/ kept as the state."""
    root = write(tmp_path_factory.mktemp("features") / "project")
    duck = build(root, db_path=root.parent / "ref.duckdb", target_path=root / "duck_target")
    spark = build(root, target=SPARK)
    shutil.copytree(root / "target", root.parent / "spark_state")
    return root, duck, spark


def test_unit_tests_contracts_and_hooks_as_on_duckdb(both, spark_session) -> None:
    root, duck, spark = both
    assert statuses(spark) == statuses(duck)
    got = statuses(spark)
    assert got["priced_is_price_times_kwh"] == "pass"
    assert got["doubled_is_wrong_on_purpose"] == "fail"
    # before the model's first build: `this` takes the columns its full build writes
    # (a UNION BY NAME asks them), lists given as lists
    assert got["growing_keeps_the_keys_it_does_not_rebuild"] == "pass"
    assert got["f_unit_failed"] == "skipped"           # its unit test failed
    assert got["f_contracted"] == "success"
    assert got["f_wrong_types"] == "error" and got["f_nulls"] == "error"
    by_name = {n.name: n for n in spark.nodes}
    failed_unit = by_name["doubled_is_wrong_on_purpose"].message
    assert failed_unit == {n.name: n for n in duck.nodes}["doubled_is_wrong_on_purpose"].message
    assert "+    | 1       | 4.0" in failed_unit and "-    | 1       | 5.0" in failed_unit
    wrong = by_name["f_wrong_types"].message
    assert "enforced contract that failed" in wrong and "data type mismatch" in wrong
    assert "rate_id" in wrong and "was not built" in wrong
    assert "not_null" in by_name["f_nulls"].message and \
        "1 new rows have it null" in by_name["f_nulls"].message
    # the contracted table: the declared columns in the declared order, Spark's types
    assert spark_session.table("main.f_contracted").dtypes == [("rate_id", "int"),
                                                               ("cost", "double")]
    assert spark_session.catalog.tableExists("main.f_wrong_types") is False
    assert spark_session.catalog.tableExists("main.f_nulls") is False
    # the hooks ran around the model, as on DuckDB
    db = Path(duck.db_path)
    assert spark_rows(spark_session, "select * from main.f_hook_log") == \
        duck_rows(db, "select * from main.f_hook_log") == [("rows", 2)]
    assert spark_rows(spark_session, "select * from main.f_contracted") == \
        [tuple(r) for r in duck_rows(db, "select rate_id, cost from main.f_contracted")]


def test_defer_and_state_modified_as_on_duckdb(both, spark_session) -> None:
    """f_priced's SQL changed: only it is built, and f_base (under another alias now, so not
    in this run's catalog) is read where the state's run built it."""
    root, duck, spark = both
    priced = root / "models" / "f_priced.sql"
    priced.write_text(priced.read_text() + "-- changed\n", encoding="utf-8")
    options = dict(select=["state:modified.body"], exclude=["test_type:unit"], defer=True,
                   vars={"base_alias": "f_base_dev"})
    on_duck = build(root, db_path=root.parent / "ref.duckdb", state=root / "duck_target",
                    target_path=root / "duck_target2", **options)
    on_spark = build(root, target=SPARK, state=root.parent / "spark_state", **options)
    assert on_spark.ok and on_duck.ok, on_spark.summary() + on_duck.summary()
    assert [n.name for n in on_spark.nodes] == [n.name for n in on_duck.nodes] == \
        ["f_priced"]
    assert any("--defer: f_base is read from main.f_base" in n for n in on_spark.notes)
    assert not spark_session.catalog.tableExists("main.f_base_dev")
    assert spark_rows(spark_session, "select * from main.f_priced") == \
        duck_rows(Path(on_duck.db_path), "select * from main.f_priced")


def test_defer_refuses_a_duckdb_state(both) -> None:
    root = both[0]
    from runner.errors import OptionError
    with pytest.raises(OptionError, match="not a Spark run's target/"):
        build(root, target=SPARK, select=["f_priced"], defer=True,
              state=root / "duck_target")


def test_empty_builds_every_model_with_no_rows(both, spark_session) -> None:
    """Runs last: rebuilds the Spark tables empty."""
    root, duck, spark = both
    select = ["f_base", "f_priced", "f_contracted"]
    options = dict(empty=True, select=select, exclude=["test_type:unit"])
    on_duck = build(root, db_path=root.parent / "ref.duckdb", **options)
    on_spark = build(root, target=SPARK, **options)
    assert statuses(on_spark) == statuses(on_duck)
    assert on_spark.ok, on_spark.summary()
    for name in select:
        assert spark_rows(spark_session, f"select * from main.{name}") == []
        assert list(spark_session.table(f"main.{name}").columns) == \
            [c[0] for c in duckdb.connect(on_duck.db_path, read_only=True).execute(
                f"select * from main.{name}").description]
    assert "--empty: nothing was published (the tables are empty)." in on_spark.notes
    assert "--empty: nothing was published (the tables are empty)." in on_duck.notes


HOOKED = {
    "dbt_project.yml": """
        name: spark_hooks
        version: "1.0"
        config-version: 2
        on-run-start:
          - "create schema if not exists main"
          - "create table if not exists main.h_log (node varchar, status varchar, engine varchar)"
        on-run-end:
          - "{% for r in results %}insert into main.h_log values ('{{ r.node.name }}', '{{ r.status }}', '{{ target.type }}');{% endfor %}"
          - "insert into main.h_log select 'rows', cast(count(*) as varchar), '{{ target.type }}' from main.h_model"
        """,
    "models/h_model.sql": "{{ config(materialized='table') }}\n"
                          "select 1 as id union all select 2 as id",
    "models/h_broken.sql": "{{ config(materialized='table') }}\n"
                           "select * from main.h_no_such_table",
}


def test_on_run_start_and_on_run_end_as_on_duckdb(spark_session, tmp_path: Path) -> None:
    """The project's hooks run on the Spark session, transpiled (the results loop's
    several statements one at a time), and on-run-end sees the failed model and the
    table this build wrote, as on DuckDB."""
    root = tmp_path / "hooks"
    for rel, text in HOOKED.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    duck = build(root, db_path=tmp_path / "hooks.duckdb", target_path=root / "duck_target")
    spark = build(root, target=SPARK)
    assert not spark.ok and statuses(spark) == statuses(duck)
    assert [n.name for n in spark.nodes][:2] == ["spark_hooks-on-run-start-0",
                                                 "spark_hooks-on-run-start-1"]
    assert statuses(spark)["spark_hooks-on-run-end-1"] == "success"
    on_spark = spark_rows(spark_session, "select * from main.h_log")
    on_duck = duck_rows(tmp_path / "hooks.duckdb", "select * from main.h_log")
    assert on_spark == [("h_broken", "error", "spark"), ("h_model", "success", "spark"),
                        ("rows", "2", "spark")]
    assert [r[:2] for r in on_spark] == [r[:2] for r in on_duck]


def test_an_on_run_end_hook_that_does_not_render_stops_as_on_duckdb(spark_session,
                                                                     tmp_path: Path) -> None:
    """As dbt's compilation error: the error raised once run_results.json is written
    (with the nodes and the hooks that ran), the hooks after it not run."""
    import json
    from runner.errors import RenderError
    root = tmp_path / "hooks_render"
    files = {**HOOKED, "dbt_project.yml": HOOKED["dbt_project.yml"].replace(
        "{% for r in results %}", "{{ no_such_macro() }}{% for r in results %}")}
    del files["models/h_broken.sql"]
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    with pytest.raises(RenderError, match="on-run-end hook 0 did not render"):
        build(root, target=SPARK)
    saved = json.loads((root / "target" / "run_results.json").read_text())
    assert [(r["unique_id"], r["status"]) for r in saved["results"]] == [
        ("operation.spark_hooks.spark_hooks-on-run-start-0", "success"),
        ("operation.spark_hooks.spark_hooks-on-run-start-1", "success"),
        ("model.spark_hooks.h_model", "success")]


def test_a_seed_with_a_ragged_row_is_an_error_as_on_duckdb(spark_session,
                                                          tmp_path: Path) -> None:
    """A row with more fields than the header: the seed fails naming the line, its
    table keeps the last good rows, as on DuckDB (Spark loaded it, unsaid)."""
    root = tmp_path / "ragged"
    (root / "seeds").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "dbt_project.yml").write_text("name: ragged\nversion: '1.0'\n"
                                          "config-version: 2\n", encoding="utf-8")
    (root / "seeds" / "ragged_codes.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    assert build(root, target=SPARK).ok
    (root / "seeds" / "ragged_codes.csv").write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    spark = build(root, target=SPARK)
    duck = build(root, db_path=tmp_path / "ragged.duckdb")
    assert [(n.name, n.status) for n in spark.nodes] == [("ragged_codes", "error")]
    assert spark.nodes[0].message == duck.nodes[0].message == \
        "seed seeds/ragged_codes.csv line 3 has 3 fields where the header has 2; fix that row."
    assert spark_rows(spark_session, "select count(*) from main.ragged_codes") == [(2,)]


def test_an_incremental_model_that_drops_a_column_stops_as_on_duckdb(spark_session,
                                                                     tmp_path: Path) -> None:
    """An incremental model whose query no longer returns a column of its table: the
    model stops with DuckDB's words (the column, and to rebuild once with --full-refresh),
    its table keeps its rows, and the full refresh then builds it."""
    root = tmp_path / "dropped"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: dropped\nversion: '1.0'\n"
                                          "config-version: 2\n", encoding="utf-8")
    model = root / "models" / "d_events.sql"
    config = "{{ config(materialized='incremental', incremental_strategy='append') }}\n"
    model.write_text(config + "select 1 as id, 'a' as kind, 2.5 as amount\n",
                     encoding="utf-8")
    assert build(root, target=SPARK).ok
    assert build(root, db_path=tmp_path / "dropped.duckdb").ok
    model.write_text(config + "select 2 as id, 2.5 as amount\n", encoding="utf-8")
    spark = build(root, target=SPARK)
    duck = build(root, db_path=tmp_path / "dropped.duckdb")
    assert statuses(spark) == statuses(duck) == {"d_events": "error"}
    message = spark.nodes[0].message
    assert "model d_events no longer returns column kind of its table" in message
    assert "rebuild it once with --full-refresh" in message
    assert message.split(" of its table ")[0] == duck.nodes[0].message.split(" of its table ")[0]
    assert spark_rows(spark_session, "select id, kind from main.d_events") == [(1, "a")]
    assert build(root, target=SPARK, full_refresh=True).ok
    assert spark_rows(spark_session, "select id from main.d_events") == [(2,)]


def test_a_failing_model_on_spark_prints_no_traceback(tmp_path: Path) -> None:
    """`runner build --target spark` with a model whose SQL Spark refuses: the runner says
    which model failed and why, and stderr holds no JVM stack trace (PySpark 4 logs one
    for every SQL error it raises, as JSON, unless told not to)."""
    import subprocess
    import sys
    root = tmp_path / "failing"
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: failing\nversion: '1.0'\n"
                                          "config-version: 2\n", encoding="utf-8")
    (root / "models" / "f_broken.sql").write_text(
        "{{ config(materialized='table') }}\nselect no_such_column from range(3)\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "runner", "build", "--target", "spark",
                           "--project-dir", str(root)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 1
    assert "Spark failed running model f_broken" in done.stdout
    assert "no_such_column" in done.stdout
    for noise in ("SQLQueryContextLogger", "at org.apache.spark", "Traceback"):
        assert noise not in done.stderr, done.stderr[-2000:]
