"""--defer: a selected model's parent that this run does not build and that is not in
this database is read where the --state run built it (dbt's defer, without
--favor-state): the state's database file is attached read-only when it is another."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from runner.errors import OptionError
from runner.jinja.relation import Relation, quote_ident

STATE_DATABASE = "runner_state"


def require_state(session: Any) -> None:
    """--defer reads the parents a run does not build from --state: refuse it without one
    (both engines' pipelines, before anything runs)."""
    if session.state is None:
        raise OptionError("--defer reads the parents it does not build from --state, and "
                          "no --state was given.", hint="pass --state with a previous "
                                                        "run's target/ folder.")


def defer_relations(con: Any, session: Any, db: Path, selected: list[str],
                    exists: Callable[[Any], bool]) -> list[str]:
    """Point the renderer's refs of unselected, missing parents at the state's relations;
    returns a note per deferred parent."""
    state = session.state
    other = state.db_path
    if other is None:
        raise OptionError(f"--defer: {state.folder}/run_results.json does not name the "
                          "database that run built.",
                          hint="pass --state with the target/ of a build or run.")
    database = None
    if other.resolve() != db.resolve():
        if not other.exists():
            raise OptionError(f"--defer: the state's database {other} does not exist.",
                              hint="pass --state with the target/ of a run whose database "
                                   "is still there.")
        literal = "'" + str(other).replace("'", "''") + "'"
        con.execute(f"attach {literal} as {quote_ident(STATE_DATABASE)} (read_only)")
        database = STATE_DATABASE
    by_name = {n["name"]: n for n in state.manifest["nodes"].values()
               if n["resource_type"] in ("model", "seed") and n.get("relation_name")}
    chosen = set(selected)
    notes = []
    for name, node in session.project.nodes.items():
        old = by_name.get(name)
        if name in chosen or old is None or node.materialized == "ephemeral":
            continue
        if exists(node) or (node.kind == "model" and _is_view(con, node)):
            continue
        session.renderer.redirected[name] = Relation(old["schema"], old["alias"],
                                                   attached=database,
                                                   empty=session.renderer.empty)
        notes.append(f"--defer: {name} is read from "
                     f"{session.renderer.redirected[name]} ({other.name})")
    return notes


def _is_view(con: Any, node: Any) -> bool:
    return bool(con.execute("select count(*) from duckdb_views() where database_name = "
                            "current_database() and schema_name = ? and view_name = ?",
                            [node.schema, node.alias]).fetchone()[0])
