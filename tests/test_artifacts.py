"""Every run writes target/manifest.json (dbt's manifest v12) and target/run_results.json
(dbt's run-results v6), as dbt 1.11 writes them, so that tools that read dbt's artifacts
load them; the slow tests load them with dbt-artifacts-parser from PyPI."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.api import build, compile_project, list_nodes
from runner.docs.generate import generate as docs_generate

ROOT = Path(__file__).resolve().parents[1]
JAFFLE = ROOT.parent / "shared" / "data" / "public" / "dbt-projects" / "jaffle_shop_duckdb"

SHOP = {
    "dbt_project.yml": "name: shop\nversion: '1.0'\nconfig-version: 2\n",
    "seeds/prices.csv": "id,price\n1,2.5\n2,3.0\n",
    "macros/cents.sql": "{% macro cents(x) %}({{ x }} * 100){% endmacro %}\n"
                        "{% macro twice(x) %}{{ cents(x) }} * 2{% endmacro %}\n",
    "models/staging/stg_prices.sql": "select id, {{ cents('price') }} as cents "
                                     "from {{ ref('prices') }}",
    "models/orders.sql": "{{ config(materialized='table', tags=['daily']) }}\n"
                         "select id, cents from {{ ref('stg_prices') }}",
    "models/schema.yml": """\
        version: 2
        models:
          - name: orders
            description: '{{ doc("orders") }}'
            columns:
              - name: id
                description: The order.
                data_type: integer
                data_tests: [unique, not_null]
        """,
    "models/docs.md": "{% docs orders %}\nOne row per order.\n{% enddocs %}\n",
}


@pytest.fixture
def shop(make_project) -> Path:
    return make_project(SHOP, name="shop")


def _artifacts(root: Path) -> tuple[dict, dict]:
    return (json.loads((root / "target" / "manifest.json").read_text()),
            json.loads((root / "target" / "run_results.json").read_text()))


def test_the_manifest_lists_nodes_macros_docs_and_the_graph(shop: Path) -> None:
    assert build(shop, db_path=shop / "shop.duckdb").ok
    manifest, _ = _artifacts(shop)
    meta = manifest["metadata"]
    assert meta["dbt_schema_version"] == "https://schemas.getdbt.com/dbt/manifest/v12.json"
    assert meta["project_name"] == "shop" and meta["adapter_type"] == "duckdb"
    nodes = manifest["nodes"]
    tests = sorted(uid.rsplit(".", 1)[0] for uid in nodes if uid.startswith("test."))
    assert tests == ["test.shop.not_null_orders_id", "test.shop.unique_orders_id"]
    stg = nodes["model.shop.stg_prices"]
    assert stg["fqn"] == ["shop", "staging", "stg_prices"]
    assert stg["path"] == "staging/stg_prices.sql"
    assert stg["original_file_path"] == "models/staging/stg_prices.sql"
    assert stg["depends_on"] == {"nodes": ["seed.shop.prices"], "macros": ["macro.shop.cents"]}
    assert stg["checksum"] == {"name": "sha256", "checksum": hashlib.sha256(
        SHOP["models/staging/stg_prices.sql"].encode()).hexdigest()}
    assert stg["compiled_code"] == 'select id, (price * 100) as cents from "main"."prices"'
    assert stg["relation_name"] == '"shop"."main"."stg_prices"'
    assert stg["config"]["materialized"] == "view"
    orders = nodes["model.shop.orders"]
    assert orders["config"]["materialized"] == "table" and orders["tags"] == ["daily"]
    assert orders["columns"]["id"]["data_type"] == "integer"
    assert orders["columns"]["id"]["description"] == "The order."
    assert nodes["seed.shop.prices"]["resource_type"] == "seed"
    unique = next(n for uid, n in nodes.items() if uid.startswith("test.shop.unique"))
    assert unique["attached_node"] == "model.shop.orders"
    assert unique["test_metadata"]["name"] == "unique"
    assert unique["depends_on"]["nodes"] == ["model.shop.orders"]
    assert "macro.shop.twice" in manifest["macros"]
    assert manifest["macros"]["macro.shop.twice"]["depends_on"]["macros"] == ["macro.shop.cents"]
    assert "macro.dbt.date_trunc" in manifest["macros"]
    assert manifest["docs"]["doc.shop.orders"]["block_contents"] == "One row per order."
    assert manifest["parent_map"]["model.shop.orders"] == ["model.shop.stg_prices"]
    assert sorted(manifest["child_map"]["model.shop.orders"]) == sorted(
        uid for uid in nodes if uid.startswith("test."))
    assert manifest["exposures"] == {} and manifest["metrics"] == {}


def test_run_results_name_each_node_as_the_manifest_does(make_project) -> None:
    root = make_project({**SHOP, "models/broken.sql": "select nope from {{ ref('orders') }}",
                         "models/after.sql": "select * from {{ ref('broken') }}"},
                        name="shop")
    result = build(root, db_path=root / "shop.duckdb")
    assert not result.ok
    manifest, results = _artifacts(root)
    assert results["metadata"]["dbt_schema_version"] == \
        "https://schemas.getdbt.com/dbt/run-results/v6.json"
    assert results["metadata"]["invocation_id"] == manifest["metadata"]["invocation_id"]
    assert results["args"]["which"] == "build"
    by_id = {r["unique_id"]: r for r in results["results"]}
    assert set(by_id) <= set(manifest["nodes"])
    assert len(by_id) == len(result.nodes) == 7
    assert by_id["seed.shop.prices"]["status"] == "success"
    assert by_id["seed.shop.prices"]["adapter_response"]["rows_affected"] == 2
    assert by_id["model.shop.orders"]["relation_name"] == '"shop"."main"."orders"'
    assert "(price * 100)" in by_id["model.shop.stg_prices"]["compiled_code"]
    assert by_id["model.shop.broken"]["status"] == "error"
    assert "nope" in by_id["model.shop.broken"]["message"]
    assert by_id["model.shop.after"]["status"] == "skipped"
    test = next(r for uid, r in by_id.items() if uid.startswith("test.shop.unique"))
    assert test["status"] == "pass" and test["failures"] == 0
    for row in results["results"]:
        assert row["timing"] == [] or row["timing"][-1]["name"] == "execute"
    assert results["elapsed_time"] >= sum(r["execution_time"] for r in results["results"])


def test_compile_and_ls_write_the_manifest(shop: Path) -> None:
    compile_project(shop)
    manifest = json.loads((shop / "target" / "manifest.json").read_text())
    assert "select id, (price * 100)" in manifest["nodes"]["model.shop.stg_prices"][
        "compiled_code"]
    results = json.loads((shop / "target" / "run_results.json").read_text())
    assert results["args"]["which"] == "compile"
    assert {r["unique_id"]: r["status"] for r in results["results"]} == {
        "model.shop.stg_prices": "success", "model.shop.orders": "success"}
    assert "(price * 100)" in results["results"][0]["compiled_code"]
    (shop / "target" / "manifest.json").unlink()
    list_nodes(shop)
    manifest = json.loads((shop / "target" / "manifest.json").read_text())
    assert "compiled_code" not in manifest["nodes"]["model.shop.stg_prices"]
    assert manifest["nodes"]["model.shop.stg_prices"]["raw_code"] == \
        SHOP["models/staging/stg_prices.sql"]


def test_a_target_path_outside_the_project_holds_the_manifest(shop: Path,
                                                               tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    compile_project(shop, target_path=elsewhere)
    manifest = json.loads((elsewhere / "manifest.json").read_text())
    node = manifest["nodes"]["model.shop.stg_prices"]
    assert node["compiled_path"] == str(elsewhere / "compiled" / "models" / "staging" /
                                        "stg_prices.sql")


def test_docs_generate_writes_the_catalog(shop: Path, cli) -> None:
    db = shop / "shop.duckdb"
    assert build(shop, db_path=db).ok
    code, out, err = cli("docs", "generate", "--project-dir", shop, "--db", db)
    assert code == 0, err
    catalog = json.loads((shop / "target" / "catalog.json").read_text())
    assert catalog["metadata"]["dbt_schema_version"] == \
        "https://schemas.getdbt.com/dbt/catalog/v1.json"
    assert set(catalog["nodes"]) == {"model.shop.orders", "model.shop.stg_prices",
                                     "seed.shop.prices"}
    orders = catalog["nodes"]["model.shop.orders"]
    assert orders["metadata"]["type"] == "BASE TABLE"
    assert catalog["nodes"]["model.shop.stg_prices"]["metadata"]["type"] == "VIEW"
    assert {n: (c["type"], c["index"]) for n, c in orders["columns"].items()} == {
        "id": ("INTEGER", 1), "cents": ("DOUBLE", 2)}     # a seed's whole numbers, as dbt-duckdb
    manifest = json.loads((shop / "target" / "manifest.json").read_text())
    assert "compiled_code" in manifest["nodes"]["model.shop.orders"]   # compiled, as dbt


# -- dbt's own readers ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def parser_venv(tmp_path_factory) -> Path:
    """A virtual environment with dbt-artifacts-parser from PyPI."""
    venv = tmp_path_factory.mktemp("parservenv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dbt-artifacts-parser"],
                   check=True)
    return venv / "bin" / "python"


LOAD = """
import json, sys
from dbt_artifacts_parser.parser import parse_catalog, parse_manifest, parse_run_results
target = sys.argv[1]
manifest = parse_manifest(json.load(open(target + "/manifest.json")))
results = parse_run_results(json.load(open(target + "/run_results.json")))
catalog = parse_catalog(json.load(open(target + "/catalog.json")))
print(type(manifest).__name__, len(manifest.nodes), type(results).__name__,
      len(results.results), type(catalog).__name__, len(catalog.nodes))
"""


def _load(python: Path, target: Path) -> list[str]:
    done = subprocess.run([str(python), "-c", LOAD, str(target)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


@pytest.mark.slow
def test_jaffle_shop_artifacts_load_in_dbt_artifacts_parser(parser_venv, tmp_path) -> None:
    if not JAFFLE.is_dir():
        pytest.skip(f"the public jaffle_shop_duckdb project is not at {JAFFLE}")
    root = tmp_path / "jaffle_shop_duckdb"
    shutil.copytree(JAFFLE, root, ignore=shutil.ignore_patterns("target", "*.duckdb"))
    result = build(root, db_path=root / "jaffle_shop.duckdb")
    assert result.ok, result.summary()
    run_results = (root / "target" / "run_results.json").read_text()
    docs_generate(root)                          # docs generate: catalog.json, manifest
    (root / "target" / "run_results.json").write_text(run_results)
    loaded = _load(parser_venv, root / "target")
    assert loaded == ["ManifestV12", "28", "RunResultsV6", "28", "CatalogV1", "8"], loaded


@pytest.mark.slow
def test_this_projects_artifacts_load_in_dbt_artifacts_parser(parser_venv, tmp_path) -> None:
    from cpo.sample import generate
    root = tmp_path / "project"
    root.mkdir()
    for part in ("dbt_project.yml", "models", "macros", "seeds", "tests"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / part)
    generate(tmp_path / "raw", 200, 7)
    result = build(root, raw_dir=tmp_path / "raw", db_path=tmp_path / "cpo.duckdb",
                   vars={"report_time": "2024-10-01T00:00:00Z"})
    assert result.ok, result.summary()
    docs_generate(root, db_path=tmp_path / "cpo.duckdb",
                  vars={"report_time": "2024-10-01T00:00:00Z"})
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    assert manifest["sources"], "the raw sources are listed"
    loaded = _load(parser_venv, root / "target")
    assert loaded[0] == "ManifestV12" and loaded[2] == "RunResultsV6", loaded
    assert int(loaded[3]) == len(result.nodes)


@pytest.mark.slow
def test_dbt_colibri_draws_the_jaffle_shop_lineage(tmp_path, tmp_path_factory) -> None:
    """dbt-colibri (PyPI) reads the manifest and catalog: the column lineage of
    jaffle_shop_duckdb, as from dbt's own artifacts (45 edges; 5 models with parents)."""
    if not JAFFLE.is_dir():
        pytest.skip(f"the public jaffle_shop_duckdb project is not at {JAFFLE}")
    venv = tmp_path_factory.mktemp("colibrivenv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dbt-colibri"], check=True)
    root = tmp_path / "jaffle_shop_duckdb"
    shutil.copytree(JAFFLE, root, ignore=shutil.ignore_patterns("target", "*.duckdb"))
    assert build(root, db_path=root / "jaffle_shop.duckdb").ok
    docs_generate(root)
    done = subprocess.run([str(venv / "bin" / "colibri"), "generate", "--disable-telemetry",
                           "--output-dir", str(tmp_path / "dist")], cwd=root,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DO_NOT_TRACK": "1"})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lineage = json.loads((tmp_path / "dist" / "colibri-manifest.json").read_text())["lineage"]
    assert len(lineage["edges"]) == 45 and len(lineage["parents"]) == 5, \
        {k: len(v) for k, v in lineage.items()}


@pytest.mark.slow
def test_sources_json_loads_in_dbt_artifacts_parser(parser_venv, make_project,
                                                    tmp_path) -> None:
    from runner.task.freshness import source_freshness
    from test_state import SOURCES, _raw
    root = make_project(SOURCES, name="fr")
    _, out = source_freshness(root, _raw(tmp_path, newest_days_ago=2), tmp_path / "fr.duckdb")
    script = ("import json, sys\n"
              "from dbt_artifacts_parser.parser import parse_sources\n"
              "s = parse_sources(json.load(open(sys.argv[1])))\n"
              "print(type(s).__name__, len(s.results))\n")
    done = subprocess.run([str(parser_venv), "-c", script, str(out)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["SourcesV3", "2"]
