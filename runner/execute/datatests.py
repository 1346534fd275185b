"""Data tests as SQL: each query returns the offending rows and passes at zero rows; its
outcome (pass, warn or fail) from the count of those rows by its error_if / warn_if
thresholds and severity, as dbt-core's test task decides it (dbt/task/test.py), for both
engines' executors."""

from __future__ import annotations

from typing import Any, Callable

from runner.errors import ExecutionError, ProjectError
from runner.execute.results import NodeResult, plain
from runner.project.loader import TestDef
from runner.jinja.relation import quote_ident


def _literal(value: object, quote: bool = True) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)) and not quote:
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _ref_call(name: str) -> str:
    return "{{ ref('" + name.replace("'", "\\'") + "') }}"


def _to_ref(value: str) -> str:
    """`to: ref('x')` in YAML stays a Jinja call; a bare name becomes one."""
    value = str(value).strip()
    return "{{ " + value + " }}" if value.startswith(("ref(", "source(")) else _ref_call(value)


# The failing rows a data test's result keeps as its sample.
FAILURE_SAMPLE = 5

BUILT_IN = {"unique", "not_null", "accepted_values", "relationships", "expression_is_true"}


def test_macro(renderer: Any, namespace: str | None, name: str) -> str | None:
    """The Jinja name of the generic test macro (`test_<name>`, from a `{% test %}`
    block) a YAML test names: in its namespace's package; without one, the project's,
    then any installed package's. None if there is none."""
    from runner.jinja.context import GLOBAL_PROJECT
    macro = f"test_{name}"
    namespaces = renderer.namespaces
    if namespace:
        found = namespaces.get(namespace)
        return f"{namespace}.{macro}" if found is not None and macro in found else None
    project = renderer.project.name
    if project in namespaces and macro in namespaces[project]:
        return macro
    for package, found in namespaces.items():
        if package not in (project, GLOBAL_PROJECT) and macro in found:
            return f"{package}.{macro}"
    return None


def _jinja(value: Any) -> str:
    """A YAML argument as a Jinja expression: `ref(...)`/`source(...)` text as the call,
    the rest as literals."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("ref(", "source(")):
            return text
        return repr(value)
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_jinja(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_jinja(str(k))}: {_jinja(v)}" for k, v in value.items()) + "}"
    return repr(str(value))


def generic_test_sql(test: TestDef, model_config: dict | None = None,
                     lookup: Callable[[str | None, str], str | None] | None = None) -> str:
    """The Jinja-SQL of a generic test, rendered later like any model. The test's own
    `where` config limits the rows it reads; without one, the tested model's
    `data_tests_where` config does (a runner extension: one filter for every generic
    test of a model, e.g. the rows its latest incremental build wrote)."""
    model = _ref_call(test.model or "")
    where = test.config.get("where")
    if where is None and model_config:
        where = model_config.get("data_tests_where")
    if where:
        model = f"(select * from {model} where {where})"
    col = quote_ident(test.column) if test.column else None
    args = test.args
    kind = test.test_type
    macro = lookup(test.namespace, kind) if lookup else None
    if macro is None and kind not in BUILT_IN:
        named = f"{test.namespace}.{kind}" if test.namespace else kind
        raise ProjectError(f"unknown data test {named!r} on {test.model}"
                           f"{'.' + test.column if test.column else ''}: neither the project "
                           f"nor an installed package defines it ({{% test {kind} %}}).",
                           path=str(test.path),
                           hint=f"use one of {', '.join(sorted(BUILT_IN))}, a generic test "
                                "of an installed package (runner deps), or write a singular "
                                "test as a SQL file.")
    if macro is not None and (test.namespace or kind not in BUILT_IN):
        # dbt's call of a generic test: the model (its rows under `where`, as dbt's
        # get_where_subquery), the column, the test's arguments
        head = ""
        if where:      # rendered as the template, so a where written as Jinja works too
            head = "{% set _dbt_model %}(select * from " + _ref_call(test.model or "") + \
                f" where {where}) dbt_subquery{{% endset %}}"
        kwargs = ["model=" + ("_dbt_model" if where else _ref_call(test.model or "")[3:-3])]
        if test.column:
            kwargs.append(f"column_name={test.column!r}")
        kwargs += [f"{k}={_jinja(v)}" for k, v in args.items()]
        return head + "{{ " + macro + "(" + ", ".join(kwargs) + ") }}"

    def need_column() -> str:
        if col is None:
            raise ProjectError(f"the {kind} test on {test.model} needs a column: put it under "
                               "a column, or give column_name.", path=str(test.path))
        return col

    if kind == "not_null":
        c = need_column()
        return f"select * from {model} as t where t.{c} is null"
    if kind == "unique":
        c = need_column()
        return (f"select t.{c} as unique_value, count(*) as n_records from {model} as t "
                f"where t.{c} is not null group by t.{c} having count(*) > 1")
    if kind == "accepted_values":
        c = need_column()
        values = args.get("values")
        if not isinstance(values, list) or not values:
            raise ProjectError(f"accepted_values on {test.model}.{test.column} needs "
                               "'values: [...]'.", path=str(test.path))
        quote = args.get("quote", True)
        listed = ", ".join(_literal(v, quote) for v in values)
        return (f"select t.{c} as value_field, count(*) as n_records from {model} as t "
                f"where t.{c} is not null and t.{c} not in ({listed}) group by t.{c}")
    if kind == "relationships":
        c = need_column()
        if "to" not in args or "field" not in args:
            raise ProjectError(f"relationships on {test.model}.{test.column} needs 'to' and "
                               "'field'.", path=str(test.path))
        parent = _to_ref(args["to"])
        field = quote_ident(args["field"])
        # The parent is read only between the smallest and the largest child
        # value: a filter DuckDB applies to the scan, where its row-group
        # statistics skip the rest (a test of an hourly build's new rows then
        # reads the parent's newest row groups, not all of it). Values outside
        # that range cannot match, so the result is the same.
        return (f"with child as materialized (select child.{c} as from_field "
                f"from {model} as child where child.{c} is not null), "
                f"parent as (select parent.{field} as to_field from {parent} as parent "
                f"where parent.{field} >= (select min(from_field) from child) "
                f"and parent.{field} <= (select max(from_field) from child)) "
                f"select child.from_field from child left join parent "
                f"on child.from_field = parent.to_field where parent.to_field is null")
    if kind == "expression_is_true":
        expression = args.get("expression")
        if not expression:
            raise ProjectError(f"expression_is_true on {test.model} needs 'expression'.",
                               path=str(test.path))
        if col is not None:
            expression = f"{col} {expression}"
        return f"select * from {model} as t where not ({expression})"
    raise ProjectError(f"unknown data test {kind!r}.", path=str(test.path))


def judge(result: NodeResult, test, count: int, columns: list[str], rows: list) -> None:
    """A data test's outcome from its failing rows (`count`, the first `rows`): fail or
    warn by its error_if / warn_if thresholds and severity, with a sample of the rows."""
    result.failures = count
    result.sample = [dict(zip(columns, (plain(v) for v in row))) for row in rows]
    error_if = _threshold(test.config.get("error_if", "!=0"))
    warn_if = _threshold(test.config.get("warn_if", "!=0"))
    if test.severity != "warn" and error_if(count):
        result.status = "fail"
    elif warn_if(count):
        result.status = "warn"
    if count:
        result.message = f"{count} failing row{'s' if count != 1 else ''}"


def _threshold(condition: object) -> Callable[[int], bool]:
    """dbt's error_if / warn_if: a comparison of the failure count, e.g. '>5', '!=0'."""
    import operator
    import re
    match = re.fullmatch(r"\s*(>=|<=|!=|<>|==|=|>|<)\s*(\d+)\s*", str(condition))
    if not match:
        raise ExecutionError(f"cannot read the threshold {condition!r}.",
                             hint="write e.g. error_if: '>10' or warn_if: '!=0'.")
    ops = {">=": operator.ge, "<=": operator.le, "!=": operator.ne, "<>": operator.ne,
           "==": operator.eq, "=": operator.eq, ">": operator.gt, "<": operator.lt}
    op, limit = ops[match.group(1)], int(match.group(2))
    return lambda count: op(count, limit)
