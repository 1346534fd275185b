"""dbt's project hooks, `on-run-start` and `on-run-end` of dbt_project.yml: rendered with
the project's Jinja context (on-run-end also with `results`, `schemas` and
`database_schemas`), run before the first node and after the last, in run_results.json
and the manifest as dbt lists them (`operation.<project>.<project>-on-run-start-0`)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.api import build, execute

PROJECT = """\
name: shop
version: "1.0.0"
config-version: 2
vars:
  label: nightly
on-run-start:
  - "create or replace table main.run_log (node varchar, uid varchar, status varchar, kind varchar, label varchar)"
  - "{{ log_start() }}"
on-run-end:
  - "{{ log_results(results) }}"
  - "insert into main.run_log select 'rows_in_orders', null, cast(count(*) as varchar), null, null from main.orders"
  - "create or replace table main.run_schemas as select unnest({{ schemas | sort }}) as s, unnest({{ database_schemas | map('join', '.') | sort }}) as ds"
"""

MACROS = """\
{% macro log_start() %}
insert into main.run_log values ('start', '{{ invocation_id }}', '{{ target.type }}', null, '{{ var("label") }}')
{% endmacro %}

{% macro log_results(results) %}
{% for r in results %}
insert into main.run_log values ('{{ r.node.name }}', '{{ r.node.unique_id }}', '{{ r.status }}',
                                 '{{ r.node.resource_type }}', null);
{% endfor %}
{% endmacro %}
"""


def shop(make_project, orders: str = "select * from (values (1), (2), (3)) t(id)",
         project: str = PROJECT) -> Path:
    return make_project({
        "dbt_project.yml": project,
        "macros/log.sql": MACROS,
        "seeds/rates.csv": "id,rate\n1,0.2\n",
        "models/orders.sql": "{{ config(materialized='table') }}\n" + orders,
        "models/marts/totals.sql": "{{ config(materialized='table', schema='marts') }}\n"
                                   "select count(*) as n from {{ ref('orders') }}",
        "models/orders.yml": """
            version: 2
            models:
              - name: orders
                columns:
                  - name: id
                    data_tests: [not_null]
            """,
    }, name="shop")


def run_results(root: Path) -> list[tuple[str, str, str]]:
    saved = json.loads((root / "target" / "run_results.json").read_text())
    return [(r["unique_id"], r["status"], r["thread_id"]) for r in saved["results"]]


def test_on_run_start_and_on_run_end_run_around_the_nodes_with_results(
        make_project, query) -> None:
    root = shop(make_project)
    db = root / "shop.duckdb"
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    assert not [w for w in result.warnings if "on-run" in w]     # acted on, not warned
    logged = query(db, "select node, uid, status, kind, label from main.run_log "
                       "order by rowid")
    start = logged[0]
    # on-run-start: the project's macros, invocation_id, target and var()
    assert start == ("start", result.invocation_id, "duckdb", None, "nightly")
    # on-run-end: one row per node result, in dbt's shape (.node.name, .node.unique_id,
    # .status, .node.resource_type), the successful start hooks left out as dbt does
    test_uid = next(uid for uid, _, _ in run_results(root) if "not_null_orders_id" in uid)
    assert sorted(logged[1:-1]) == sorted([
        ("rates", "seed.shop.rates", "success", "seed", None),
        ("orders", "model.shop.orders", "success", "model", None),
        ("not_null_orders_id", test_uid, "pass", "test", None),
        ("totals", "model.shop.totals", "success", "model", None)])
    # the second on-run-end hook reads the table this build wrote
    assert logged[-1] == ("rows_in_orders", None, "3", None, None)
    assert query(db, "select s, ds from main.run_schemas") == [
        ("main", "shop.main"), ("main_marts", "shop.main_marts")]
    # run_results.json: the hooks as dbt writes them, before and after the nodes
    saved = run_results(root)
    assert saved[:2] == [("operation.shop.shop-on-run-start-0", "success", "main"),
                         ("operation.shop.shop-on-run-start-1", "success", "main")]
    assert saved[-3:] == [("operation.shop.shop-on-run-end-0", "success", "main"),
                          ("operation.shop.shop-on-run-end-1", "success", "main"),
                          ("operation.shop.shop-on-run-end-2", "success", "main")]
    assert len(saved) == 2 + 4 + 3
    # the manifest lists them as dbt does: nodes of resource type operation
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    hook = manifest["nodes"]["operation.shop.shop-on-run-end-0"]
    assert hook["resource_type"] == "operation" and hook["name"] == "shop-on-run-end-0"
    assert hook["tags"] == ["on-run-end"] and hook["index"] == 0
    assert hook["original_file_path"] == "./dbt_project.yml"
    assert hook["raw_code"] == "{{ log_results(results) }}"
    assert hook["depends_on"]["macros"] == ["macro.shop.log_results"]
    assert "insert into main.run_log values ('orders'" in hook["compiled_code"]


def test_a_failing_on_run_start_stops_the_build_before_any_model(make_project, query,
                                                                 cli) -> None:
    root = shop(make_project, project=PROJECT.replace(
        "{{ log_start() }}", "insert into main.no_such_table values (1)"))
    db = root / "shop.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 1, out + err
    assert "shop-on-run-start-1" in out and "no_such_table" in out
    assert "Traceback" not in out + err
    tables = {r[0] for r in query(db, "select table_name from duckdb_tables()")}
    assert "orders" not in tables and "totals" not in tables and "rates" not in tables
    saved = dict((uid, status) for uid, status, _ in run_results(root))
    assert saved["operation.shop.shop-on-run-start-0"] == "success"
    assert saved["operation.shop.shop-on-run-start-1"] == "error"
    assert saved["model.shop.orders"] == "skipped" and saved["seed.shop.rates"] == "skipped"
    # on-run-end still runs, as dbt's does; with its nodes skipped (dbt's flag
    # skip_nodes_if_on_run_start_fails) dbt gives it no results: neither the skipped
    # nodes nor the failed hook
    assert saved["operation.shop.shop-on-run-end-0"] == "success"
    assert query(db, "select node, uid, status from main.run_log") == []


def test_a_failing_on_run_start_leaves_the_last_good_tables_and_publication(
        make_project, query, tmp_path: Path) -> None:
    published = tmp_path / "published"
    root = shop(make_project)
    db = root / "shop.duckdb"
    (root / "models/orders.yml").write_text((root / "models/orders.yml").read_text()
                                            .replace("- name: orders\n",
                                                     "- name: orders\n    config: "
                                                     "{publish: true}\n"))
    first = build(root, db_path=db, vars={"publish_dir": str(published)})
    assert first.ok and first.published, first.summary()
    catalog = published / "shop.duckdb"
    before = catalog.read_bytes()
    (root / "models/orders.sql").write_text("{{ config(materialized='table') }}\n"
                                            "select 9 as id")
    project = root / "dbt_project.yml"
    project.write_text(project.read_text().replace("{{ log_start() }}", "select nope"))
    second = build(root, db_path=db, vars={"publish_dir": str(published)})
    assert not second.ok and second.published is None
    assert query(db, "select id from main.orders order by id") == [(1,), (2,), (3,)]
    assert catalog.read_bytes() == before


def test_on_run_end_runs_after_a_failed_model_and_sees_it(make_project, query) -> None:
    root = shop(make_project, orders="select * from no_such_table")
    db = root / "shop.duckdb"
    result = build(root, db_path=db)
    assert not result.ok
    logged = set(query(db, "select node, status from main.run_log"))
    assert {("orders", "error"), ("totals", "skipped"), ("rates", "success")} <= logged
    statuses = {n.name: n.status for n in result.nodes}
    assert statuses["shop-on-run-end-0"] == "success"
    # the second end hook reads the table that was never built: it fails, and the one
    # after it is skipped, as in dbt
    assert statuses["shop-on-run-end-1"] == "error"
    assert statuses["shop-on-run-end-2"] == "skipped"


def test_a_failing_on_run_end_fails_the_build_and_skips_the_hooks_after_it(
        make_project, query, cli) -> None:
    root = shop(make_project, project=PROJECT.replace("from main.orders",
                                                      "from main.no_such_table"))
    db = root / "shop.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 1, out + err
    assert "shop-on-run-end-1" in out and "no_such_table" in out
    saved = dict((uid, status) for uid, status, _ in run_results(root))
    assert saved["operation.shop.shop-on-run-end-1"] == "error"
    assert saved["operation.shop.shop-on-run-end-2"] == "skipped"
    assert saved["model.shop.orders"] == "success"
    assert query(db, "select count(*) from main.orders") == [(3,)]


def test_hooks_run_for_run_seed_and_test_and_not_for_compile(make_project, query) -> None:
    from runner.api import compile_project
    root = shop(make_project)
    db = root / "shop.duckdb"
    for command, node in (("run", "orders"), ("seed", "rates"),
                          ("test", "not_null_orders_id")):
        result = execute(command, root, db_path=db)
        assert result.ok, result.summary()
        assert [n.name for n in result.nodes][:2] == ["shop-on-run-start-0",
                                                      "shop-on-run-start-1"]
        assert (node, "success" if command != "test" else "pass") in \
            query(db, "select node, status from main.run_log")
    compile_project(root)
    assert query(db, "select count(*) from main.run_log where node = 'start'") == [(1,)]


def test_nothing_selected_runs_no_hook(make_project, query) -> None:
    root = shop(make_project)
    db = root / "shop.duckdb"
    result = execute("seed", root, db_path=db, select=["orders"])
    assert result.nodes == []
    assert not db.exists() or "run_log" not in {
        r[0] for r in query(db, "select table_name from duckdb_tables()")}


def test_a_hook_that_is_not_sql_text_is_an_error_naming_it(make_project, cli) -> None:
    root = shop(make_project, project=PROJECT.replace(
        '  - "{{ log_start() }}"', "  - {nope: 1}"))
    code, out, err = cli("build", "--project-dir", root, "--db", root / "x.duckdb")
    assert code == 2, out + err
    assert "on-run-start" in err and "dbt_project.yml" in err and "Traceback" not in err


def test_retry_reruns_the_nodes_a_failed_hook_skipped_not_the_hook_as_a_node(
        make_project, query) -> None:
    from runner.task.retry import retry
    root = shop(make_project, project=PROJECT.replace("{{ log_start() }}", "select nope"))
    db = root / "shop.duckdb"
    assert not build(root, db_path=db).ok
    project = root / "dbt_project.yml"
    project.write_text(project.read_text().replace("select nope", "{{ log_start() }}"))
    again = retry(root)
    assert again is not None and again.ok, again and again.summary()
    ran = [n.name for n in again.nodes if n.kind != "operation"]
    assert sorted(ran) == ["not_null_orders_id", "orders", "rates", "totals"]
    assert query(db, "select count(*) from main.orders") == [(3,)]


def test_a_package_s_hooks_run_first_with_its_own_macros(make_project, query) -> None:
    root = shop(make_project)
    package = root / "dbt_packages" / "audit_pkg"
    (package / "macros").mkdir(parents=True)
    (package / "dbt_project.yml").write_text(
        'name: audit_pkg\nversion: "1.0"\non-run-start: "{{ make_audit() }}"\n'
        'on-run-end: "insert into main.audit_done values (\'{{ project_name }}\')"\n')
    (package / "macros" / "audit.sql").write_text(
        "{% macro make_audit() %}create or replace table main.audit_done (who varchar)"
        "{% endmacro %}\n")
    db = root / "shop.duckdb"
    result = build(root, db_path=db)
    assert result.ok, result.summary()
    hooks = [n.name for n in result.nodes if n.kind == "operation"]
    assert hooks == ["audit_pkg-on-run-start-0", "shop-on-run-start-0",
                     "shop-on-run-start-1", "audit_pkg-on-run-end-0", "shop-on-run-end-0",
                     "shop-on-run-end-1", "shop-on-run-end-2"]
    assert query(db, "select who from main.audit_done") == [("shop",)]
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    node = manifest["nodes"]["operation.audit_pkg.audit_pkg-on-run-start-0"]
    assert node["package_name"] == "audit_pkg"
    assert node["depends_on"]["macros"] == ["macro.audit_pkg.make_audit"]


def test_a_jinja_syntax_error_in_a_hook_stops_before_anything_runs(make_project, query,
                                                                   cli) -> None:
    root = shop(make_project, project=PROJECT.replace("{{ log_results(results) }}",
                                                      "{{ log_results(results) }"))
    db = root / "shop.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 2, out + err
    assert "shop-on-run-end-0" in err and "dbt_project.yml:10" in err
    assert "Traceback" not in out + err
    assert not db.exists() or not query(db, "select table_name from duckdb_tables()")


def test_a_hook_that_does_not_render_in_on_run_start_is_a_compilation_error(
        make_project, query, cli) -> None:
    # dbt compiles a hook outside its result: the error stops the command (exit 2), no
    # node and no on-run-end runs, and no run_results.json is written
    root = shop(make_project, project=PROJECT.replace("{{ log_start() }}",
                                                      "{{ no_such_macro() }}"))
    db = root / "shop.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db)
    assert code == 2, out + err
    assert "shop-on-run-start-1" in err and "dbt_project.yml:8" in err
    assert "on-run-start hook 1 did not render" in err and "no_such_macro" in err
    assert "no node was run" in err and "Traceback" not in out + err
    tables = {r[0] for r in query(db, "select table_name from duckdb_tables()")}
    assert tables == {"run_log"}            # the first hook ran; nothing after it
    assert query(db, "select count(*) from main.run_log") == [(0,)]
    assert not (root / "target" / "run_results.json").exists()


def test_a_hook_that_does_not_render_in_on_run_end_is_a_compilation_error(
        make_project, query, cli, tmp_path: Path) -> None:
    # dbt's after_run writes run_results.json (the hooks that ran), then raises: exit 2;
    # the runner publishes nothing
    root = shop(make_project, project=PROJECT.replace(
        "insert into main.run_log select 'rows_in_orders'", "{{ no_such_macro() }}"))
    (root / "models/orders.yml").write_text((root / "models/orders.yml").read_text()
                                            .replace("- name: orders\n",
                                                     "- name: orders\n    config: "
                                                     "{publish: true}\n"))
    published = tmp_path / "published"
    db = root / "shop.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db, "--vars",
                         f"{{publish_dir: '{published}'}}")
    assert code == 2, out + err
    assert "shop-on-run-end-1" in err and "on-run-end hook 1 did not render" in err
    assert "nothing was published" in err and "Traceback" not in out + err
    saved = dict((uid, status) for uid, status, _ in run_results(root))
    assert saved["model.shop.orders"] == "success"
    assert saved["operation.shop.shop-on-run-end-0"] == "success"
    assert "operation.shop.shop-on-run-end-1" not in saved
    assert "operation.shop.shop-on-run-end-2" not in saved       # not run, as in dbt
    assert query(db, "select count(*) from main.orders") == [(3,)]
    assert not (published / "shop.duckdb").exists()
