"""Running dbt's unit tests: a model's SQL over given rows, compared with expected rows.

What every engine shares: the model rendered as a unit test sees it, the given rows as
typed SELECTs, the check that the inputs are the model's, running a model's tests in
order, and the report of the rows that differ. Only the columns named in `expect` are
compared, as a multiset (order aside), as dbt does; a failure lists the rows that
differ, `+` for a row the model returned and `-` for an expected one it did not. Each
engine's tester: runner/execute/duckdb/unit_tests.py, runner/execute/spark/unit_tests.py.

`overrides` apply while the model is rendered: `macros` (a macro's name, e.g.
`is_incremental`, to the value it returns), `vars` and `env_vars`. Without an override,
is_incremental() is false, as in dbt."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

from runner.errors import ProjectError
from runner.execute.results import NodeResult, plain
from runner.jinja.columns import Columns
from runner.jinja.compile import inline_ctes, strip_trailing_semicolon
from runner.jinja.relation import sql_literal
from runner.jinja.render import Renderer
from runner.project.nodes import Node, Project
from runner.project.unit_tests import Fixture, UnitTest

DIFF_ROWS = 10


@dataclass
class Prepared:
    test: UnitTest
    setup: list[str] = field(default_factory=list)     # statements that load the inputs
    actual: str = ""                                   # the expect columns of the model
    expected: str = ""
    columns: list[str] = field(default_factory=list)


class ModelRendering:
    """A model's SQL rendered as a unit test sees it (the test's overrides); the part of
    a unit tester that is the same on every engine."""

    def __init__(self, project: Project, renderer: Renderer):
        self.project = project
        self.renderer = renderer

    def _render(self, node: Node, overrides: dict[str, dict] | None = None,
                inline: bool = True) -> tuple[str, set[str], set[tuple[str, str]]]:
        """The model's SQL (with its ephemeral parents inlined, unless `inline` is
        false), its refs and sources, rendered with the unit test's overrides (and
        is_incremental() false unless overridden). A ref or source stands for the
        test's given rows, so --empty and --defer do not apply (as in dbt)."""
        renderer, context = self.renderer, self.renderer.context
        overrides = overrides or {}
        saved_context, saved_vars = dict(context), renderer.vars
        saved_reads = renderer.empty, renderer.redirected
        renderer.empty, renderer.redirected = False, {}
        saved_refs, saved_sources = set(node.refs), set(node.sources)
        macros = {"is_incremental": False, **overrides.get("macros", {})}
        env = {str(k): str(v) for k, v in overrides.get("env_vars", {}).items()}
        original_env_var = context["env_var"]
        try:
            renderer.vars = {**renderer.vars, **overrides.get("vars", {})}
            for name, value in macros.items():
                context[name] = (lambda v: lambda *a, **k: v)(value)
            context["env_var"] = lambda name, *default: env[name].replace("'", "''") \
                if name in env else original_env_var(name, *default)
            sql = strip_trailing_semicolon(renderer.render_node(node, execute=True).sql)
            refs, sources = set(node.refs), set(node.sources)
            if inline:
                chain: list[str] = []
                self._ephemerals(node.name, chain)
                sql = inline_ctes(sql, [(r, strip_trailing_semicolon(renderer.render_node(
                    self.project.models[r], execute=True).sql)) for r in chain])
            return sql, refs, sources
        finally:
            context.clear()
            context.update(saved_context)
            renderer.vars = saved_vars
            renderer.empty, renderer.redirected = saved_reads
            node.refs, node.sources = saved_refs, saved_sources

    def _ephemerals(self, name: str, seen: list[str]) -> None:
        for ref in sorted(self.project.models[name].refs):
            dep = self.project.models.get(ref)
            if dep is not None and dep.materialized == "ephemeral" and ref not in seen:
                self._ephemerals(ref, seen)
                seen.append(ref)


def run_for(tester: Any, prepared: dict[str, Prepared], tests: list[UnitTest],
            skip: str | None, emit: Any) -> str | None:
    """Run (or, with a reason, skip) the given unit tests, emitting each result; the
    first failure, which skips their model ("unit test X failed"), or None."""
    failed = None
    for test in tests:
        outcome = NodeResult(test.name, "unit_test", "skipped", skip, path=test.rel_path) \
            if skip or tester is None else tester.run(prepared[test.name])
        emit(outcome)
        if outcome.status in ("fail", "error"):
            failed = failed or f"unit test {test.name} failed"
    return failed


def check_given(project: Project, test: UnitTest, refs: set[str], sources: set) -> None:
    """Every ref (but a seed's) and source the model reads has given rows."""
    missing = [f"ref('{r}')" for r in sorted(refs)
               if r not in project.seeds and not any(f.ref == r for f in test.given)]
    missing += [f"source('{s}', '{t}')" for s, t in sorted(sources)
                if not any(f.source == (s, t) for f in test.given)]
    if missing:
        raise ProjectError(f"unit test {test.name} gives no rows for {', '.join(missing)}, "
                           f"which model {test.model} reads.", path=test.rel_path,
                           line=test.line, hint="add each under 'given:' (rows: [] for "
                                                "none); a seed not given is read as it is.")


def differ(result: NodeResult, header: list[str], rows: list[tuple]) -> None:
    """A unit test failed by the rows that differ (`+` returned by the model, `-`
    expected), if any: the first DIFF_ROWS of them shown."""
    if not rows:
        return
    result.status = "fail"
    result.failures = len(rows)
    shown = sorted(rows, key=lambda r: [str(v) for v in r[1:]] + [r[0]])
    result.message = ("actual differs from expected (+ returned by the model, - expected "
                      "but not returned):\n" + _table(header, shown[:DIFF_ROWS]) +
                      (f"\n    ... {len(rows) - DIFF_ROWS} more"
                       if len(rows) > DIFF_ROWS else ""))


def typed_rows(test: UnitTest, fixture: Fixture, columns: Columns, what: str,
               quote: Any, lists: str = "") -> str:
    """A typed SELECT of a dict or csv fixture's rows: every column of `columns`, in
    order (`quote`: the engine's identifier quoting; `lists`: the function that makes
    a list, `array` on Spark, else DuckDB's `[...]`); a column a row leaves out is null."""
    types = {c.lower(): (c, t) for c, t in columns}
    for row in fixture.rows or []:
        for key in row:
            if key.lower() not in types:
                close = get_close_matches(key.lower(), types, n=1)
                raise ProjectError(
                    f"{what} of unit test {test.name} names column {key!r}, which the "
                    f"relation does not have.", path=test.rel_path, line=fixture.line,
                    hint=f"did you mean {types[close[0]][0]!r}?" if close else
                    f"its columns: {', '.join(c for c, _ in columns)}.")
    selects = []
    for row in fixture.rows or [{}]:
        given = {k.lower(): v for k, v in row.items()}
        selects.append("select " + ", ".join(
            f"cast({_literal(given.get(c.lower()), lists, t)} as {t}) as {quote(c)}"
            for c, t in columns))
    return "\nunion all\n".join(selects) + ("\nlimit 0" if not fixture.rows else "")


def columns_named(fixture: Fixture) -> list[str]:
    seen: dict[str, str] = {}
    for row in fixture.rows or []:
        for key in row:
            seen.setdefault(key.lower(), key)
    return list(seen.values())


def _literal(value: Any, lists: str = "", data_type: str = "") -> str:
    """A YAML or CSV value as a SQL literal (cast to the column's type, `data_type`, by
    the caller); a list as `lists(...)` where a function is named (Spark), else DuckDB's
    `[...]`; a mapping as DuckDB's `{k: v}` (cast to a MAP or a STRUCT), or on Spark as
    `map(k, v, ...)` for a map column and `named_struct(k, v, ...)` for a struct."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(value) if not isinstance(value, decimal.Decimal) else str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return sql_literal(value.isoformat())
    if isinstance(value, list):
        items = ", ".join(_literal(v, lists) for v in value)
        return f"{lists}({items})" if lists else f"[{items}]"
    if isinstance(value, dict):
        if lists:
            pairs = ", ".join(f"{sql_literal(str(k))}, {_literal(v, lists)}"
                              for k, v in value.items())
            kind = "map" if data_type.strip().lower().startswith("map") else "named_struct"
            return f"{kind}({pairs})"
        return "{" + ", ".join(f"{sql_literal(str(k))}: {_literal(v)}"
                               for k, v in value.items()) + "}"
    return sql_literal(str(value))


def _table(header: list[str], rows: list[tuple]) -> str:
    cells = [header] + [["null" if v is None else str(plain(v)) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("    " + " | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
                     for r in cells)
