"""dbt's Jinja context: return(), adapter.dispatch with dispatch: search orders, and the
built-in `dbt` namespace of cross-database macros, run through DuckDB."""

from __future__ import annotations

import datetime as dt

import pytest

from runner.api import build, compile_sql
from runner.errors import RenderError


def test_return_gives_the_macro_s_python_value(make_project) -> None:
    root = make_project({
        "macros/m.sql": """
            {% macro columns() %}{{ return(['a', 'b']) }}{% endmacro %}
            {% macro mapping() %}{% do return({'n': 3}) %}this text is not returned{% endmacro %}
            {% macro uses() %}{{ columns() | join('+') }}/{{ mapping()['n'] + 1 }}{% endmacro %}
        """,
        "models/x.sql": "select 1 as x",
    })
    assert compile_sql("{{ columns() | length }}", root) == "2"
    assert compile_sql("{{ uses() }}", root).strip() == "a+b/4"


def test_return_in_a_macro_called_from_another_file_returns_to_its_caller(make_project) -> None:
    root = make_project({
        "macros/a.sql": "{% macro inner() %}{{ return(41) }}{% endmacro %}",
        "macros/b.sql": "{% macro outer() %}{{ return(inner() + 1) }}{% endmacro %}",
        "models/x.sql": "select 1 as x",
    })
    assert compile_sql("{{ outer() }}", root) == "42"


def test_return_outside_a_macro_is_an_error(make_project) -> None:
    root = make_project({"models/x.sql": "select {{ return(1) }} as x"})
    with pytest.raises(RenderError, match="outside a macro"):
        build(root, db_path=root / "db.duckdb")


DISPATCHED = """
{% macro greet(name) %}{{ return(adapter.dispatch('greet', 'proj')(name)) }}{% endmacro %}
{% macro default__greet(name) %}'hello {{ name }}'{% endmacro %}
"""


def test_dispatch_prefers_duckdb_then_default(make_project) -> None:
    root = make_project({"macros/g.sql": DISPATCHED, "models/x.sql": "select 1 as x"})
    assert compile_sql("{{ greet('a') }}", root) == "'hello a'"
    (root / "macros" / "duck.sql").write_text(
        "{% macro duckdb__greet(name) %}'quack {{ name }}'{% endmacro %}")
    assert compile_sql("{{ greet('a') }}", root) == "'quack a'"


def test_a_project_overrides_a_dbt_macro_through_dispatch(make_project) -> None:
    root = make_project({
        "macros/over.sql": "{% macro duckdb__date_trunc(datepart, date) %}"
                           "my_trunc('{{ datepart }}', {{ date }}){% endmacro %}",
        "models/x.sql": "select 1 as x",
    })
    # search order for 'dbt' without a dispatch: entry: the project first, then dbt
    assert compile_sql("{{ dbt.date_trunc('month', 'd') }}", root).strip() == \
        "my_trunc('month', d)"


def test_dispatch_search_order_from_dbt_project_yml(make_project) -> None:
    files = {
        "macros/g.sql": DISPATCHED.replace("'proj'", "'lib'"),
        "macros/other.sql": "",
        "models/x.sql": "select 1 as x",
    }
    root = make_project({**files, "dbt_project.yml": "name: proj\n"})
    # 'lib' is no package: the global macros are searched
    assert compile_sql("{{ greet('a') }}", root) == "'hello a'"
    (root / "dbt_project.yml").write_text(
        "name: proj\ndispatch:\n  - macro_namespace: lib\n    search_order: [nowhere]\n")
    with pytest.raises(RenderError) as info:
        compile_sql("{{ greet('a') }}", root)
    assert "'nowhere.duckdb__greet', 'nowhere.default__greet'" in info.value.render()


def test_a_malformed_dispatch_config_is_a_project_error(make_project) -> None:
    from runner.errors import ProjectError
    root = make_project({"dbt_project.yml": "name: proj\ndispatch: {dbt_utils: [proj]}\n",
                         "models/x.sql": "select 1 as x"})
    with pytest.raises(ProjectError, match="dispatch"):
        compile_sql("select 1", root)


def test_an_unknown_macro_in_a_namespace_names_it(make_project) -> None:
    root = make_project({"models/x.sql": "select {{ dbt.no_such_macro() }} as x"})
    with pytest.raises(RenderError, match=r"'dbt\.no_such_macro' does not exist"):
        build(root, db_path=root / "db.duckdb")


CROSS_DB = """
{{ config(materialized='table') }}
select
    {{ dbt.date_trunc('month', "timestamp '2024-03-17 10:11:12'") }} as trunc_month,
    {{ dbt.dateadd('day', 3, "date '2024-02-27'") }} as plus_3_days,
    {{ dbt.dateadd('quarter', 1, "date '2024-01-31'") }} as plus_quarter,
    {{ dbt.datediff("date '2024-01-01'", "date '2024-03-01'", 'day') }} as diff_days,
    {{ dbt.datediff("date '2024-01-01'", "date '2024-01-15'", 'week') }} as diff_weeks,
    {{ dbt.safe_cast("'12'", dbt.type_int()) }} as safe_int,
    cast('x' as {{ dbt.type_string() }}) as s,
    cast(1 as {{ dbt.type_bigint() }}) as big,
    cast(1.5 as {{ dbt.type_float() }}) as f,
    cast(1.25 as {{ dbt.type_numeric() }}) as num,
    cast('2024-01-01' as {{ dbt.type_timestamp() }}) as ts,
    cast('true' as {{ dbt.type_boolean() }}) as b,
    {{ dbt.concat(["'a'", "'b'", "'c'"]) }} as abc,
    {{ dbt.hash("'abc'") }} as h,
    {{ dbt.cast_bool_to_text('true') }} as bool_text,
    {{ dbt.split_part("'a-b-c'", "'-'", 2) }} as part,
    {{ dbt.last_day("date '2024-02-10'", 'month') }} as last_of_month,
    {{ dbt.replace("'abc'", "'b'", "'x'") }} as replaced,
    {{ dbt.length("'abcd'") }} as len,
    {{ dbt.position("'c'", "'abc'") }} as pos,
    {{ dbt.right("'abcdef'", 2) }} as right2,
    {{ dbt.string_literal(dbt.escape_single_quotes("it's")) }} as quoted,
    {{ dbt.current_timestamp() }} is not null as has_now
"""

AGGREGATES = """
{{ config(materialized='table') }}
select
    {{ dbt.any_value('v') }} is not null as some_v,
    {{ dbt.listagg('v', "', '", 'order by v') }} as listed,
    {{ dbt.bool_or('v = \\'b\\'') }} as any_b
from (values ('b'), ('a'), ('c')) t(v)
"""


def test_the_dbt_cross_database_macros_run_in_duckdb(make_project, query) -> None:
    root = make_project({"models/x.sql": CROSS_DB, "models/agg.sql": AGGREGATES})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    row = query(db, "select * from main.x")[0]
    assert row == (
        dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 30),
        60, 2, 12, "x", 1, 1.5, pytest.approx(1.25), dt.datetime(2024, 1, 1), True, "abc",
        "900150983cd24fb0d6963f7d28e17f72", "true", "b", dt.date(2024, 2, 29), "axc", 4, 3,
        "ef", "it's", True)
    assert query(db, "select * from main.agg") == [(True, "a, b, c", True)]


def test_a_generic_test_block_in_a_macro_file_is_the_macro_test_name(make_project) -> None:
    root = make_project({
        "macros/tests.sql": """
            {% test positive(model, column_name) %}
            select * from {{ model }} where {{ column_name }} <= 0
            {% endtest %}
            {% macro after() %}ok{% endmacro %}
        """,
        "models/x.sql": "select 1 as x",
    })
    assert compile_sql("{{ test_positive('t', 'c') }}", root).split() == \
        "select * from t where c <= 0".split()
    assert compile_sql("{{ after() }}", root) == "ok"


def test_dispatch_and_packages_install_path_are_acted_on_not_warned(make_project) -> None:
    from runner.project.loader import load_project
    root = make_project({
        "dbt_project.yml": "name: proj\npackages-install-path: deps\ndispatch:\n"
                           "  - macro_namespace: dbt\n    search_order: [proj, dbt]\n"
                           "unknown-key: 1\n",
        "models/x.sql": "select 1 as x",
    })
    warnings = load_project(root).warnings
    assert any("'unknown-key'" in w for w in warnings)
    assert not any("'dispatch'" in w or "'packages-install-path'" in w for w in warnings)
