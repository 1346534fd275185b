"""dbt's unit tests: `unit_tests:` in YAML, run before their model by `runner build` and
by `runner test --select test_type:unit`, on small projects of their own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner.api import build, execute

MODELS = {
    "seeds/rates.csv": "currency,rate\nEUR,0.2\nUSD,0.1\n",
    "models/stg_orders.sql": """\
        select cast(1 as integer) as id, cast(10.5 as decimal(18, 2)) as amount,
               'eur' as currency, date '2024-01-01' as day, 'x' as note
        """,
    "models/orders.sql": """\
        select o.id, o.amount, o.amount * r.rate as vat, upper(o.currency) as currency,
               o.note is null as no_note,
               '{{ var("region", "eu") }}' as region, '{{ env_var("SHOP_ENV", "dev") }}' as env
        from {{ ref('stg_orders') }} as o
        join {{ ref('rates') }} as r on r.currency = upper(o.currency)
        """,
    "models/orders_daily.sql": "select count(*) as n from {{ ref('orders') }}",
}

PASSING = """\
  - name: vat_is_amount_times_rate
    model: orders
    given:
      - input: ref('stg_orders')
        rows:
          - {id: 1, amount: 10, currency: eur}
          - {id: 2, amount: 5, currency: usd}
    expect:
      rows:
        - {id: 2, vat: 0.5, no_note: true}
        - {id: 1, vat: 2.0, no_note: true}
"""

FAILING = """\
  - name: vat_wrong
    model: orders
    given:
      - input: ref('stg_orders')
        rows: [{id: 7, amount: 10, currency: eur}]
    expect:
      rows: [{id: 7, vat: 3.0}]
"""


def _project(make_project, tests: str, **extra: str) -> Path:
    return make_project({**MODELS, "models/_unit.yml": "version: 2\nunit_tests:\n" + tests,
                         **extra})


def _by_name(result) -> dict:
    return {n.name: n for n in result.nodes}


def test_a_passing_unit_test_runs_before_its_model(make_project) -> None:
    root = _project(make_project, PASSING)
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    names = [n.name for n in result.nodes]
    assert names.index("vat_is_amount_times_rate") == names.index("orders") - 1
    assert _by_name(result)["vat_is_amount_times_rate"].kind == "unit_test"


def test_a_failing_unit_test_shows_the_rows_and_skips_the_model_and_downstream(
        make_project, cli, query) -> None:
    root = _project(make_project, PASSING + FAILING)
    code, out, _ = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 1, out
    assert "FAIL    unit_test vat_wrong: actual differs from expected" in out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "+ | 7 | 2.0" in lines and "- | 7 | 3.0" in lines, out
    assert "SKIPPED model orders: skipped: unit test vat_wrong failed" in out
    assert "SKIPPED model orders_daily: skipped: upstream orders" in out
    tables = {r[0] for r in query(root / "db.duckdb", "select table_name from "
                                  "information_schema.tables")}
    assert "orders" not in tables and "stg_orders" in tables
    saved = json.loads((root / "target" / "runner_results.json").read_text())
    assert {r["name"]: r["status"] for r in saved["results"]}["vat_wrong"] == "fail"
    dbt = json.loads((root / "target" / "run_results.json").read_text())    # dbt's shape
    assert {r["unique_id"]: r["status"] for r in dbt["results"]}[
        "unit_test.proj.orders.vat_wrong"] == "fail"


def test_only_the_expect_columns_are_compared_and_missing_given_columns_are_null(
        make_project) -> None:
    # no_note: the given row leaves `note` out, so it is null (typed VARCHAR from the
    # parent); amount, currency, region are not in expect and not compared.
    root = _project(make_project, """\
  - name: subset
    model: orders
    given:
      - input: ref('stg_orders')
        rows: [{id: 1, amount: 10, currency: eur}]
    expect:
      rows: [{id: 1, no_note: true}]
""")
    assert build(root, db_path=root / "db.duckdb").ok
    root2 = _project(make_project, """\
  - name: subset
    model: orders
    given:
      - input: ref('stg_orders')
        rows: [{id: 1, amount: 10, currency: eur, note: here}]
    expect:
      rows: [{id: 1, no_note: true}]
""".replace("subset", "subset2"))
    result = build(root2, db_path=root2 / "db2.duckdb")
    assert _by_name(result)["subset2"].status == "fail"


def test_csv_rows_a_fixture_file_sql_rows_and_a_given_seed(make_project) -> None:
    root = _project(make_project, """\
  - name: from_csv
    model: orders
    given:
      - input: ref('stg_orders')
        format: csv
        rows: |
          id,amount,currency
          1,10,eur
      - input: ref('rates')
        format: csv
        fixture: eur_half
    expect:
      format: csv
      rows: |
        id,vat
        1,5.0
  - name: from_sql
    model: orders
    given:
      - input: ref('stg_orders')
        format: sql
        rows: select 3 as id, 100.0 as amount, 'usd' as currency, null as day, 'n' as note
    expect:
      format: sql
      fixture: expect_usd
""", **{"tests/fixtures/eur_half.csv": "currency,rate\nEUR,0.5\n",
        "tests/fixtures/expect_usd.sql": "select 3 as id, 10.0 as vat"})
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    # a fixture's .sql is not a singular data test
    assert {n.kind for n in result.nodes if n.name.startswith("expect")} == set()
    assert {n.name for n in result.nodes if n.kind == "unit_test"} == {"from_csv", "from_sql"}


@pytest.mark.parametrize("value, status", [("us", "pass"), ("eu", "fail")])
def test_vars_and_env_vars_are_overridden(make_project, value: str, status: str) -> None:
    root = _project(make_project, f"""\
  - name: region
    model: orders
    overrides:
      vars: {{region: {value}}}
      env_vars: {{SHOP_ENV: prod}}
    given:
      - input: ref('stg_orders')
        rows: [{{id: 1, amount: 1, currency: eur}}]
    expect:
      rows: [{{id: 1, region: us, env: prod}}]
""")
    result = build(root, db_path=root / "db.duckdb", vars={"region": "eu"})
    assert _by_name(result)["region"].status == status, result.summary()


INCREMENTAL = {
    "models/events.sql": """\
        {{ config(materialized='incremental', unique_key='id') }}
        select id, ts from {{ ref('stg_events') }}
        {% if is_incremental() %}
        where ts > (select max(ts) from {{ this }})
        {% endif %}
        """,
    "models/stg_events.sql": "select 1 as id, timestamp '2024-01-01' as ts",
}


def _incremental_tests(flag: bool, expected_ids: list[int]) -> str:
    rows = ", ".join(f"{{id: {i}}}" for i in expected_ids)
    return f"""\
  - name: events_incremental_{str(flag).lower()}
    model: events
    overrides:
      macros: {{is_incremental: {str(flag).lower()}}}
    given:
      - input: ref('stg_events')
        rows:
          - {{id: 1, ts: 2024-01-01 00:00:00}}
          - {{id: 2, ts: 2024-01-03 00:00:00}}
      - input: this
        rows: [{{id: 1, ts: 2024-01-02 00:00:00}}]
    expect:
      rows: [{rows}]
"""


@pytest.mark.parametrize("flag, ids, ok", [
    (True, [2], True), (False, [1, 2], True), (True, [1, 2], False), (False, [2], False)])
def test_an_incremental_model_is_tested_both_ways(make_project, flag, ids, ok) -> None:
    root = make_project({**INCREMENTAL, "models/_unit.yml": "version: 2\nunit_tests:\n" +
                         _incremental_tests(flag, ids)})
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok is ok, result.summary()


def test_test_type_selects_unit_or_data_tests(make_project) -> None:
    root = _project(make_project, PASSING, **{
        "models/_props.yml": "version: 2\nmodels:\n  - name: orders\n    columns:\n"
                             "      - name: id\n        data_tests: [not_null]\n"})
    db = root / "db.duckdb"
    # unit tests need no built table: they run over their given rows only
    unit = execute("test", root, db_path=db, select=["test_type:unit"])
    assert [(n.name, n.status) for n in unit.nodes] == [("vat_is_amount_times_rate", "pass")]
    assert build(root, db_path=db, exclude=["test_type:unit"]).ok
    data = execute("test", root, db_path=db, select=["test_type:data"])
    assert [n.kind for n in data.nodes] == ["test"]
    both = execute("test", root, db_path=db)
    assert sorted(n.kind for n in both.nodes) == ["test", "unit_test"]
    built = build(root, db_path=db, select=["test_type:unit"])
    assert [n.kind for n in built.nodes] == ["unit_test"]


def test_a_disabled_unit_test_does_not_run(make_project) -> None:
    root = _project(make_project, FAILING.replace("    model: orders\n",
                                                  "    model: orders\n    config: "
                                                  "{enabled: false, tags: [x]}\n"))
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok and "vat_wrong" not in _by_name(result)


@pytest.mark.parametrize("tests, message", [
    (FAILING.replace("      - input: ref('stg_orders')\n        rows: [{id: 7, amount: 10, "
                     "currency: eur}]\n", ""),
     "unit test vat_wrong gives no rows for ref('stg_orders'), which model orders reads"),
    (FAILING.replace("amount: 10", "amont: 10"),
     "input ref('stg_orders') of unit test vat_wrong names column 'amont'"),
    (FAILING.replace("{id: 7, vat: 3.0}", "{id: 7, vatt: 3.0}"),
     "'expect' of unit test vat_wrong names column 'vatt', which model orders does not"),
    (FAILING.replace("model: orders", "model: ordrs"),
     "unit test vat_wrong tests model 'ordrs', which does not exist"),
    (FAILING.replace("      - input: ref('stg_orders')", "      - input: ref('orders_daily')\n"
                     "        rows: []\n      - input: ref('stg_orders')"),
     "gives rows for ref('orders_daily'), which model orders does not read"),
    (FAILING.replace("rows: [{id: 7, amount: 10, currency: eur}]", "format: csv\n"
                     "        fixture: nowhere"),
     "names fixture 'nowhere', but there is no nowhere.csv"),
])
def test_a_mistake_in_a_unit_test_stops_before_anything_runs(make_project, cli, tests,
                                                             message) -> None:
    root = _project(make_project, tests)
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2, out + err
    assert message in " ".join(err.split()), err
    assert "models/_unit.yml" in err and "Traceback" not in err
    assert not (root / "db.duckdb").exists() or "stg_orders" not in out
    code, _, err = cli("compile", "--project-dir", root)      # compile checks them too
    assert code == 2 and message in " ".join(err.split()), err


def test_a_model_over_a_relation_source_is_unit_tested_with_the_relations_columns(
        make_project) -> None:
    # dbt's meaning of a source: the relation a seed made (no raw folder, no declared
    # columns); the unit test gives rows for the staging model by a subset of columns, so
    # the staging model must bind over a stand-in with the seed's columns
    root = make_project({
        "macros/generate_schema_name.sql": """
            {% macro generate_schema_name(custom, node) %}{{ custom or target.schema }}
            {% endmacro %}""",
        "seeds/raw_items.csv": "id,price,sku\n1,250,a\n",
        # as jaffle-shop: the seed is loaded once, and is not part of the build
        "dbt_project.yml": "name: proj\nseeds:\n  proj:\n    +schema: raw\n"
                           "    +enabled: \"{{ var('load', false) }}\"\n",
        "models/_sources.yml": "version: 2\nsources:\n  - name: shop\n    schema: raw\n"
                               "    tables:\n      - name: raw_items\n",
        "models/stg_items.sql": "select id, price / 100 as price, sku "
                                "from {{ source('shop', 'raw_items') }}",
        "models/items.sql": "select id, price * 2 as doubled from {{ ref('stg_items') }}",
        "models/_unit.yml": """version: 2
unit_tests:
  - name: doubles_the_price
    model: items
    given:
      - input: ref('stg_items')
        rows: [{id: 1, price: 2.5}]
    expect:
      rows: [{id: 1, doubled: 5.0}]
"""})
    db = root / "db.duckdb"
    assert execute("seed", root, db_path=db, vars={"load": True}).ok
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert _by_name(result)["doubles_the_price"].status == "pass"


def test_unit_tests_are_selected_by_name_and_by_tag(make_project, cli) -> None:
    tagged = PASSING + "    config:\n      tags: [vat]\n"
    root = _project(make_project, tagged + FAILING)
    db = root / "db.duckdb"
    assert build(root, db_path=db, select=["stg_orders", "rates"]).ok
    code, out, err = cli("test", "--project-dir", root, "--db", db,
                         "--select", "vat_is_amount_times_rate")
    assert code == 0, out + err
    assert "vat_is_amount_times_rate" in out and "vat_wrong" not in out
    code, out, err = cli("test", "--project-dir", root, "--db", db, "--select", "tag:vat")
    assert code == 0, out + err
    assert "vat_is_amount_times_rate" in out and "vat_wrong" not in out
    code, out, err = cli("test", "--project-dir", root, "--db", db, "--select", "vat_wrong")
    assert code == 1 and "vat_wrong" in out, out + err


def test_unit_tests_read_their_given_rows_under_empty_and_defer(make_project,
                                                                 tmp_path: Path) -> None:
    """As in dbt, --empty and --defer change what a model's refs read, not a unit test's
    given rows: the test passes as it does in a plain build."""
    root = _project(make_project, PASSING)
    assert build(root, db_path=root / "prod.duckdb").ok
    state = tmp_path / "prod-target"
    shutil.copytree(root / "target", state)
    empty = build(root, db_path=tmp_path / "empty.duckdb", empty=True)
    assert _by_name(empty)["vat_is_amount_times_rate"].status == "pass", empty.summary()
    deferred = build(root, db_path=tmp_path / "dev.duckdb", select=["orders"], state=state,
                     defer=True)
    assert deferred.ok, deferred.summary()
    assert _by_name(deferred)["vat_is_amount_times_rate"].status == "pass"
