"""dbt-labs' jaffle-shop, unmodified, built with the commands its SOURCE.md gives for dbt:
`runner seed --full-refresh --vars '{"load_source_data": true}'`, then `runner build`.
It needs its packages (dbt_utils, dbt_date, audit_helper): in the project's
`dbt_packages/`, or in the folder RUNNER_TEST_DBT_PACKAGES names."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2] / "shared" / "data" / "public" / \
    "dbt-projects" / "jaffle-shop"

SEEDS = {"raw_customers": 929, "raw_items": 88734, "raw_orders": 62313,
         "raw_products": 10, "raw_stores": 6, "raw_supplies": 65}
MODELS = {"customers": 929, "orders": 62313, "order_items": 88734, "locations": 6,
          "products": 10, "supplies": 65, "stg_customers": 929, "stg_orders": 62313,
          "stg_order_items": 88734, "stg_locations": 6, "stg_products": 10,
          "stg_supplies": 65}


def _packages() -> Path | None:
    given = os.environ.get("RUNNER_TEST_DBT_PACKAGES")
    if given:
        return Path(given) if Path(given).is_dir() else None
    own = PROJECT / "dbt_packages"
    return own if own.is_dir() else None


@pytest.fixture
def jaffle_shop(tmp_path: Path) -> Path:
    if not PROJECT.is_dir():
        pytest.skip(f"the real dbt project {PROJECT} is absent")
    packages = _packages()
    if packages is None:
        pytest.skip(f"{PROJECT}/dbt_packages is absent (dbt_utils, dbt_date, audit_helper); "
                    "set RUNNER_TEST_DBT_PACKAGES to a folder holding them")
    root = tmp_path / "jaffle-shop"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("target", "*.duckdb"))
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    if not (root / "dbt_packages").is_dir():
        shutil.copytree(packages, root / "dbt_packages")
    return root


def test_jaffle_shop_builds_unmodified(jaffle_shop: Path, cli, query) -> None:
    db = jaffle_shop / "jaffle_shop.duckdb"
    code, out, err = cli("seed", "--project-dir", jaffle_shop, "--full-refresh",
                         "--vars", '{"load_source_data": true}')
    assert code == 0, out + err
    code, out, err = cli("build", "--project-dir", jaffle_shop)
    assert code == 0, out + err
    assert "'unit_tests'" not in err          # acted on: they ran, before their models
    found = {f"{s}.{t}": n for s, t, n in query(
        db, "select schema_name, table_name, estimated_size from duckdb_tables() "
            "union all select schema_name, view_name, null from duckdb_views() "
            "where not internal")}
    expected = {f"raw.{n}" for n in SEEDS} | {f"main.{n}" for n in MODELS} | \
        {"main.metricflow_time_spine"}
    assert set(found) == expected
    for name, rows in {**{f"raw.{n}": r for n, r in SEEDS.items()},
                       **{f"main.{n}": r for n, r in MODELS.items()}}.items():
        assert query(db, f"select count(*) from {name}") == [(rows,)], name
    # ten years of days up to today in the project's time zone (dbt_date)
    assert query(db, "select count(*) >= 3650 from main.metricflow_time_spine") == [(True,)]
    import json
    results = json.loads((jaffle_shop / "target" / "runner_results.json").read_text())
    tests = [n for n in results["results"] if n["kind"] == "test"]
    assert len(tests) == 27 and {t["status"] for t in tests} == {"pass"}, tests
    # the project's own three unit tests, as dbt runs them
    units = [n for n in results["results"] if n["kind"] == "unit_test"]
    assert sorted(u["name"] for u in units) == [
        "test_does_location_opened_at_trunc_to_date",
        "test_order_items_compute_to_bools_correctly",
        "test_supply_costs_sum_correctly"], units
    assert {u["status"] for u in units} == {"pass"}, units
    # dbt_utils' own generic test ran, not a stand-in
    compiled = (jaffle_shop / "target" / "compiled" / "tests" /
                "expression_is_true_orders.sql").read_text()
    assert "where not(order_items_subtotal = subtotal)" in compiled
