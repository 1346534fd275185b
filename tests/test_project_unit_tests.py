"""The project's own unit tests (models/*/_*__unit_tests.yml) and its report contracts:
the unit tests pass, each plausible one-line mistake below makes one of them fail, and
a report whose column type drifts fails its contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest_reports import ROOT, empty_zone
from runner.api import build, execute

PRICED = "models/intermediate/int_sessions_priced.sql"
VERSIONS = "macros/latest_versions.sql"
KEYS = "macros/incremental.sql"

# (file, original text, mistake, the unit test that catches it)
MISTAKES = [
    ("models/reports/roaming_sessions_cpo.sql",
     "coalesce(free_usage_at_report_time.is_free_usage, false)\n            as free_usage,",
     "charging_sessions.free_usage as free_usage,",
     "roaming_sessions_cpo_free_usage_at_report_time"),
    ("models/reports/charging_sessions_cpo.sql", "cast(price_rounded - vat_amount",
     "cast(price - vat_amount", "charging_sessions_cpo_net_is_price_less_vat"),
    (VERSIONS, "stop_time is not null or {{ text.stop_time }} is not null,\n"
     "                price is not null or {{ text.price }} is not null,",
     "price is not null or {{ text.price }} is not null,\n"
     "                stop_time is not null or {{ text.stop_time }} is not null,",
     "stg_raw__charging_sessions_latest_version_wins"),
    (KEYS, "where _loaded_at > {{ watermark }}",
     "where _loaded_at >= {{ watermark }}",
     "int_sessions_priced_incremental_recomputes_changed_keys"),
    (PRICED, "where session_key not in (select session_key from sessions_to_price)",
     "where session_key in (select session_key from sessions_to_price)",
     "int_sessions_priced_incremental_recomputes_changed_keys"),
    (PRICED, "when meter_stop_wh < meter_start_wh and not is_counter_charge\n"
             "                then null",
     "when meter_stop_wh < meter_start_wh\n                then null",
     "int_sessions_priced_vat_month_free_usage_and_counter_charge"),
    (PRICED, "and all_sessions.start_date_local >= vat_rates.valid_from",
     "and cast(all_sessions.start_time as date) >= vat_rates.valid_from",
     "int_sessions_priced_vat_month_free_usage_and_counter_charge"),
    ("macros/time.sql", "when dayofmonth({{ utc }}) between 2 and 27",
     "when dayofmonth({{ utc }}) between 1 and 31",
     "int_sessions_priced_vat_month_free_usage_and_counter_charge"),
    ("macros/money.sql",
     "* ((2 * abs({{ p }}) * {{ r }} + (10000 + {{ r }}) * {{ step }})",
     "* ((2 * abs({{ p }}) * {{ r }} + (10000 + {{ r }}))",
     "int_sessions_priced_vat_month_free_usage_and_counter_charge"),
]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for part in ("models", "macros", "seeds"):
        shutil.copytree(ROOT / part, root / part)
    shutil.copy(ROOT / "dbt_project.yml", root / "dbt_project.yml")
    return root


def _unit(root: Path, db: Path) -> dict[str, str]:
    result = execute("test", root, db_path=db, select=["test_type:unit"])
    return {n.name: n.status for n in result.nodes}


def test_the_projects_unit_tests_pass(tmp_path: Path) -> None:
    statuses = _unit(_copy(tmp_path), tmp_path / "x.duckdb")
    assert len(statuses) >= 6
    assert set(statuses.values()) == {"pass"}, statuses


@pytest.mark.parametrize("file, original, mistake, catcher", MISTAKES,
                         ids=[m[3] + "-" + str(i) for i, m in enumerate(MISTAKES)])
def test_a_one_line_mistake_fails_a_unit_test(tmp_path: Path, file: str, original: str,
                                              mistake: str, catcher: str) -> None:
    root = _copy(tmp_path)
    path = root / file
    text = path.read_text()
    assert text.count(original) == 1, f"{original!r} is no longer in {file} once"
    path.write_text(text.replace(original, mistake))
    statuses = _unit(root, tmp_path / "x.duckdb")
    assert statuses[catcher] == "fail", statuses


def test_the_reports_enforce_their_contract(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    model = root / "models/reports/charging_sessions_cpo.sql"
    model.write_text(model.read_text().replace(
        "cast(price_rounded - vat_amount as decimal(18, 4)) as net",
        "cast(price_rounded - vat_amount as decimal(18, 2)) as net"))
    result = build(root, raw_dir=empty_zone(tmp_path / "raw"), db_path=tmp_path / "x.duckdb",
                   vars={"report_time": "2024-10-01T00:00:00Z"})
    by_name = {n.name: n for n in result.nodes}
    failed = by_name["charging_sessions_cpo"]
    assert failed.status == "error"
    assert "| net | DECIMAL(18,2) | DECIMAL(18,4) | data type mismatch |" in \
        " ".join(failed.message.split()), failed.message
    assert by_name["roaming_sessions_cpo"].status == "skipped"
    assert not any("'contract'" in w or "'data_type'" in w for w in result.warnings)
