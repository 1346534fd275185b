"""`runner report`: one CPO report for some organisations and a timeframe, as a file.

The reports and their columns are reference data (seeds/report_definitions.csv and
seeds/report_columns.csv, loaded into the `reference` schema by `runner build`); the report
tables hold every session, and this module cuts one organisation's slice out of them:

- rows: sessions whose start, read in the owning organisation's time zone, falls on a day
  in [from, to), at stations of the selected organisations;
- columns: the report's own headers in the report's own order; instants as the
  organisation's local wall-clock time (to the second, no offset); durations in whole
  minutes, rounded up, as the platform's own export counts them; months as YYYY-MM;
- files by extension: .csv (UTF-8 with a byte-order mark, RFC 4180 quoting, CRLF; or
  with --dialect platform the platform's own export shape: ISO-8859-1, ';', times
  dd/mm/yyyy hh.mm, a decimal comma), .xlsx (typed cells, a frozen header row) or
  .parquet (typed columns, zstd). A file appears complete or not at all.

With --role, roles.yml in the project says which modules a role has and which
organisations it may see; a report needs every module its definition lists.

Every value that comes from the command line reaches SQL as a bound parameter; the only
names spliced into SQL are the reference data's relation and column names, checked
against the database's catalog and quoted.

The package by purpose: `definitions` (the reports, their columns and the query),
`access` (roles), `writers` (the CSV, XLSX and Parquet files) and `command` (checking the
request and writing the file).
"""

from cpo.report.access import ROLES_FILE, Role, check_role, load_roles
from cpo.report.command import (
    check_delimiter, csv_dialect, file_format_of, parse_timeframe, write_report,
)
from cpo.report.definitions import (
    BATCH, COLUMNS, CURRENCIES, DEFINITIONS, FILE_FORMATS, FORMATS, ORGANISATION_COLUMN,
    ORGANISATIONS, START_COLUMN, AccessRefused, Column, Report, ReportError, closest_first,
    check_organisations, known_organisations, load_report, report_query,
)
from cpo.report.writers import DIALECTS, CsvDialect, csv_cell

__all__ = [
    "BATCH", "COLUMNS", "CURRENCIES", "DEFINITIONS", "DIALECTS", "FILE_FORMATS", "FORMATS",
    "ORGANISATIONS", "ORGANISATION_COLUMN", "ROLES_FILE", "START_COLUMN", "AccessRefused",
    "Column", "CsvDialect", "Report", "ReportError", "Role", "check_delimiter",
    "check_organisations", "check_role", "closest_first", "csv_cell", "csv_dialect",
    "file_format_of", "known_organisations", "load_report", "load_roles", "parse_timeframe",
    "report_query", "write_report",
]
