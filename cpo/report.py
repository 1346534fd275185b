"""`runner report`: one CPO report for some organisations and a timeframe, as a file.

The reports and their columns are reference data (seeds/report_definitions.csv and
seeds/report_columns.csv, loaded into the `reference` schema by `runner build`); the report
tables hold every session, and this module cuts one organisation's slice out of them:

- rows: sessions whose start, read in the owning organisation's time zone, falls on a day
  in [from, to), at stations of the selected organisations;
- columns: the report's own headers in the report's own order; instants as the
  organisation's local wall-clock time (to the second, no offset); durations in whole
  minutes, rounded up, as the platform's own export counts them; months as YYYY-MM;
- files by extension: .csv (UTF-8 with a byte-order mark, RFC 4180 quoting, CRLF),
  .xlsx (typed cells, a frozen header row) or .parquet (typed columns, zstd). A file
  appears complete or not at all.

With --role, roles.yml in the project says which modules a role has and which
organisations it may see; a report needs every module its definition lists.

Every value that comes from the command line reaches SQL as a bound parameter; the only
names spliced into SQL are the reference data's relation and column names, checked
against the database's catalog and quoted.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Callable, Iterable

import duckdb

from runner.engines.duckdb import has_relation
from runner.errors import ExportError, ProjectError
from runner.jinja.render import quote_ident

FORMATS = ("text", "instant", "minutes", "integer", "money", "percent", "boolean", "month")
FILE_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
ROLES_FILE = "roles.yml"
# Every report table carries these (spec/reports.md): the filter and the timeframe.
ORGANISATION_COLUMN = "organisation_id"
START_COLUMN = "start_time"
# The organisations, with their canonical IANA time zone (NULL when it is not one).
ORGANISATIONS = ("intermediate", "int_organisations_validated")
CURRENCIES = ("reference", "currencies")
DEFINITIONS = ("reference", "report_definitions")
COLUMNS = ("reference", "report_columns")
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


@dataclass
class Role:
    name: str
    modules: list[str]
    organisations: list[str] | None       # None: every organisation


# --- the command -----------------------------------------------------------------------


def write_report(project_dir: str | Path, kind: str, orgs: list[str], date_from: str,
                 date_to: str, out: str | Path, db: str | Path | None = None,
                 role: str | None = None, delimiter: str = ",") -> str:
    """Write report `kind` for `orgs` and [date_from, date_to) to `out`; return a message
    for the person who asked."""
    from runner.api import default_db_path
    from runner.publish.export import write_atomically
    from runner.publish.readers import connect_for_reading
    from runner.project.loader import load_project

    out = Path(out)
    file_format = file_format_of(out)
    start, end = parse_timeframe(date_from, date_to)
    delimiter = check_delimiter(delimiter, file_format)
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
        writer = {"csv": lambda tmp: _write_csv(con, query, params, report, tmp, delimiter),
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
        try:
            if not _DAY.fullmatch(text):
                raise ValueError
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            raise ReportError(f"{option} {text!r} is not a date written YYYY-MM-DD.",
                              hint=f"e.g. {option} 2024-09-01.") from None
    start, end = days
    if end <= start:
        raise ReportError(f"--to {end.isoformat()} must come after --from "
                          f"{start.isoformat()}: the timeframe is from the first day up "
                          "to, not including, the --to day.",
                          hint=f"for the single day {start.isoformat()}, write --to "
                               f"{(start + dt.timedelta(days=1)).isoformat()}.")
    return start, end


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


# --- roles ------------------------------------------------------------------------------


def load_roles(root: Path) -> dict[str, Role]:
    """roles.yml: `roles: {name: {modules: [...], organisations: all | [...]}}`."""
    from runner.project.loader import read_yaml
    path = root / ROLES_FILE
    if not path.is_file():
        raise ReportError(f"--role needs {ROLES_FILE} in the project ({path}), and there is "
                          "none.", hint="write one (see README, 'Reports for CPO staff'), or "
                                        "leave --role out.")
    doc = read_yaml(path)
    roles = doc.get("roles") if isinstance(doc, dict) else None
    if not isinstance(roles, dict) or not roles:
        raise ProjectError(f"{ROLES_FILE} must hold a 'roles:' mapping of role names.",
                           path=str(path),
                           hint="e.g. roles: {cpo_staff: {modules: [Reports, Stations], "
                                "organisations: [ORG00001]}}")
    out: dict[str, Role] = {}
    for name, body in roles.items():
        name = str(name)
        if not isinstance(body, dict):
            raise ProjectError(f"role {name!r} must be a mapping with 'modules' and "
                               "'organisations'.", path=str(path))
        modules = body.get("modules")
        if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
            raise ProjectError(f"role {name!r}: 'modules' must be a list of module names.",
                               path=str(path), hint="e.g. modules: [Reports, Stations]")
        orgs = body.get("organisations")
        if isinstance(orgs, str) and orgs.strip().lower() == "all":
            scope = None
        elif isinstance(orgs, list) and all(isinstance(o, (str, int)) for o in orgs):
            scope = [str(o).strip() for o in orgs]
        else:
            raise ProjectError(f"role {name!r}: 'organisations' must be 'all' or a list of "
                               "organisation IDs.", path=str(path),
                               hint="e.g. organisations: [ORG00001, ORG00007]")
        out[name] = Role(name, [m.strip() for m in modules], scope)
    return out


def check_role(roles: dict[str, Role], role: str, report: Report,
               orgs: list[str]) -> list[str] | None:
    """Refuse unless the role has every module the report needs and may see every asked
    organisation; return the role's organisations (None: all)."""
    if role not in roles:
        known = closest_first(role, roles)
        raise AccessRefused(f"there is no role {role!r} in {ROLES_FILE}; no file was written.",
                            hint=f"roles (closest first): {_listing(known)}.")
    granted = roles[role]
    have = {m.lower() for m in granted.modules}
    missing = [m for m in report.required_modules if m.lower() not in have]
    if missing:
        needed = " and ".join(report.required_modules)
        raise AccessRefused(
            f"role {role!r} may not receive {report.title}: it needs the {needed} modules, "
            f"and the role lacks {', '.join(missing)}. No file was written.",
            hint="ask with a role that has those modules, or add the missing ones to the "
                 f"role in {ROLES_FILE}.")
    if granted.organisations is not None:
        allowed = set(granted.organisations)
        outside = [o for o in orgs if o not in allowed]
        if outside:
            raise AccessRefused(
                f"role {role!r} may not see organisation{'s' if len(outside) > 1 else ''} "
                f"{', '.join(outside)}. No file was written.",
                hint=f"the role sees {_listing(sorted(allowed)) or 'no organisation'}.")
    return granted.organisations


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


def _expression(column: Column) -> str:
    value = f"r.{quote_ident(column.column_name)}"
    if column.format == "instant":
        # wall-clock time in the owning organisation's zone, to the second, no offset
        return f"date_trunc('second', timezone(o.timezone_name, {value}))"
    if column.format == "minutes":
        # started minutes count: 64 for 14:40:00-15:44:00, 1 for 20 seconds
        return f"cast(ceil(epoch({value}) / 60) as bigint)"
    if column.format == "month":
        return f"strftime({value}, '%Y-%m')"
    return value


def report_query(con: duckdb.DuckDBPyConnection, report: Report, orgs: list[str],
                 start: dt.date, end: dt.date, minor_units: bool = False
                 ) -> tuple[str, list[Any]]:
    """The SELECT of the report's rows, headers as column names, and its parameters.
    With `minor_units`, one more column at the end: the minor units of the row's currency,
    which the CSV and XLSX writers round money to."""
    selected = [f"{_expression(c)} as {quote_ident(c.header)}" for c in report.columns]
    org_schema, org_table = ORGANISATIONS
    joins = (f"inner join {quote_ident(org_schema)}.{quote_ident(org_table)} as o "
             f"on o.organisation_id = r.{quote_ident(ORGANISATION_COLUMN)}")
    has_money = any(c.format == "money" for c in report.columns)
    if minor_units and has_money and "currency" in _table_columns(con, report.schema, report.table) \
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


# --- the writers ------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _money_text(value: Decimal, minor_units: int | None) -> str:
    if minor_units is not None:
        return f"{value:.{int(minor_units)}f}"
    return _plain_decimal(value)


def _plain_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def csv_cell(value: Any, fmt: str, minor_units: int | None = None) -> str:
    """One value as the CSV shows it."""
    if value is None:
        return ""
    if fmt == "instant":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "boolean":
        return "true" if value else "false"
    if fmt == "money" and isinstance(value, Decimal):
        return _money_text(value, minor_units)
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    text = str(value)
    if fmt == "text" and text.startswith(_FORMULA_START):
        # a spreadsheet would run it as a formula; the apostrophe keeps it text
        return "'" + text
    return text


def _write_csv(con, query: str, params: list[Any], report: Report, tmp: Path,
               delimiter: str) -> int:
    formats = [c.format for c in report.columns]
    width = len(formats)
    count = 0
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL,
                            lineterminator="\r\n")
        writer.writerow([c.header for c in report.columns])
        for row in _batches(con, query, params):
            minor = row[width] if len(row) > width else None
            writer.writerow([csv_cell(row[i], formats[i], minor) for i in range(width)])
            count += 1
    return count


_WIDTH = {"instant": 20, "minutes": 10, "integer": 12, "money": 12, "percent": 9,
          "boolean": 11, "month": 9, "text": 18}
_MONEY_FORMAT = {0: "#,##0", 1: "#,##0.0", 2: "#,##0.00", 3: "#,##0.000", 4: "#,##0.0000"}


def _write_xlsx(con, query: str, params: list[Any], report: Report, tmp: Path) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    formats = [c.format for c in report.columns]
    width = len(formats)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", report.title)[:31])
    for i, column in enumerate(report.columns, 1):
        ws.column_dimensions[get_column_letter(i)].width = \
            max(_WIDTH[column.format], len(column.header) + 3)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in report.columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = bold
        header.append(cell)
    ws.append(header)

    # One styled cell per column and number format, filled anew for each row: append()
    # writes a row out before it returns, so a cell can be reused for the next one.
    styled: dict[tuple[int, str], Any] = {}

    def styled_cell(i: int, value: Any, number_format: str) -> Any:
        cell = styled.get((i, number_format))
        if cell is None:
            cell = styled[(i, number_format)] = WriteOnlyCell(ws)
            cell.number_format = number_format
        cell.value = value
        return cell

    def text_cell(i: int, value: Any) -> Any:
        text = value if isinstance(value, str) else str(value)
        if ILLEGAL_CHARACTERS_RE.search(text):
            text = ILLEGAL_CHARACTERS_RE.sub("", text)
        if text.startswith(("=", "#")):
            # a text that looks like a formula or an error code stays text
            cell = styled_cell(i, None, "@")
            cell.value = text
            cell.data_type = "s"
            return cell
        return text

    instant = "yyyy-mm-dd hh:mm:ss"
    count = 0
    for row in _batches(con, query, params):
        minor = row[width] if len(row) > width else None
        money = _MONEY_FORMAT.get(minor, "General") if minor is not None else "General"
        cells: list[Any] = []
        for i in range(width):
            value, fmt = row[i], formats[i]
            if value is None:
                cells.append(None)
            elif fmt == "instant":
                cells.append(styled_cell(i, value, instant))
            elif fmt == "money":
                cells.append(styled_cell(i, value, money))
            elif fmt in ("text", "month"):
                cells.append(text_cell(i, value))
            else:
                cells.append(value)
        ws.append(cells)
        count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(width)}{count + 1}"
    wb.save(tmp)
    return count


def _write_parquet(con, query: str, params: list[Any], report: Report, tmp: Path) -> int:
    rows = con.execute(f"copy ({query}) to ? "
                       "(format parquet, compression zstd)", [*params, str(tmp)]).fetchone()
    return int(rows[0]) if rows else 0
