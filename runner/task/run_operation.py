"""`runner run-operation MACRO --args '{...}'`: call one macro with keyword arguments
(dbt's run-operation). In the macro, `run_query(sql)` runs SQL in the database and
returns its rows (`.rows`, `.columns`, `.column_names`), and `log(msg, info=True)` prints;
what the macro renders is not run (as in dbt), and the runner says so."""

from __future__ import annotations

import time
from difflib import get_close_matches
from pathlib import Path
from typing import Any, Callable

import duckdb

from runner.errors import ExecutionError, OptionError


class OperationFailed(ExecutionError):
    """SQL a run-operation macro ran failed (exit 1, as a failed node)."""
    exit_code = 1
    stage = "Operation"


class QueryResult:
    """What run_query() returns: dbt's agate table, as far as macros read it."""

    def __init__(self, columns: list[str], rows: list[tuple]):
        self.column_names = columns
        self.columns = columns
        self.rows = rows

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def run_operation(project_dir: str | Path, macro: str, args: dict[str, Any],
                  db: str | Path | None = None, vars: dict | None = None,
                  on_log: Callable[[str], None] = print) -> tuple[int, str, float]:
    """Returns (queries run, the macro's rendered text, seconds)."""
    from runner.session import Session
    from runner.engines.duckdb import connect
    started = time.perf_counter()
    session = Session(project_dir, vars, which="run-operation")
    renderer = session.renderer
    package, _, name = macro.rpartition(".")
    scope = renderer.namespaces[package]._macros if package in renderer.namespaces \
        else renderer.context
    if package and package not in renderer.namespaces:
        raise OptionError(f"run-operation: there is no package {package!r}.",
                          hint="installed: " + ", ".join(sorted(renderer.namespaces)) + ".")
    if not callable(scope.get(name)):
        known = [k for k, v in scope.items() if callable(v) and not k.startswith("_")]
        close = get_close_matches(name, known, n=1, cutoff=0.6)
        raise OptionError(f"run-operation: there is no macro {macro!r}.",
                          hint=f"did you mean {close[0]!r}?" if close else
                          "define it in a .sql file under macros/.")
    path = Path(db).resolve() if db else session.db_path
    con = connect(path, allowed_dirs=[session.project.root, path.parent])
    queries = [0]

    def run_query(sql: Any) -> QueryResult:
        queries[0] += 1
        try:
            cursor = con.execute(str(sql))
            columns = [d[0] for d in cursor.description] if cursor.description else []
            return QueryResult(columns, cursor.fetchall() if columns else [])
        except duckdb.Error as exc:
            raise OperationFailed(f"run_query failed: {str(exc).splitlines()[0]}",
                                  node=macro, hint=f"the SQL: {str(sql).strip()[:300]}") \
                from None

    def log(message: Any, info: bool = False) -> str:
        on_log(str(message))
        return ""

    renderer.context.update({"run_query": run_query, "log": log,
                             "__runner_args": dict(args)})
    call = f"{{{{ {macro}(**__runner_args) }}}}"
    try:
        text = renderer.render_string(call, f"operation {macro}").sql
    finally:
        con.close()
    return queries[0], text.strip(), time.perf_counter() - started
