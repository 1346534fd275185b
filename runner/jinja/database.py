"""The parts of dbt's context that ask the database: `adapter.execute` under dbt's
`statement` macro, `store_result`/`load_result`, the agate-like table `run_query`
returns, `adapter.get_relation` and `adapter.get_columns_in_relation`.

They use the connection of the build (`renderer.connection`, whose SQL reads files only
below the project's folders), or, where there is none (`runner compile`, compile_sql),
an in-memory database without access to files. Nothing here runs while parsing:
dbt's `statement` runs only when `execute` is true."""

from __future__ import annotations

from typing import Any, Iterator

from runner.engines.native import duckdb

from runner.errors import RenderError
from runner.jinja.relation import Relation


class MappedSequence:
    """agate's MappedSequence: a tuple whose items are also reached by name."""

    def __init__(self, values: list[Any], keys: list[str]):
        self._values = tuple(values)
        self._keys = tuple(keys)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self._keys:
                raise KeyError(key)
            return self._values[self._keys.index(key)]
        return self._values[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: Any) -> bool:
        return value in self._values

    def keys(self) -> tuple[str, ...]:
        return self._keys

    def values(self) -> tuple[Any, ...]:
        return self._values

    def items(self) -> list[tuple[str, Any]]:
        return list(zip(self._keys, self._values))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self._keys else default

    def dict(self) -> dict[str, Any]:
        return dict(self.items())

    def __repr__(self) -> str:
        return f"<MappedSequence {self._values!r}>"


class TableColumn:
    """A column of a query's result: its name, type and values."""

    def __init__(self, name: str, data_type: str, values: tuple):
        self.name = name
        self.data_type = data_type
        self._values = values

    def values(self) -> tuple:
        return self._values

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class Table:
    """What `run_query` returns, shaped as dbt's agate table: `columns` (by position or
    name; `.values()` of each), `rows` (each by position or name), `column_names`,
    `column_types`."""

    def __init__(self, names: list[str], types: list[str], rows: list[tuple]):
        self.column_names = tuple(names)
        self.column_types = tuple(types)
        self.rows = MappedSequence([MappedSequence(list(r), names) for r in rows],
                                   [str(i) for i in range(len(rows))])
        self.columns = MappedSequence(
            [TableColumn(n, t, tuple(r[i] for r in rows))
             for i, (n, t) in enumerate(zip(names, types))], names)

    def __len__(self) -> int:
        return len(self.rows)


class AdapterResponse(dict):
    """dbt's adapter response: `_message`-free, `code` and `rows_affected`."""


class DatabaseContext:
    """What templates reach through `adapter.execute`, `store_result`, `load_result`,
    `adapter.get_relation` and `adapter.get_columns_in_relation`."""

    def __init__(self, renderer: Any):
        self._renderer = renderer
        self._results: dict[str, dict] = {}
        self._memory: duckdb.DuckDBPyConnection | None = None
        # The nodes whose rendering asked the database: the build renders them again
        # just before running them, as dbt compiles a node when it runs it. While
        # `deferring` (the compile of every node before anything runs), a query that
        # fails (e.g. on a relation not built yet) gives an empty result instead.
        self.touched: set[str] = set()
        self.deferring = False

    def attach(self, con: duckdb.DuckDBPyConnection, database: str) -> None:
        """From now on, queries run on the build's connection; `target.database` is the
        file's name; failures are deferred until `deferring` is turned off."""
        self._renderer.connection = con
        self._renderer.context["target"]["database"] = database
        self.deferring = True

    def _touch(self) -> None:
        name = self._renderer.label().get("node")
        if name:
            self.touched.add(name)

    def _con(self) -> duckdb.DuckDBPyConnection:
        con = getattr(self._renderer, "connection", None)
        if con is not None:
            return con
        if self._memory is None:
            self._memory = duckdb.connect(":memory:")
            self._memory.execute("set enable_external_access = false")
        return self._memory

    def execute(self, sql: str, auto_begin: bool = False, fetch: bool = False,
                limit: int | None = None) -> tuple[AdapterResponse, Table]:
        text = str(sql).strip()
        self._touch()
        try:
            cursor = self._con().execute(text)
            if cursor.description is None:
                names, types, rows = [], [], []
            else:
                names = [d[0] for d in cursor.description]
                types = [str(d[1]) for d in cursor.description]
                rows = cursor.fetchall() if fetch else []
        except duckdb.Error as exc:
            if self.deferring:
                return AdapterResponse(_message="deferred", code="", rows_affected=0), \
                    Table([], [], [])
            first = text.splitlines()[0] if text else ""
            raise RenderError(f"a query the template ran failed: "
                              f"{str(exc).splitlines()[0]} (query: {first[:200]!r}).",
                              **self._renderer.label(),
                              hint="fix the query, or build what it reads first (a query "
                                   "in a template runs when the model is compiled).") from None
        if limit is not None:
            rows = rows[:limit]
        response = AdapterResponse(_message="OK", code="SELECT", rows_affected=len(rows))
        return response, Table(names, types, rows)

    def store_result(self, name: str, response: Any = None, agate_table: Any = None) -> str:
        table = agate_table if agate_table is not None else Table([], [], [])
        self._results[str(name)] = {"response": response, "table": table,
                                    "data": [tuple(row) for row in table.rows]}
        return ""

    def load_result(self, name: str) -> dict | None:
        return self._results.get(str(name))

    def get_relation(self, database: Any = None, schema: Any = None,
                     identifier: Any = None) -> Relation | None:
        self._touch()
        if schema is None or identifier is None:
            return None
        row = self._con().execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where lower(table_schema) = lower(?) and lower(table_name) = lower(?)",
            [str(schema), str(identifier)]).fetchone()
        if row is None:
            return None
        kind = "view" if row[2] == "VIEW" else "table"
        return Relation(row[0], row[1], database=database, type=kind)

    def get_columns_in_relation(self, relation: Any) -> list["Column"]:
        schema = getattr(relation, "schema", None)
        identifier = getattr(relation, "identifier", None)
        self._touch()
        if schema is None or identifier is None:
            return []
        rows = self._con().execute(
            "select column_name, data_type from information_schema.columns "
            "where lower(table_schema) = lower(?) and lower(table_name) = lower(?) "
            "order by ordinal_position", [str(schema), str(identifier)]).fetchall()
        return [Column(name, dtype) for name, dtype in rows]


class Column:
    """dbt's Column: `name`, `column`, `dtype`, `data_type`, `quoted`."""

    def __init__(self, name: str, dtype: str):
        self.name = name
        self.column = name
        self.dtype = dtype
        self.data_type = dtype
        self.quoted = '"' + name.replace('"', '""') + '"'

    def is_string(self) -> bool:
        return self.dtype.upper() in ("VARCHAR", "TEXT", "STRING")

    def is_integer(self) -> bool:
        return self.dtype.upper() in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                                      "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")

    def is_float(self) -> bool:
        return self.dtype.upper() in ("FLOAT", "DOUBLE", "REAL")

    def is_numeric(self) -> bool:
        return self.dtype.upper().startswith("DECIMAL")

    def is_number(self) -> bool:
        return self.is_integer() or self.is_float() or self.is_numeric()

    def __repr__(self) -> str:
        return f"<Column {self.name} ({self.dtype})>"
