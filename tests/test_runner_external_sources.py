"""dbt-duckdb's file sources: a source table with `meta: {external_location: ...}` (its own,
or its source's, formatted with {name}, {identifier}, {schema} and meta keys) is read by
DuckDB from that location, as dbt-duckdb does, beside this runner's folder-of-files
sources."""

from __future__ import annotations

from runner.api import build, compile_sql


def _project(make_project, sources_yml: str):
    return make_project({
        "data/orders.csv": "id,amount\n1,10\n2,20\n",
        "data/raw_payments.csv": "id,order_id\n7,1\n",
        "data/people.tsv": "id\tname\n1\tAda\n",
        "models/sources.yml": sources_yml,
        "models/joined.sql": """
            {{ config(materialized='table') }}
            select o.id, o.amount, p.id as payment_id, c.name
            from {{ source('shop', 'orders') }} o
            left join {{ source('shop', 'payments') }} p on p.order_id = o.id
            left join {{ source('crm', 'people') }} c on c.id = o.id
        """,
    })


SOURCES = """
    version: 2
    sources:
      - name: shop
        meta:
          external_location: "data/{identifier}.csv"
        tables:
          - name: orders
          - name: payments
            identifier: raw_payments
      - name: crm
        tables:
          - name: people
            config:
              external_location: "read_csv('data/{name}.tsv', delim = '\\t', header = true)"
"""


def test_external_locations_are_read_as_dbt_duckdb_reads_them(make_project, query) -> None:
    root = _project(make_project, SOURCES)
    db = root / "db.duckdb"
    result = build(root, db_path=db)          # no raw folder: none is needed
    assert result.ok, result.summary()
    assert not result.warnings            # meta and config keys acted on
    assert query(db, "select * from main.joined order by id") == \
        [(1, 10, 7, "Ada"), (2, 20, None, None)]
    # a plain location is quoted (DuckDB reads it by its extension), anchored at the
    # project; a function call is kept, its path anchored at the project
    sql = compile_sql("select * from {{ source('shop', 'payments') }}, "
                      "{{ source('crm', 'people') }}", root)
    assert f"'{root / 'data' / 'raw_payments.csv'}'" in sql
    assert f"read_csv('{root / 'data' / 'people.tsv'}', delim = '\t'" in sql


def test_an_unknown_key_in_a_location_names_the_yaml_file(make_project, cli) -> None:
    root = _project(make_project, SOURCES.replace("{identifier}", "{folder_name}"))
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2
    assert "models/sources.yml" in err and "folder_name" in err and "shop.orders" in err
    assert "Traceback" not in err


def test_a_location_outside_the_readable_folders_is_an_error_before_anything_runs(
        make_project, cli, tmp_path) -> None:
    outside = tmp_path / "elsewhere" / "x.csv"
    outside.parent.mkdir()
    outside.write_text("a\n1\n")
    root = make_project({
        "models/s.yml": f"version: 2\nsources:\n  - name: s\n    tables:\n      - name: x\n"
                        f"        meta: {{external_location: '{outside}'}}\n",
        "models/m.sql": "{{ config(materialized='table') }}\nselect * from {{ source('s', 'x') }}",
        "models/first.sql": "{{ config(materialized='table') }}\nselect 1 as y"})
    code, out, err = cli("run", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2
    assert "models/s.yml" in err and "s.x" in err and str(outside) in err
    assert "OK" not in out              # nothing ran
    # with the raw folder there, it is read
    code, out, err = cli("run", "--project-dir", root, "--db", root / "db.duckdb",
                         "--raw-dir", outside.parent)
    assert code == 0, out + err
