"""dbt's --resource-type and --exclude-resource-type (and DBT_RESOURCE_TYPES,
DBT_EXCLUDE_RESOURCE_TYPES) on build, test and ls: the positive filter first, then the
exclusion; a unit test left out does not skip its model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.api import build, execute
from runner.engines.profiles import Target

PROJECT = {
    "seeds/rates.csv": "currency,rate\nEUR,0.2\nUSD,0.1\n",
    "models/stg_orders.sql": "select 1 as id, 10.0 as amount, 'EUR' as currency",
    "models/orders.sql": """\
        select o.id, o.amount * r.rate as vat
        from {{ ref('stg_orders') }} as o join {{ ref('rates') }} as r using (currency)
        """,
    "models/orders_daily.sql": "select count(*) as n from {{ ref('orders') }}",
    "models/_props.yml": """\
        version: 2
        models:
          - name: orders
            columns:
              - name: id
                data_tests: [not_null, unique]
          - name: orders_daily
            columns:
              - name: n
                data_tests: [not_null]
        unit_tests:
          - name: vat_is_amount_times_rate
            model: orders
            given:
              - input: ref('stg_orders')
                rows: [{id: 1, amount: 10, currency: EUR}]
            expect:
              rows: [{id: 1, vat: 2.0}]
          - name: daily_counts_orders
            model: orders_daily
            given:
              - input: ref('orders')
                rows: [{id: 1}, {id: 2}]
            expect:
              rows: [{n: 2}]
        """,
}
MODELS = {"stg_orders", "orders", "orders_daily"}
DATA_TESTS = {"not_null_orders_id", "unique_orders_id", "not_null_orders_daily_n"}
UNIT_TESTS = {"vat_is_amount_times_rate", "daily_counts_orders"}
# the unit test of orders made to fail: it skips orders (and downstream) when it runs
FAILING = ("rows: [{id: 1, vat: 2.0}]", "rows: [{id: 1, vat: 3.0}]")


@pytest.fixture
def shop(make_project) -> Path:
    return make_project(PROJECT)


def ran(out: str) -> dict[str, str]:
    """The progress lines' node names and kinds ("3/7 OK    model orders (0.01s)")."""
    kinds = {}
    for line in out.splitlines():
        words = line.split()
        if words and "/" in words[0] and words[0].replace("/", "").isdigit():
            kinds[words[3]] = words[2]
    return kinds


def run_results(root: Path) -> list[str]:
    rows = json.loads((root / "target" / "run_results.json").read_text())["results"]
    return [row["unique_id"] for row in rows]


def test_excluding_unit_tests_builds_and_data_tests_every_model(shop: Path, cli) -> None:
    code, out, err = cli("build", "--project-dir", shop, "--db", shop / "db.duckdb",
                         "--exclude-resource-type", "unit_test")
    assert code == 0, out + err
    kinds = ran(out)
    assert "unit_test" not in kinds.values()
    assert {n for n, k in kinds.items() if k == "model"} == MODELS
    assert {n for n, k in kinds.items() if k == "test"} == DATA_TESTS
    assert not [uid for uid in run_results(shop) if uid.startswith("unit_test.")]
    # said, and counted as what ran: the progress total and the summary line
    assert "note: --exclude-resource-type unit_test: 2 unit tests left out." in out
    assert "7/7 " in out and "build: 7 nodes" in out, out
    full = build(shop, db_path=shop / "db.duckdb")
    assert {n.name for n in full.nodes if n.kind == "unit_test"} == UNIT_TESTS


def test_a_unit_test_left_out_does_not_skip_its_model(make_project) -> None:
    root = make_project({**PROJECT, "models/_props.yml":
                         PROJECT["models/_props.yml"].replace(*FAILING)})
    db = root / "db.duckdb"
    failing = build(root, db_path=db)
    assert {n.name: n.status for n in failing.nodes}["orders"] == "skipped"
    result = build(root, db_path=db, exclude_resource_types=["unit_test"])
    assert result.ok, result.summary()
    assert {n.name for n in result.nodes if n.status == "success"} == MODELS | {"rates"}


def test_models_and_seeds_only_run_no_test(shop: Path, cli) -> None:
    code, out, err = cli("build", "--project-dir", shop, "--db", shop / "db.duckdb",
                         "--resource-type", "model", "--resource-type", "seed")
    assert code == 0, out + err
    assert ran(out) == {"rates": "seed", **{m: "model" for m in MODELS}}
    assert "3 data tests and 2 unit tests left out" in out
    # dbt's form too: several types after one flag
    code, out, _ = cli("build", "--project-dir", shop, "--db", shop / "db.duckdb",
                       "--resource-type", "model", "seed", "-s", "orders")
    assert code == 0 and ran(out) == {"orders": "model"}, out


def test_the_env_vars_and_the_flag_winning_over_them(shop: Path, cli, monkeypatch) -> None:
    db = shop / "db.duckdb"
    monkeypatch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test test")
    code, out, err = cli("build", "--project-dir", shop, "--db", db)
    assert code == 0, out + err
    assert set(ran(out).values()) == {"seed", "model"}
    monkeypatch.delenv("DBT_EXCLUDE_RESOURCE_TYPES")
    monkeypatch.setenv("DBT_RESOURCE_TYPES", "seed")
    code, out, _ = cli("build", "--project-dir", shop, "--db", db)
    assert ran(out) == {"rates": "seed"}, out
    code, out, _ = cli("build", "--project-dir", shop, "--db", db, "--resource-type", "test")
    assert code == 0 and set(ran(out)) == DATA_TESTS, out


@pytest.mark.parametrize("include, exclude, kinds", [
    # dbt applies --resource-type first, then takes --exclude-resource-type away
    (["model", "unit_test"], ["unit_test"], {"model"}),
    (["all"], ["test"], {"seed", "model", "unit_test"}),
    (["default"], ["model", "seed"], {"test", "unit_test"}),
    (None, ["default"], set()),
])
def test_both_options_together(shop: Path, include, exclude, kinds) -> None:
    db = shop / "db.duckdb"
    assert build(shop, db_path=db).ok
    result = build(shop, db_path=db, resource_types=include, exclude_resource_types=exclude)
    assert result.ok, result.summary()
    assert {n.kind for n in result.nodes} == kinds


def test_runner_test_runs_only_the_tests_of_the_types(shop: Path, cli) -> None:
    db = shop / "db.duckdb"
    code, out, err = cli("test", "--project-dir", shop, "--db", db,
                         "--resource-type", "unit_test")
    assert code == 0, out + err
    assert ran(out) == {name: "unit_test" for name in UNIT_TESTS}
    assert build(shop, db_path=db).ok
    data = execute("test", shop, db_path=db, exclude_resource_types=["unit_test"])
    assert {n.name for n in data.nodes} == DATA_TESTS
    # a model is not a test: runner test keeps test and unit_test only, as dbt's
    assert execute("test", shop, db_path=db, resource_types=["model"]).nodes == []


@pytest.mark.parametrize("command, option, value", [
    ("build", "--resource-type", "modle"),
    ("test", "--exclude-resource-type", "unit_tests"),
    ("build", "--exclude-resource-type", "all"),      # not one of the exclusion's
    ("ls", "--resource-type", "colour"),
])
def test_an_unknown_type_exits_2_with_the_choices(shop: Path, cli, command, option,
                                                  value) -> None:
    code, out, err = cli(command, "--project-dir", shop, option, value)
    assert code == 2, out + err
    assert f"{option} {value!r}" in err and "unit_test, exposure, snapshot, seed" in err
    assert "Traceback" not in err and not (shop / "proj.duckdb").exists()


def test_a_type_the_runner_has_no_node_of_selects_nothing(shop: Path, cli) -> None:
    code, out, err = cli("build", "--project-dir", shop, "--db", shop / "db.duckdb",
                         "--resource-type", "exposure")
    assert code == 0 and ran(out) == {} and "build: 0 nodes" in out, out + err
    code, out, _ = cli("ls", "--project-dir", shop, "--resource-type", "metric")
    assert code == 0 and out.strip() == ""


def test_ls_lists_unit_tests_and_excludes_types(shop: Path, cli) -> None:
    code, out, err = cli("ls", "--project-dir", shop, "--resource-type", "unit_test")
    assert code == 0, err
    assert sorted(out.split()) == ["unit_test:proj.daily_counts_orders",
                                   "unit_test:proj.vat_is_amount_times_rate"]
    code, out, _ = cli("ls", "--project-dir", shop, "--output", "name",
                       "--exclude-resource-type", "test", "unit_test", "seed")
    assert out.split() == ["stg_orders", "orders", "orders_daily"]
    # `runner list`, dbt's name, takes them too
    code, out, err = cli("list", "--project-dir", shop, "--resource-type", "seed")
    assert code == 0 and out.split() == ["proj.rates"], out + err


def test_retry_keeps_the_types_of_the_run_it_retries(make_project) -> None:
    from runner.task.retry import retry
    root = make_project({**PROJECT, "models/_props.yml":
                         PROJECT["models/_props.yml"].replace(*FAILING)
                         .replace("data_tests: [not_null]", "data_tests: [{accepted_values: "
                                  "{values: [5]}}]")})
    db = root / "db.duckdb"
    first = build(root, db_path=db, exclude_resource_types=["unit_test"])
    assert not first.ok                      # the accepted_values test of orders_daily
    again = retry(root)
    assert again is not None and "unit_test" not in {n.kind for n in again.nodes}


@pytest.mark.spark
def test_on_spark_as_on_duckdb(make_project, spark_session) -> None:
    root = make_project({**PROJECT, "models/_props.yml":
                         PROJECT["models/_props.yml"].replace(*FAILING)})
    duck = build(root, db_path=root / "db.duckdb", exclude_resource_types=["unit_test"])
    spark = build(root, target=Target("spark", type="spark"),
                  exclude_resource_types=["unit_test"])
    assert spark.ok, spark.summary()
    assert {n.name: n.status for n in spark.nodes} == {n.name: n.status for n in duck.nodes}
    assert {n.kind for n in spark.nodes} == {"seed", "model", "test"}
    assert "--exclude-resource-type unit_test: 2 unit tests left out." in spark.notes
    tests_only = build(root, target=Target("spark", type="spark"), resource_types=["test"])
    assert {n.kind for n in tests_only.nodes} == {"test"}
