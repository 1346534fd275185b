"""What `{{ this }}`, `{{ ref() }}`, `{{ source() }}` and `api.Relation.create()` are: a
relation that prints as its quoted name, with dbt's attributes (database, schema,
identifier, type) and, as dbt's relations are, a mapping whose metadata names its type
(dbt_utils checks `obj is mapping and obj.get('metadata')...` before using one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator


def quote_ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def sql_literal(value: str) -> str:
    """A string literal of SQL (DuckDB's and Spark's alike)."""
    return "'" + str(value).replace("'", "''") + "'"


def relation_name(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def ephemeral_cte_name(name: str) -> str:
    return f"__dbt__cte__{name}"


class Relation(Mapping):
    """Prints as `"schema"."identifier"` (the database file is DuckDB's current one), or,
    for an ephemeral model, as the name of its CTE."""

    _KEYS = ("database", "schema", "identifier", "type", "metadata")

    def __init__(self, schema: str, identifier: str, cte: bool = False,
                 database: str | None = None, type: str | None = None,
                 external: str | None = None, attached: str | None = None,
                 empty: bool = False):
        self.database = database
        self.attached = attached      # an attached database it is read from (--defer)
        self.empty = empty            # --empty: reads no rows
        self.external = external      # a source's external_location (dbt-duckdb), as SQL
        self.schema = schema
        self.identifier = identifier
        self.name = identifier
        self.cte = cte
        self.type = "cte" if cte else type
        self.metadata = {"type": "DuckDBRelation"}

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    @property
    def is_cte(self) -> bool:
        return self.cte

    def render(self) -> str:
        return str(self)

    def quote(self, *args: Any, **kwargs: Any) -> "Relation":
        return self

    def include(self, *args: Any, **kwargs: Any) -> "Relation":
        return self

    def incorporate(self, type: str | None = None, **kwargs: Any) -> "Relation":
        return Relation(self.schema, self.identifier, self.cte, self.database,
                        type or self.type, self.external, self.attached, self.empty)

    def __str__(self) -> str:
        if self.cte:
            return ephemeral_cte_name(self.identifier)
        if self.external:
            name = self.external
        else:
            name = relation_name(self.schema, self.identifier)
            name = f"{quote_ident(self.attached)}.{name}" if self.attached else name
        return f"(select * from {name} where false limit 0)" if self.empty else name

    def __html__(self) -> str:     # pragma: no cover - autoescape is off
        return str(self)

    def __getitem__(self, key: str) -> Any:
        if key not in self._KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Relation) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class RelationApi:
    """`api.Relation`: dbt's `Relation.create(database=, schema=, identifier=, type=)`."""

    def create(self, database: str | None = None, schema: str | None = None,
               identifier: str | None = None, type: str | None = None,
               **kwargs: Any) -> Relation:
        return Relation(schema or "main", identifier or "", database=database, type=type)


def files_view_name(name: str) -> str:
    """The view beside a source table's view that lists its files (see source_files())."""
    return f"{name}__files"


SOURCE_PARTS = ("parquet", "text")


def part_view_name(name: str, part: str) -> str:
    """The view beside a source table's view that holds the rows of one kind of its files
    (see source_parts()): `parquet`, typed as the files are, or `text` (CSV and NDJSON)."""
    return f"{name}__{part}"
