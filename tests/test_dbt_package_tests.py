"""Generic data tests of installed packages, named in YAML by namespace
(`my_tests.at_least`): the package's `{% test %}` macro, called with the tested model,
the column and the test's arguments (also in dbt 1.10's `arguments:` form)."""

from __future__ import annotations

import pytest

from runner.api import build
from runner.errors import ProjectError

PACKAGE = {
    "dbt_packages/my_tests/dbt_project.yml": "name: my_tests\n",
    "dbt_packages/my_tests/macros/tests.sql": """
        {% test at_least(model, column_name, min_value) %}
            select * from {{ model }} where {{ column_name }} < {{ min_value }}
        {% endtest %}

        {% test pair_unique(model, combination_of_columns, quote_columns=false) %}
            {{ return(adapter.dispatch('test_pair_unique', 'my_tests')(model, combination_of_columns)) }}
        {% endtest %}

        {% macro default__test_pair_unique(model, combination_of_columns) %}
            select {{ combination_of_columns | join(', ') }}
            from {{ model }}
            group by {{ combination_of_columns | join(', ') }}
            having count(*) > 1
        {% endmacro %}
    """,
    "models/m.sql": "{{ config(materialized='table') }} select * from (values "
                    "(1, 'x', 5), (2, 'y', 6), (2, 'y', 7)) v(a, b, n)",
}


def test_a_package_s_generic_tests_run_by_namespace(make_project) -> None:
    root = make_project({**PACKAGE, "models/m.yml": """
        version: 2
        models:
          - name: m
            data_tests:
              - my_tests.pair_unique:
                  arguments:
                    combination_of_columns: [a, b]
                  config:
                    severity: warn
            columns:
              - name: n
                data_tests:
                  - my_tests.at_least: {min_value: 5}
                  - my_tests.at_least:
                      arguments: {min_value: 6}
                  - my_tests.at_least:
                      arguments: {min_value: 6}
                      config:
                        where: "n > {{ var('floor', 5) }}"
    """})
    result = build(root, db_path=root / "db.duckdb")
    outcomes = {n.name: (n.status, n.failures) for n in result.nodes if n.kind == "test"}
    assert outcomes == {"pair_unique_m": ("warn", 1), "at_least_m_n": ("pass", 0),
                        "at_least_m_n_2": ("fail", 1), "at_least_m_n_3": ("pass", 0)}, outcomes


def test_a_generic_test_no_package_defines_is_an_error_naming_it(make_project) -> None:
    root = make_project({**PACKAGE, "models/m.yml": """
        version: 2
        models:
          - name: m
            columns:
              - name: n
                data_tests:
                  - my_tests.at_most: {max_value: 5}
    """})
    with pytest.raises(ProjectError, match="my_tests.at_most.*m.n") as info:
        build(root, db_path=root / "db.duckdb")
    assert "models/m.yml" in str(info.value)


def test_a_project_s_own_generic_test_runs_by_its_bare_name(make_project) -> None:
    root = make_project({
        "models/m.sql": "select 1 as n",
        "macros/positive.sql": "{% test positive(model, column_name) %}"
                               "select * from {{ model }} where {{ column_name }} <= 0"
                               "{% endtest %}",
        "models/m.yml": "version: 2\nmodels:\n  - name: m\n    columns:\n"
                        "      - name: n\n        data_tests: [positive]\n",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert [(n.name, n.status) for n in result.nodes if n.kind == "test"] == \
        [("positive_m_n", "pass")]
