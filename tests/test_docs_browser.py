"""The docs site of this project in a real headless browser: Debian's chromium
(/usr/bin/chromium, installed by .ci/run) driven by Playwright, the site opened from
disk (file://) after `runner build` and `runner docs generate` on a small sample.
Screenshots of the main pages go to target/docs-screenshots/ of this project."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "target" / "docs-screenshots"
PROJECT_FILES = ["dbt_project.yml", "roles.yml", "models", "macros", "seeds",
                 "tests/data_tests"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ROAMING = "model.cpo_reports.roaming_sessions_cpo"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium "
                    "(apt-get install -y chromium, as .ci/run does)")
    root = tmp_path_factory.mktemp("docsite") / "project"
    for rel in PROJECT_FILES:
        source, target = ROOT / rel, root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for args in (["generate", "--out", "data/raw", "--sessions", "2000"], ["build"],
                 ["docs", "generate"]):
        proc = subprocess.run([sys.executable, "-m", "runner", *args], cwd=root, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return root / "target" / "index.html"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"fetched {r.url}")
            if not r.url.startswith(("file://", "data:")) else None)
    page.problems = problems
    yield page
    page.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _report_headers(report: str) -> list[str]:
    with open(ROOT / "seeds" / "report_columns.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["report"] == report]
    return [r["header"] for r in sorted(rows, key=lambda r: int(r["position"]))]


def test_the_site_opens_from_disk_and_lists_the_roaming_report_columns(site, page) -> None:
    page.goto(site.as_uri())
    assert page.title() == "cpo_reports docs"
    assert page.locator("#main h1").inner_text() == "cpo_reports"
    _shot(page, "overview")
    page.goto(f"{site.as_uri()}#!/node/{ROAMING}")
    page.wait_for_selector("#columns")
    assert page.locator("#main h1").inner_text() == "reports.roaming_sessions_cpo"
    headers = page.locator("#columns tr.col .glossary b:text-is('Report header:')")
    assert headers.count() == 23
    shown = [t.split("Report header:")[1].split("·")[0].strip()
             for t in page.locator("#columns tr.col .glossary").all_inner_texts()]
    assert shown == _report_headers("roaming-sessions")
    assert "vat_amount" in page.locator("#columns").inner_text()
    _shot(page, "roaming_sessions_cpo")
    assert page.problems == []


def test_vat_amount_lineage_reaches_the_raw_price_and_the_organisations_country(
        site, page) -> None:
    page.goto(site.as_uri())
    page.goto(f"{site.as_uri()}#!/column/{ROAMING}/vat_amount")
    page.wait_for_selector(".rawlineage")
    values = page.locator("table.rawlineage.value").inner_text()
    rows = page.locator("table.rawlineage.filter").inner_text()
    assert "raw.charging_sessions.price" in values
    assert "reference.vat_rates.vat_pct" in values
    assert "raw.organisations.country" in rows
    assert "raw.organisations.country" not in values
    everything = page.locator(".graph svg g.n").count()
    assert everything > 20
    _shot(page, "lineage_vat_amount")
    page.check("#valueonly")               # the graph of the value's columns alone
    drawn = page.locator(".graph svg g.n title").all_text_contents()
    assert len(drawn) < everything
    assert {"charging_sessions.price", "vat_rates.vat_pct", "roaming_sessions_cpo.vat_amount"} \
        <= set(drawn)
    assert "organisations.country" not in drawn
    page.locator(".graph").scroll_into_view_if_needed()
    _shot(page, "lineage_vat_amount_values")
    page.uncheck("#valueonly")
    # a raw column's page: what reads it
    page.locator("table.rawlineage.value a", has_text="raw.charging_sessions.price").click()
    page.wait_for_selector("#main h1:text-is('raw.charging_sessions.price')")
    assert "stg_raw__charging_session_versions" in page.locator("#main").inner_text()
    assert page.problems == []


def test_search_finds_free_usage(site, page) -> None:
    page.goto(site.as_uri())
    page.fill("#search", "free_usage")
    page.wait_for_selector("#results .hit")
    hits = page.locator("#results").inner_text()
    assert "reports.roaming_sessions_cpo.free_usage" in hits
    assert "reports.charging_sessions_cpo.free_usage" in hits
    _shot(page, "search_free_usage")
    assert page.problems == []


def test_the_graph_focuses_on_a_selector(site, page) -> None:
    page.goto(f"{site.as_uri()}#!/graph/" + "%2Bcharging_sessions_cpo")
    page.wait_for_selector(".graph svg")
    labels = page.locator(".graph svg g.n title").all_text_contents()
    assert "reports.charging_sessions_cpo" in labels
    assert "raw.charging_sessions" in labels and "reference.vat_rates" in labels
    assert "reports.roaming_sessions_cpo" not in labels
    assert "audit.reconciliation" not in labels
    _shot(page, "graph_charging_sessions_cpo")
    page.fill("#selector", "roaming_sessions_cpo+")
    page.press("#selector", "Enter")
    page.wait_for_function("document.querySelectorAll('.graph svg g.n').length < 10")
    labels = page.locator(".graph svg g.n title").all_text_contents()
    assert "reports.roaming_sessions_cpo" in labels
    assert "reports.charging_sessions_cpo" not in labels
    page.goto(f"{site.as_uri()}#!/graph/")
    page.wait_for_selector(".graph svg")
    _shot(page, "graph_all")
    assert page.problems == []


def test_a_models_page_lists_its_unit_tests_with_their_last_status(site, page) -> None:
    import yaml
    names = [u["name"] for path in sorted(ROOT.glob("models/*/_*__unit_tests.yml"))
             for u in yaml.safe_load(path.read_text())["unit_tests"]
             if u["model"] == "int_sessions_priced"]
    assert names
    page.goto(f"{site.as_uri()}#!/node/model.cpo_reports.int_sessions_priced")
    page.wait_for_selector("#unittests")
    rows = page.locator("#unittests tr").all_inner_texts()[1:]
    assert [r.split("\n")[0].strip() for r in rows] == names
    assert page.locator("#unittests .badge.pass").count() == len(names)
    assert "ref('stg_raw__charging_session_versions')" in page.locator("#unittests").inner_text()
    page.locator("#unittests").scroll_into_view_if_needed()
    _shot(page, "unit_tests_int_sessions_priced")
    assert page.problems == []
