"""`runner prune`: the orphaned relations (tables and views in the schemas the project's
models, seeds and sources land in that no model, seed or source owns any more, e.g. a
deleted model's table) are listed, and dropped only with --yes; nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build


@pytest.fixture
def shop(make_project, tmp_path: Path) -> Path:
    root = make_project({
        "models/_sources.yml": "version: 2\nsources:\n  - name: shop\n    tables:\n"
                               "      - name: orders\n        columns:\n"
                               "          - name: id\n",
        "models/stg_orders.sql": "{{ config(schema='staging') }}\n"
                                 "select * from {{ source('shop', 'orders') }}",
        "models/orders.sql": "{{ config(materialized='table', schema='marts') }}\n"
                             "select * from {{ ref('stg_orders') }}",
        "models/old_report.sql": "{{ config(materialized='table', schema='marts') }}\n"
                                 "select 1 as x",
        "models/old_view.sql": "{{ config(schema='staging') }}\nselect 2 as y",
        "models/paused.sql": "{{ config(materialized='table', schema='marts') }}\n"
                             "select 3 as z",
        "seeds/currencies.csv": "code\nEUR\n",
        # the custom schemas as they are named, not dbt's main_<schema>
        "macros/naming.sql": "{% macro generate_schema_name(custom_schema_name, node) %}"
                             "{{ custom_schema_name or target.schema }}{% endmacro %}",
    })
    raw = tmp_path / "raw" / "orders"
    raw.mkdir(parents=True)
    (raw / "a.csv").write_text("id\n1\n")
    result = build(root, db_path=root / "db.duckdb", raw_dir=tmp_path / "raw")
    assert result.ok, result.summary()
    return root


def relations(query, db: Path) -> set[str]:
    return {f"{s}.{t}" for s, t in query(
        db, "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()")}


def test_a_deleted_models_relations_are_listed_then_dropped_with_yes(shop: Path, cli,
                                                                     query) -> None:
    db = shop / "db.duckdb"
    import duckdb
    with duckdb.connect(str(db)) as con:     # a relation the project never made
        con.execute("create schema elsewhere")
        con.execute("create table elsewhere.kept as select 1 as k")
    (shop / "models" / "old_report.sql").unlink()
    (shop / "models" / "old_view.sql").unlink()
    # a disabled model still owns its table: it may be enabled again
    (shop / "models" / "paused.sql").write_text("{{ config(materialized='table', "
                                                "schema='marts', enabled=false) }}\n"
                                                "select 3 as z")
    before = relations(query, db)
    assert {"marts.old_report", "staging.old_view", "marts.paused", "_runner.source_file_checks",
            "shop.orders", "shop.orders__files", "main.currencies"} <= before

    code, out, err = cli("prune", "--project-dir", shop, "--db", db)
    assert code == 0, out + err
    listed = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert listed == [["table", "marts.old_report"], ["view", "staging.old_view"]], out
    assert "nothing was dropped" in out and "--yes" in out
    assert relations(query, db) == before

    code, out, err = cli("prune", "--project-dir", shop, "--db", db, "--yes")
    assert code == 0, out + err
    assert "dropped 2 orphaned relations" in out
    assert relations(query, db) == before - {"marts.old_report", "staging.old_view"}
    assert query(db, "select id from marts.orders") == [("1",)]

    code, out, err = cli("prune", "--project-dir", shop, "--db", db, "--yes")
    assert code == 0 and "no orphaned relations" in out
    assert relations(query, db) == before - {"marts.old_report", "staging.old_view"}


def test_the_runners_own_tables_are_never_dropped(shop: Path, cli, query) -> None:
    """Even when a model lands in the schema that holds the checked raw files."""
    db = shop / "db.duckdb"
    (shop / "models" / "odd.sql").write_text("{{ config(schema='_runner') }}\nselect 1 as o")
    assert build(shop, db_path=db, raw_dir=shop.parent / "raw", select=["odd"]).ok
    before = relations(query, db)
    assert {"_runner.odd", "_runner.source_file_checks"} <= before
    code, out, err = cli("prune", "--project-dir", shop, "--db", db, "--yes")
    assert code == 0, out + err
    assert "no orphaned relations" in out
    assert relations(query, db) == before


def test_prune_of_a_missing_database_says_so(shop: Path, cli) -> None:
    code, out, err = cli("prune", "--project-dir", shop, "--db", shop / "none.duckdb")
    assert code == 3 and "does not exist" in err
    assert not (shop / "none.duckdb").exists()
