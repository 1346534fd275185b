"""Schema, alias and database names as dbt gives them: the project's own
generate_schema_name / generate_alias_name / generate_database_name macros, else dbt's
defaults (`<target schema>_<custom schema>`, the target schema `main`); two nodes on
one relation are an error naming both."""

from __future__ import annotations

import pytest

from runner.api import build, list_nodes
from runner.errors import ProjectError

LAYERED = {
    "dbt_project.yml": """
        name: proj
        models:
          proj:
            staging:
              +schema: staging
        seeds:
          proj:
            +schema: ref
    """,
    "models/staging/stg.sql": "select 1 as x",
    "models/top.sql": "select * from {{ ref('stg') }}, {{ ref('codes') }}",
    "seeds/codes.csv": "code\n1\n",
}


def relations(root) -> dict[str, str]:
    return {n["name"]: n["relation"] for n in list_nodes(root)}


def test_without_a_macro_the_custom_schema_is_appended_to_the_target_schema(
        make_project, query) -> None:
    root = make_project(LAYERED)
    assert relations(root) == {"stg": "main_staging.stg", "top": "main.top",
                               "codes": "main_ref.codes"}
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select x, code from main.top") == [(1, 1)]
    assert query(root / "db.duckdb", "select count(*) from main_staging.stg") == [(1,)]


def test_the_project_s_generate_schema_name_is_honoured(make_project) -> None:
    root = make_project({**LAYERED, "macros/naming.sql": """
        {% macro generate_schema_name(custom_schema_name, node) -%}
            {%- if node.resource_type == 'seed' -%} seeds_{{ custom_schema_name | trim }}
            {%- elif custom_schema_name is none -%} {{ target.schema }}
            {%- else -%} {{ custom_schema_name | trim }} {%- endif -%}
        {%- endmacro %}
    """})
    assert relations(root) == {"stg": "staging.stg", "top": "main.top",
                               "codes": "seeds_ref.codes"}


def test_the_project_s_generate_alias_name_is_honoured(make_project, query) -> None:
    root = make_project({**LAYERED, "macros/naming.sql": """
        {% macro generate_alias_name(custom_alias_name=none, node=none) -%}
            {%- if custom_alias_name -%} {{ custom_alias_name | trim }}
            {%- else -%} {{ node.name }}_v2 {%- endif -%}
        {%- endmacro %}
    """, "models/aliased.sql": "{{ config(alias='chosen') }} select 2 as y"})
    assert relations(root)["top"] == "main.top_v2"
    assert relations(root)["aliased"] == "main.chosen"
    assert relations(root)["stg"] == "main_staging.stg_v2"
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select x from main.top_v2") == [(1,)]


def test_generate_database_name_naming_another_database_is_refused(make_project) -> None:
    root = make_project({**LAYERED, "macros/naming.sql": """
        {% macro generate_database_name(custom_database_name=none, node=none) -%}
            {{ custom_database_name or target.database }}
        {%- endmacro %}
    """, "models/elsewhere.sql": "{{ config(database='other') }} select 1 as x"})
    with pytest.raises(ProjectError, match="elsewhere.*'other'"):
        list_nodes(root)


def test_two_nodes_on_one_relation_are_an_error_naming_both(make_project, cli) -> None:
    root = make_project({
        "models/a.sql": "{{ config(alias='same') }} select 1 as x",
        "models/b.sql": "{{ config(alias='same') }} select 2 as x",
    })
    code, out, err = cli("build", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2, err
    assert "main.same" in err and "a" in err and "models/b.sql" in err
    assert "Traceback" not in err
