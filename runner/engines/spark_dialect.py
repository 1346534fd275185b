"""DuckDB's SQL as Spark 4 SQL: sqlglot's Spark dialect, corrected where its output
fails on Spark or means something else there (each fix a function of the parsed tree,
tests/test_spark_sql.py):

- a CTE's `AS MATERIALIZED` hint (Spark has no such keyword) is dropped;
- `QUALIFY` stays (Spark 4 has it; sqlglot's rewrite leaks a `_w` column);
- `cast(row(a, b) as varchar)` is DuckDB's text of the row, `(a, b)`: each value's text,
  quoted as DuckDB quotes it (a text with `,()'"\\:{}[]=`, leading or trailing white
  space, empty or `NULL`), NULL as `NULL`;
- `list[n]` (1-based) is `try_element_at(list, n)`: NULL past the end, as on DuckDB;
- `'infinity'` / `'-infinity'` timestamps (refused under ANSI mode) are the largest
  and smallest timestamps Spark has;
- `arg_max(x, (a, b))` orders by a struct, `to_days(n)` is a day interval, `hugeint`
  is `decimal(38, 0)`;
- `len(x)` of a list made in the query (a list literal, list_filter, ...) is `size(x)`;
  `list_has_all(a, b)` is `size(array_except(b, a)) = 0`;
- a table alias cast to text (DuckDB's text of the row) is the row as JSON: the same
  values give the same text, not DuckDB's (a fingerprint, compared with itself);
- `pragma_version()` is Spark's `version()`, as `library_version`;
- `range(a, b) as t(c)` is Spark's range() table function; `using sample
  reservoir(n rows) repeatable (s)` is the first n rows by a hash of s and the row's
  values (the same rows as DuckDB's where there are n or fewer);
- `rowid` is `monotonically_increasing_id()` of the table, numbered in a subquery
  before the query's WHERE (Spark numbers what reaches the SELECT, so an id taken
  under one filter named another row under another), its column left out of a `*`:
  one number per row of the table, the same in each read of an unchanged table (what
  the models join on);
- `union [all] by name` lines each side's columns up by name: the names of each side
  read from the query (explicit columns, or `*` of a CTE that has them), else from
  Spark's analysis of that side (with a session); else it is an error saying so."""

from __future__ import annotations

from typing import Callable

from sqlglot import exp, transforms
from sqlglot.dialects.spark import Spark
from sqlglot.generators.spark import SparkGenerator

# DuckDB quotes a text inside a row's text when it holds one of these
QUOTED_CHARS = r"""[,()'"\\:{}\[\]=]"""
SMALLEST = "0001-01-01 00:00:00"
LARGEST = "9999-12-31 23:59:59.999999"


class Spark4(Spark):
    """sqlglot's Spark, with QUALIFY written as it is (Spark 4 has it)."""

    class Generator(SparkGenerator):
        TRANSFORMS = {
            **SparkGenerator.TRANSFORMS,
            exp.Select: transforms.preprocess([
                transforms.eliminate_distinct_on,
                transforms.unnest_to_explode,
                transforms.any_to_exists,
            ]),
        }


class NotTranspilable(ValueError):
    """A part of the SQL that has no Spark form the transpiler can write."""


def _value_text(value: exp.Expression) -> exp.Expression:
    """A value's text inside DuckDB's text of a row."""
    text = exp.cast(value.copy(), "string")
    quoted = _call("concat", exp.Literal.string("'"), exp.func(
        "replace", exp.func("replace", text.copy(), exp.Literal.string("\\"),
                            exp.Literal.string("\\\\")),
        exp.Literal.string("'"), exp.Literal.string("\\'")), exp.Literal.string("'"))
    needs_quotes = exp.or_(
        exp.EQ(this=text.copy(), expression=exp.Literal.string("")),
        exp.EQ(this=exp.Upper(this=text.copy()), expression=exp.Literal.string("NULL")),
        exp.RegexpLike(this=text.copy(), expression=exp.Literal.string(
            QUOTED_CHARS + r"|^\s|\s$")))
    return exp.Case(ifs=[
        exp.If(this=exp.Is(this=text.copy(), expression=exp.Null()),
               true=exp.Literal.string("NULL")),
        exp.If(this=needs_quotes, true=quoted)], default=text)


def _row_text(row: exp.Expression) -> exp.Expression:
    parts = [_value_text(v) for v in row.expressions]
    return _call("concat", exp.Literal.string("("),
                 _call("concat_ws", exp.Literal.string(", "), *parts),
                 exp.Literal.string(")"))


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    """A Spark function call written as it is (no dialect's NULL handling added)."""
    return exp.Anonymous(this=name, expressions=list(args))


def _is_row(node: exp.Expression) -> bool:
    return (isinstance(node, exp.Anonymous) and str(node.this).lower() == "row") or \
        isinstance(node, (exp.Tuple, exp.Struct)) and not any(
            isinstance(e, exp.PropertyEQ) for e in node.expressions)


def _output_names(select: exp.Expression, ctes: dict[str, exp.Expression]
                  ) -> list[str] | None:
    """The column names a query gives, where the query says them."""
    if isinstance(select, exp.Subquery):
        select = select.this
    if isinstance(select, exp.SetOperation):
        return _output_names(select.this, ctes)
    if not isinstance(select, exp.Select):
        return None
    names: list[str] = []
    for projection in select.expressions:
        if isinstance(projection, exp.Star) or (isinstance(projection, exp.Column) and
                                                isinstance(projection.this, exp.Star)):
            source = select.args.get("from_") or select.args.get("from")
            table = source.this if source else None
            if select.args.get("joins") or not isinstance(table, exp.Table) or \
                    table.name.lower() not in ctes or projection.args.get("except") or \
                    projection.args.get("replace"):
                return None
            inner = _output_names(ctes[table.name.lower()], ctes)
            if inner is None:
                return None
            names += inner
        elif projection.alias_or_name:
            names.append(projection.alias_or_name)
        else:
            return None
    return names


ColumnsOf = Callable[[str], "list[str] | None"]


def _side_query(side: exp.Expression, root: exp.Expression) -> str:
    """One side of a set operation as a query of its own, with the statement's CTEs."""
    query = exp.select("*").from_(exp.Subquery(this=side.copy(),
                                               alias=exp.TableAlias(this=exp.to_identifier("s"))))
    with_ = root.args.get("with_") or root.args.get("with")
    if with_ is not None:
        query.set("with_" if "with_" in root.args else "with", with_.copy())
    return query.sql(dialect=Spark4)


def _by_name(union: exp.SetOperation, ctes: dict[str, exp.Expression],
             root: exp.Expression, columns_of: ColumnsOf | None) -> None:
    left, right = _output_names(union.this, ctes), _output_names(union.expression, ctes)
    if columns_of is not None:
        # what the query does not say, Spark's analysis of each side does (nothing runs)
        if left is None:
            left = columns_of(_side_query(union.this, root))
        if right is None:
            right = columns_of(_side_query(union.expression, root))
    if left is None or right is None:
        raise NotTranspilable(
            "UNION BY NAME needs the column names of both sides, and this query does not "
            "say them (a `*` of a table, or of a join)")
    wanted = left + [n for n in right if n.lower() not in {x.lower() for x in left}]
    have = {n.lower() for n in right}

    def lined(side: exp.Expression, present: set[str]) -> exp.Expression:
        columns = [exp.column(n, quoted=True) if n.lower() in present else
                   exp.alias_(exp.Null(), n, quoted=True) for n in wanted]
        return exp.select(*columns).from_(exp.Subquery(this=side.copy(),
                                                       alias=exp.TableAlias(
                                                           this=exp.to_identifier("_by_name"))))
    union.set("this", lined(union.this, {n.lower() for n in left}))
    union.set("expression", lined(union.expression, have))
    union.set("by_name", None)


LIST_MAKERS = (exp.Array, exp.ArrayFilter, exp.ArrayAgg, exp.ArrayConcat, exp.ArrayDistinct)


def _aliases_in_scope(node: exp.Expression) -> set[str]:
    """The table aliases (and names) of the FROM and JOINs of the SELECT around node."""
    select = node.find_ancestor(exp.Select)
    if select is None:
        return set()
    return {t.alias_or_name.lower() for t in select.find_all(exp.Table)
            if t.find_ancestor(exp.Select) is select}


def _reservoir(select: exp.Select) -> None:
    """`using sample reservoir(n rows) repeatable (s)`: the n rows first by a hash of s
    and their values (the same rows as DuckDB's where the input has n or fewer)."""
    sample = select.args["sample"]
    size, seed = sample.args.get("size"), sample.args.get("seed")
    method = str(sample.args.get("method") or "").lower()
    if method != "reservoir" or size is None or sample.args.get("percent") or \
            select.args.get("order") or select.args.get("limit"):
        raise NotTranspilable("USING SAMPLE is written for Spark only as "
                              "`reservoir(N rows)` on a query without ORDER BY or LIMIT")
    select.set("sample", None)
    # a hash of the seed and the row's values, not rand(): Spark takes rand() for
    # non-deterministic, and refuses to group by what is computed from it
    values = [p.this.copy() if isinstance(p, exp.Alias) else p.copy()
              for p in select.expressions if not isinstance(p, exp.Star)]
    select.order_by(_call("xxhash64", seed.copy() if seed is not None else
                          exp.Literal.number(0), *values), copy=False)
    select.limit(size, copy=False)


def _number_rows(select: exp.Select) -> None:
    """DuckDB's `rowid` of a table the SELECT reads: the table becomes `(select
    monotonically_increasing_id() as rowid, * from table) as alias`, numbered before
    the WHERE, and a `*` over it leaves the column out."""
    tables = {t.alias_or_name.lower(): t for t in select.find_all(exp.Table)
              if t.find_ancestor(exp.Select) is select and isinstance(t.this, exp.Identifier)}
    source = select.args.get("from_") or select.args.get("from")
    only = source.this.alias_or_name.lower() if source is not None and isinstance(
        source.this, exp.Table) and not select.args.get("joins") else None
    numbered: set[str] = set()
    for column in list(select.find_all(exp.Column)):
        if column.name.lower() != "rowid" or column.this.quoted or \
                column.find_ancestor(exp.Select) is not select:
            continue
        if column.table:
            name = column.table.lower()
        elif only is not None:
            name = only
        elif not select.args.get("joins"):
            continue            # a subquery's own column of that name
        else:
            raise NotTranspilable("rowid in a query of several tables is written for "
                                  "Spark only as table.rowid")
        table = tables.get(name)
        if table is None or name in numbered:
            continue
        numbered.add(name)
        alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name))
        inner = table.copy()
        inner.set("alias", None)
        table.replace(exp.Subquery(this=exp.select(
            exp.alias_(exp.func("monotonically_increasing_id"), "rowid"), exp.Star()
        ).from_(inner), alias=alias))
    if not numbered:
        return
    for projection in select.expressions:
        star = projection if isinstance(projection, exp.Star) else projection.this \
            if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star) \
            else None
        if star is None or (isinstance(projection, exp.Column) and
                            projection.table.lower() not in numbered):
            continue
        key = "except_" if "except_" in star.arg_types else "except"
        star.set(key, list(star.args.get(key) or []) + [exp.column("rowid")])


def spark_fixes(tree: exp.Expression, columns_of: ColumnsOf | None = None) -> exp.Expression:
    """The corrections of the module's docstring, applied to a parsed DuckDB statement;
    `columns_of` (a query's column names, from Spark) lines up a UNION BY NAME whose
    sides' columns the query does not say."""
    ctes = {cte.alias.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    lists = {a.alias.lower() for a in tree.find_all(exp.Alias)
             if isinstance(a.this, LIST_MAKERS)}
    for cte in tree.find_all(exp.CTE):
        if cte.args.get("materialized") is not None:
            cte.set("materialized", None)

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES) and \
                _is_row(node.this):
            return _row_text(node.this)
        if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES) and \
                isinstance(node.this, exp.Column) and not node.this.table and \
                node.this.name.lower() in _aliases_in_scope(node):
            # a table alias cast to text: its row, as JSON (Spark has no row text)
            return _call("to_json", _call("struct", exp.Column(
                this=exp.Star(), table=exp.to_identifier(node.this.name))))
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) and \
                str(node.this.this).lower() == "pragma_version":
            return exp.Subquery(this=exp.select(exp.alias_(_call("version"),
                                                           "library_version")),
                                alias=exp.TableAlias(this=exp.to_identifier("version")))
        if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries) and \
                node.this.args.get("is_end_exclusive") and node.alias:
            # range(a, b) as t(c): Spark's range() table function, its column renamed
            series = node.this
            args = [series.args["start"], series.args["end"]]
            if series.args.get("step"):
                args.append(series.args["step"])
            return exp.Table(this=_call("range", *args), alias=node.args["alias"])
        if isinstance(node, exp.Select) and isinstance(node.args.get("sample"),
                                                       exp.TableSample):
            _reservoir(node)
        if isinstance(node, exp.Length) and (isinstance(node.this, LIST_MAKERS) or (
                isinstance(node.this, exp.Column) and node.this.name.lower() in lists)):
            return _call("size", node.this)
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "list_has_all" \
                and len(node.expressions) == 2:
            # every element of the second list is in the first
            whole, part = node.expressions
            return exp.EQ(this=_call("size", _call("array_except", part, whole)),
                          expression=exp.Literal.number(0))
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and \
                node.this.is_string and node.to.is_type(*exp.DataType.TEMPORAL_TYPES) and \
                node.this.name.strip().lower() in ("infinity", "-infinity", "+infinity"):
            edge = SMALLEST if node.this.name.strip().startswith("-") else LARGEST
            return exp.Cast(this=exp.Literal.string(edge), to=node.to.copy())
        if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.INT128,
                                                            exp.DataType.Type.UINT128):
            return exp.DataType.build("decimal(38, 0)")
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and \
                isinstance(node.expressions[0], exp.Literal) and \
                not node.expressions[0].is_string:
            index = int(node.expressions[0].name) + 1       # sqlglot keeps it 0-based
            return exp.func("try_element_at", node.this, exp.Literal.number(index))
        if isinstance(node, (exp.ArgMax, exp.ArgMin)) and \
                isinstance(node.expression, exp.Tuple):
            node.set("expression", exp.func("struct", *node.expression.expressions))
            return node
        if type(node).__name__ == "ToDays":
            return exp.Anonymous(this="make_dt_interval", expressions=[node.this])
        return node
    tree = tree.transform(fix)
    for select in list(tree.find_all(exp.Select)):
        _number_rows(select)
    ctes = {cte.alias.lower(): cte.this for cte in tree.find_all(exp.CTE)}
    for union in list(tree.find_all(exp.SetOperation)):
        if union.args.get("by_name"):
            _by_name(union, ctes, tree, columns_of)
    return tree


def transpile(sql: str, columns_of: ColumnsOf | None = None) -> str:
    import sqlglot
    tree = sqlglot.parse_one(sql, read="duckdb")
    return spark_fixes(tree, columns_of).sql(dialect=Spark4)
