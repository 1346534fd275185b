"""Reading a project's tables while a build holds its database: the publication.

DuckDB lets one process write a file or several read it, so a reader of the database
being built is refused. `runner show` and `runner report` then read the catalog of the
same database's latest publication (serving.py), which a build never locks, and say so."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import duckdb

from runner.errors import DatabaseInUse


def connect_for_reading(project, db_path: Path, allowed_dirs: list[Path] | None = None,
                        memory_limit: str | None = None, fallback: bool = True,
                        on_note: Callable[[str], None] | None = None
                        ) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A read-only connection to `db_path`, or, while another process holds it (and with
    `fallback`), to its publication's catalog. Returns the connection and the file it
    opened."""
    from runner.engines.duckdb import connect
    from runner.publish.catalog import read_publication
    from runner.publish.serving import catalog_path
    try:
        return connect(db_path, read_only=True, allowed_dirs=allowed_dirs,
                       memory_limit=memory_limit), db_path
    except DatabaseInUse as exc:
        if not fallback:
            raise
        catalog = catalog_path(project, db_path)
        pub = read_publication(catalog)
        if pub is None or Path(pub.database) != Path(db_path).resolve() or \
                not catalog.exists():
            raise DatabaseInUse(f"{exc.message} It has no publication to read instead "
                                f"(none at {catalog}).", hint=exc.hint) from None
        con = connect(catalog, read_only=True, memory_limit=memory_limit,
                      allowed_dirs=None if allowed_dirs is None else
                      [*allowed_dirs, catalog.parent])
        if on_note:
            on_note(f"{db_path} is in use by a build: read its publication of "
                    f"{pub.published_at} (build {pub.build_id}) from {catalog}")
        return con, catalog
