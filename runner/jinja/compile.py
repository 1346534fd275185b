"""Render every selected node to SQL, inline ephemeral models as CTEs, and check the
SQL's syntax before anything runs: with DuckDB's own parser, and where it refuses the SQL,
with sqlglot for a message that names the line (sqlglot is imported only then)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from runner.engines.native import duckdb

from runner.errors import ProjectError, SqlSyntaxError
from runner.project.loader import Node, Project, TestDef
from runner.jinja.render import Renderer
from runner.jinja.relation import ephemeral_cte_name


@dataclass
class Compiled:
    name: str
    kind: str                  # model | seed | test
    sql: str                   # what runs (the SELECT of a model or a test)
    path: str                  # the source file, relative to the project
    compiled_path: Path | None = None
    node: Node | None = None
    test: TestDef | None = None
    refs: set[str] = field(default_factory=set)
    pre_hooks: list[str] = field(default_factory=list)     # statements run before the
    post_hooks: list[str] = field(default_factory=list)    # model, and after, in its
    #                                                        transaction


def hook_texts(node: Node, when: str) -> list[str]:
    """A model's pre_hook or post_hook config (dbt spells it either way): one SQL string
    or a list of them, still to be rendered."""
    value = node.config.get(f"{when}_hook", node.config.get(f"{when}-hook"))
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, str):
            raise ProjectError(f"{when}_hook of model {node.name} must be SQL text or a list "
                               f"of SQL texts, not {item!r}.", path=str(node.path))
    return [i for i in items if i.strip()]


_LEADING = re.compile(r"^\s*(?:(?:--[^\n]*\n)|(?:/\*.*?\*/)|\s)*", re.S)
_WITH = re.compile(r"with(\s+recursive)?\s", re.I)


def inline_ctes(sql: str, ctes: list[tuple[str, str]]) -> str:
    """Put `name as (sql)` CTEs in front of a query, joining its own WITH if it has one."""
    if not ctes:
        return sql
    block = ",\n".join(f"{ephemeral_cte_name(name)} as (\n{body}\n)" for name, body in ctes)
    lead = _LEADING.match(sql).end()
    match = _WITH.match(sql, lead)
    if match:
        return f"{sql[:match.end()]}{block},\n{sql[match.end():]}"
    return f"{sql[:lead]}with {block}\n{sql[lead:]}"


def strip_trailing_semicolon(sql: str) -> str:
    return re.sub(r";\s*$", "", sql.rstrip())


def check_sql(sql: str, label: str, path: str, compiled_path: Path | None,
              con: duckdb.DuckDBPyConnection | None = None) -> None:
    """One SELECT statement, or a SqlSyntaxError naming the file and line. `con`, if
    given, parses (else DuckDB's default connection, opened for it)."""
    if _duckdb_select(sql, con):
        return
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    where = f" (compiled: {compiled_path})" if compiled_path else ""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except (ParseError, TokenError) as exc:
        errors = getattr(exc, "errors", None) or [{}]
        line = errors[0].get("line")
        message = errors[0].get("description") or str(exc).splitlines()[0]
        raise SqlSyntaxError(f"{message}, at line {line} of the compiled SQL{where}.",
                             node=label, path=path, line=_source_line(sql, line, path),
                             hint="fix the SQL at that line; 'runner compile' shows the "
                                  "compiled text.") from None
    if len(statements) != 1:
        raise SqlSyntaxError(f"the model compiles to {len(statements)} SQL statements; a model "
                             f"is exactly one SELECT{where}.", node=label, path=path,
                             hint="remove the extra ';' and statements: a model never runs "
                                  "DDL of its own.")
    if not isinstance(statements[0], (sqlglot.exp.Query,)):
        raise SqlSyntaxError(f"a model must be a SELECT (or WITH ... SELECT), not "
                             f"{statements[0].key.upper()}{where}.", node=label, path=path,
                             hint="write the query only; the runner creates the table or view "
                                  "(a PIVOT goes inside 'select * from (...)').")


def _duckdb_select(sql: str, con: duckdb.DuckDBPyConnection | None = None) -> bool:
    try:
        statements = (con or duckdb).extract_statements(sql)
    except duckdb.Error:
        return False
    return len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT


def _source_line(sql: str, line: int | None, path: str) -> int | None:
    """The line of the model file that holds the compiled line's text, if one does."""
    if not line:
        return None
    lines = sql.splitlines()
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1].strip()
    try:
        source = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for number, candidate in enumerate(source, start=1):
        if text and candidate.strip() == text:
            return number
    return None


def compile_models(project: Project, renderer: Renderer, names: list[str],
                   target_dir: Path | None,
                   con: duckdb.DuckDBPyConnection | None = None) -> dict[str, Compiled]:
    """Render the named models (execute=True), inline ephemerals, write and check them."""
    bodies: dict[str, str] = {}

    def body(name: str) -> str:
        if name not in bodies:
            node = project.models[name]
            bodies[name] = strip_trailing_semicolon(renderer.render_node(node, execute=True).sql)
        return bodies[name]

    def ephemeral_chain(name: str, seen: list[str]) -> None:
        for ref in sorted(project.models[name].refs):
            dep = project.models.get(ref)
            if dep is not None and dep.materialized == "ephemeral" and ref not in seen:
                body(ref)
                ephemeral_chain(ref, seen)
                seen.append(ref)

    compiled: dict[str, Compiled] = {}
    for name in names:
        node = project.models[name]
        sql = body(name)
        chain: list[str] = []
        ephemeral_chain(name, chain)
        sql = inline_ctes(sql, [(dep, bodies[dep]) for dep in chain])
        out = _write(target_dir, node.rel_path, sql)
        hooks = {when: [strip_trailing_semicolon(renderer.render_hook(node, text))
                        for text in hook_texts(node, when)]
                 for when in ("pre", "post")}
        if node.materialized == "table" or (node.materialized == "incremental" and
                                            not renderer.builds_on_its_table(node)):
            renderer.built_whole.add(name)
        compiled[name] = Compiled(name, "model", sql, str(node.path), out, node=node,
                                  refs=set(node.refs), pre_hooks=hooks["pre"],
                                  post_hooks=hooks["post"])
        check_sql(sql, name, str(node.path), out, con)
    return compiled


def compile_batches(project: Project, renderer: Renderer, node: Node, rows: Callable[[str], int],
                    con: duckdb.DuckDBPyConnection | None = None) -> list[str] | None:
    """A full build's SQL in batches (full_build_batches, runner/jinja/batches.py), or
    None where the model has none or its rows fit in one. `rows(model)` counts a model's
    rows in the database."""
    from runner.jinja.batches import batch_count, batch_setting, render_batches
    setting = batch_setting(node)
    if setting is None:
        return None
    count = batch_count(rows(setting[0]), setting[1])
    if count == 1:
        return None
    return render_batches(renderer, node, count, lambda: compile_models(
        project, renderer, [node.name], None, con)[node.name].sql)


def compile_test(project: Project, renderer: Renderer, test: TestDef, text: str,
                 target_dir: Path | None,
                 con: duckdb.DuckDBPyConnection | None = None) -> Compiled:
    sql = strip_trailing_semicolon(renderer.render_test(test, text).sql)
    chain = [r for r in sorted(test.refs)
             if r in project.models and project.models[r].materialized == "ephemeral"]
    sql = inline_ctes(sql, [(r, strip_trailing_semicolon(
        renderer.render_node(project.models[r], execute=True).sql)) for r in chain])
    out = _write(target_dir, f"tests/{test.name}.sql", sql)
    check_sql(sql, test.name, str(test.path), out, con)
    return Compiled(test.name, "test", sql, str(test.path), out, test=test, refs=set(test.refs))


def _write(target_dir: Path | None, rel_path: str, sql: str) -> Path | None:
    if target_dir is None:
        return None
    out = target_dir / "compiled" / rel_path
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(sql + "\n", encoding="utf-8")
    return out
