"""Sources as dbt means them (an existing relation, `schema.identifier`) beside this
runner's folder-of-files sources, and seeds as dbt-style projects configure them:
`+schema`, `+enabled` rendered from vars, `runner seed --full-refresh --vars`, integer
columns typed as dbt-duckdb types them."""

from __future__ import annotations

SEEDED_SOURCE = {
    "dbt_project.yml": """
        name: shop
        seeds:
          shop:
            +schema: raw
            data:
              +enabled: "{{ var('load_source_data', false) }}"
        models:
          shop:
            +materialized: table
    """,
    # as jaffle-shop does: seeds in a `raw` schema, models in the target schema
    "macros/generate_schema_name.sql": """
        {% macro generate_schema_name(custom_schema_name, node) %}
            {% if node.resource_type == 'seed' %}{{ custom_schema_name | trim }}
            {% else %}{{ target.schema }}{% endif %}
        {% endmacro %}
    """,
    "seeds/data/raw_orders.csv": "id,amount,price,ordered_at\n1,10,1.5,2024-01-01 10:00:00\n"
                                 "2,20,2.25,2024-01-02 11:00:00\n",
    "models/sources.yml": """
        version: 2
        sources:
          - name: ecom
            schema: raw
            tables:
              - name: orders
                identifier: raw_orders
    """,
    "models/orders.sql": "select id, amount * 2 as doubled from {{ source('ecom', 'orders') }}",
}


def test_seed_enabled_from_vars_then_a_source_reads_its_relation(make_project, cli,
                                                                 query) -> None:
    root = make_project(SEEDED_SOURCE)
    db = root / "db.duckdb"
    code, out, err = cli("seed", "--project-dir", root, "--db", db)
    assert code == 0, out + err
    assert "raw_orders" not in out                 # disabled without the var
    assert "'enabled'" not in err             # a seed config the runner acts on
    code, out, err = cli("seed", "--project-dir", root, "--db", db, "--full-refresh",
                         "--vars", '{"load_source_data": true}')
    assert code == 0, out + err
    assert query(db, "select count(*) from raw.raw_orders") == [(2,)]
    # a source table without a raw folder is the relation raw.raw_orders (its identifier)
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 0, out + err
    assert query(db, "select * from main.orders order by id") == [(1, 20), (2, 40)]


def test_seed_integer_columns_are_integer_as_in_dbt_duckdb(make_project, query) -> None:
    from runner.api import execute
    root = make_project(SEEDED_SOURCE)
    db = root / "db.duckdb"
    result = execute("seed", root, db_path=db, vars={"load_source_data": True})
    assert result.ok, result.summary()
    assert query(db, "select column_name, data_type from information_schema.columns "
                     "where table_name = 'raw_orders' order by ordinal_position") == [
        ("id", "INTEGER"), ("amount", "INTEGER"), ("price", "DOUBLE"),
        ("ordered_at", "TIMESTAMP")]


def test_a_seed_landing_on_a_folder_source_is_an_error_naming_both(make_project, cli,
                                                                   tmp_path) -> None:
    root = make_project({
        "models/sources.yml": """
            version: 2
            sources:
              - name: raw
                tables: [{name: orders}]
        """,
        "models/m.sql": "select * from {{ source('raw', 'orders') }}",
        "seeds/orders.csv": "id\n1\n",
        "dbt_project.yml": "name: p\nseeds:\n  p:\n    +schema: raw\n",
        "macros/naming.sql": "{% macro generate_schema_name(custom_schema_name, node) %}"
                             "{{ custom_schema_name or target.schema }}{% endmacro %}",
    })
    (tmp_path / "landing" / "orders").mkdir(parents=True)
    (tmp_path / "landing" / "orders" / "a.csv").write_text("id\n1\n")
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb",
                         "--raw-dir", tmp_path / "landing")
    assert code == 2, out + err
    assert "seed orders (seeds/orders.csv)" in err and "source raw.orders" in err
    assert "models/sources.yml" in err and "Traceback" not in err


def test_a_source_with_neither_folder_nor_relation_is_the_missing_folder_error(
        make_project, cli, tmp_path) -> None:
    root = make_project({
        "models/sources.yml": "version: 2\nsources:\n  - name: raw\n    tables: [{name: gone}]\n",
        "models/m.sql": "select * from {{ source('raw', 'gone') }}",
    })
    (tmp_path / "landing").mkdir()
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb",
                         "--raw-dir", tmp_path / "landing")
    assert code == 2, out + err
    assert "raw folder for source raw.gone is missing" in err


def test_only_parse_time_configs_are_rendered_when_parsing(make_project, query) -> None:
    """`+enabled` from a var is rendered when the project is parsed; a hook written as
    Jinja is rendered later, with the model's `this`."""
    from runner.api import build
    root = make_project({
        "dbt_project.yml": """
            name: p
            vars: {keep: true}
            models:
              p:
                +enabled: "{{ var('keep') }}"
                +materialized: table
                +post_hook: "insert into {{ this }} values (2)"
        """,
        "models/m.sql": "select 1 as x",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select x from main.m order by x") == [(1,), (2,)]
    result = build(root, db_path=root / "db.duckdb", vars={"keep": False})
    assert [n.name for n in result.nodes] == []
