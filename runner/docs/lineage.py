"""Column-level lineage of one compiled model, with sqlglot's qualification and scopes.

`model_lineage(sql, schema)` maps each output column of the model's SELECT to the
columns of the relations it reads (`schema.table`, column, kind):

- kind `value`: the column's value is computed from it (a rename, an expression, a
  window function's argument, partition or order, a scalar subquery);
- kind `filter`: it only decides which rows there are (a WHERE, a JOIN's ON or USING, a
  QUALIFY or HAVING, an IN (SELECT ...)) in a scope the column's value passes through.

CTEs, derived tables, set operations and inlined ephemeral models are followed inside
the query; the relations it reads are the leaves. `select *` is expanded from the schema
of those relations (DESCRIBE of the built relation or of the compiled SQL over stand-ins),
so a model's lineage needs the columns of its parents, not their lineage. Across models
the edges are chained by the site: a column's lineage is the walk from its edges into the
parents' own edges, down to the raw source columns.
"""

from __future__ import annotations

from typing import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

VALUE, FILTER = "value", "filter"
Edge = tuple[str, str, str]                 # (schema.table, column, kind)
Schema = dict[tuple[str, str], list[str]]   # (schema, table) -> column names

_FILTER_CLAUSES = {"where", "joins", "qualify", "having"}


class LineageError(Exception):
    """sqlglot could not read or qualify the model's SQL."""


def model_lineage(sql: str, schema: Schema, dialect: str = "duckdb") -> dict[str, list[Edge]]:
    """Each output column of `sql` -> its edges, sorted, `value` before `filter` for the
    same column (a column both computed from and filtered on is a `value` edge)."""
    return analyse(sql, schema, dialect)[0]


def analyse(sql: str, schema: Schema, dialect: str = "duckdb"
            ) -> tuple[dict[str, list[Edge]], str | None]:
    """model_lineage, and a note when sqlglot could qualify only the tables: a column
    it could not place (its SELECT reads a table function sqlglot has no schema for,
    e.g. pragma_version()) is then followed only where its scope reads one relation."""
    note = None
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except (SqlglotError, RecursionError) as exc:
        raise LineageError(_first_line(exc))
    mapping: dict = {}
    for (db, table), columns in schema.items():
        mapping.setdefault(db, {})[table] = {c: "VARCHAR" for c in columns}
    try:
        try:
            qualified = qualify(tree.copy(), dialect=dialect, schema=mapping or None,
                                validate_qualify_columns=False, quote_identifiers=False,
                                identify=False, expand_alias_refs=True)
        except SqlglotError as exc:
            note = f"partial: {_first_line(exc)}"
            qualified = qualify(tree, dialect=dialect, schema=mapping or None,
                                qualify_columns=False, validate_qualify_columns=False,
                                quote_identifiers=False, identify=False)
        root = build_scope(qualified)
    except (SqlglotError, RecursionError, KeyError, ValueError) as exc:
        raise LineageError(_first_line(exc))
    if root is None:
        raise LineageError("not a query")
    walker = _Walker()
    out: dict[str, list[Edge]] = {}
    for name in walker.outputs(root):
        if name in out:
            continue
        edges = walker.resolve(root, name)
        out[name] = _sorted(edges)
    return out, note


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _sorted(edges: Iterable[Edge]) -> list[Edge]:
    best: dict[tuple[str, str], str] = {}
    for rel, col, kind in edges:
        if best.get((rel, col)) != VALUE:
            best[(rel, col)] = kind
    return sorted(((r, c, k) for (r, c), k in best.items()),
                  key=lambda e: (e[2] != VALUE, e[0], e[1]))


class _Walker:
    def __init__(self) -> None:
        self.memo: dict[tuple[int, str], frozenset[Edge]] = {}
        self.filters_memo: dict[int, frozenset[Edge]] = {}
        self.parts: dict[int, tuple[dict[str, list[exp.Column]], list[exp.Column]]] = {}
        self.active: set[tuple[int, str]] = set()

    # -- the columns a scope outputs ------------------------------------------------
    def outputs(self, scope: Scope) -> list[str]:
        if isinstance(scope.expression, exp.SetOperation):
            return self.outputs(scope.set_operation_scopes[0])
        expression = scope.expression
        if not isinstance(expression, exp.Select):
            return []
        return [select.alias_or_name for select in expression.selects
                if not isinstance(select, exp.Star) and select.alias_or_name != "*"]

    # -- one output column of a scope -> edges ------------------------------------------
    def resolve(self, scope: Scope, name: str) -> frozenset[Edge]:
        key = (id(scope), name.lower())
        if key in self.memo:
            return self.memo[key]
        if key in self.active:                  # a recursive CTE: stop at the cycle
            return frozenset()
        self.active.add(key)
        try:
            found = self._resolve(scope, name)
        finally:
            self.active.discard(key)
        self.memo[key] = found
        return found

    def _resolve(self, scope: Scope, name: str) -> frozenset[Edge]:
        if isinstance(scope.expression, exp.SetOperation):
            left = self.outputs(scope.set_operation_scopes[0])
            lowered = [n.lower() for n in left]
            if name.lower() not in lowered:
                return frozenset()
            index = lowered.index(name.lower())
            edges: set[Edge] = set()
            for branch in scope.set_operation_scopes:
                names = self.outputs(branch)
                if index < len(names):
                    edges |= self.resolve(branch, names[index])
            return frozenset(edges)
        expression = scope.expression
        if not isinstance(expression, exp.Select):
            return frozenset()
        by_select, _ = self._parts(scope)
        edges = set(self._filters(scope))
        columns = by_select.get(name.lower())
        if columns is None:
            # a star the schema could not expand: the column comes from a source as it is
            edges |= self._through_star(scope, name)
            return frozenset(edges)
        for column in columns:
            edges |= self._column(scope, column, VALUE)
        select = next(s for s in expression.selects if s.alias_or_name.lower() == name.lower())
        for sub in scope.subquery_scopes:       # scalar subqueries in the select
            if _within(sub.expression, select):
                edges |= self._whole(sub, VALUE)
        return frozenset(edges)

    def _parts(self, scope: Scope) -> tuple[dict[str, list[exp.Column]], list[exp.Column]]:
        """The scope's columns by the select they are in, and those in its filters."""
        if id(scope) in self.parts:
            return self.parts[id(scope)]
        expression = scope.expression
        selects = {id(s): s.alias_or_name.lower() for s in expression.selects}
        by_select: dict[str, list[exp.Column]] = {n: [] for n in selects.values()}
        filters: list[exp.Column] = []
        for column in scope.columns:
            node = column
            while node.parent is not None and node.parent is not expression:
                node = node.parent
            if node.parent is None:
                continue                        # a correlated column of an outer scope
            if id(node) in selects:
                by_select[selects[id(node)]].append(column)
            elif node.arg_key in _FILTER_CLAUSES:
                filters.append(column)
        self.parts[id(scope)] = (by_select, filters)
        return by_select, filters

    def _filters(self, scope: Scope) -> frozenset[Edge]:
        """What decides a scope's rows: its filter columns, and the subqueries in them."""
        if id(scope) in self.filters_memo:
            return self.filters_memo[id(scope)]
        self.filters_memo[id(scope)] = frozenset()
        _, filters = self._parts(scope)
        edges: set[Edge] = set()
        for column in filters:
            edges |= self._column(scope, column, FILTER)
        selects = list(scope.expression.selects)
        for sub in scope.subquery_scopes:       # where x in (select ...), exists (...)
            if not any(_within(sub.expression, s) for s in selects):
                edges |= self._whole(sub, FILTER)
        found = frozenset(edges)
        self.filters_memo[id(scope)] = found
        return found

    def _whole(self, scope: Scope, kind: str) -> set[Edge]:
        edges: set[Edge] = set()
        for name in self.outputs(scope):
            edges |= self.resolve(scope, name)
        edges |= self._filters(scope) if not isinstance(scope.expression, exp.SetOperation) \
            else set()
        return {(r, c, FILTER if kind == FILTER else k) for r, c, k in edges}

    def _column(self, scope: Scope, column: exp.Column, kind: str) -> set[Edge]:
        table = column.table
        source = scope.sources.get(table) if table else None
        if source is None and not table:
            selected = list(scope.selected_sources.values())
            if len(selected) == 1:
                source = selected[0][1]
        if source is None:
            return set()                        # an alias of this select, a lambda's argument
        if isinstance(source, exp.Table):
            relation = _relation(source)
            return {(relation, column.name, kind)} if relation else set()
        if isinstance(source, Scope):
            return {(r, c, FILTER if kind == FILTER else k)
                    for r, c, k in self.resolve(source, column.name)}
        return set()

    def _through_star(self, scope: Scope, name: str) -> set[Edge]:
        edges: set[Edge] = set()
        for _, source in scope.selected_sources.values():
            if isinstance(source, Scope):
                if name.lower() in (n.lower() for n in self.outputs(source)) or \
                        any(isinstance(s, exp.Star) for s in source.expression.selects):
                    edges |= self.resolve(source, name)
            elif isinstance(source, exp.Table) and len(scope.selected_sources) == 1:
                relation = _relation(source)
                if relation:
                    edges.add((relation, name, VALUE))
        return edges


def _relation(table: exp.Table) -> str | None:
    if not isinstance(table.this, exp.Identifier):
        return None                             # a table function: read_csv(...), range(...)
    return f"{table.db}.{table.name}" if table.db else table.name


def _within(node: exp.Expression, ancestor: exp.Expression) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False
