"""The reports as the reference data defines them (seeds/report_definitions.csv and
seeds/report_columns.csv, in the database's `reference` schema): loading a definition and
checking it against the report table, the organisations one may ask for, and the SELECT
that cuts one slice out of a report table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Callable, Iterable

import duckdb

from runner.engines.duckdb import has_relation
from runner.errors import ExportError
from runner.jinja.relation import quote_ident

FORMATS = ("text", "instant", "minutes", "integer", "money", "percent", "boolean", "month")
FILE_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
# Every report table carries these (spec/reports.md): the filter and the timeframe.
ORGANISATION_COLUMN = "organisation_id"
START_COLUMN = "start_time"
# The organisations, with their canonical IANA time zone (NULL when it is not one).
ORGANISATIONS = ("intermediate", "int_organisations_validated")
CURRENCIES = ("reference", "currencies")
DEFINITIONS = ("reference", "report_definitions")
COLUMNS = ("reference", "report_columns")
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
BATCH = 10_000


class ReportError(ExportError):
    """A report that cannot be written as asked: unknown report, organisation, dates."""
    stage = "Report"


class AccessRefused(ReportError):
    """A role asking for a report it may not receive. No file is written."""
    stage = "Access refused"


@dataclass
class Column:
    position: int
    header: str
    column_name: str
    format: str


@dataclass
class Report:
    name: str
    title: str
    schema: str
    table: str
    key_column: str
    required_modules: list[str]
    columns: list[Column] = field(default_factory=list)

    @property
    def relation(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.table)}"



def _distinct(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value.strip() if isinstance(value, str) else str(value), None)
    return [v for v in seen if v]


def closest_first(wanted: str, candidates: Iterable[str],
                  also: Callable[[str], str | None] | None = None) -> list[str]:
    """Candidates ordered by likeness to `wanted` (their name too, through `also`)."""
    key = wanted.lower()

    def score(candidate: str) -> float:
        best = SequenceMatcher(None, key, candidate.lower()).ratio()
        other = also(candidate) if also else None
        if other:
            best = max(best, SequenceMatcher(None, key, other.lower()).ratio())
        return best
    return sorted(candidates, key=lambda c: (-score(c), c))


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")



# --- reading the definitions -----------------------------------------------------------


def _table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute("select column_name, data_type from information_schema.columns "
                       "where table_schema = ? and table_name = ? order by ordinal_position",
                       [schema, table]).fetchall()
    return {name: kind for name, kind in rows}


def load_report(con: duckdb.DuckDBPyConnection, kind: str, db_path: Path) -> Report:
    for schema, table in (DEFINITIONS, COLUMNS):
        if not has_relation(con, schema, table):
            raise ReportError(f"the report definitions ({schema}.{table}) are not in "
                              f"{db_path}.", hint="run 'runner build' (or 'runner seed') "
                                                 "first, or pass --db with the right file.")
    names = [r[0] for r in con.execute(
        f"select report from {quote_ident(DEFINITIONS[0])}.{quote_ident(DEFINITIONS[1])} "
        "order by report").fetchall()]
    row = con.execute(
        f"select report, title, relation, key_column, required_modules "
        f"from {quote_ident(DEFINITIONS[0])}.{quote_ident(DEFINITIONS[1])} where report = ?",
        [kind]).fetchone()
    if row is None:
        raise ReportError(f"there is no report {kind!r}.",
                          hint=f"reports (closest first): {_listing(closest_first(kind, names))}.")
    name, title, relation, key_column, modules = row
    where = f"report {name!r} in {DEFINITIONS[0]}.{DEFINITIONS[1]}"
    if not relation or relation.count(".") != 1:
        raise ReportError(f"{where} names the relation {relation!r}; it must be schema.table.")
    schema, table = relation.split(".")
    report = Report(name, title, schema, table, key_column,
                    [m.strip() for m in (modules or "").split(";") if m.strip()])
    report.columns = [Column(int(p), h, c, f) for p, h, c, f in con.execute(
        f"select position, header, column_name, format "
        f"from {quote_ident(COLUMNS[0])}.{quote_ident(COLUMNS[1])} "
        f"where report = ? order by position", [kind]).fetchall()]
    if not report.columns:
        raise ReportError(f"{where} has no columns in {COLUMNS[0]}.{COLUMNS[1]}.")
    positions = [c.position for c in report.columns]
    headers = [c.header for c in report.columns]
    if positions != list(range(1, len(positions) + 1)) or len(set(headers)) != len(headers):
        raise ReportError(f"the columns of {where} must be numbered 1, 2, 3, ... with "
                          f"distinct headers; they are {positions}.")
    bad = [c for c in report.columns if c.format not in FORMATS]
    if bad:
        raise ReportError(f"column {bad[0].header!r} of {where} has the unknown format "
                          f"{bad[0].format!r}.", hint=f"formats: {', '.join(FORMATS)}.")
    if not has_relation(con, schema, table):
        raise ReportError(f"{schema}.{table} is not in {db_path}.",
                          hint="run 'runner build' first (or pass --db with the right file).")
    present = _table_columns(con, schema, table)
    wanted = [c.column_name for c in report.columns] + \
        [ORGANISATION_COLUMN, START_COLUMN, key_column]
    missing = [c for c in _distinct(wanted) if c not in present]
    if missing:
        raise ReportError(f"{schema}.{table} has no column {', '.join(missing)}, which {where} "
                          "needs.", hint="rebuild with 'runner build', or fix the report's "
                                         "columns in seeds/report_columns.csv.")
    return report


def known_organisations(con: duckdb.DuckDBPyConnection, db_path: Path
                        ) -> dict[str, tuple[str | None, str | None]]:
    """organisation_id -> (name, time zone)."""
    schema, table = ORGANISATIONS
    if not has_relation(con, schema, table):
        raise ReportError(f"{schema}.{table} is not in {db_path}.",
                          hint="run 'runner build' first (or pass --db with the right file).")
    rows = con.execute(f"select organisation_id, organisation_name, timezone_name "
                       f"from {quote_ident(schema)}.{quote_ident(table)} "
                       "where organisation_id is not null").fetchall()
    return {oid: (name, tz) for oid, name, tz in rows}


def check_organisations(orgs: list[str], known: dict[str, tuple[str | None, str | None]],
                        scope: list[str] | None) -> None:
    unknown = [o for o in orgs if o not in known]
    if not unknown:
        return
    visible = [o for o in known if scope is None or o in scope]

    def label(oid: str) -> str:
        name = known[oid][0]
        return f"{oid} ({name})" if name else oid
    ranked = closest_first(unknown[0], visible, also=lambda o: known[o][0])
    listed = _listing([label(o) for o in ranked]) if ranked else "none"
    raise ReportError(f"there is no organisation {', '.join(repr(u) for u in unknown)}; "
                      "no file was written.",
                      hint=f"known organisations (closest first): {listed}.")


# --- the query ---------------------------------------------------------------------------


def _expression(column: Column, data_type: str = "INTERVAL") -> str:
    value = f"r.{quote_ident(column.column_name)}"
    if column.format == "instant":
        # wall-clock time in the owning organisation's zone, to the second, no offset
        return f"date_trunc('second', timezone(o.timezone_name, {value}))"
    if column.format == "minutes":
        # started minutes count: 64 for 14:40:00-15:44:00, 1 for 20 seconds; a duration
        # in seconds where the table holds no interval
        seconds = value if data_type.split("(")[0] in NUMERIC else f"epoch({value})"
        return f"cast(ceil({seconds} / 60) as bigint)"
    if column.format == "month":
        return f"strftime({value}, '%Y-%m')"
    return value


def report_query(con: duckdb.DuckDBPyConnection, report: Report, orgs: list[str],
                 start: dt.date, end: dt.date, minor_units: bool = False
                 ) -> tuple[str, list[Any]]:
    """The SELECT of the report's rows, headers as column names, and its parameters.
    With `minor_units`, one more column at the end: the minor units of the row's currency,
    which the CSV and XLSX writers round money to."""
    types = _table_columns(con, report.schema, report.table)
    selected = [f"{_expression(c, types.get(c.column_name, ''))} as {quote_ident(c.header)}"
                for c in report.columns]
    org_schema, org_table = ORGANISATIONS
    joins = (f"inner join {quote_ident(org_schema)}.{quote_ident(org_table)} as o "
             f"on o.organisation_id = r.{quote_ident(ORGANISATION_COLUMN)}")
    has_money = any(c.format == "money" for c in report.columns)
    if minor_units and has_money and "currency" in types \
            and has_relation(con, *CURRENCIES):
        joins += (f" left join {quote_ident(CURRENCIES[0])}.{quote_ident(CURRENCIES[1])} "
                  "as cur on cur.code = r.currency")
        selected.append("cur.minor_units as __minor_units")
    local_day = f"cast(timezone(o.timezone_name, r.{quote_ident(START_COLUMN)}) as date)"
    query = (f"select {', '.join(selected)} from {report.relation} as r {joins} "
             f"where r.{quote_ident(ORGANISATION_COLUMN)} in (select unnest(?::varchar[])) "
             f"and {local_day} >= ?::date and {local_day} < ?::date "
             f"order by r.{quote_ident(START_COLUMN)}, r.{quote_ident(report.key_column)}")
    return query, [orgs, start.isoformat(), end.isoformat()]


def _batches(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]):
    cursor = con.execute(query, params)
    while True:
        rows = cursor.fetchmany(BATCH)
        if not rows:
            return
        yield from rows

