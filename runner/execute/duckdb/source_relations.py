"""Which source tables are relations already in the database, as dbt means a source,
and which are folders of raw files, as this runner also reads them.

A source table whose folder is in the raw directory is read from its files (a view in
its schema, see runner.execute.sources). One without a folder is `schema.identifier` in
the database when that relation is there (not the runner's own view of a folder, which
has a `__files` view beside it) or when a seed or model of the project makes it; a table
that is neither stays a folder source, so that the missing folders are all named in one
error, as before. A seed or model that would land on a folder source's view is an
error naming both."""

from __future__ import annotations

from pathlib import Path

from runner.engines.native import duckdb

from runner.errors import ProjectError
from runner.project.nodes import Project


def _existing(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {(s.lower(), t.lower()) for s, t in con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database()").fetchall()}


def classify_sources(con: duckdb.DuckDBPyConnection, project: Project,
                     raw_dir: Path | None) -> None:
    """Mark each source table as a relation or a folder of files (`table.relation`), and
    refuse a node that lands on a folder source's view."""
    existing = _existing(con)
    made = {(n.schema.lower(), n.alias.lower()): n for n in project.nodes.values()}
    for table in project.sources.values():
        has_folder = raw_dir is not None and (raw_dir / table.folder).is_dir()
        key = (table.schema.lower(), table.folder.lower())
        runner_view = (table.schema.lower(), f"{table.folder}__files".lower()) in existing
        table.relation = (table.external is None and not has_folder
                          and (key in made or (key in existing and not runner_view)))
        if table.relation:
            continue
        node = made.get((table.schema.lower(), table.name.lower()))
        if node is not None:
            raise ProjectError(
                f"{node.kind} {node.name} ({node.rel_path}) lands on "
                f"{node.schema}.{node.alias}, the view the runner makes for source "
                f"{table.source}.{table.name} (declared in "
                f"{_rel(project, table.yaml_path)}) over the files of its raw folder.",
                node=node.name, path=node.rel_path,
                hint="give the seed or model another schema or alias, or the source "
                     "another schema.")


def _rel(project: Project, path: Path) -> str:
    try:
        return Path(path).relative_to(project.root).as_posix()
    except ValueError:
        return str(path)
