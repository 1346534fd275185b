"""Partition keys of the report tables for `runner export --partition-by`.

`month` is the month the session started in, read in the owning organisation's time
zone, written `YYYY-MM` (as in a report file's Month, and as a reader expects it in a
folder name): the same key, of one type, for both reports. The roaming view holds it as
a date (the first of the month): it is formatted. The CPO view does not hold it: it is
derived from the start and the organisation's time zone with the project's `local_month`
macro, the definition the models and the serving layer's partition key use.
"""

from __future__ import annotations

from typing import Callable

import duckdb

from cpo.report import ORGANISATION_COLUMN, ORGANISATIONS, START_COLUMN
from runner.engines.duckdb import has_relation
from runner.errors import ExportError
from runner.jinja.relation import quote_ident, relation_name

MONTH = "month"
MONTH_FORMAT = "%Y-%m"


def month_key(con: duckdb.DuckDBPyConnection, source: str, columns: list[str],
              render: Callable[[str], str]) -> str | None:
    """A query over `source` with `month` as YYYY-MM text, or None for a month column
    that is neither a date nor a timestamp (partitioned as it is)."""
    column = quote_ident(MONTH)
    if MONTH in columns:
        kind = con.execute(f"describe select {column} from {source}").fetchone()[1]
        if not kind.upper().startswith(("DATE", "TIMESTAMP")):
            return None
        return (f"(select * replace (strftime({column}, '{MONTH_FORMAT}') as {column}) "
                f"from {source})")
    schema, table = ORGANISATIONS
    if not ({ORGANISATION_COLUMN, START_COLUMN} <= set(columns)
            and has_relation(con, schema, table)):
        raise ExportError("there is no 'month' column to partition by, and no start time "
                          "and organisation to derive it from.",
                          hint=f"partition by one of: {', '.join(columns)}.")
    month = render(f"{{{{ local_month({'t.' + quote_ident(START_COLUMN)!r}, "
                   f"'o.timezone_name') }}}}")
    return (f"(select t.*, strftime({month}, '{MONTH_FORMAT}') as {column} "
            f"from {source} as t left join "
            f"{relation_name(schema, table)} as o using ({quote_ident(ORGANISATION_COLUMN)}))")


PARTITION_KEYS = {MONTH: month_key}
# what a key reads besides the table: an export from Spark copies these with it
PARTITION_KEY_RELATIONS = {MONTH: [ORGANISATIONS]}
