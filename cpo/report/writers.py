"""The report files: CSV in a dialect (by default UTF-8 with a byte-order mark, or the
platform's own export shape), RFC 4180 quoting, CRLF; XLSX (typed cells, a frozen header
row) and Parquet (typed columns, zstd), each written to a temporary path that the command
then moves into place."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpo.report.definitions import Report, ReportError, _batches

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: encoding, separator, decimal mark, format of instants."""
    name: str
    encoding: str
    delimiter: str
    decimal_comma: bool
    instant_format: str


DIALECTS = {
    # Excel-friendly: UTF-8 with a byte-order mark, times to the second
    "excel": CsvDialect("excel", "utf-8-sig", ",", False, "%Y-%m-%d %H:%M:%S"),
    # the platform's own export (the Turku file): ISO-8859-1, ';', local times to the
    # minute written dd/mm/yyyy hh.mm, a decimal comma
    "platform": CsvDialect("platform", "latin-1", ";", True, "%d/%m/%Y %H.%M"),
}
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "latin-1": "ISO-8859-1"}


def _money_text(value: Decimal, minor_units: int | None) -> str:
    if minor_units is not None:
        return f"{value:.{int(minor_units)}f}"
    return _plain_decimal(value)


def _plain_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def csv_cell(value: Any, fmt: str, minor_units: int | None = None,
             dialect: CsvDialect = DIALECTS["excel"]) -> str:
    """One value as the CSV shows it."""
    if value is None:
        return ""
    if fmt == "instant":
        return value.strftime(dialect.instant_format)
    if fmt == "boolean":
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = _money_text(value, minor_units) if fmt == "money" else _plain_decimal(value)
        return text.replace(".", ",") if dialect.decimal_comma else text
    if isinstance(value, float) and dialect.decimal_comma:
        return str(value).replace(".", ",")
    text = str(value)
    if fmt == "text" and text.startswith(_FORMULA_START):
        # a spreadsheet would run it as a formula; the apostrophe keeps it text
        return "'" + text
    return text


def _write_csv(con, query: str, params: list[Any], report: Report, tmp: Path,
               dialect: CsvDialect) -> int:
    formats = [c.format for c in report.columns]
    width = len(formats)
    count = 0
    with open(tmp, "w", encoding=dialect.encoding, newline="") as f:
        writer = csv.writer(f, delimiter=dialect.delimiter, quoting=csv.QUOTE_MINIMAL,
                            lineterminator="\r\n")
        writer.writerow([c.header for c in report.columns])
        for row in _batches(con, query, params):
            minor = row[width] if len(row) > width else None
            cells = [csv_cell(row[i], formats[i], minor, dialect) for i in range(width)]
            try:
                writer.writerow(cells)
            except UnicodeEncodeError:
                raise _unwritable(report, row, cells, dialect) from None
            count += 1
    return count


def _unwritable(report: Report, row: tuple, cells: list[str],
                dialect: CsvDialect) -> ReportError:
    """The error for a row holding a character the dialect's encoding has not."""
    encoding = ENCODING_NAMES.get(dialect.encoding, dialect.encoding)
    key = next((i for i, c in enumerate(report.columns)
                if c.column_name == report.key_column), None)
    which = f"{report.columns[key].header} {row[key]}" if key is not None else "a row"
    for column, cell in zip(report.columns, cells):
        bad = next((ch for ch in cell if not _encodes(ch, dialect.encoding)), None)
        if bad is not None:
            return ReportError(
                f"the {column.header} of {which} is {cell!r}, and {bad!r} cannot be written "
                f"in {encoding}, the encoding of --dialect {dialect.name}. No file was "
                "written.", hint="write the default dialect (UTF-8) instead, or correct the "
                                 "name where it is kept.")
    return ReportError(f"{which} cannot be written in {encoding}. No file was written.")


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


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
