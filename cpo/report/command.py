"""`runner report`: checking the request (file format, timeframe, the CSV's dialect,
delimiter and decimal mark) and writing the file."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

from cpo.report.access import check_role, load_roles
from cpo.report.definitions import (
    FILE_FORMATS, ReportError, _distinct, check_organisations, known_organisations,
    load_report, report_query,
)
from cpo.report.writers import DIALECTS, CsvDialect, _write_csv, _write_parquet, _write_xlsx


def write_report(project_dir: str | Path, kind: str, orgs: list[str], date_from: str,
                 date_to: str, out: str | Path, db: str | Path | None = None,
                 role: str | None = None, delimiter: str | None = None,
                 dialect: str | None = None, decimal_comma: bool | None = None,
                 target=None) -> str:
    """Write report `kind` for `orgs` and [date_from, date_to) to `out`; return a message
    for the person who asked. A CSV file is written in `dialect` ('excel', the default,
    or 'platform'), whose delimiter and decimal mark `delimiter` and `decimal_comma`
    override. `target` (runner.engines.profiles.Target): a Spark target's tables are
    read instead of the DuckDB file (from_spark)."""
    from runner.api import default_db_path
    from runner.publish.export import write_atomically
    from runner.publish.readers import connect_for_reading
    from runner.project.loader import load_project

    out = Path(out)
    file_format = file_format_of(out)
    start, end = parse_timeframe(date_from, date_to)
    csv_shape = csv_dialect(dialect, delimiter, decimal_comma, file_format)
    orgs = _distinct([o for o in orgs or []])
    if not orgs:
        raise ReportError("name at least one organisation with --org.",
                          hint="e.g. --org ORG00001 (repeat --org for several).")
    project = load_project(project_dir)
    roles = load_roles(project.root) if role is not None else None
    db_path = Path(db).resolve() if db else default_db_path(project)
    out = out.resolve()
    if out.is_dir():
        raise ReportError(f"{out} is a folder; --out needs a file name.",
                          hint=f"e.g. --out {out / ('report' + out.suffix)}")
    notes: list[str] = []       # a build holding the database: its publication is read
    if target is not None and target.type == "spark":
        con = from_spark(project, target, kind, orgs, start, end)
        db_path = Path(f"Spark's catalog (target {target.name})")
    else:
        con, db_path = connect_for_reading(project, db_path, on_note=notes.append,
                                           allowed_dirs=[project.root, db_path.parent,
                                                         out.parent])
    try:
        report = load_report(con, kind, db_path)
        scope = None
        if roles is not None:
            scope = check_role(roles, role, report, orgs)
        known = known_organisations(con, db_path)
        check_organisations(orgs, known, scope)
        query, params = report_query(con, report, orgs, start, end,
                                     minor_units=file_format != "parquet")
        writer = {"csv": lambda tmp: _write_csv(con, query, params, report, tmp, csv_shape),
                  "xlsx": lambda tmp: _write_xlsx(con, query, params, report, tmp),
                  "parquet": lambda tmp: _write_parquet(con, query, params, report, tmp)
                  }[file_format]
        counted: list[int] = []
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportError(f"cannot make the folder {out.parent}: {exc.strerror}.",
                              hint="choose an --out in a folder you may write to.") from None
        write_atomically(out, lambda tmp: counted.append(writer(tmp)))
    finally:
        con.close()
    rows = counted[0]
    who = ", ".join(f"{o} ({known[o][0]})" if known[o][0] else o for o in orgs)
    span = f"sessions started {start.isoformat()} to {end.isoformat()} (excluded)"
    if notes:
        span += f" ({notes[0]})"
    if rows == 0:
        return (f"{report.title} for {who} is empty: no {span}. Wrote {out} with the "
                f"headers only.")
    return (f"wrote {rows} row{'s' if rows != 1 else ''} of {report.title} for {who}, "
            f"{span}, to {out}")


def from_spark(project, target, kind: str, orgs: list[str], start: dt.date, end: dt.date):
    """An in-memory DuckDB with what the report reads from a Spark build: the report
    definitions, organisations and currencies, and the report's rows of these
    organisations whose start lies within two days of the timeframe (each
    organisation's local days are cut exactly by the same query as on DuckDB), so the
    file is written by the same code, to the cent."""
    from runner.engines.base import connect
    from runner.jinja.relation import sql_literal
    from runner.jinja.relation import quote_ident
    from runner.publish.readers import copy_tables
    from cpo.report.definitions import (COLUMNS, CURRENCIES, DEFINITIONS, ORGANISATION_COLUMN,
                                        ORGANISATIONS, START_COLUMN)
    adapter = connect(target, project.root)
    con = copy_tables(adapter, [(*t, None) for t in (DEFINITIONS, COLUMNS, ORGANISATIONS,
                                                     CURRENCIES)])
    try:
        row = con.execute(f"select relation from {quote_ident(DEFINITIONS[0])}."
                          f"{quote_ident(DEFINITIONS[1])} where report = ?", [kind]
                          ).fetchone()
    except Exception:           # no definitions: load_report says so
        row = None
    if row and row[0] and row[0].count(".") == 1:
        schema, table = row[0].split(".")
        first, last = start - dt.timedelta(days=2), end + dt.timedelta(days=2)
        where = (f"{quote_ident(ORGANISATION_COLUMN)} in "
                 f"({', '.join(sql_literal(o) for o in orgs)}) and "
                 f"{quote_ident(START_COLUMN)} >= cast('{first.isoformat()}' as timestamp) "
                 f"and {quote_ident(START_COLUMN)} < cast('{last.isoformat()}' as timestamp)")
        copy_tables(adapter, [(schema, table, where)], con)
    return con


# --- checking the request ----------------------------------------------------------------


def file_format_of(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in FILE_FORMATS:
        raise ReportError(f"cannot tell the file format of {out.name!r} from its extension.",
                          hint="end --out with .csv, .xlsx or .parquet.")
    return FILE_FORMATS[suffix]


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_timeframe(date_from: str, date_to: str) -> tuple[dt.date, dt.date]:
    days = []
    for option, text in (("--from", date_from), ("--to", date_to)):
        text = (text or "").strip()
        if not _DAY.fullmatch(text):
            raise ReportError(f"{option} {text!r} is not a date written YYYY-MM-DD.",
                              hint=f"e.g. {option} 2024-09-01.")
        try:
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            raise ReportError(f"{option} {text} is not a day in the calendar: "
                              f"{_why_no_such_day(text)}.",
                              hint=f"e.g. {option} 2024-09-01.") from None
    start, end = days
    if end < start:
        raise ReportError(f"--from {start.isoformat()} is after --to {end.isoformat()}: the "
                          "dates are swapped. The timeframe is from the --from day up to, "
                          "not including, the --to day.",
                          hint=f"write --from {end.isoformat()} --to {start.isoformat()}.")
    if end == start:
        raise ReportError(f"--to {end.isoformat()} must come after --from "
                          f"{start.isoformat()}: the timeframe is from the first day up "
                          "to, not including, the --to day.",
                          hint=f"for the single day {start.isoformat()}, write --to "
                               f"{(start + dt.timedelta(days=1)).isoformat()}.")
    return start, end


def _why_no_such_day(text: str) -> str:
    """Why a well-written YYYY-MM-DD is no day: the month, or the month's length."""
    year, month, day = int(text[:4]), text[5:7], text[8:]
    if year == 0:
        return "the calendar has no year 0000"
    if not 1 <= int(month) <= 12:
        return f"there is no month {month}"
    if int(day) == 0:
        return f"there is no day {day}"
    length = calendar.monthrange(year, int(month))[1]
    return f"{calendar.month_name[int(month)]} {year} has {length} days"


def check_delimiter(delimiter: str, file_format: str) -> str:
    """The CSV field separator; `\\t` or `tab` is a tab."""
    if delimiter == ",":
        return delimiter
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if file_format != "csv":
        raise ReportError(f"--delimiter is for .csv files; a .{file_format} file has none.",
                          hint="leave --delimiter out, or write a .csv file.")
    if len(delimiter) != 1 or delimiter in "\"\r\n" or delimiter.isalnum():
        raise ReportError(f"--delimiter must be one character other than a letter, a digit, "
                          f"a quote or a line break, not {delimiter!r}.",
                          hint="use ';' for Excel in locales whose decimal mark is a comma, "
                               "or 'tab'.")
    return delimiter


def csv_dialect(dialect: str | None, delimiter: str | None, decimal_comma: bool | None,
                file_format: str) -> CsvDialect:
    """The CSV's shape: the dialect's (default 'excel'), with the delimiter and the
    decimal mark given overriding it. A decimal comma needs another field separator."""
    name = (dialect or "excel").strip().lower()
    if name not in DIALECTS:
        raise ReportError(f"there is no --dialect {dialect!r}.",
                          hint="--dialect excel (the default: UTF-8 with a byte-order mark, "
                               "',', a decimal point) or --dialect platform (the platform's "
                               "own export: ISO-8859-1, ';', dd/mm/yyyy hh.mm, a decimal "
                               "comma).")
    if delimiter is not None:
        delimiter = check_delimiter(delimiter, file_format)
    if file_format != "csv" and (name != "excel" or decimal_comma is not None):
        option = "--dialect" if name != "excel" else "--decimal-comma"
        raise ReportError(f"{option} is for .csv files; a .{file_format} file has typed "
                          "cells.", hint=f"leave {option} out, or write a .csv file.")
    shape = DIALECTS[name]
    shape = replace(shape, delimiter=shape.delimiter if delimiter is None else delimiter,
                    decimal_comma=shape.decimal_comma if decimal_comma is None
                    else decimal_comma)
    if shape.decimal_comma and shape.delimiter == ",":
        raise ReportError("--decimal-comma needs a field separator other than ',': "
                          "12,40 would read as two fields.",
                          hint="add --delimiter ';' (what Excel expects where the decimal "
                               "mark is a comma), or use --decimal-point.")
    return shape
