"""The project format: ref, config, var, env_var, this, macros, dbt_project.yml, YAML
property files, seeds and column comments, each on a tiny project in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.api import build, list_nodes
from runner.project.loader import load_project


def test_a_folder_with_only_models_builds_views_in_main(make_project, query) -> None:
    root = make_project({
        "models/a.sql": "select 1 as x",
        "models/b.sql": "select x + 1 as y from {{ ref('a') }}",
    })
    result = build(root)
    assert result.ok, result.summary()
    db = root / "proj.duckdb"                 # <project>/<folder name>.duckdb
    assert Path(result.db_path) == db
    views = query(db, "select schema_name, view_name from duckdb_views() "
                      "where not internal order by view_name")
    assert views == [("main", "a"), ("main", "b")]
    assert query(db, "select count(*) from duckdb_tables()") == [(0,)]
    assert query(db, "select y from main.b") == [(2,)]


def test_ref_orders_the_build_and_config_sets_materialization_and_tags(make_project,
                                                                       query) -> None:
    root = make_project({
        # 'a_last' sorts first by name but depends on 'z_first': the graph decides.
        "models/a_last.sql": "{{ config(materialized='table', tags=['nightly']) }}\n"
                             "select n * 10 as n from {{ ref('z_first') }}",
        "models/z_first.sql": "{{ config(materialized='table') }}\nselect 4 as n",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert [n.name for n in result.nodes] == ["z_first", "a_last"]
    assert query(root / "db.duckdb", "select n from a_last") == [(40,)]
    nodes = {n["name"]: n for n in list_nodes(root)}
    assert nodes["a_last"]["materialized"] == "table"
    assert nodes["a_last"]["tags"] == ["nightly"]
    assert nodes["a_last"]["depends_on"] == ["z_first"]
    kinds = query(root / "db.duckdb", "select table_name from duckdb_tables() order by 1")
    assert kinds == [("a_last",), ("z_first",)]


def test_var_takes_its_default_then_the_value_passed(make_project, query) -> None:
    root = make_project({
        "models/m.sql": "{{ config(materialized='table') }}\n"
                        "select {{ var('n', 7) }} as n, '{{ var('label', 'none') }}' as label",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select n, label from m") == [(7, "none")]
    assert build(root, db_path=db, vars={"n": 42, "label": "given"}).ok
    assert query(db, "select n, label from m") == [(42, "given")]


def test_var_without_default_or_value_is_a_clear_error(make_project) -> None:
    from runner.errors import RenderError
    root = make_project({"models/m.sql": "select {{ var('missing_one') }} as n"})
    with pytest.raises(RenderError) as info:
        build(root, db_path=root / "db.duckdb")
    assert "missing_one" in str(info.value)
    assert "m.sql" in str(info.value)


def test_this_is_the_models_own_quoted_relation(make_project, query) -> None:
    root = make_project({
        "models/me.sql": "{{ config(materialized='table', schema='s') }}\n"
                         "select '{{ this }}' as rel, '{{ this.name }}' as name",
    })
    assert build(root, db_path=root / "db.duckdb").ok
    # dbt's default schema name: the target schema, then the custom one
    assert query(root / "db.duckdb", "select rel, name from main_s.me") == \
        [('"main_s"."me"', "me")]


def test_env_var_reads_the_environment_with_a_default(make_project, query,
                                                      monkeypatch) -> None:
    root = make_project({
        "models/m.sql": "{{ config(materialized='table') }}\n"
                        "select '{{ env_var('RUNNER_TEST_REGION', 'eu') }}' as region",
    })
    db = root / "db.duckdb"
    monkeypatch.delenv("RUNNER_TEST_REGION", raising=False)
    assert build(root, db_path=db).ok
    assert query(db, "select region from m") == [("eu",)]
    monkeypatch.setenv("RUNNER_TEST_REGION", "fi")
    assert build(root, db_path=db).ok
    assert query(db, "select region from m") == [("fi",)]


def test_macros_call_each_other_across_files_and_from_models(make_project, query) -> None:
    root = make_project({
        # a_outer.sql is loaded first and calls a macro of the later file.
        "macros/a_outer.sql": "{% macro doubled_plus(x, n) %}({{ plus(x, x) }} + {{ n }})"
                              "{% endmacro %}",
        "macros/b_inner.sql": "{% macro plus(a, b) %}({{ a }} + {{ b }}){% endmacro %}",
        "models/m.sql": "{{ config(materialized='table') }}\n"
                        "select {{ doubled_plus('v', 1) }} as r, {{ plus(2, 3) }} as s "
                        "from (select 5 as v)",
    })
    assert build(root, db_path=root / "db.duckdb").ok
    assert query(root / "db.duckdb", "select r, s from m") == [(11, 5)]


def test_dbt_project_yml_sets_paths_vars_and_folder_configs(make_project, query) -> None:
    root = make_project({
        "dbt_project.yml": """
            name: shop
            model-paths: ["transform"]
            macro-paths: ["jinja"]
            seed-paths: ["lookups"]
            vars:
              rate: 3
            models:
              shop:
                +tags: ["all"]
                staging:
                  +materialized: view
                  +schema: stg
                marts:
                  +materialized: table
                  +schema: mart
                  +tags: ["report"]
            seeds:
              shop:
                +schema: ref
        """,
        "transform/staging/stg_x.sql": "select 2 as v",
        "transform/marts/fct_x.sql": "select {{ times_rate('v') }} as v "
                                     "from {{ ref('stg_x') }}",
        "jinja/m.sql": "{% macro times_rate(c) %}{{ c }} * {{ var('rate') }}{% endmacro %}",
        "lookups/codes.csv": "code\nA\n",
        # models/ exists (the fixture makes it) but is not a model path: ignored.
        "models/ignored.sql": "select 1 as nothing",
    })
    result = build(root)
    assert result.ok, result.summary()
    db = root / "shop.duckdb"                 # the name comes from dbt_project.yml
    assert {n.name for n in result.nodes} == {"stg_x", "fct_x", "codes"}
    assert query(db, "select v from main_mart.fct_x") == [(6,)]
    assert query(db, "select view_name from duckdb_views() where schema_name = 'main_stg'") \
        == [("stg_x",)]
    assert query(db, "select table_name from duckdb_tables() where schema_name = 'main_mart'") \
        == [("fct_x",)]
    assert query(db, "select code from main_ref.codes") == [("A",)]
    nodes = {n["name"]: n for n in list_nodes(root)}
    assert nodes["fct_x"]["tags"] == ["all", "report"]
    assert nodes["stg_x"]["tags"] == ["all"]
    assert nodes["fct_x"]["relation"] == "main_mart.fct_x"
    # vars from --vars win over the project's
    assert build(root, vars={"rate": 10}).ok
    assert query(db, "select v from main_mart.fct_x") == [(20,)]


def test_config_in_the_model_wins_over_the_folder_default(make_project, query) -> None:
    root = make_project({
        "dbt_project.yml": "name: p\nmodels:\n  p:\n    +materialized: table\n",
        "models/v.sql": "{{ config(materialized='view') }}\nselect 1 as x",
        "models/t.sql": "select 1 as x",
    })
    assert build(root, db_path=root / "db.duckdb").ok
    assert query(root / "db.duckdb", "select view_name from duckdb_views() "
                                     "where not internal") == [("v",)]
    assert query(root / "db.duckdb", "select table_name from duckdb_tables()") == [("t",)]


@pytest.mark.parametrize("key", ["data_tests", "tests"])
def test_yaml_models_block_gives_description_config_columns_and_tests(make_project, query,
                                                                      key) -> None:
    root = make_project({
        "models/orders.sql": "select * from (values (1, 'a'), (2, 'b'), (3, null)) t(id, code)",
        "models/_models.yml": f"""
            version: 2
            models:
              - name: orders
                description: One row per order.
                config:
                  materialized: table
                  tags: [yaml_tag]
                columns:
                  - name: id
                    description: The order key.
                    {key}: [unique]
                  - name: code
                    {key}: [not_null]
        """,
    })
    project = load_project(root)
    node = project.models["orders"]
    assert node.description == "One row per order."
    assert node.materialized == "table"
    assert node.tags == ["yaml_tag"]
    assert list(node.columns) == ["id", "code"]
    assert sorted(t.name for t in project.tests) == ["not_null_orders_code", "unique_orders_id"]
    result = build(root, db_path=root / "db.duckdb")
    status = {n.name: n.status for n in result.nodes}
    assert status == {"orders": "success", "unique_orders_id": "pass",
                      "not_null_orders_code": "fail"}
    assert query(root / "db.duckdb", "select comment from duckdb_tables() "
                                     "where table_name = 'orders'") == [("One row per order.",)]


def test_column_descriptions_become_duckdb_column_comments(make_project, query) -> None:
    root = make_project({
        "models/t.sql": "{{ config(materialized='table') }}\nselect 1 as id, 'x' as name",
        "models/v.sql": "select 1 as id",
        "models/props.yml": """
            version: 2
            models:
              - name: t
                columns:
                  - name: id
                    description: The key, it's unique.
                  - name: name
              - name: v
                columns:
                  - name: id
                    description: A view column.
        """,
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    comments = dict(query(db, "select table_name || '.' || column_name, comment "
                              "from duckdb_columns() where schema_name = 'main'"))
    assert comments["t.id"] == "The key, it's unique."
    assert comments["t.name"] is None
    assert comments["v.id"] == "A view column."


def test_seed_column_types_set_the_duckdb_type(make_project, query) -> None:
    root = make_project({
        "seeds/rates.csv": "code,rate,valid_from\n01,0.24,2024-01-01\n02,0.255,2024-09-01\n",
        "seeds/_seeds.yml": """
            version: 2
            seeds:
              - name: rates
                config:
                  column_types:
                    code: varchar
                    rate: decimal(6,4)
        """,
    })
    db = root / "db.duckdb"
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    types = dict(query(db, "select column_name, data_type from duckdb_columns() "
                           "where table_name = 'rates'"))
    assert types == {"code": "VARCHAR", "rate": "DECIMAL(6,4)", "valid_from": "DATE"}
    assert query(db, "select code from rates order by code") == [("01",), ("02",)]


def test_yaml_describing_a_missing_model_names_the_file(make_project) -> None:
    from runner.errors import ProjectError
    root = make_project({
        "models/orders.sql": "select 1 as id",
        "models/props.yml": "version: 2\nmodels:\n  - name: order\n",
    })
    with pytest.raises(ProjectError) as info:
        load_project(root)
    text = info.value.render()
    assert "models/props.yml" in text and "'order'" in text and "'orders'" in text


def test_disabled_models_are_not_built(make_project) -> None:
    root = make_project({
        "dbt_project.yml": "name: p\nmodels:\n  p:\n    legacy:\n      +enabled: false\n",
        "models/legacy/old.sql": "select 1 as x",
        "models/off.sql": "{{ config(enabled=false) }}\nselect 1 as x",
        "models/on.sql": "select 1 as x",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert [n.name for n in result.nodes] == ["on"]
    assert [n["name"] for n in list_nodes(root)] == ["on"]


def test_seed_delimiter_config(make_project, query) -> None:
    root = make_project({
        "dbt_project.yml": "name: p\nseeds:\n  p:\n    +delimiter: \";\"\n",
        "seeds/s.csv": "a;b\n1;x\n",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select a, b from s") == [(1, "x")]


def test_alias_and_schema_name_the_relation(make_project, query) -> None:
    root = make_project({
        "models/m.sql": "{{ config(materialized='table', alias='renamed', schema='s') }}\n"
                        "select 1 as x",
        "models/n.sql": "select x from {{ ref('m') }}",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select schema_name, table_name from duckdb_tables()") == \
        [("main_s", "renamed")]
    assert (root / "target/compiled/models/n.sql").read_text().strip() == \
        'select x from "main_s"."renamed"'


def test_this_repositorys_singular_tests_come_from_its_test_paths() -> None:
    root = Path(__file__).resolve().parents[1]
    project = load_project(root)
    assert project.paths["test-paths"] == ["tests/data_tests"]
    singular = [t for t in project.tests if t.kind == "singular"]
    assert singular
    assert all(t.path.parent == root / "tests" / "data_tests" for t in singular)


def test_macros_see_the_calling_models_this_refs_and_is_incremental(make_project,
                                                                    query) -> None:
    root = make_project({
        "macros/ctx.sql": "{% macro me() %}'{{ this }}'{% endmacro %}\n"
                          "{% macro base() %}{{ ref('a') }}{% endmacro %}\n"
                          "{% macro inc() %}'{{ is_incremental() }}'{% endmacro %}\n",
        "models/a.sql": "{{ config(materialized='table') }}\nselect {{ me() }} as me, 1 as x",
        "models/b.sql": "{{ config(materialized='incremental') }}\n"
                        "select {{ me() }} as me, {{ inc() }} as inc, x from {{ base() }}",
    })
    db = root / "db.duckdb"
    for _ in range(2):
        result = build(root, db_path=db)
        assert [n.name for n in result.nodes] == ["a", "b"]     # the macro's ref orders them
    assert query(db, "select me from a") == [('"main"."a"',)]
    assert query(db, "select me, inc from b order by inc") == [('"main"."b"', "False"),
                                                               ('"main"."b"', "True")]
    assert {n["name"]: n["depends_on"] for n in list_nodes(root)}["b"] == ["a"]
