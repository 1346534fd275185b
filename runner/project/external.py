"""dbt-duckdb's file sources: a source table whose meta (its own over its source's, as
dbt merges them) has `external_location` is not a relation but a file DuckDB reads. As
dbt-duckdb's DuckDBRelation.create_from_source: the location is formatted with the
table's `name`, `identifier`, `schema`, `database`, `tags` and meta keys (`formatter`:
newstyle `{name}`, the default; oldstyle `%(name)s`; template `${name}`); a location that
is not a function call and not already quoted is quoted, and DuckDB reads it by its
extension (CSV, Parquet, JSON). Unlike dbt-duckdb, a relative path is anchored at the
project folder rather than the working directory (the same where dbt is run from the
project folder, as it usually is): the runner's DuckDB reads files only below the
project, the raw folder and the database's folder."""

from __future__ import annotations

import re
from pathlib import Path
from string import Template
from typing import Any

from runner.errors import ProjectError

_FIRST_LITERAL = re.compile(r"^(\s*[A-Za-z_][A-Za-z0-9_]*\s*\(\s*)'((?:[^']|'')*)'")


def merged_meta(source: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """dbt's precedence: source meta, source config.meta, table meta, table config.meta;
    then, as dbt-duckdb, the table's other config keys (config: {external_location: })."""
    merged: dict[str, Any] = {}
    for entry in (source, table):
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        for meta in (entry.get("meta"), config.get("meta")):
            if isinstance(meta, dict):
                merged.update(meta)
    config = table.get("config") if isinstance(table.get("config"), dict) else {}
    merged.update({k: v for k, v in config.items() if k != "meta"})
    return merged


def external_location(source: dict[str, Any], table: dict[str, Any], root: Path,
                      where: str) -> str | None:
    """The SQL a source() of this table renders as, or None for a relation or folder."""
    meta = merged_meta(source, table)
    if "external_location" not in meta:
        return None
    name = str(table["name"])
    values = {"name": name, "identifier": str(table.get("identifier") or name),
              "schema": str(source.get("schema") or source["name"]), "database": None,
              "tags": list(table.get("tags") or []), **meta}
    template = str(meta["external_location"])
    formatter = str(meta.get("formatter", "newstyle"))
    what = f"the external_location of source {source['name']}.{name}"
    try:
        if formatter == "newstyle":
            location = template.format_map(values)
        elif formatter == "oldstyle":
            location = template % values
        elif formatter == "template":
            location = Template(template).substitute(values)
        else:
            raise ProjectError(f"{what} has formatter {formatter!r}.", path=where,
                               hint="use newstyle ({name}), oldstyle (%(name)s) or "
                                    "template (${name}), as dbt-duckdb.")
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        raise ProjectError(f"{what}, {template!r}, cannot be formatted: {exc!r} is not "
                           f"one of its keys (name, identifier, schema, database, tags "
                           f"and the meta keys).", path=where,
                           hint="fix the placeholder, or add the key to the meta.") \
            from None
    if "(" not in location and not location.startswith("'"):
        return "'" + _anchored(location, root).replace("'", "''") + "'"
    match = _FIRST_LITERAL.match(location)
    if match:
        path = _anchored(match.group(2).replace("''", "'"), root).replace("'", "''")
        location = f"{match.group(1)}'{path}'{location[match.end():]}"
    return location


def _anchored(path: str, root: Path) -> str:
    if "://" in path or Path(path).is_absolute():
        return path
    return str(root / path)


def check_readable(tables: list[Any], allowed: list[Path], root: Path) -> None:
    """A ProjectError naming the first source table whose external_location is a file
    outside the folders the runner's DuckDB reads (checked before anything runs)."""
    folders = [Path(d).resolve() for d in allowed]
    for table in tables:
        match = _FIRST_LITERAL.match(table.external or "") or \
            re.match(r"^()'((?:[^']|'')*)'$", table.external or "")
        if not match or "://" in match.group(2):
            continue
        path = Path(match.group(2).replace("''", "'")).resolve()
        if not any(path.is_relative_to(folder) for folder in folders):
            where = table.yaml_path.relative_to(root).as_posix() \
                if table.yaml_path.is_relative_to(root) else str(table.yaml_path)
            raise ProjectError(f"the external_location of source {table.source}."
                               f"{table.name}, {path}, is outside the folders the runner "
                               f"reads: the project, the raw folder and the database's "
                               f"folder; nothing was run.", path=where,
                               hint="move the file below the project (a relative location "
                                    "is taken from the project folder), or put it in the "
                                    "--raw-dir folder.")
