"""dbt's `{% docs %}` blocks (in .md files of the project and its packages) and `doc()` in
YAML descriptions: rendered into the description text and into DuckDB's comments, never
written literally; an unknown doc is an error naming the YAML file and the doc."""

from __future__ import annotations

from runner.api import build
from runner.project.loader import load_project

DOCS = {
    "models/docs.md": """
        # Orders

        {% docs orders %}
        One row per **order**.
        {% enddocs %}

        {% docs order_id -%}
          The order's key.
        {%- enddocs %}
    """,
    "docs/more.md": "{% docs codes_doc %}Codes and labels.{% enddocs %}",
    "models/orders.sql": "{{ config(materialized='table') }}\nselect 1 as order_id, 2 as n",
    "seeds/codes.csv": "code,label\n1,one\n",
    "models/schema.yml": """
        version: 2
        models:
          - name: orders
            description: "{{ doc('orders') }}"
            columns:
              - name: order_id
                description: '{{ doc("order_id") }} Never null.'
              - name: n
                description: plain text, {not jinja}
        seeds:
          - name: codes
            description: "{{ doc('codes_doc') }}"
        sources:
          - name: shop
            tables:
              - name: raw_orders
                description: "{{ doc('orders') }}"
                columns:
                  - name: id
                    description: "{{ doc('order_id') }}"
    """,
}


def test_doc_is_rendered_into_descriptions_and_comments(make_project, query) -> None:
    root = make_project({"dbt_project.yml": "name: proj\ndocs-paths: [models, docs]\n",
                         **DOCS})
    project = load_project(root)
    orders = project.models["orders"]
    assert orders.description == "One row per **order**."
    assert orders.columns["order_id"].description == "The order's key. Never null."
    assert orders.columns["n"].description == "plain text, {not jinja}"
    assert project.seeds["codes"].description == "Codes and labels."
    table = project.sources[("shop", "raw_orders")]
    assert table.description == "One row per **order**."
    assert table.columns["id"].description == "The order's key."

    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert query(db, "select comment from duckdb_tables() where table_name = 'orders'") == \
        [("One row per **order**.",)]
    assert query(db, "select comment from duckdb_tables() where table_name = 'codes'") == \
        [("Codes and labels.",)]
    assert query(db, "select column_name, comment from duckdb_columns() "
                     "where table_name = 'orders' order by 1") == \
        [("n", "plain text, {not jinja}"), ("order_id", "The order's key. Never null.")]


def test_docs_blocks_of_a_package(make_project) -> None:
    make_project({"dbt_project.yml": "name: my_pkg\n",
                  "models/pkg.md": "{% docs shared %}From the package.{% enddocs %}\n"
                                   "{% docs own %}The package's own.{% enddocs %}",
                  "models/p.sql": "select 1 as y",
                  "models/p.yml": "version: 2\nmodels:\n  - name: p\n"
                                  "    description: \"{{ doc('shared') }} {{ doc('own') }}\"\n"},
                 name="my_pkg")
    root = make_project({
        "dbt_project.yml": "name: proj\n",
        "models/a.sql": "select 1 as x",
        "models/mine.md": "{% docs shared %}From the project.{% enddocs %}",
        "models/schema.yml": """
            version: 2
            models:
              - name: a
                description: "{{ doc('shared') }} / {{ doc('my_pkg', 'shared') }} / {{ doc('own') }}"
        """,
        "packages.yml": "packages:\n  - local: ../my_pkg\n",
    })
    from runner.deps.packages import deps
    deps(root)
    project = load_project(root)
    assert project.models["a"].description == \
        "From the project. / From the package. / The package's own."
    # in the package's own YAML too, the project's block overrides the package's, as dbt
    assert project.models["p"].description == "From the project. The package's own."


def test_an_unknown_doc_names_the_yaml_file_and_the_doc(make_project, cli) -> None:
    root = make_project({"models/a.sql": "select 1 as x",
                         "models/props.yml": "version: 2\nmodels:\n  - name: a\n"
                                             "    columns:\n      - name: x\n"
                                             "        description: \"{{ doc('nope') }}\"\n"})
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2
    assert "models/props.yml" in err and "'nope'" in err and "Traceback" not in err


def test_comments_of_a_kept_table_follow_its_yaml(make_project, query, monkeypatch) -> None:
    """An incremental build keeps its table, and with it the comments: an unchanged
    description is not written again, a changed one is, on the table and its columns,
    and a view (created again each build) gets its comments back."""
    from runner.execute.duckdb.materialize import Executor
    yml = """
        version: 2
        models:
          - name: events
            description: {table}
            columns:
              - name: id
                description: {column}
          - name: recent
            description: The latest events.
            columns:
              - name: id
                description: Its event.
    """
    root = make_project({
        "models/events.sql": "{{ config(materialized='incremental', unique_key='id') }}\n"
                             "select 1 as id",
        "models/recent.sql": "{{ config(materialized='view') }}\n"
                             "select id from {{ ref('events') }}",
        "models/schema.yml": yml.format(table="Events.", column="The key.")})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    written: list[str] = []
    sql = Executor._sql

    def recording(self, statement, *args, **kwargs):
        if statement.startswith("comment on"):
            written.append(statement)
        return sql(self, statement, *args, **kwargs)
    monkeypatch.setattr(Executor, "_sql", recording)

    assert build(root, db_path=db).ok
    assert not [s for s in written if '"events"' in s]
    assert len([s for s in written if '"recent"' in s]) == 2   # the view: made again

    (root / "models/schema.yml").write_text(yml.format(table="All events.",
                                                       column="The event's key."))
    written.clear()
    assert build(root, db_path=db).ok
    assert len([s for s in written if '"events"' in s]) == 2
    assert query(db, "select comment from duckdb_tables() where table_name = 'events'") == \
        [("All events.",)]
    assert query(db, "select comment from duckdb_columns() where table_name = 'events'") \
        == [("The event's key.",)]
    assert query(db, "select comment from duckdb_views() where view_name = 'recent'") == \
        [("The latest events.",)]
    assert query(db, "select comment from duckdb_columns() where table_name = 'recent'") \
        == [("Its event.",)]
