"""`runner docs generate` and `runner docs serve` on small projects: target/catalog.json
in dbt's catalog v1 shape, the site's files, row counts and test results from a build,
and the errors a person gets."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import duckdb
import pytest

PROJECT = {
    "dbt_project.yml": """
        name: tiny
        models:
          tiny:
            +materialized: table
    """,
    "seeds/rates.csv": "country,rate\nFI,25.5\nSE,25\n",
    "models/report.sql": """
        {{ config(tags=['report'], unique_key='country') }}
        select country, rate * 2 as doubled from {{ ref('rates') }} where rate > 0
    """,
    "models/_models.yml": """
        version: 2
        models:
          - name: report
            description: Rates, doubled.
            columns:
              - name: country
                description: The country's code.
                data_tests: [unique, not_null]
    """,
}


def _data(target: Path) -> dict:
    text = (target / "docs_data.js").read_text()
    return json.loads(text[len("window.DOCS = "):].rstrip().rstrip(";"))


def test_catalog_json_and_site_after_a_build(make_project, cli) -> None:
    root = make_project(PROJECT)
    code, out, err = cli("build", "--project-dir", str(root))
    assert code == 0, out + err
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 0, out + err
    assert f"site: {root / 'target' / 'index.html'}" in out
    for name in ("index.html", "docs.js", "docs.css", "docs_data.js", "catalog.json"):
        assert (root / "target" / name).is_file(), name
    html = (root / "target" / "index.html").read_text()
    assert "http" not in html.replace('href="#', "")      # nothing fetched from elsewhere
    catalog = json.loads((root / "target" / "catalog.json").read_text())
    assert catalog["metadata"]["dbt_schema_version"] == \
        "https://schemas.getdbt.com/dbt/catalog/v1.json"
    assert set(catalog) == {"metadata", "nodes", "sources", "errors"}
    report = catalog["nodes"]["model.tiny.report"]
    assert report["metadata"]["type"] == "BASE TABLE"
    assert report["metadata"]["schema"] == "main" and report["metadata"]["name"] == "report"
    assert report["columns"]["country"] == {"type": "VARCHAR", "index": 1, "name": "country",
                                            "comment": "The country's code."}
    assert report["columns"]["doubled"]["type"] == "DOUBLE"
    assert report["stats"]["row_count"]["value"] == 2
    assert report["stats"]["bytes"]["value"] > 0
    assert "seed.tiny.rates" in catalog["nodes"]
    data = _data(root / "target")
    node = data["nodes"]["model.tiny.report"]
    assert node["config"]["tags"] == ["report"] and node["config"]["unique_key"] == "country"
    assert node["result"]["status"] == "success"
    tests = [data["tests"][t] for t in node["tests"]]
    assert sorted((t["type"], t["result"]["status"]) for t in tests) == \
        [("not_null", "pass"), ("unique", "pass")]
    assert "{{ ref('rates') }}" in node["raw_sql"]
    assert '"main"."rates"' in node["compiled_sql"]
    assert set(map(tuple, data["lineage"]["model.tiny.report"]["doubled"])) == {
        ("seed.tiny.rates", "rate", "value")}


def test_without_a_database_types_come_from_the_compiled_sql(make_project, cli) -> None:
    root = make_project(PROJECT)
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 0, out + err
    assert "note: no database at" in out
    data = _data(root / "target")
    columns = {c["name"]: c["type"] for c in data["nodes"]["model.tiny.report"]["columns"]}
    assert columns == {"country": "VARCHAR", "doubled": "DOUBLE"}
    catalog = json.loads((root / "target" / "catalog.json").read_text())
    assert catalog["nodes"] == {}         # the catalog lists what the database holds


def test_a_glossary_query_that_does_not_run_is_an_error_naming_the_var(make_project,
                                                                       cli) -> None:
    files = dict(PROJECT)
    files["dbt_project.yml"] = "name: tiny\nvars:\n  docs_column_glossary: select nope from x\n"
    root = make_project(files)
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 2, out + err
    assert "docs_column_glossary" in err and "dbt_project.yml" in err
    assert "Traceback" not in err
    # it is the project's SQL: files outside the project are not read
    outside = root.parent / "outside.csv"
    outside.write_text("relation,column_name\nmain.report,country\n")
    (root / "dbt_project.yml").write_text(
        f"name: tiny\nvars:\n  docs_column_glossary: select * from read_csv('{outside}')\n")
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 2, out + err
    assert "docs_column_glossary" in err and "outside.csv" in err


def test_a_database_in_use_stops_docs_generate(make_project, cli) -> None:
    root = make_project(PROJECT)
    assert cli("build", "--project-dir", str(root))[0] == 0
    import subprocess
    import sys
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ready', flush=True); time.sleep(60)",
                               str(root / "tiny.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        code, out, err = cli("docs", "generate", "--project-dir", str(root))
    finally:
        holder.kill()
        holder.wait()
    assert code == 3, out + err
    assert "in use" in err


def test_docs_serve_serves_the_site_and_refuses_without_one(make_project, cli) -> None:
    from runner.docs.site import serve
    root = make_project(PROJECT)
    code, out, err = cli("docs", "serve", "--project-dir", str(root))
    assert code == 2 and "runner docs generate" in err
    assert cli("docs", "generate", "--project-dir", str(root))[0] == 0
    ready: list[str] = []
    thread = threading.Thread(target=serve, args=(root / "target", 0),
                              kwargs={"on_ready": ready.append}, daemon=True)
    thread.start()
    for _ in range(100):
        if ready:
            break
        threading.Event().wait(0.05)
    assert ready and ready[0].startswith("http://127.0.0.1:")
    page = urllib.request.urlopen(ready[0] + "index.html", timeout=5).read().decode()
    assert '<script src="docs_data.js">' in page
    data = urllib.request.urlopen(ready[0] + "docs_data.js", timeout=5).read().decode()
    assert data.startswith("window.DOCS = ")


def test_doc_blocks_fill_descriptions_and_an_unknown_one_is_an_error(make_project,
                                                                     cli) -> None:
    files = dict(PROJECT)
    files["models/docs.md"] = """
        {% docs doubled_rate %}
        The rate, **doubled**.
        {% enddocs %}
    """
    files["models/_models.yml"] = """
        version: 2
        models:
          - name: report
            description: "{{ doc('doubled_rate') }}"
            columns:
              - name: doubled
                description: "Twice: {{ doc('doubled_rate') }}"
    """
    root = make_project(files)
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 0, out + err
    node = _data(root / "target")["nodes"]["model.tiny.report"]
    assert node["description"] == "The rate, **doubled**."
    assert [c["description"] for c in node["columns"] if c["name"] == "doubled"] == \
        ["Twice: The rate, **doubled**."]
    (root / "models/_models.yml").write_text(
        "version: 2\nmodels:\n  - name: report\n    description: \"{{ doc('double_rate') }}\"\n")
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 2, out + err
    assert "doc('double_rate')" in err and "did you mean 'doubled_rate'" in err
    assert "models/_models.yml" in err


def test_a_models_unit_tests_and_their_last_results_are_in_the_document(make_project,
                                                                        cli) -> None:
    files = dict(PROJECT)
    files["models/_unit_tests.yml"] = """
        version: 2
        unit_tests:
          - name: doubles_the_rate
            description: Each rate comes out twice as large.
            model: report
            given:
              - input: ref('rates')
                rows: [{country: FI, rate: 10}, {country: XX, rate: 0}]
            expect:
              rows: [{country: FI, doubled: 20}]
    """
    root = make_project(files)
    code, out, err = cli("build", "--project-dir", str(root))
    assert code == 0, out + err
    code, out, err = cli("docs", "generate", "--project-dir", str(root))
    assert code == 0, out + err
    data = _data(root / "target")
    uid = "unit_test.tiny.report.doubles_the_rate"
    assert data["nodes"]["model.tiny.report"]["unit_tests"] == [uid]
    assert data["nodes"]["seed.tiny.rates"]["unit_tests"] == []
    unit = data["unit_tests"][uid]
    assert unit["name"] == "doubles_the_rate" and unit["model"] == "model.tiny.report"
    assert unit["description"] == "Each rate comes out twice as large."
    assert unit["path"] == "models/_unit_tests.yml"
    assert unit["given"] == [{"input": "ref('rates')", "format": "dict", "rows": 2}]
    assert unit["result"]["status"] == "pass"
    # a failing one: its status and the diff the run reported
    (root / "models/_unit_tests.yml").write_text(
        (root / "models/_unit_tests.yml").read_text().replace("doubled: 20", "doubled: 21"))
    assert cli("build", "--project-dir", str(root))[0] == 1
    assert cli("docs", "generate", "--project-dir", str(root))[0] == 0
    result = _data(root / "target")["unit_tests"][uid]["result"]
    assert result["status"] == "fail" and "actual differs from expected" in result["message"]
