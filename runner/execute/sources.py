"""The raw landing zone: each source table is a folder of .csv, .parquet and .ndjson
files. Every file is checked before anything is built (text files parsed whole, Parquet
files by their footer and schema: a damaged page further in fails the staging model that
reads it, and every table downstream stays as it was), then the folder becomes one view
whose declared columns are all VARCHAR (staging models cast them), plus `_source_file`.
Beside it, a view `<table>__files` lists the folder's files (for `source_files()`), the
views `<table>__parquet` (its Parquet files' rows, typed as the files are) and
`<table>__text` (its CSV and NDJSON rows) split it by kind of file (`source_parts()`), and
`_runner.source_file_checks` remembers the files that passed the check, with their row
counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from runner.engines.native import duckdb

from runner.errors import SourceError
from runner.project.loader import SourceTable
from runner.jinja.relation import (files_view_name, part_view_name, quote_ident, relation_name,
                                   sql_literal)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".ndjson": "ndjson", ".jsonl": "ndjson"}
CHECKS_SCHEMA = "_runner"
CHECKS_TABLE = "source_file_checks"
CHECKS = relation_name(CHECKS_SCHEMA, CHECKS_TABLE)
CHECKS_DDL = (f"create table if not exists {CHECKS} (path VARCHAR, size_bytes BIGINT, "
              "modified_ns BIGINT, format VARCHAR, columns VARCHAR[], checked_at TIMESTAMPTZ, "
              "row_count BIGINT)")
CSV_OPTIONS = "header = true, all_varchar = true, delim = ',', quote = '\"', " \
              "escape = '\"', strict_mode = true, encoding = 'utf-8'"


def _reader(fmt: str, files: list[str], declared: list[str]) -> str:
    listed = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    if fmt == "csv":
        return f"read_csv({listed}, {CSV_OPTIONS}, union_by_name = true, filename = true)"
    if fmt == "parquet":
        return f"read_parquet({listed}, union_by_name = true, filename = true)"
    if not declared:
        return f"read_json({listed}, format = 'newline_delimited', filename = true)"
    columns = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in declared) + "}"
    return (f"read_json({listed}, format = 'newline_delimited', columns = {columns}, "
            f"filename = true)")


def file_columns(con: duckdb.DuckDBPyConnection, fmt: str, path: str,
                 declared: list[str]) -> tuple[list[str], int]:
    """The columns and the row count of one file, reading it whole, so that a broken row
    fails here."""
    reader = _reader(fmt, [path], declared)
    try:
        names = [row[0] for row in con.execute(f"describe select * from {reader}").fetchall()]
        present = [c for c in declared if c.lower() in {n.lower() for n in names}]
        if fmt == "parquet":
            # The footer and schema are read above; the row count comes from metadata. A
            # damaged page further in fails the staging model that reads it, which leaves
            # every table downstream as it was.
            probe = "count(*)"
        else:
            # Text formats: touch every declared column so that each row is parsed.
            probe = ", ".join(f"max(length(cast({quote_ident(c)} as varchar)))"
                              for c in present) or "count(*)"
        row_count = con.execute(f"select count(*), {probe} from {reader}").fetchone()[0]
    except duckdb.Error as exc:
        line = _first_bad_json_line(path) if fmt == "ndjson" else None
        raise SourceError(_explain(str(exc), fmt), path=path,
                          line=line or _line_of(str(exc)), hint=_hint(str(exc), fmt)) from None
    return [n for n in names if n != "filename"], row_count


def _explain(message: str, fmt: str) -> str:
    first = message.split("\n")[0].replace("Invalid Input Error: ", "")
    first = first.replace("IO Error: ", "").replace("Conversion Error: ", "")
    if "not utf-8" in message.lower() or "invalid unicode" in message.lower():
        return "the file is not UTF-8 text (the platform's own exports are ISO-8859-1)"
    if "Expected Number of Columns" in message or "column count" in message.lower() \
            or "It was not possible to automatically detect" in message:
        return f"a row does not have the header's number of columns ({first.strip()})"
    if fmt == "parquet":
        return f"the Parquet file cannot be read ({first.strip()})"
    if fmt == "ndjson":
        return f"a line is not valid JSON ({first.strip()})"
    return first.strip()


def _hint(message: str, fmt: str) -> str:
    if "utf-8" in message.lower() or "unicode" in message.lower():
        return "re-encode it: iconv -f ISO-8859-1 -t UTF-8 FILE > FILE.new, then replace it."
    if fmt == "parquet":
        return "the file looks truncated or corrupt; ask for it again or move it out of the folder."
    return "fix or remove the file (keep a copy), then build again; nothing was changed."


def _first_bad_json_line(path: str) -> int | None:
    """Only on the error path: the first line that is not a JSON object on its own."""
    import json
    try:
        with open(path, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    try:
                        json.loads(text)
                    except ValueError:
                        return number
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _line_of(message: str) -> int | None:
    import re
    match = re.search(r"(?:on Line|in line|line)[: ]+(\d+)", message)
    return int(match.group(1)) if match else None


def source_files(raw_dir: Path, table: SourceTable) -> list[Path]:
    check_folders(raw_dir, [table])
    folder = raw_dir / table.folder
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)


def check_folders(raw_dir: Path, tables: list[SourceTable]) -> None:
    """One error naming every source table whose folder is missing."""
    missing = [t for t in tables if not (raw_dir / t.folder).is_dir()]
    if not missing:
        return
    yamls = sorted({str(t.yaml_path) for t in missing})
    where = yamls[0] if len(yamls) == 1 else None
    if len(missing) == 1:
        [table] = missing
        folder = raw_dir / table.folder
        raise SourceError(f"the raw folder for source {table.source}.{table.name} is missing: "
                          f"{folder}.", path=where,
                          hint=f"create {folder} (it may be empty) or pass --raw-dir with the "
                               "folder that holds the landing zone.")
    listed = "\n".join(f"    {t.source}.{t.name}: {raw_dir / t.folder}" for t in missing)
    declared = "" if where else f" (declared in {', '.join(yamls)})"
    raise SourceError(f"the raw folders of {len(missing)} source tables are missing"
                      f"{declared}:\n{listed}", path=where,
                      hint="create them (they may be empty) or pass --raw-dir with the "
                           "folder that holds the landing zone.")


@dataclass(frozen=True)
class FileCheck:
    """One raw file that passed the check, as `_runner.source_file_checks` records it."""
    path: str
    size_bytes: int
    modified_ns: int
    format: str
    columns: tuple[str, ...]
    row_count: int


@dataclass
class _Listed:
    path: Path
    size_bytes: int
    modified_ns: int
    row_count: int | None = None        # set by the check (or its record)


def _listed(raw_dir: Path, table: SourceTable) -> list[_Listed]:
    files = []
    for path in source_files(raw_dir, table):
        try:
            stat = path.stat()
        except OSError as exc:
            raise SourceError(f"the file cannot be read ({exc.strerror or exc}).",
                              path=str(path), hint="check that it is still there and "
                              "readable, then build again; nothing was changed.") from None
        files.append(_Listed(path, stat.st_size, stat.st_mtime_ns))
    return files


def load_checks(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, FileCheck]:
    """The recorded checks of these files (none in a database that has no record yet; a
    record made before row counts were kept is no record: the file is checked again)."""
    if not paths:
        return {}
    present = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ?", [CHECKS_SCHEMA, CHECKS_TABLE]).fetchall()}
    if "row_count" not in present:
        return {}
    rows = con.execute(f"select path, size_bytes, modified_ns, format, columns, row_count "
                       f"from {CHECKS} where path in (select unnest(?::varchar[])) "
                       f"and row_count is not null", [paths]).fetchall()
    return {path: FileCheck(path, size, mtime, fmt, tuple(columns or ()), row_count)
            for path, size, mtime, fmt, columns, row_count in rows}


def _checked(con: duckdb.DuckDBPyConnection, table: SourceTable, files: list[_Listed],
             cache: dict[str, FileCheck], fresh: list[FileCheck],
             changed: list[str] | None = None,
             by_kind: dict[str, str] | None = None) -> str:
    """The SELECT over one source folder, after checking every file in it that `cache`
    does not hold unchanged; the files checked here are appended to `fresh`, those
    `cache` holds with another size or time to `changed`, and the SELECTs of the views
    source_parts() names to `by_kind`."""
    declared = list(table.columns)
    groups: dict[str, list[str]] = {}
    present: dict[str, set[str]] = {}
    for item in files:
        path = str(item.path)
        fmt = FORMATS[item.path.suffix.lower()]
        known = cache.get(path)
        if known is not None and (known.size_bytes, known.modified_ns, known.format) == \
                (item.size_bytes, item.modified_ns, fmt) and \
                (fmt != "ndjson" or not declared or list(known.columns) == declared):
            names, item.row_count = list(known.columns), known.row_count
        else:
            if known is not None and changed is not None and \
                    (known.size_bytes, known.modified_ns) != (item.size_bytes, item.modified_ns):
                changed.append(path)
            names, item.row_count = file_columns(con, fmt, path, declared)
            fresh.append(FileCheck(path, item.size_bytes, item.modified_ns, fmt,
                                   tuple(names), item.row_count))
        columns = {c.lower() for c in names}
        if fmt != "ndjson":
            missing = [c for c in table.required if c.lower() not in columns]
            if missing:
                hint = "the header looks ';'-separated: export it with ',' as the separator." \
                    if any(";" in c for c in columns) else \
                    "add the column (it may be empty) or fix its name in the header."
                raise SourceError(f"the file lacks required column(s) "
                                  f"{', '.join(missing)} of {table.source}.{table.name}.",
                                  path=path, line=1, hint=hint)
        groups.setdefault(fmt, []).append(path)
        present.setdefault(fmt, set()).update(columns)
    if by_kind is not None:
        by_kind.update(_parts(groups, present, declared))
    return _union([_select(fmt, paths, present[fmt], declared, typed=False)
                   for fmt, paths in groups.items()], declared)


def _select(fmt: str, paths: list[str], present: set[str], declared: list[str],
            typed: bool) -> str:
    """The rows of one kind of file: the declared columns (VARCHAR, or as the Parquet
    files type them when `typed`; NULL VARCHAR where no file has one), `_source_file`."""
    cols = [(quote_ident(c) if typed else f"cast({quote_ident(c)} as varchar)")
            + f" as {quote_ident(c)}"
            if c.lower() in present or fmt == "ndjson"
            else f"cast(null as varchar) as {quote_ident(c)}" for c in declared]
    if not declared:        # no columns declared: every column, as the files have it
        cols = ["* exclude (filename)"]
    return f"select {', '.join(cols)}, filename as _source_file " \
           f"from {_reader(fmt, paths, declared)}"


def _union(selects: list[str], declared: list[str]) -> str:
    if not selects:
        cols = "".join(f"cast(null as varchar) as {quote_ident(c)}, " for c in declared)
        selects = [f"select {cols}cast(null as varchar) as _source_file where false"]
    return ("\nunion all\n" if declared else "\nunion all by name\n").join(selects)


def _parts(groups: dict[str, list[str]], present: dict[str, set[str]],
           declared: list[str]) -> dict[str, str]:
    """The SELECTs of the views source_parts() names: `parquet` (typed as the files are)
    and `text` (CSV and NDJSON, VARCHAR)."""
    parquet = [_select("parquet", groups["parquet"], present["parquet"], declared,
                       typed=True)] if "parquet" in groups else []
    text = [_select(fmt, paths, present[fmt], declared, typed=False)
            for fmt, paths in groups.items() if fmt != "parquet"]
    return {"parquet": _union(parquet, declared), "text": _union(text, declared)}


def source_select(con: duckdb.DuckDBPyConnection, raw_dir: Path, table: SourceTable) -> str:
    """The SELECT over one source folder, after checking every file in it."""
    return _checked(con, table, _listed(raw_dir, table), {}, [])


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def files_select(files: list[_Listed]) -> str:
    """One row per file: `_source_file` (the very string the source view's rows carry),
    `size_bytes`, `modified_at` and `row_count` (the rows the check counted in the file
    as it is now), from a VALUES list: the files are not read."""
    if not files:
        return ("select cast(null as varchar) as _source_file, cast(null as bigint) as "
                "size_bytes, cast(null as timestamptz) as modified_at, "
                "cast(null as bigint) as row_count where false")
    rows = ",\n  ".join(
        f"({sql_literal(str(f.path))}, {int(f.size_bytes)}, "
        f"{sql_literal((_EPOCH + dt.timedelta(microseconds=f.modified_ns // 1000)).isoformat())}, "
        f"{'null' if f.row_count is None else int(f.row_count)})"
        for f in files)
    return ("select cast(_source_file as varchar) as _source_file, "
            "cast(size_bytes as bigint) as size_bytes, "
            "cast(modified_at as timestamptz) as modified_at, "
            "cast(row_count as bigint) as row_count\n"
            f"from (values\n  {rows}\n) as files(_source_file, size_bytes, modified_at, "
            "row_count)")


def prepare_sources(con: duckdb.DuckDBPyConnection, raw_dir: Path | None,
                    tables: list[SourceTable], recheck: bool = False) -> list[str]:
    """Check every file of the given source tables, then (re)create their views: the
    source view `<schema>.<table>` and `<schema>.<table>__files`, one row per file.

    Checks are remembered in the database being built, in `_runner.source_file_checks`
    (path, size_bytes, modified_ns, format, columns, checked_at, row_count): a file whose
    path, size and modification time (in ns) match a recorded row is not read again, and
    its recorded columns and row count are used (the required-columns check still applies
    to them). A file with another size or modification time is checked again, and the
    `__files` view then shows its new size, time and row count: what an incremental
    model compares with what it loaded. The rows are written in the transaction that (re)creates the views, so a
    failed check records nothing. `recheck` (the build's --full-refresh) ignores the
    record and checks every file again; the file's row is then replaced.

    Returns notes for the user: per table, the files that changed since their check."""
    tables = [t for t in tables if t.external is None]     # read where they are
    if not tables:
        return []
    if raw_dir is None:
        raise SourceError("the models read raw data, but no raw folder was given.",
                          hint="pass --raw-dir DIR (or keep the landing zone in data/raw/).")
    if not raw_dir.is_dir():
        raise SourceError(f"the raw folder {raw_dir} does not exist.",
                          hint="pass --raw-dir with the folder that holds the landing zone.")
    check_folders(raw_dir, tables)
    listed = {(t.schema, t.name): _listed(raw_dir, t) for t in tables}
    cache = {} if recheck else \
        load_checks(con, [str(f.path) for files in listed.values() for f in files])
    fresh: list[FileCheck] = []
    changed: dict[tuple[str, str], list[str]] = {(t.schema, t.name): [] for t in tables}
    parts: dict[tuple[str, str], dict[str, str]] = {(t.schema, t.name): {} for t in tables}
    selects = {(t.schema, t.name): _checked(con, t, listed[(t.schema, t.name)], cache, fresh,
                                            changed[(t.schema, t.name)],
                                            parts[(t.schema, t.name)])
               for t in tables}
    con.execute("begin")
    try:
        for (schema, name), select in selects.items():
            con.execute(f"create schema if not exists {quote_ident(schema)}")
            con.execute(f"create or replace view {relation_name(schema, name)} as {select}")
            con.execute(f"create or replace view {relation_name(schema, files_view_name(name))}"
                        f" as {files_select(listed[(schema, name)])}")
            for part, part_select in parts[(schema, name)].items():
                con.execute(f"create or replace view "
                            f"{relation_name(schema, part_view_name(name, part))} as {part_select}")
        if fresh:
            fresh = list({f.path: f for f in fresh}.values())   # two tables, one folder
            con.execute(f"create schema if not exists {quote_ident(CHECKS_SCHEMA)}")
            con.execute(CHECKS_DDL)
            con.execute(f"alter table {CHECKS} add column if not exists row_count BIGINT")
            paths = [f.path for f in fresh]
            con.execute(f"delete from {CHECKS} where path in (select unnest(?::varchar[]))",
                        [paths])
            con.execute(f"insert into {CHECKS} (path, size_bytes, modified_ns, format, "
                        "columns, checked_at, row_count) select unnest(?::varchar[]), "
                        "unnest(?::bigint[]), unnest(?::bigint[]), unnest(?::varchar[]), "
                        "unnest(?::varchar[][]), now(), unnest(?::bigint[])",
                        [paths, [f.size_bytes for f in fresh], [f.modified_ns for f in fresh],
                         [f.format for f in fresh], [list(f.columns) for f in fresh],
                         [f.row_count for f in fresh]])
        con.execute("commit")
    except duckdb.Error:
        con.execute("rollback")
        raise
    return [_changed_note(schema, name, paths) for (schema, name), paths in changed.items()
            if paths]


def _changed_note(schema: str, name: str, paths: list[str]) -> str:
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    return (f"{schema}.{name}: {len(paths)} file(s) changed (size or modification time) "
            f"since they were checked: {shown}; checked again, and reloaded by the "
            "incremental models that compare source_files() with what they loaded")
