"""Publishing, as the commands do it: after a successful `runner build`, and on its own
(`runner publish`). The work is serving.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from runner.engines.duckdb import connect, restrict
from runner.errors import RunnerError
from runner.jinja.relation import relation_name
from runner.publish.serving import publish as publish_tables, settings, table_specs


NOTHING_TO_PUBLISH = "no model or seed of this project has a publish config; nothing " \
    "was published."
PUBLISH_HINT = "add config: {publish: true} (or {publish: {partition_by: ...}}) to a model."


def publish_after_build(con, session, db: Path, vars: dict | None, result,
                        on_note: Callable | None) -> None:
    """A successful build publishes the tables marked `publish` (runner/publish/serving.py);
    a failed publish leaves the previous publication, and the build's tables, as they are."""
    merged = {**session.project.vars, **(vars or {})}
    try:
        result.published = publish_tables(
            con, session.project, session.renderer, db_path=db,
            build_id=session.started.isoformat(),
            report_time=str(merged.get("report_time") or session.started.isoformat()),
            vars=vars, on_note=on_note)
    except RunnerError as exc:
        result.publish_error = exc


def publish_database(project_dir: str | Path = ".", db_path: str | Path | None = None,
                     vars: dict | None = None, memory_limit: str | None = None,
                     on_note: Callable | None = None, target=None):
    """Publish the database's `publish` tables now (a build does it when it succeeds).
    The build id is the latest `_built_at` of the published tables; report_time is the
    `report_time` var, else that build id. A Spark `target`'s tables are read from
    Spark (runner.publish.spark)."""
    from runner.api import Session, default_db_path
    if target is not None and target.type == "spark":
        from runner.publish.spark import publish_spark, refuse_duckdb_options
        refuse_duckdb_options(db=db_path, memory_limit=memory_limit)
        result = publish_spark(project_dir, target, vars, on_note=on_note)
        if result is None:
            raise RunnerError(NOTHING_TO_PUBLISH, hint=PUBLISH_HINT)
        return result
    session = Session(project_dir, vars)
    project = session.project
    db = Path(db_path).resolve() if db_path else default_db_path(project)
    specs = table_specs(project, session.renderer)
    if not specs:
        raise RunnerError(NOTHING_TO_PUBLISH, hint=PUBLISH_HINT)
    con = connect(db, read_only=True, memory_limit=memory_limit)
    try:
        restrict(con, [project.root, db.parent, settings(project, db, vars)[0]])
        built = [con.execute(f"select max(_built_at) from {relation_name(c.schema, c.table)}"
                             ).fetchone()[0] for c in specs
                 if con.execute("select count(*) from information_schema.columns where "
                                "table_schema = ? and table_name = ? and column_name = "
                                "'_built_at'", [c.schema, c.table]).fetchone()[0]]
        build_id = max([b for b in built if b is not None], default=None)
        build_id = build_id.isoformat() if build_id else ""
        merged = {**project.vars, **(vars or {})}
        return publish_tables(con, project, session.renderer, db_path=db, build_id=build_id,
                              report_time=str(merged.get("report_time") or build_id),
                              vars=vars, on_note=on_note, specs=specs)
    finally:
        con.close()
