"""What a Spark build prepares before anything runs, as runner.execute.duckdb.run does on
DuckDB: `--empty`, `--defer` to the `--state` run's tables, the enforced contracts'
declared types in Spark's names."""

from __future__ import annotations

from typing import Any, Callable

from runner.errors import OptionError, ProjectError
from runner.jinja.relation import Relation


def prepare_empty(session: Any, models: list[str], exists: Callable[[Any], bool],
                  full_refresh: bool) -> None:
    """--empty: every ref and source reads `(select * from x where false limit 0)`, but
    the refs of models this run builds empty anyway (Spark has no rowid to keep, so no
    temporary copies, unlike DuckDB's runner.task.empty)."""
    project, renderer = session.project, session.renderer
    renderer.empty = True
    renderer.built_empty = {
        n for n in models if project.models[n].materialized in ("table", "view") or
        full_refresh or not exists(project.models[n])}


def defer_relations(adapter: Any, session: Any, selected: list[str]) -> list[str]:
    """--defer: a parent this run does not build and that Spark's catalog lacks is read
    where the --state run built it (its manifest's schema and alias), which must be a
    Spark run of the same catalog (a local warehouse, or a cluster's metastore)."""
    state = session.state
    args = (state.results or {}).get("args") or {}
    if args.get("engine") != "spark":
        raise OptionError(f"--defer with --target spark reads the parents it does not "
                          f"build from Spark's catalog, and {state.folder} is not a Spark "
                          "run's target/ (its database is DuckDB's).",
                          hint="pass --state with the target/ of a build with --target "
                               "spark, or defer on DuckDB.")
    by_name = {n["name"]: n for n in state.manifest["nodes"].values()
               if n["resource_type"] in ("model", "seed") and n.get("relation_name")}
    chosen, notes = set(selected), []
    for name, node in session.project.nodes.items():
        old = by_name.get(name)
        if name in chosen or old is None or node.materialized == "ephemeral" or \
                adapter.relation_kind(node.schema, node.alias) is not None:
            continue
        if adapter.relation_kind(old["schema"], old["alias"]) is None:
            continue        # not built by the state's run either: the model's own error
        session.renderer.redirected[name] = Relation(old["schema"], old["alias"],
                                                     empty=session.renderer.empty)
        notes.append(f"--defer: {name} is read from {old['schema']}.{old['alias']} "
                     f"(the --state run's)")
    return notes


def contract_types(adapter: Any, project: Any, models: list[str],
                   warn: Callable[[str], None]) -> dict[str, dict[str, str]]:
    """Each contracted model's declared column types as Spark names them (the YAML's
    data_type, DuckDB's dialect as every model's SQL is, transpiled and typed by Spark).
    Spark's Parquet tables enforce no constraint: `not_null` is checked on the new rows
    before the table is swapped in; the others are warned about."""
    from runner.execute.contracts import all_constraints, yaml_location, check_declarations
    declared = check_declarations([project.models[n] for n in models], project.root,
                                  lambda message: None)
    out: dict[str, dict[str, str]] = {}
    for name, types in declared.items():
        node = project.models[name]
        out[name] = {}
        for column, duckdb_type in types.items():
            try:
                sql = adapter.transpile(f"select cast(null as {duckdb_type}) as x")
                spark_type = adapter.spark.sql(sql).schema.fields[0].dataType.simpleString()
                # a table holds no calendar interval, only a day-time one (a duration)
                out[name][column] = "interval day to second" if spark_type == "interval" \
                    else spark_type
            except Exception:
                raise ProjectError(f"column {column} of model {name} declares data_type "
                                   f"{duckdb_type!r}, which Spark has no type for.",
                                   node=name, path=yaml_location(node, project.root),
                                   hint="declare a type both engines know (e.g. varchar, "
                                        "integer, double, decimal(18,4), timestamp).") \
                    from None
        for constraint in all_constraints(node):
            kind = str(constraint.get("type"))
            if kind != "not_null":
                warn(f"{yaml_location(node, project.root)}: constraint {kind} of model {name} is "
                     "not enforced on Spark (its tables enforce none; the runner checks "
                     "not_null); it has no effect there.")
    return out

