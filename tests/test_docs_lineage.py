"""Column-level lineage (runner/docs/lineage.py) on small queries with known answers, and
across the models and macros of a small project (`runner docs generate`), with its
cache: an unchanged model is not analysed again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.docs.lineage import LineageError, model_lineage

SCHEMA = {("s", "sessions"): ["id", "org_id", "price", "start_time", "ok", "kwh"],
          ("s", "orgs"): ["id", "name", "country"],
          ("s", "rates"): ["country", "rate", "valid_from"]}


def edges(sql: str, schema=SCHEMA) -> dict[str, set[tuple[str, str, str]]]:
    return {col: set(items) for col, items in model_lineage(sql, schema).items()}


def test_a_rename_points_at_the_column_it_renames() -> None:
    assert edges("select price as amount, id from s.sessions") == {
        "amount": {("s.sessions", "price", "value")},
        "id": {("s.sessions", "id", "value")}}


def test_an_expression_depends_on_every_column_in_it() -> None:
    got = edges("select round(price * 1.24, 2) + coalesce(kwh, 0) as gross from s.sessions")
    assert got == {"gross": {("s.sessions", "price", "value"), ("s.sessions", "kwh", "value")}}


def test_join_and_where_columns_decide_rows_of_every_column() -> None:
    got = edges("""
        select o.name as org, x.price
        from s.sessions as x join s.orgs as o on x.org_id = o.id
        where x.ok""")
    rows = {("s.sessions", "org_id", "filter"), ("s.orgs", "id", "filter"),
            ("s.sessions", "ok", "filter")}
    assert got["org"] == {("s.orgs", "name", "value")} | rows
    assert got["price"] == {("s.sessions", "price", "value")} | rows


def test_ctes_are_followed_to_the_relations_read() -> None:
    got = edges("""
        with a as (select id as session_id, price as p from s.sessions where kwh > 0),
             b as (select session_id, p * 2 as doubled from a)
        select doubled as amount from b""")
    assert got == {"amount": {("s.sessions", "price", "value"),
                              ("s.sessions", "kwh", "filter")}}


def test_select_star_is_expanded_from_the_schema() -> None:
    got = edges("with x as (select * from s.orgs) select * from x")
    assert set(got) == {"id", "name", "country"}
    assert got["country"] == {("s.orgs", "country", "value")}


def test_select_star_exclude_and_replace() -> None:
    got = edges("select * exclude (id, name) replace (upper(country) as country) from s.orgs")
    assert got == {"country": {("s.orgs", "country", "value")}}


def test_window_function_depends_on_its_argument_partition_and_order() -> None:
    got = edges("""select id, sum(price) over (partition by org_id order by start_time)
                   as running from s.sessions""")
    assert got["running"] == {("s.sessions", "price", "value"),
                              ("s.sessions", "org_id", "value"),
                              ("s.sessions", "start_time", "value")}


def test_qualify_columns_decide_rows() -> None:
    got = edges("""select id, price from s.sessions
                   qualify row_number() over (partition by org_id order by start_time desc) = 1""")
    assert got["price"] == {("s.sessions", "price", "value"),
                            ("s.sessions", "org_id", "filter"),
                            ("s.sessions", "start_time", "filter")}


def test_a_calendar_lookup_depends_on_the_join_keys() -> None:
    """The shape of a VAT amount: a price times a rate picked by country and date."""
    got = edges("""
        with sessions as (
            select x.id, x.price, o.country, cast(x.start_time as date) as start_date
            from s.sessions as x left join s.orgs as o on x.org_id = o.id
        )
        select sessions.id, sessions.price * rates.rate / 100 as vat
        from sessions
        left join s.rates as rates
            on sessions.country = rates.country and sessions.start_date >= rates.valid_from""")
    assert {("s.sessions", "price", "value"), ("s.rates", "rate", "value"),
            ("s.orgs", "country", "filter"), ("s.sessions", "start_time", "filter"),
            ("s.rates", "valid_from", "filter"), ("s.rates", "country", "filter"),
            ("s.sessions", "org_id", "filter"), ("s.orgs", "id", "filter")} == got["vat"]


def test_union_branches_both_feed_the_column() -> None:
    got = edges("select id, price from s.sessions union all select id, rate from s.rates")
    assert got["price"] == {("s.sessions", "price", "value"), ("s.rates", "rate", "value")}


def test_a_subquery_in_where_decides_rows() -> None:
    got = edges("""select price from s.sessions
                   where org_id in (select id from s.orgs where country = 'FI')""")
    assert got["price"] == {("s.sessions", "price", "value"), ("s.sessions", "org_id", "filter"),
                            ("s.orgs", "id", "filter"), ("s.orgs", "country", "filter")}


def test_a_scalar_subquery_in_the_select_is_a_value() -> None:
    got = edges("select (select max(rate) from s.rates) as top, id from s.sessions")
    assert got["top"] == {("s.rates", "rate", "value")}


def test_a_column_both_computed_from_and_filtered_on_is_a_value() -> None:
    assert model_lineage("select price from s.sessions where price > 0", SCHEMA) == {
        "price": [("s.sessions", "price", "value")]}


def test_unreadable_sql_is_a_lineage_error() -> None:
    with pytest.raises(LineageError):
        model_lineage("select from where (", SCHEMA)


PROJECT = {
    "dbt_project.yml": """
        name: tiny
        models:
          tiny:
            +materialized: table
        vars:
          docs_column_glossary: >-
            select 'main.report' as relation, 'vat' as column_name, 'VAT amount' as "Header"
    """,
    "macros/money.sql": """
        {% macro vat_of(price, rate) %}round({{ price }} * {{ rate }} / 100, 2){% endmacro %}
    """,
    "seeds/rates.csv": "country,rate\nFI,25.5\nSE,25\n",
    "models/orgs.sql": "select 1 as org_id, 'FI' as country",
    "models/sessions.sql": "select 10 as session_id, 1 as org_id, 12.40 as price",
    "models/report.sql": """
        select s.session_id as id, {{ vat_of('s.price', 'r.rate') }} as vat
        from {{ ref('sessions') }} as s
        join {{ ref('orgs') }} as o on s.org_id = o.org_id
        join {{ ref('rates') }} as r on o.country = r.country
    """,
    "models/_models.yml": """
        version: 2
        models:
          - name: report
            description: The report.
            columns:
              - name: vat
                description: VAT of the price.
                data_tests: [not_null]
    """,
}


def _data(target: Path) -> dict:
    text = (target / "docs_data.js").read_text()
    assert text.startswith("window.DOCS = ")
    return json.loads(text[len("window.DOCS = "):].rstrip().rstrip(";"))


def test_lineage_through_models_and_macros_and_its_cache(make_project) -> None:
    from runner.docs.generate import generate
    root = make_project(PROJECT)
    done = generate(root)
    assert (done.analysed, done.cached) == (3, 0)
    data = _data(root / "target")
    report = data["lineage"]["model.tiny.report"]
    assert set(map(tuple, report["vat"])) == {
        ("model.tiny.sessions", "price", "value"), ("seed.tiny.rates", "rate", "value"),
        ("model.tiny.sessions", "org_id", "filter"), ("model.tiny.orgs", "org_id", "filter"),
        ("model.tiny.orgs", "country", "filter"), ("seed.tiny.rates", "country", "filter")}
    node = data["nodes"]["model.tiny.report"]
    vat = next(c for c in node["columns"] if c["name"] == "vat")
    assert vat["description"] == "VAT of the price."
    assert vat["glossary"] == {"Header": "VAT amount"}
    assert [data["tests"][t]["type"] for t in vat["tests"]] == ["not_null"]
    assert node["parents"] == ["model.tiny.orgs", "model.tiny.sessions", "seed.tiny.rates"]
    assert data["nodes"]["model.tiny.orgs"]["children"] == ["model.tiny.report"]
    # unchanged: nothing analysed again; one model changed: that one only
    assert (generate(root).analysed, generate(root).cached) == (0, 3)
    (root / "models/orgs.sql").write_text("select 1 as org_id, 'SE' as country")
    again = generate(root)
    assert (again.analysed, again.cached) == (1, 2)
