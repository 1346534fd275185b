"""dbt's smaller commands: parse, clean, debug, ls --output/--resource-type, show --inline,
run-operation, and build's --empty and --threads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.api import build

PROJECT = {
    "dbt_project.yml": "name: shop\nclean-targets: [target, dbt_packages]\n",
    "seeds/prices.csv": "id,price\n1,2.5\n2,3.0\n",
    "macros/ops.sql": """\
        {% macro cents(x) %}({{ x }} * 100){% endmacro %}
        {% macro make_table(name, n) %}
          {% do run_query('create or replace table main.' ~ name ~
                          ' as select range as i from range(' ~ n ~ ')') %}
          {% set rows = run_query('select count(*) from main.' ~ name).rows %}
          {% do log('made ' ~ name ~ ' with ' ~ rows[0][0] ~ ' rows', info=true) %}
        {% endmacro %}
        """,
    "models/staging/stg_prices.sql": "select id, {{ cents('price') }} as cents "
                                     "from {{ ref('prices') }}",
    "models/orders.sql": "{{ config(materialized='table') }}\n"
                         "select p.id, p.cents from {{ ref('stg_prices') }} as p",
    "models/schema.yml": """\
        version: 2
        models:
          - name: orders
            columns:
              - name: id
                data_tests: [unique]
        """,
}


@pytest.fixture
def shop(make_project) -> Path:
    return make_project(PROJECT, name="shop")


def test_parse_writes_the_manifest_and_counts(shop: Path, cli) -> None:
    code, out, err = cli("parse", "--project-dir", shop)
    assert code == 0, err
    assert "parsed 2 models, 1 seed, 1 test" in out
    manifest = json.loads((shop / "target" / "manifest.json").read_text())
    assert {"model.shop.orders", "seed.shop.prices"} <= set(manifest["nodes"])
    assert not (shop / "target" / "run_results.json").exists()     # parse runs nothing


def test_clean_deletes_the_clean_targets_only(shop: Path, cli) -> None:
    assert build(shop, db_path=shop / "shop.duckdb").ok
    (shop / "dbt_packages").mkdir()
    code, out, _ = cli("clean", "--project-dir", shop)
    assert code == 0
    assert not (shop / "target").exists() and not (shop / "dbt_packages").exists()
    assert (shop / "models" / "orders.sql").exists() and (shop / "shop.duckdb").exists()
    assert "deleted" in out
    (shop / "dbt_project.yml").write_text("name: shop\nclean-targets: [target, models]\n")
    code, _, err = cli("clean", "--project-dir", shop)
    assert code == 2 and "holds the project's own files" in err
    assert (shop / "models" / "orders.sql").exists()


def test_debug_passes_and_then_names_what_is_wrong(shop: Path, cli, tmp_path: Path) -> None:
    code, out, err = cli("debug", "--project-dir", shop)
    assert code == 0, err
    assert "project: OK shop" in out and "duckdb" in out and "All checks passed" in out
    code, out, err = cli("debug", "--project-dir", tmp_path / "nowhere")
    assert code == 2 and "project: FAILED" in err
    code, out, err = cli("debug", "--project-dir", shop, "--db", tmp_path / "no" / "x.duckdb")
    assert code == 2 and "database: FAILED" in err and "Traceback" not in err


def test_debug_names_a_missing_source_folder(make_project, cli, tmp_path: Path) -> None:
    root = make_project({
        "models/a.sql": "select * from {{ source('raw', 'orders') }}",
        "models/s.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n"
                        "      - name: orders\n",
    })
    (tmp_path / "raw").mkdir()
    code, _, err = cli("debug", "--project-dir", root, "--raw-dir", tmp_path / "raw")
    assert code == 2 and "lacks orders" in err


def test_ls_output_and_resource_type(shop: Path, cli) -> None:
    code, out, _ = cli("ls", "--project-dir", shop, "--output", "name")
    assert out.split() == ["prices", "stg_prices", "orders", "unique_orders_id"]
    code, out, _ = cli("ls", "--project-dir", shop, "--output", "path",
                       "--resource-type", "model")
    assert out.split() == ["models/staging/stg_prices.sql", "models/orders.sql"]
    code, out, _ = cli("ls", "--project-dir", shop, "--resource-type", "seed")
    assert out.split() == ["shop.prices"]                       # dbt's selector form
    code, out, _ = cli("ls", "--project-dir", shop, "--output", "json", "-s", "orders")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["unique_id"].rsplit(".", 1)[0] if r["resource_type"] == "test" else
            r["unique_id"] for r in rows] == ["model.shop.orders", "test.shop.unique_orders_id"]
    assert rows[0]["depends_on"]["nodes"] == ["model.shop.stg_prices"]
    assert rows[0]["config"]["materialized"] == "table"
    # dbt's types the runner has no node of select nothing; a name dbt has not is refused
    code, out, _ = cli("ls", "--project-dir", shop, "--resource-type", "exposure")
    assert code == 0 and out.strip() == ""
    code, _, err = cli("ls", "--project-dir", shop, "--resource-type", "exposures")
    assert code == 2 and "'exposures'" in err and "exposure" in err


def test_show_inline_renders_refs_and_macros(shop: Path, cli) -> None:
    assert build(shop, db_path=shop / "shop.duckdb").ok
    code, out, err = cli("show", "--project-dir", shop, "--db", shop / "shop.duckdb",
                         "--inline", "select id, {{ cents('cents') }} as x "
                                     "from {{ ref('orders') }} order by id", "--limit", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split(" | ") == ["id", "x      "] or lines[0].split()[0::2] == ["id", "x"]
    assert len(lines) == 3 and lines[2].split()[0] == "1" and "25000" in lines[2]
    code, _, err = cli("show", "--project-dir", shop, "--db", shop / "shop.duckdb",
                       "--inline", "select nope from {{ ref('orders') }}")
    assert code == 2 and "nope" in err and "Traceback" not in err


def test_run_operation_runs_queries_and_logs(shop: Path, cli, query) -> None:
    db = shop / "shop.duckdb"
    code, out, err = cli("run-operation", "make_table", "--args", "{name: t, n: 3}",
                         "--project-dir", shop, "--db", db)
    assert code == 0, err
    assert "made t with 3 rows" in out and "2 queries" in out
    assert query(db, "select count(*) from main.t") == [(3,)]
    code, _, err = cli("run-operation", "make_tabel", "--project-dir", shop, "--db", db)
    assert code == 2 and "did you mean 'make_table'" in err
    code, _, err = cli("run-operation", "make_table", "--args", "{name: 't t', n: 1}",
                       "--project-dir", shop, "--db", db)
    assert code == 1 and "run_query failed" in err


def test_empty_builds_every_model_with_zero_rows(shop: Path, query) -> None:
    db = shop / "shop.duckdb"
    result = build(shop, db_path=db, empty=True)
    assert result.ok, result.summary()
    assert query(db, "select count(*) from main.orders") == [(0,)]
    assert [c[0] for c in query(db, "describe main.orders")] == ["id", "cents"]
    compiled = shop / "target" / "compiled" / "models"
    assert "(select * from \"main\".\"prices\" where false limit 0)" in \
        (compiled / "staging" / "stg_prices.sql").read_text()
    assert build(shop, db_path=db).ok                          # and without: the rows
    assert query(db, "select count(*) from main.orders") == [(2,)]


def test_empty_keeps_rowid_of_tables_already_built(make_project, query) -> None:
    root = make_project({
        "models/inc.sql": "{{ config(materialized='incremental') }}\n"
                          "select range as i from range(3)"
                          "{% if is_incremental() %} where false{% endif %}",
        "models/reader.sql": "{{ config(materialized='table') }}\n"
                             "select rowid as r, i from {{ ref('inc') }}",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select count(*) from reader") == [(3,)]
    result = build(root, db_path=db, empty=True)
    assert result.ok, result.summary()
    assert query(db, "select count(*) from reader") == [(0,)]
    assert query(db, "select count(*) from inc") == [(3,)]     # incremental: kept, as dbt


def test_threads_is_passed_to_duckdb(make_project, cli, query) -> None:
    shop = make_project({"models/t.sql": "{{ config(materialized='table') }}\n"
                                         "select current_setting('threads') as n"}, name="shop")
    db = shop / "shop.duckdb"
    code, _, err = cli("build", "--project-dir", shop, "--db", db, "--threads", "1")
    assert code == 0, err
    assert query(db, "select n from t") == [(1,)]
    results = json.loads((shop / "target" / "run_results.json").read_text())
    assert results["args"]["threads"] == 1
