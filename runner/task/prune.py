"""`runner prune`: drop orphaned relations, the tables and views that models deleted
from the project (or renamed, or moved to another schema) left in the database.

As in dbt's community macros for this (drop_orphaned_relations, drop_old_relations), the
relations looked at are those of the schemas the project's models, seeds and sources
land in; the ones no current model, seed or source owns are listed, and dropped only
when asked (`--yes`). Nothing outside those schemas is ever listed, nor the runner's
own bookkeeping (the `_runner` schema, e.g. the raw files already checked). A disabled
model (`enabled: false`) still owns its relation: it may be enabled again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.execute.sources import CHECKS_SCHEMA
from runner.jinja.relation import SOURCE_PARTS, files_view_name, part_view_name, relation_name

# The runner's own relations: never orphans, whichever schema the models use.
BOOKKEEPING_SCHEMAS = {CHECKS_SCHEMA}
BOOKKEEPING_PREFIX = "__runner"


@dataclass
class Orphan:
    schema: str
    name: str
    kind: str             # "table" | "view"

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"


def owned_relations(session) -> tuple[set[str], set[tuple[str, str]]]:
    """The project's schemas, and the (schema, name) of every relation its models, seeds
    and sources own, lower-cased as DuckDB compares them."""
    from runner.project.loader import load_project
    project = session.project
    nodes = list(project.models.values()) + list(project.seeds.values())
    disabled = [node for name, node in load_project(project.root).models.items()
                if name not in project.models]
    for node in disabled:
        node.config = session.renderer.render_node(node, execute=False).config
    from runner.jinja.naming import apply_naming
    apply_naming(session.renderer, disabled)
    schemas = {n.schema for n in nodes + disabled} | \
        {t.schema for t in project.sources.values()}
    owned = {(n.schema, n.alias) for n in nodes + disabled
             if n.materialized != "ephemeral"}
    for table in project.sources.values():
        owned |= {(table.schema, table.name), (table.schema, files_view_name(table.name))}
        owned |= {(table.schema, part_view_name(table.name, part)) for part in SOURCE_PARTS}
    lower = {s.lower() for s in schemas} - BOOKKEEPING_SCHEMAS
    return lower, {(s.lower(), n.lower()) for s, n in owned}


def find_orphans(con, schemas: set[str], owned: set[tuple[str, str]]) -> list[Orphan]:
    if not schemas:
        return []
    rows = con.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database() and lower(table_schema) in "
        f"({', '.join('?' for _ in schemas)}) order by 1, 2", sorted(schemas)).fetchall()
    return [Orphan(schema, name, "view" if kind == "VIEW" else "table")
            for schema, name, kind in rows
            if (schema.lower(), name.lower()) not in owned
            and schema.lower() not in BOOKKEEPING_SCHEMAS
            and not name.lower().startswith(BOOKKEEPING_PREFIX)
            and kind in ("BASE TABLE", "VIEW")]


def prune(project_dir: str | Path = ".", db_path: str | Path | None = None,
          yes: bool = False, vars: dict | None = None
          ) -> tuple[list[str], list[Orphan], bool]:
    """The project's schemas and its orphaned relations; with `yes`, they are dropped in
    one transaction. Returns (schemas, orphans, dropped)."""
    from runner.api import Session, default_db_path
    from runner.engines.duckdb import connect
    session = Session(project_dir, vars)
    schemas, owned = owned_relations(session)
    db = Path(db_path).resolve() if db_path else default_db_path(session.project)
    con = connect(db, read_only=not yes, must_exist=True)
    try:
        orphans = find_orphans(con, schemas, owned)
        if yes and orphans:
            con.execute("begin")
            for orphan in sorted(orphans, key=lambda o: o.kind != "view"):
                con.execute(f"drop {orphan.kind} {relation_name(orphan.schema, orphan.name)}")
            con.execute("commit")
    finally:
        con.close()
    return sorted(schemas), orphans, yes and bool(orphans)
