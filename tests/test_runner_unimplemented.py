"""What the runner does not act on, it says so: every key of a YAML property file,
dbt_project.yml or a config() block that it does not implement gets one warning naming
the file, the line and the key; the keys it implements stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.api import build, compile_project, list_nodes
from runner.project.keys import IMPLEMENTED


PROPERTIES = """\
version: 2

models:
  - name: orders
    description: One row per order.
    config:
      materialized: table
      meta: {owner: sales}
    docs:
      show: false
    columns:
      - name: id
        quote: true
        data_tests: [unique, not_null]
      - name: currency
        description: ISO 4217.
        tags:
          - pii

semantic_models:
  - name: orders_semantic
    model: orders

exposures:
  - name: dashboard
    type: dashboard
"""


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({
        "dbt_project.yml": """\
            name: shop
            version: "1.0.0"
            config-version: 2
            require-dbt-version: ">=1.8.0"
            vars:
              n: 1
            models:
              shop:
                +materialized: view
                +persist_docs: {relation: true}
                marts:
                  +schema: marts
            """,
        "models/marts/orders.sql": "{{ config(materialized='table', tags=['x'],\n"
                                   "           on_schema_change='fail') }}\n"
                                   "select 1 as id, 'EUR' as currency",
        "models/marts/_marts.yml": PROPERTIES,
    }, name="shop")


def _lines(warnings: list[str]) -> set[tuple[str, int, str]]:
    """(file, line, key) of each warning."""
    out = set()
    for text in warnings:
        where, _, rest = text.partition(": ")
        path, _, line = where.rpartition(":")
        key = rest.split("'")[1]
        out.add((path, int(line), key))
    return out


EXPECTED = {
    ("models/marts/_marts.yml", 8, "meta"),
    ("models/marts/_marts.yml", 9, "docs"),
    ("models/marts/_marts.yml", 13, "quote"),
    ("models/marts/_marts.yml", 17, "tags"),
    ("models/marts/_marts.yml", 20, "semantic_models"),
    ("models/marts/_marts.yml", 24, "exposures"),
    ("dbt_project.yml", 4, "require-dbt-version"),
    ("dbt_project.yml", 10, "persist_docs"),
    ("models/marts/orders.sql", 2, "on_schema_change"),
}


def test_each_unimplemented_key_is_warned_once_with_file_line_and_key(shop: Path) -> None:
    result = build(shop, db_path=shop / "db.duckdb")
    assert result.ok, result.summary()
    assert _lines(result.warnings) == EXPECTED, "\n".join(result.warnings)
    assert len(result.warnings) == len(EXPECTED)
    saved = json.loads((shop / "target" / "runner_results.json").read_text())
    assert saved["warnings"] == result.warnings


def test_compile_and_ls_show_the_same_warnings(shop: Path) -> None:
    seen: list[str] = []
    compile_project(shop, on_warning=seen.append)
    assert _lines(seen) == EXPECTED and len(seen) == len(EXPECTED)
    seen.clear()
    list_nodes(shop, on_warning=seen.append)
    assert _lines(seen) == EXPECTED and len(seen) == len(EXPECTED)


@pytest.mark.parametrize("command", ["build", "run", "test", "compile", "ls"])
def test_every_command_prints_each_warning_once(shop: Path, cli, command: str) -> None:
    if command == "test":
        assert build(shop, db_path=shop / "db.duckdb").ok
    extra = ["--db", shop / "db.duckdb"] if command in ("build", "run", "test") else []
    code, out, err = cli(command, "--project-dir", shop, *extra)
    assert code == 0, out + err
    printed = [line[len("warning: "):] for line in err.splitlines()
               if line.startswith("warning: ")]
    assert _lines(printed) == EXPECTED and len(printed) == len(EXPECTED), err
    assert "semantic_models" not in out


def test_implemented_keys_stay_quiet(make_project) -> None:
    root = make_project({
        "dbt_project.yml": """\
            name: quiet
            version: "1.0.0"
            config-version: 2
            model-paths: ["models"]
            seed-paths: ["seeds"]
            vars: {n: 1}
            models:
              quiet:
                +materialized: table
                +tags: [a]
            seeds:
              quiet:
                +schema: ref
            """,
        "models/a.sql": "{{ config(materialized='incremental', unique_key='id',\n"
                        "    incremental_strategy='merge', tags=['b'], schema='s',\n"
                        "    alias='aa', post_hook='select 1', data_tests_where='id > 0') }}\n"
                        "select 1 as id",
        "models/a.yml": """\
            version: 2
            sources:
              - name: raw
                schema: raw
                description: d
                tables:
                  - name: t
                    identifier: t
                    description: d
                    meta: {optional_columns: [x]}
                    columns:
                      - {name: x, description: d}
            models:
              - name: a
                description: d
                config: {enabled: true}
                data_tests:
                  - expression_is_true:
                      expression: "id > 0"
                      config: {severity: warn, where: "id < 9"}
                columns:
                  - name: id
                    description: d
                    tests:
                      - unique
                      - accepted_values: {values: [1], quote: false}
                      - relationships: {to: "ref('c')", field: code, severity: warn}
            """,
        "seeds/c.csv": "code\n1\n",
        "seeds/c.yml": """\
            version: 2
            seeds:
              - name: c
                config: {column_types: {code: integer}, delimiter: ","}
                columns:
                  - name: code
                    data_tests: [not_null]
            """,
    }, name="quiet")
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert result.warnings == []


def test_test_arguments_and_source_keys_not_acted_on_are_warned(make_project) -> None:
    root = make_project({
        "models/a.sql": "select 1 as id",
        "models/a.yml": """\
            version: 2
            sources:
              - name: raw
                loader: fivetran
                tables:
                  - name: t
                    meta: {folder: t, owner: me}
                    columns:
                      - name: x
                        data_tests: [not_null]
            models:
              - name: a
                columns:
                  - name: id
                    data_tests:
                      - unique:
                          config: {store_failures: true}
                      - accepted_values:
                          values: [1]
                          limit: 5
            """,
    })
    seen: list[str] = []
    list_nodes(root, on_warning=seen.append)
    assert _lines(seen) == {
        ("models/a.yml", 4, "loader"),
        ("models/a.yml", 7, "owner"),
        ("models/a.yml", 10, "data_tests"),
        ("models/a.yml", 17, "store_failures"),
        ("models/a.yml", 20, "limit"),
    }, "\n".join(seen)


def test_a_misspelt_folder_in_dbt_project_is_warned(make_project) -> None:
    root = make_project({
        "dbt_project.yml": """\
            name: p
            models:
              p:
                stagng:
                  +schema: staging
            """,
        "models/staging/a.sql": "select 1 as id",
    })
    seen: list[str] = []
    list_nodes(root, on_warning=seen.append)
    assert _lines(seen) == {("dbt_project.yml", 4, "stagng")}, seen
    assert "models/stagng" in seen[0]


def test_one_list_of_implemented_keys() -> None:
    # A key a later change implements moves into this one list; what is not in it warns.
    assert "materialized" in IMPLEMENTED["model_config"]
    assert "meta" not in IMPLEMENTED["model_config"]
    assert "exposures" not in IMPLEMENTED["property_file"]
    # contracts, unit tests and snapshots are acted on (tests/test_contracts.py, ...)
    assert "contract" in IMPLEMENTED["model_config"]
    assert {"unit_tests", "snapshots"} <= IMPLEMENTED["property_file"]


def test_config_of_a_singular_test_is_checked_against_the_test_configs(make_project) -> None:
    root = make_project({
        "models/a.sql": "select 1 as id",
        "tests/assert_a.sql": "{{ config(severity='warn', store_failures=true) }}\n"
                              "select * from {{ ref('a') }} where id < 0",
    })
    seen: list[str] = []
    list_nodes(root, on_warning=seen.append)
    assert _lines(seen) == {("tests/assert_a.sql", 1, "store_failures")}, seen
