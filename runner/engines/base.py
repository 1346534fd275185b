"""The engine adapter: the operations the engine-generic code needs of a database, as
dbt's `BaseAdapter` has them (much smaller). `runner.engines.duckdb.DuckDBAdapter` and
`runner.engines.spark.SparkAdapter` implement it; the build path asks the adapter what
is in the database, and for the SQL of the statements that differ per engine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


def connect(target: Any, project_root: Path, db_path: Path | None = None) -> "Adapter":
    """The adapter of a target (runner.engines.profiles.Target): DuckDB's file
    (`db_path`), or a Spark session."""
    if target.type == "spark":
        from runner.engines.spark import SparkAdapter, session
        return SparkAdapter(session(target, project_root),
                            str(target.host) if target.method == "connect" else None)
    from runner.engines.duckdb import DuckDBAdapter, connect as open_file
    assert db_path is not None
    return DuckDBAdapter(open_file(db_path))


class Adapter(ABC):
    """One open connection to one engine."""

    type: str = ""          # dbt's adapter type: `duckdb`, `spark` (adapter.type())

    # -- connection ------------------------------------------------------------------
    @abstractmethod
    def execute(self, sql: str) -> Any:
        """Run one statement."""

    @abstractmethod
    def fetch(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple]]:
        """Run a query: its column names and its rows (the first `limit` rows)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    # -- the catalog -----------------------------------------------------------------
    @abstractmethod
    def relations(self) -> dict[tuple[str, str], str]:
        """(schema, name) -> 'table' or 'view', of every relation in the database."""

    def relation_kind(self, schema: str, name: str) -> str | None:
        return self.relations().get((schema, name))

    @abstractmethod
    def columns(self, schema: str, name: str) -> list[tuple[str, str]]:
        """The relation's columns: (name, type), in order."""

    # -- names and DDL ---------------------------------------------------------------
    @staticmethod
    @abstractmethod
    def quote(identifier: str) -> str:
        """A quoted identifier."""

    def relation_name(self, schema: str, name: str) -> str:
        return f"{self.quote(schema)}.{self.quote(name)}"

    def create_schema(self, schema: str) -> None:
        self.execute(f"create schema if not exists {self.quote(schema)}")

    def drop_relation(self, schema: str, name: str, kind: str) -> None:
        self.execute(f"drop {kind} if exists {self.relation_name(schema, name)}")

    @abstractmethod
    def rename_relation(self, schema: str, name: str, new_name: str, kind: str) -> None:
        """Rename a relation within its schema."""

    # -- the materialization SQL that differs ----------------------------------------
    def create_view_sql(self, schema: str, name: str, sql: str) -> str:
        return f"create or replace view {self.relation_name(schema, name)} as\n{sql}"

    @abstractmethod
    def create_table_as_sql(self, schema: str, name: str, sql: str,
                            config: dict | None = None) -> str:
        """CREATE TABLE ... AS the query, with the model's table options."""

    def transpile(self, sql: str) -> str:
        """The project's SQL (DuckDB's dialect) in this engine's dialect."""
        return sql

    # -- reading out -------------------------------------------------------------------
    @abstractmethod
    def unload(self, sql: str, folder: Path) -> None:
        """The query's rows written as Parquet files into `folder` (new), with their
        types (decimals exact, instants as UTC): how another engine's tables reach a
        reader that runs DuckDB SQL (runner.publish.readers.copy_tables)."""

