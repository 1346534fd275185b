"""dbt's Jinja context beyond macros: statement/load_result, run_query and its agate-like
table, execute, log, print, exceptions, modules, the JSON and YAML helpers, target,
adapter.get_relation/get_columns_in_relation, api.Relation, builtins, graph,
invocation_id and run_started_at."""

from __future__ import annotations

import pytest

from runner.api import build, compile_sql
from runner.errors import RenderError


def test_statement_and_load_result_run_sql_when_executing(make_project, query) -> None:
    root = make_project({
        "macros/m.sql": """
            {% macro answer() %}
              {% call statement('q', fetch_result=True) %}select 40 + 2 as a, 'x' as b{% endcall %}
              {% set result = load_result('q') %}
              {% if result %}{{ return(result['data'][0][0]) }}{% endif %}
              {{ return(-1) }}
            {% endmacro %}
        """,
        "models/x.sql": "{{ config(materialized='table') }} select {{ answer() }} as v",
    })
    assert compile_sql("{{ answer() }}", root) == "42"
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select v from main.x") == [(42,)]


def test_execute_is_false_while_parsing_and_true_when_running(make_project, query) -> None:
    root = make_project({
        "models/x.sql": "{{ config(materialized='table', tags=['parsed' if not execute "
                        "else 'never']) }} select {{ 1 if execute else 0 }} as ran",
    })
    result = build(root, db_path=root / "db.duckdb", select=["tag:parsed"])
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select ran from main.x") == [(1,)]


def test_run_query_returns_an_agate_like_table(make_project) -> None:
    root = make_project({"models/x.sql": "select 1 as x"})
    sql = """{% set t = run_query("select * from (values (1, 'a'), (2, 'b')) v(n, s) order by n") %}
{{- t.column_names | join(',') }}|{{ t.columns[0].values() | join(',') }}|
{{- t.columns['s'].values() | join(',') }}|{{ t.rows[1][1] }}{{ t.rows[1]['n'] }}|
{{- t.rows | length }}|{{ t.columns | length }}"""
    assert compile_sql(sql, root) == "n,s|1,2|a,b|b2|2|2"


def test_run_query_with_bad_sql_is_an_error_naming_the_query(make_project) -> None:
    root = make_project({"models/x.sql": "{% do run_query('select nope from nowhere') %}"
                                         "select 1 as x"})
    with pytest.raises(RenderError, match="nowhere"):
        build(root, db_path=root / "db.duckdb")


def test_run_query_cannot_read_files_outside_the_project(make_project, tmp_path) -> None:
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    root = make_project({"models/x.sql": "select 1 as x"})
    with pytest.raises(RenderError):
        compile_sql(f"{{{{ run_query(\"select * from read_csv('{outside}')\").rows }}}}", root)


def test_exceptions_log_print_and_warn(make_project, capsys) -> None:
    root = make_project({"models/x.sql": "select 1 as x"})
    assert compile_sql("{{ log('quiet') }}{{ log('loud', info=True) }}{{ print('printed') }}ok",
                       root) == "ok"
    err = capsys.readouterr().err
    assert "loud" in err and "printed" in err and "quiet" not in err
    with pytest.raises(RenderError, match="bad thing"):
        compile_sql("{{ exceptions.raise_compiler_error('bad thing') }}", root)
    assert compile_sql("{{ exceptions.warn('careful') }}w", root) == "w"
    assert "careful" in capsys.readouterr().err


def test_modules_zip_and_serialisation_helpers(make_project) -> None:
    root = make_project({"models/x.sql": "select 1 as x"})
    sql = ("{{ modules.datetime.date(2024, 1, 31).isoformat() }}|"
           "{{ modules.re.sub('a', 'b', 'banana') }}|"
           "{{ modules.itertools.chain([1], [2]) | list | join(',') }}|"
           "{{ zip([1, 2], ['a', 'b']) | list | length }}|"
           "{{ fromjson(tojson({'k': [1, 2]}))['k'][1] }}|"
           "{{ fromyaml(toyaml({'y': 'z'}))['y'] }}|{{ fromyaml('a: [') }}")
    assert compile_sql(sql, root) == "2024-01-31|bbnbnb|1,2|2|2|z|None"


def test_target_invocation_id_and_run_started_at(make_project) -> None:
    root = make_project({"models/x.sql": "select 1 as x"})
    text = compile_sql("{{ target.name }}/{{ target.schema }}/{{ target.type }}/"
                       "{{ target.database }}/{{ invocation_id | length }}/"
                       "{{ run_started_at.year > 2000 }}", root)
    assert text == "dev/main/duckdb/proj/36/True"


def test_adapter_introspection_and_api_relation(make_project, query) -> None:
    root = make_project({
        "models/a.sql": "{{ config(materialized='table') }} select 1 as id, 'x' as label",
        "models/b.sql": """
            {{ config(materialized='table') }}
            {% set rel = adapter.get_relation(database=target.database, schema='main', identifier='a') %}
            {% set missing = adapter.get_relation(target.database, 'main', 'nothing_here') %}
            {% set cols = adapter.get_columns_in_relation(ref('a')) if execute else [] %}
            select '{{ rel.identifier if rel else "none" }}' as found,
                   {{ missing is none }} as missing_is_none,
                   '{{ cols | map(attribute="name") | join(",") }}' as names,
                   '{{ cols | map(attribute="dtype") | join(",") }}' as types,
                   '{{ api.Relation.create(schema="s", identifier="t") }}' as made
            from {{ ref('a') }}
        """,
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select * from main.b") == \
        [("a", True, "id,label", "INTEGER,VARCHAR", '"s"."t"')]


def test_builtins_and_graph(make_project, query) -> None:
    root = make_project({
        "models/a.sql": "select 1 as x",
        "models/b.sql": "select * from {{ ref('a') }}",
        "models/c.sql": """
            {{ config(materialized='table') }}
            select '{{ builtins.ref('a') }}' as r,
            '{% for n in graph.nodes.values() | sort(attribute='name') %}{{ n.unique_id }},
            {{- n.resource_type }},{{ n.depends_on.nodes | join('+') }};{% endfor %}' as nodes,
            '{{ graph.sources.keys() | list | join(',') }}' as sources
        """,
        "models/s.yml": """
            version: 2
            sources:
              - name: src
                tables: [{name: t1}]
        """,
    })
    result = build(root, db_path=root / "db.duckdb", select=["c"])
    assert result.ok, result.summary()
    assert query(root / "db.duckdb", "select * from main.c") == [(
        '"main"."a"', "model.proj.a,model,;model.proj.b,model,model.proj.a;model.proj.c,model,model.proj.a;",
        "source.proj.src.t1")]


def test_the_new_context_keeps_python_internals_out_of_reach(make_project) -> None:
    root = make_project({"models/x.sql": "select 1 as x"})
    for probe in ("{{ run_query('select 1').__class__ }}",
                  "{{ run_query('select 1')._con }}",
                  "{{ adapter.get_relation.__globals__ }}",
                  "{{ graph.__class__.__init__.__globals__ }}",
                  "{{ modules.itertools.chain.__self__ }}",
                  "{{ api.Relation.create.__func__ }}"):
        with pytest.raises(RenderError):
            compile_sql(probe, root)
