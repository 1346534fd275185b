"""Shared helpers of the report tests: write a small landing zone (CSV, NDJSON or
Parquet files), build the project on it, read the report tables back, and check the
reconciliation. Imported by tests/test_reports_*.py (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from runner.api import build

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.timezone.utc

TABLES = ("organisations", "stations", "station_roaming_ids", "station_settings_log",
          "charging_sessions", "revenue_share_agreements")

SESSION_COLUMNS = ["charge_id", "station_id", "created_at", "start_time", "stop_time",
                   "meter_start_wh", "meter_stop_wh", "price", "charge_method",
                   "billing_type", "roaming_network", "operator_id", "provider_id",
                   "transaction_id", "counter_charge_of", "updated_at"]


def utc(text: str) -> dt.datetime:
    """'2024-05-10 10:00' (UTC) as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text).quantize(Decimal("0.0001"))


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    columns = columns or list(rows[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


def write_ndjson(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def write_parquet(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("create table t (" + ", ".join(f'"{c}" varchar' for c in columns) + ")")
    con.executemany("insert into t values (" + ", ".join("?" for _ in columns) + ")",
                    [[None if r.get(c) is None else str(r.get(c)) for c in columns]
                     for r in rows])
    con.execute(f"copy t to '{path}' (format parquet)")
    con.close()


def empty_zone(raw: Path) -> Path:
    for table in TABLES:
        (raw / table).mkdir(parents=True, exist_ok=True)
    return raw


def session(charge_id: str | None, station_id: str | None, start: str | None,
            stop: str | None = None, meter_start: Any = None, meter_stop: Any = None,
            price: Any = None, **extra: Any) -> dict[str, Any]:
    """One raw charging_sessions row; created_at = start and updated_at = stop or start
    unless given."""
    row = {"charge_id": charge_id, "station_id": station_id, "created_at": start,
           "start_time": start, "stop_time": stop, "meter_start_wh": meter_start,
           "meter_stop_wh": meter_stop, "price": price,
           "updated_at": stop or start}
    row.update(extra)
    return row


class Built:
    """A built landing zone: the database, read-only, and its reports as dicts."""

    def __init__(self, db_path: Path, result):
        self.db_path = db_path
        self.result = result

    def query(self, sql: str) -> list[dict[str, Any]]:
        con = duckdb.connect(str(self.db_path), read_only=True)
        try:
            con.execute("set timezone = 'UTC'")
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            con.close()

    def rows_by(self, table: str, key: str) -> dict[Any, dict[str, Any]]:
        """Rows by key, every column but _built_at (when the build wrote the row)."""
        rows = self.query(f"select columns(lambda c: c <> '_built_at') from {table}")
        by_key = {r[key]: r for r in rows}
        assert len(by_key) == len(rows), f"{table} repeats a {key}"
        return by_key

    def columns(self, table: str) -> list[tuple[str, str]]:
        schema, name = table.split(".")
        return [(r["column_name"], r["data_type"]) for r in self.query(
            f"select column_name, data_type from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{name}' "
            f"order by ordinal_position")]


def build_zone(tmp_path: Path, raw: Path, report_time: str) -> Built:
    db = tmp_path / "x.duckdb"
    result = build(ROOT, raw_dir=raw, db_path=db, vars={"report_time": report_time})
    assert result.ok, result.summary()
    return Built(db, result)


def assert_reconciles(built: Built, raw_session_count: int) -> None:
    """raw sessions (distinct charge IDs, or distinct rows without one) = report rows +
    rejected rows, overall and in every organisation and month."""
    recon = built.query("select * from audit.reconciliation")
    assert recon and all(r["is_reconciled"] for r in recon), recon
    assert sum(r["raw_sessions"] for r in recon) == raw_session_count
    [counts] = built.query(
        "select (select count(*) from reports.charging_sessions_cpo) as reported, "
        "(select count(*) from audit.rejected_sessions) as rejected")
    assert counts["reported"] + counts["rejected"] == raw_session_count


def assert_rows(actual: dict[Any, dict[str, Any]], expected: dict[Any, dict[str, Any]]) -> None:
    """Same keys, and every row equal column by column (the message names the column)."""
    assert sorted(actual) == sorted(expected)
    for key, want in expected.items():
        got = actual[key]
        assert set(got) == set(want), (key, set(got) ^ set(want))
        for column, value in want.items():
            if isinstance(value, dt.datetime) and got[column] is not None:
                assert got[column].astimezone(UTC) == value, (key, column, got[column], value)
            else:
                assert got[column] == value, (key, column, got[column], value)
