"""--empty (dbt 1.8's): every model is built with zero rows, to check the SQL and the
schemas quickly. A ref or source reads `(select * from relation where false limit 0)`,
except:
- a model this run builds as a table or a view (or an incremental model it creates): it is
  empty already, and read as it is;
- a table already in the database that this run does not rebuild empty (an incremental
  model's, an unselected model's): read from an empty temporary copy, which keeps DuckDB's
  rowid for the models that read it (a subquery hides it)."""

from __future__ import annotations

from typing import Any

from runner.jinja.relation import Relation, quote_ident, relation_name


def prepare_empty(con: Any, session: Any, models: list[str], seeds: list[str],
                  exists: Any, full_refresh: bool) -> None:
    project, renderer = session.project, session.renderer
    renderer.empty = True
    renderer.built_empty = {
        n for n in models if project.models[n].materialized in ("table", "view") or
        full_refresh or not exists(project.models[n])}
    for name, node in project.nodes.items():
        if name in renderer.built_empty or name in seeds or name in renderer.redirected \
                or node.materialized == "ephemeral" or not exists(node):
            continue
        copy = f"__runner_empty__{node.schema}__{node.alias}"
        con.execute(f"create or replace temp table {quote_ident(copy)} as "
                    f"select * from {relation_name(node.schema, node.alias)} limit 0")
        renderer.redirected[name] = Relation("main", copy, attached="temp")
