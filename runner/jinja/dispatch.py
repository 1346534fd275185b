"""`adapter` and `api` in dbt's Jinja context, for DuckDB: `adapter.dispatch` follows
dbt-core's search (the `dispatch:` search order of dbt_project.yml, else the project then
the namespace's package; in each, `duckdb__<name>` (`spark__<name>`
on Spark) then `default__<name>`)."""

from __future__ import annotations

from typing import Any, Callable

from runner.errors import RenderError


class Adapter:
    """What templates reach as `adapter`."""

    def __init__(self, renderer: Any, label: Callable[[], dict]):
        self._renderer = renderer
        self._label = label

    def type(self) -> str:
        """dbt's adapter type: the target's (duckdb, or spark with --target spark)."""
        return str(self._renderer.context["target"].get("type") or "duckdb")

    def quote(self, identifier: Any) -> str:
        return '"' + str(identifier).replace('"', '""') + '"'

    # The database calls of dbt's adapter (runner.jinja.database)
    def execute(self, sql: str, auto_begin: bool = False, fetch: bool = False,
                limit: int | None = None) -> Any:
        return self._renderer.database.execute(sql, auto_begin, fetch, limit)

    def get_relation(self, database: Any = None, schema: Any = None,
                     identifier: Any = None) -> Any:
        return self._renderer.database.get_relation(database, schema, identifier)

    def get_columns_in_relation(self, relation: Any) -> Any:
        return self._renderer.database.get_columns_in_relation(relation)

    def dispatch(self, macro_name: str, macro_namespace: str | None = None,
                 packages: Any = None) -> Any:
        if "." in str(macro_name):
            raise RenderError(f"adapter.dispatch('{macro_name}'): the macro name must not "
                              f"contain a dot.", **self._label(),
                              hint=f"pass the package as macro_namespace: "
                                   f"adapter.dispatch('{str(macro_name).split('.')[-1]}', "
                                   f"'{str(macro_name).split('.')[0]}').")
        if macro_namespace is not None and not isinstance(macro_namespace, str):
            raise RenderError(f"adapter.dispatch('{macro_name}'): macro_namespace must be a "
                              f"package name, not {macro_namespace!r}.", **self._label())
        attempts = []
        for package in self._search_packages(macro_namespace):
            for prefix in (self.type(), "default"):
                search_name = f"{prefix}__{macro_name}"
                macro = self._lookup(package, search_name)
                attempts.append(search_name if package is None else f"{package}.{search_name}")
                if macro is not None:
                    return macro
        raise RenderError(f"in dispatch: no macro named '{macro_name}' found within "
                          f"namespace '{macro_namespace}'; searched for "
                          f"{', '.join(repr(a) for a in attempts)}.", **self._label(),
                          hint="define one of them, or correct the dispatch: search order "
                               "in dbt_project.yml.")

    def _search_packages(self, namespace: str | None) -> list[str | None]:
        if namespace is None:
            return [None]
        project = self._renderer.project
        for entry in getattr(project, "dispatch", None) or []:
            if entry.get("macro_namespace") == namespace:
                return list(entry.get("search_order") or [])
        if namespace in self._renderer.namespaces:
            return [project.name, namespace]
        return [None]

    def _lookup(self, package: str | None, name: str) -> Any:
        from runner.jinja.context import MacroFunction
        if package is None:
            value = self._renderer.context.get(name)
            return value if isinstance(value, MacroFunction) else None
        namespace = self._renderer.namespaces.get(package)
        if namespace is None:
            return None
        return namespace._macros.get(name)


class ColumnApi:
    """`api.Column`: dbt's type names (dbt-adapters' Column.TYPE_LABELS)."""

    TYPE_LABELS = {"STRING": "TEXT", "TIMESTAMP": "TIMESTAMP", "FLOAT": "FLOAT",
                   "INTEGER": "INT", "BOOLEAN": "BOOLEAN", "NUMERIC": "NUMERIC"}

    def translate_type(self, dtype: str) -> str:
        return self.TYPE_LABELS.get(str(dtype).upper(), str(dtype))

    def numeric_type(self, dtype: str, precision: Any, scale: Any) -> str:
        if precision is None or scale is None:
            return str(dtype)
        return f"{dtype}({precision},{scale})"

    def string_type(self, size: int) -> str:
        return f"character varying({size})"
