"""DuckDB as the runner uses it: connections, SQL text executed, DuckDB's errors.

`import duckdb` also runs the Python package's own layer: relations built in Python, the
expression builder, its version read through importlib.metadata. That is 65 ms of CPU at
the start of every command (a one-model build took 0.3 s), for nothing the runner uses:
it only executes SQL (`execute`, `extract_statements`, `fetchall`) and catches DuckDB's
errors. All of these are the engine's extension module's, `_duckdb`, which the package
re-exports unchanged (`duckdb.connect is _duckdb.connect`, `duckdb.Error is
_duckdb.Error`), so the runner imports that. A module that needs the package's layer
(relations, DataFrames, Arrow) imports `duckdb` itself, which adds its methods to the
same connection class. Where DuckDB has no `_duckdb` module, the package is imported."""

from __future__ import annotations

try:
    import _duckdb as duckdb
except ImportError:     # a DuckDB packaged otherwise
    import duckdb       # type: ignore[no-redef]

__all__ = ["duckdb"]
