"""`runner show --inline "select ..."`: the first rows of a query rendered with the
project's refs, sources, vars and macros, read from the built database (read-only)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from runner.errors import RunnerError


def show_inline(project_dir: str | Path, sql: str, db: str | Path | None, limit: int,
                vars: dict | None = None) -> str:
    from runner.session import Session
    from runner.engines.duckdb import connect
    session = Session(project_dir, vars, which="show")
    project = session.project
    rendered = session.renderer.render_string(sql, "inline").sql.strip().rstrip(";")
    path = Path(db).resolve() if db else session.db_path
    allowed = [project.root, path.parent, *project.packages.values()]
    last = _last_raw_dir(session.target)     # source views read the last build's files
    if last:
        allowed.append(last)
    con = connect(path, read_only=True, allowed_dirs=allowed)
    try:
        cursor = con.execute(f"select * from ({rendered}) as inline_query limit {int(limit)}")
        columns = [d[0] for d in cursor.description]
        rows = [["" if v is None else str(v) for v in row] for row in cursor.fetchall()]
    except duckdb.Error as exc:
        raise RunnerError(f"the inline query failed: {str(exc).splitlines()[0]}",
                          hint=f"the query as run: {rendered}") from None
    finally:
        con.close()
    return table(columns, rows)


def table(columns: list[str], rows: list[list[str]]) -> str:
    widths = [min(40, max([len(c)] + [len(r[i]) for r in rows])) for i, c in enumerate(columns)]
    line = lambda cells: " | ".join(c[:w].ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(columns), "-+-".join("-" * w for w in widths)] +
                     [line(r) for r in rows])


def _last_raw_dir(target: Path) -> Path | None:
    try:
        raw = json.loads((target / "run_results.json").read_text())["args"].get("raw_dir")
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    return Path(raw) if raw and Path(raw).is_dir() else None
