"""What an incremental build rewrites: the rows it writes, and the `_built_at` of the rows
it leaves alone. A build that rewrites too much still ends equal to a full refresh
(delete+insert repairs it), so test_incremental.py cannot see it; these tests count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from conftest_reports import ROOT, SESSION_COLUMNS, empty_zone, session, write_csv
from runner.api import build

REPORT_TIME = "2026-01-01T00:00:00Z"
SESSION_MODELS = ("int_sessions_priced", "charging_sessions_cpo")

ORG = {"organisation_id": "org_fi", "name": "Turku Energia", "country": "FI",
       "currency": "EUR", "timezone": "Europe/Helsinki", "is_public": "true",
       "updated_at": "2024-01-01T00:00:00Z"}
STATION = {"station_id": "st1", "evse_id": "FI*VIR*st1", "name": "st1",
           "organisation_id": "org_fi", "current_type": "AC", "location_type": "public",
           "updated_at": "2024-01-01T00:00:00Z"}
S = session


def day(charge_id: str, date: str) -> dict[str, Any]:
    return S(charge_id, "st1", f"{date}T10:00:00Z", f"{date}T11:00:00Z", 0, 1000, "1.24",
             charge_method="app", billing_type="prepaid", transaction_id=f"t-{charge_id}")


def first_zone(raw: Path) -> None:
    empty_zone(raw)
    write_csv(raw / "organisations" / "o.csv", [ORG])
    write_csv(raw / "stations" / "s.csv", [STATION])
    write_csv(raw / "revenue_share_agreements" / "a.csv",
              [{"organisation_id": "org_fi", "valid_from": "2024-01-01",
                "cpo_share_pct": "80"}])
    # an old session, and one a day before the next drop's
    write_csv(raw / "charging_sessions" / "1.csv",
              [day("c_old", "2024-05-01"), day("c_recent", "2024-07-01")], SESSION_COLUMNS)


def built_at(db: Path, model: str) -> dict[str, Any]:
    table = {"int_sessions_priced": "intermediate.int_sessions_priced",
             "charging_sessions_cpo": "reports.charging_sessions_cpo"}[model]
    key = "session_key" if model == "int_sessions_priced" else "charge_id"
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute(f"select {key}, _built_at from {table}").fetchall())


def two_builds(tmp_path: Path, lookback: int | None) -> tuple[dict, dict, dict]:
    """Build the first zone, add one session a day after the latest, build again (both
    with the given incremental_lookback_days, or the project's default). Returns, per
    model, the rows the second build wrote and the `_built_at` before and after it."""
    raw = tmp_path / "raw"
    first_zone(raw)
    db = tmp_path / "x.duckdb"
    vars = {"report_time": REPORT_TIME}
    if lookback is not None:
        vars["incremental_lookback_days"] = lookback
    first = build(ROOT, raw_dir=raw, db_path=db, vars=vars)
    assert first.ok, first.summary()
    before = {m: built_at(db, m) for m in SESSION_MODELS}
    write_csv(raw / "charging_sessions" / "2.csv", [day("c_new", "2024-07-02")],
              SESSION_COLUMNS)
    second = build(ROOT, raw_dir=raw, db_path=db, vars=vars)
    assert second.ok, second.summary()
    written = {n.name: n.rows for n in second.nodes if n.name in SESSION_MODELS}
    after = {m: built_at(db, m) for m in SESSION_MODELS}
    return written, before, after


def rewritten(before: dict, after: dict) -> set[str]:
    return {k for k in after if before.get(k) != after[k]}


def test_no_lookback_rewrites_only_the_new_session(tmp_path: Path) -> None:
    written, before, after = two_builds(tmp_path, lookback=0)
    assert written == {"int_sessions_priced": 1, "charging_sessions_cpo": 1}
    for model in SESSION_MODELS:
        assert rewritten(before[model], after[model]) == {"c_new"}, model


def test_lookback_days_rewrites_the_sessions_started_within_them(tmp_path: Path) -> None:
    # c_recent started a day before the latest start: within 3 days, not within 0
    written, before, after = two_builds(tmp_path, lookback=3)
    assert written == {"int_sessions_priced": 2, "charging_sessions_cpo": 2}
    for model in SESSION_MODELS:
        assert rewritten(before[model], after[model]) == {"c_new", "c_recent"}, model


def test_default_lookback_is_the_projects_var(tmp_path: Path) -> None:
    # dbt_project.yml sets 3 days
    written, _, _ = two_builds(tmp_path, lookback=None)
    assert written == {"int_sessions_priced": 2, "charging_sessions_cpo": 2}
