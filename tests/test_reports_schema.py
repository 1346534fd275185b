"""The report tables' shape: exactly the contract's columns (spec/reports.md), in the
report's order, with their types and their report headers as column comments; an empty
landing zone builds empty reports; the generated sample reconciles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest_reports import ROOT, Built, build_zone, empty_zone

from runner.api import build

TS, TEXT, MONEY, PCT = "TIMESTAMP WITH TIME ZONE", "VARCHAR", "DECIMAL(18,4)", "DECIMAL(5,2)"

CPO_COLUMNS = [
    ("created", TS, "Created"), ("charge_id", TEXT, "Charge ID"),
    ("station_id", TEXT, "Station ID"), ("evse_id", TEXT, "EVSE-ID"),
    ("station_name", TEXT, "Station name"), ("cpo_name", TEXT, "CPO name"),
    ("start_time", TS, "Start time"), ("stop_time", TS, "Stop time"),
    ("duration", "INTERVAL", "Duration"), ("energy_wh", "BIGINT", "Energy (Wh)"),
    ("meter_start", "BIGINT", "Meter start"), ("meter_stop", "BIGINT", "Meter stop"),
    ("vat_p", PCT, "VAT P"), ("vat", MONEY, "VAT"), ("net", MONEY, "Net"),
    ("price", MONEY, "Price"), ("currency", TEXT, "Currency"),
    ("public_private", TEXT, "Public/Private"), ("free_usage", "BOOLEAN", "Free usage"),
    ("plug_type", TEXT, "Plug type"), ("charge_method", TEXT, "Charge method"),
    ("operator", TEXT, "Operator"), ("provider_id", TEXT, "Provider ID"),
    ("transaction_id", TEXT, "Transaction ID"), ("cpo_share", MONEY, "CPO share"),
    ("billing_type", TEXT, "Billing type"), ("location_type", TEXT, "Location type"),
    ("organisation_id", TEXT, None), ("quality_flags", "VARCHAR[]", None),
    ("_built_at", TS, None),
]
ROAMING_COLUMNS = [
    ("month", "DATE", "Month"), ("network", TEXT, "Network"), ("cdr_id", TEXT, "CDR ID"),
    ("station_id", TEXT, "Station ID"), ("evse_id", TEXT, "EVSE-ID"),
    ("station_name", TEXT, "Station name"), ("start_time", TS, "Start time"),
    ("stop_time", TS, "Stop time"), ("energy_wh", "BIGINT", "Energy (Wh)"),
    ("meter_start", "BIGINT", "Meter start"), ("meter_stop", "BIGINT", "Meter stop"),
    ("price", MONEY, "Price"), ("currency", TEXT, "Currency"),
    ("public_private", TEXT, "Public/Private"), ("free_usage", "BOOLEAN", "Free usage"),
    ("plug_type", TEXT, "Plug type"), ("charge_method", TEXT, "Charge method"),
    ("operator", TEXT, "Operator"), ("provider_id", TEXT, "Provider ID"),
    ("transaction_id", TEXT, "Transaction ID"), ("duration", "INTERVAL", "Duration"),
    ("vat_rate", PCT, "VAT rate"), ("vat_amount", MONEY, "VAT amount"),
    ("organisation_id", TEXT, None), ("quality_flags", "VARCHAR[]", None),
    ("_built_at", TS, None),
]


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory) -> Built:
    tmp = tmp_path_factory.mktemp("empty")
    return build_zone(tmp, empty_zone(tmp / "raw"), "")


@pytest.mark.parametrize("table, expected", [
    ("reports.charging_sessions_cpo", CPO_COLUMNS),
    ("reports.roaming_sessions_cpo", ROAMING_COLUMNS),
])
def test_columns_types_and_headers(empty_build, table, expected):
    schema, name = table.split(".")
    rows = empty_build.query(
        f"select column_name, data_type, comment from duckdb_columns() "
        f"where schema_name = '{schema}' and table_name = '{name}' order by column_index")
    assert [(r["column_name"], r["data_type"]) for r in rows] == \
        [(c, t) for c, t, _ in expected]
    for row, (_, _, header) in zip(rows, expected):
        if header:
            assert row["comment"].startswith(f"Report header: {header}. "), row
        else:
            assert row["comment"].startswith("Not exported."), row


def test_empty_landing_zone_builds_empty_reports(empty_build):
    for table in ("reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
                  "audit.rejected_sessions", "audit.reconciliation",
                  "audit.reconciliation_files"):
        assert empty_build.query(f"select * from {table}") == [], table


def test_every_model_is_documented_with_its_grain():
    from runner.project.loader import load_project
    project = load_project(ROOT)
    for name, node in project.models.items():
        assert node.description, name
        assert "one row per" in node.description.lower(), name
        if node.schema == "reports":
            assert set(node.columns) == {c for c, _, _ in (
                CPO_COLUMNS if name == "charging_sessions_cpo" else ROAMING_COLUMNS)}


def test_generated_sample_builds_and_reconciles(tmp_path):
    from cpo.sample import generate
    raw = tmp_path / "raw"
    generate(raw, 2000, 7)
    result = build(ROOT, raw_dir=raw, db_path=tmp_path / "x.duckdb",
                   vars={"report_time": "2025-10-01T00:00:00Z"})
    assert result.ok, result.summary()
    built = Built(tmp_path / "x.duckdb", result)
    recon = built.query("select * from audit.reconciliation")
    assert recon and all(r["is_reconciled"] for r in recon)
    [row] = built.query(
        "select (select count(distinct session_key) filter (where not _charge_id_missing)"
        " from staging.stg_raw__charging_session_versions)"
        " as raw, (select count(*) from reports.charging_sessions_cpo) as reported, "
        "(select count(*) from audit.rejected_sessions) as rejected")
    assert row["raw"] == row["reported"] + row["rejected"]
    assert sum(r["raw_sessions"] for r in recon) == row["raw"]


@pytest.mark.parametrize("country, day, rate", [
    ("FI", "2024-08-31", "24"), ("FI", "2024-09-01", "25.5"),
    ("EE", "2023-12-31", "20"), ("EE", "2024-01-01", "22"), ("EE", "2025-06-30", "22"),
    ("EE", "2025-07-01", "24"), ("DE", "2020-06-30", "19"), ("DE", "2020-07-01", "16"),
    ("DE", "2021-01-01", "19"), ("IS", "2014-12-31", "25.5"), ("IS", "2015-01-01", "24"),
    ("SE", "2024-01-01", "25"), ("NO", "2024-01-01", "25"), ("DK", "2024-01-01", "25"),
    ("NL", "2024-01-01", "21"),
])
def test_vat_rate_seed(empty_build, country, day, rate):
    rows = empty_build.query(
        f"select vat_pct from reference.vat_rates where country = '{country}' "
        f"and valid_from <= date '{day}' and (valid_to is null or valid_to >= date '{day}')")
    assert [r["vat_pct"] for r in rows] == [Decimal(rate)]


def test_no_model_defines_a_macro() -> None:
    """dbt does not see a macro defined inside a model file (bench/vs_dbt.py builds these
    models with dbt-duckdb): macros live under macros/."""
    import re
    defining = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "models").rglob("*.sql"))
                if re.search(r"\{%-?\s*macro\b", p.read_text())]
    assert defining == []
