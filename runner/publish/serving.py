"""The serving layer: the tables a project marks with `config: {publish: ...}`, published
as Parquet (zstd) beside the build database, and a catalog file (catalog.py) that readers
open instead of the database being built. For a database <db>.duckdb:

    published/<db>.duckdb                            the catalog: views over the files below
    published/files/<db>/<schema>.<table>/<key>=<value>/<version>-<n>.parquet
    published/files/<db>/<schema>.<table>/<version>-<n>.parquet   (an unpartitioned table)
    published/tables/<db>/<schema>.<table>           the current files as a Hive folder

A model (or seed) declares, in its YAML or config():

    publish: true                                    one file per version, no partitions
    publish:
      partition_by: report_month                     the Hive key (dbt-duckdb's name)
      partition_expression: "strftime({{ this }}.month, '%Y-%m')"   SQL over the row

Publishing is incremental: a partition is rewritten only when its rows changed. Every
row the runner writes carries `_built_at`, and a row is only ever written anew (new
`_built_at`) or deleted, so a partition holds the same rows as when it was published
exactly when its row count and its largest `_built_at` are the same (a new row raises the
largest, a deleted one lowers the count); one grouped scan of the key and `_built_at`
tells. A table without `_built_at` is compared by an order-free hash of its rows.

Files a previous version named are kept for `publish_grace_minutes` (a var, default 120)
after they left the catalog, for readers that still have an older catalog open; then they
are deleted. Nothing else in the folder is deleted but leftovers of a publish that was
killed (files no catalog ever named)."""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from runner.errors import ExportError, ProjectError
from runner.execute.sources import sql_literal
from runner.jinja.render import files_view_name, quote_ident, relation_name
from runner.publish.files import link_tables, remove_empty_folders, remove_leftovers
from runner.publish.catalog import (Publication, PublishedFile, PublishedTable,
                                    read_publication, write_catalog,
                                    write_state)

DEFAULT_DIR = "published"
DEFAULT_GRACE_MINUTES = 120
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
OPTIONS = {"partition_by", "partition_expression"}


@dataclass
class TableSpec:
    schema: str
    table: str
    partition_by: str | None = None
    expression: str | None = None        # rendered SQL over the row; None: the column

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass
class PublishResult:
    catalog: Path
    version: str
    seconds: float = 0.0
    bytes_written: int = 0
    rewritten: dict[str, int] = field(default_factory=dict)   # relation -> partitions
    deleted: int = 0
    notes: list[str] = field(default_factory=list)


def settings(project, db_path: Path, vars: dict | None = None) -> tuple[Path, float]:
    """The serving folder and the grace period in minutes: the vars `publish_dir` (relative
    to the project; by default `published/` beside the database) and
    `publish_grace_minutes`."""
    merged = {**project.vars, **(vars or {})}
    folder = Path(str(merged.get("publish_dir") or Path(db_path).resolve().parent /
                      DEFAULT_DIR))
    folder = folder if folder.is_absolute() else project.root / folder
    grace = merged.get("publish_grace_minutes", DEFAULT_GRACE_MINUTES)
    try:
        grace = float(grace)
        if grace < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise ProjectError(f"publish_grace_minutes must be a number of minutes >= 0, not "
                           f"{grace!r}.", hint="e.g. --vars '{publish_grace_minutes: 120}'.") \
            from None
    return folder.resolve(), grace


def catalog_path(project, db_path: Path, vars: dict | None = None) -> Path:
    """The catalog of a database's publication: named as the database, in the serving
    folder, whose files/<name>/ and tables/<name>/ hold that database's files alone."""
    return settings(project, db_path, vars)[0] / f"{Path(db_path).stem}.duckdb"


def table_specs(project, renderer) -> list[TableSpec]:
    """The models and seeds whose config has `publish`, in the project's order."""
    specs = []
    for node in list(project.seeds.values()) + list(project.models.values()):
        conf = node.config.get("publish")
        if conf in (None, False):
            continue
        where = f"the publish config of {node.name}"
        if conf is True:
            specs.append(TableSpec(node.schema, node.alias))
            continue
        if not isinstance(conf, dict) or set(conf) - OPTIONS:
            raise ProjectError(f"{where} must be true or a mapping with "
                               f"{' and '.join(sorted(OPTIONS))}; it is {conf!r}.",
                               node=node.name, path=node.rel_path)
        key = conf.get("partition_by")
        if isinstance(key, list):
            if len(key) != 1:
                raise ProjectError(f"{where} partitions by {key}; one key is supported.",
                                   node=node.name, path=node.rel_path)
            key = key[0]
        expression = conf.get("partition_expression")
        if expression and not key:
            raise ProjectError(f"{where} has a partition_expression but no partition_by.",
                               node=node.name, path=node.rel_path,
                               hint="name the key: partition_by: report_month.")
        if expression:
            expression = renderer.render_hook(node, str(expression))
        specs.append(TableSpec(node.schema, node.alias, str(key) if key else None,
                               expression))
    return specs


def _columns(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[tuple[str, str]]:
    return con.execute("select column_name, data_type from information_schema.columns "
                       "where table_schema = ? and table_name = ? order by ordinal_position",
                       [spec.schema, spec.table]).fetchall()


def _keyed(spec: TableSpec, columns: list[tuple[str, str]]) -> tuple[str, str]:
    """The table with its partition key as the last column, and the key's type."""
    rel = relation_name(spec.schema, spec.table)
    names = {n: t for n, t in columns}
    if spec.expression is None:
        if spec.partition_by not in names:
            raise ProjectError(f"{spec.relation} has no column {spec.partition_by!r} to "
                               "partition by.", hint="add a partition_expression that "
                                                     "computes it.")
        return rel, names[spec.partition_by]
    if spec.partition_by in names:
        raise ProjectError(f"the partition key {spec.partition_by!r} of {spec.relation} is "
                           "also a column of it.", hint="give the key another name.")
    return (f"(select *, cast(({spec.expression}) as varchar) as "
            f"{quote_ident(spec.partition_by)} from {rel})"), "VARCHAR"


def partition_states(con: duckdb.DuckDBPyConnection, spec: TableSpec,
                     columns: list[tuple[str, str]]) -> dict[str | None, tuple[int, str]]:
    """partition value (None: NULL, or the unpartitioned table) -> (rows, signature)."""
    names = [n for n, _ in columns]
    signature = "max(_built_at)::varchar" if "_built_at" in names else \
        "coalesce(bit_xor(hash(t))::varchar, '')"
    if spec.partition_by is None:
        rel = relation_name(spec.schema, spec.table)
        n, sig = con.execute(f"select count(*), {signature} from {rel} as t").fetchone()
        return {None: (int(n), str(sig))} if n else {}
    source, _ = _keyed(spec, columns)
    key = quote_ident(spec.partition_by)
    rows = con.execute(f"select t.{key}::varchar, count(*), {signature} from {source} as t "
                       f"group by all").fetchall()
    return {k: (int(n), str(sig)) for k, n, sig in rows}


def _value_of(folder: str) -> str | None:
    value = urllib.parse.unquote(folder.split("=", 1)[1])
    return None if value == HIVE_NULL else value


def _portable(columns: list[tuple[str, str]]) -> str:
    """The select list of a published file: INTERVAL columns as BIGINT microseconds."""
    intervals = [n for n, t in columns if t == "INTERVAL"]
    return "*" + (" replace (" + ", ".join(f"epoch_us({quote_ident(n)}) as {quote_ident(n)}"
                                          for n in intervals) + ")" if intervals else "")


def _write(con: duckdb.DuckDBPyConnection, spec: TableSpec, columns: list[tuple[str, str]],
           changed: list[str | None], staging: Path) -> list[tuple[Path, str | None]]:
    """Write the rows of the changed partitions under `staging`; (file, partition)."""
    target = staging / spec.relation
    staging.mkdir(exist_ok=True)
    options = "format parquet, compression zstd"
    if spec.partition_by is None:
        target.mkdir(parents=True)
        out = target / "part_0.parquet"
        con.execute(f"copy (select {_portable(columns)} from "
                    f"{relation_name(spec.schema, spec.table)}) to "
                    f"{sql_literal(str(out))} ({options})")
        return [(out, None)]
    source, _ = _keyed(spec, columns)
    key = quote_ident(spec.partition_by)
    # the values as literals: a 30 % faster filter than IN (select unnest(?)) at 1 M rows
    values = ", ".join(sql_literal(v) for v in changed if v is not None)
    condition = " or ".join(([f"t.{key}::varchar in ({values})"] if values else []) +
                            ([f"t.{key} is null"] if None in changed else []))
    con.execute(f"copy (select {_portable(columns)} from {source} as t where {condition}) to "
                f"{sql_literal(str(target))} ({options}, partition_by ({key}), "
                f"filename_pattern 'part_{{i}}')")
    return [(f, _value_of(f.parent.name)) for f in sorted(target.glob("*=*/*.parquet"))]


def _write_empty(con, spec: TableSpec, columns: list[tuple[str, str]], staging: Path) -> Path:
    target = staging / spec.relation
    target.mkdir(parents=True, exist_ok=True)
    out = target / "empty.parquet"
    con.execute(f"copy (select {_portable(columns)} from "
                f"{relation_name(spec.schema, spec.table)} limit 0) to "
                f"{sql_literal(str(out))} (format parquet, compression zstd)")
    return out


def _raw_files(con: duckdb.DuckDBPyConnection, project) -> list[tuple]:
    from runner.engines.duckdb import has_relation
    out = []
    for source in project.sources.values():
        view = files_view_name(source.name)
        if has_relation(con, source.schema, view):
            for path, size, modified in con.execute(
                    f"select _source_file, size_bytes, modified_at::varchar "
                    f"from {relation_name(source.schema, view)} order by 1").fetchall():
                out.append((f"{source.schema}.{source.name}", path, size, modified))
    return out


def publish(con: duckdb.DuckDBPyConnection, project, renderer, *, db_path: Path,
            build_id: str, report_time: str, vars: dict | None = None,
            on_note: Callable[[str], None] | None = None) -> PublishResult | None:
    """Publish the project's `publish` tables from the open database `con`. Returns None
    when the project publishes nothing."""
    from runner.engines.duckdb import has_relation
    specs = table_specs(project, renderer)
    if not specs:
        return None
    started = time.perf_counter()
    folder, grace = settings(project, db_path, vars)
    folder.mkdir(parents=True, exist_ok=True)
    catalog = catalog_path(project, db_path, vars)
    name = catalog.stem
    lock = open(folder / f".{name}.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)        # one publisher at a time; a second one waits
    try:
        now = dt.datetime.now(dt.timezone.utc)
        version = now.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        result = PublishResult(catalog, version)
        previous = read_publication(catalog)
        if previous and previous.database != str(db_path):
            # another database published here before (same name, same folder): its
            # files are not this one's partitions; they are retired, all rewritten
            result.notes.append(f"{catalog} held a publication of {previous.database}; "
                                f"every table is published again")
            if on_note:
                on_note(result.notes[-1])
            previous = Publication(previous.version, "", "", "", previous.database,
                                   tables={t: PublishedTable(t, None, "", files=old.files)
                                           for t, old in previous.tables.items()},
                                   retired=previous.retired)
        files_dir = folder / "files" / name
        remove_leftovers(folder, name, files_dir, previous)
        staging = folder / f".staging-{name}-{version}"
        pub = Publication(version, build_id, report_time, now.isoformat(), str(db_path))
        pub.raw_files = _raw_files(con, project)
        retired_now: list[str] = []
        try:
            for spec in specs:
                if not has_relation(con, spec.schema, spec.table):
                    result.notes.append(f"{spec.relation} is not in {db_path}: not published")
                    if on_note:
                        on_note(result.notes[-1])
                    continue
                table = _publish_table(con, spec, previous, staging, files_dir, version,
                                       result, retired_now)
                pub.tables[spec.relation] = table
            for relation, old in (previous.tables.items() if previous else []):
                if relation not in pub.tables:          # no longer published
                    retired_now += [f.path for f in old.files]
            if previous:
                pub.retired = [(p, t) for p, t in previous.retired
                               if now - dt.datetime.fromisoformat(t) <=
                               dt.timedelta(minutes=grace)]
                expired = [p for p, t in previous.retired if (p, t) not in pub.retired]
            else:
                expired = []
            pub.retired += [(p, now.isoformat()) for p in retired_now]
            # the record first: killed before the catalog's rename, the next publish
            # keeps what the record retired (the files the catalog still names)
            write_state(catalog, pub)
            write_catalog(catalog, pub)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for path in expired:
            Path(path).unlink(missing_ok=True)
            result.deleted += 1
        remove_empty_folders(files_dir)
        link_tables(folder / "tables" / name, pub, dt.timedelta(minutes=grace))
        result.seconds = time.perf_counter() - started
        return result
    except (duckdb.Error, OSError) as exc:
        raise ExportError(f"could not publish to {folder}: {str(exc).splitlines()[0]}; the "
                          "previous publication is unchanged.",
                          hint="check free disk space and that the folder is writable.") \
            from None
    finally:
        lock.close()


def _publish_table(con, spec: TableSpec, previous: Publication | None, staging: Path,
                   files_dir: Path, version: str, result: PublishResult,
                   retired_now: list[str]) -> PublishedTable:
    columns = _columns(con, spec)
    shape = ", ".join(f"{n} {t}" for n, t in columns)
    partition_type = _keyed(spec, columns)[1] if spec.partition_by else "VARCHAR"
    table = PublishedTable(spec.relation, spec.partition_by, shape, partition_type,
                           [n for n, t in columns if t == "INTERVAL"])
    old = previous.tables.get(spec.relation) if previous else None
    reuse = old is not None and \
        (old.columns, old.partition_by, old.partition_type, old.intervals) == \
        (shape, spec.partition_by, partition_type, table.intervals)
    states = partition_states(con, spec, columns)
    before: dict[str | None, tuple[int, str]] = {}
    for f in (old.files if reuse else []):
        if f.rows:
            n, _ = before.get(f.partition, (0, f.signature))
            before[f.partition] = (n + f.rows, f.signature)
    changed = [k for k, state in states.items() if before.get(k) != state]
    written: list[tuple[Path, str | None]] = []
    if not states and reuse and old.rows == 0 and old.files:
        kept = list(old.files)            # still empty: the empty file stays
    else:
        kept = [f for f in old.files if f.rows and f.partition in states
                and f.partition not in changed] if reuse else []
        if changed:
            written = _write(con, spec, columns, changed, staging)
        if not states:                    # no rows: one empty file keeps the view's columns
            written = [(_write_empty(con, spec, columns, staging), None)]
    retired_now += [f.path for f in (old.files if old else []) if f not in kept]
    table.files = kept + _move(con, spec, written, states, files_dir, version, result)
    result.rewritten[spec.relation] = len(changed) + len(set(before) - set(states))
    return table


def _move(con, spec: TableSpec, written: list[tuple[Path, str | None]],
          states: dict, files_dir: Path, version: str,
          result: PublishResult) -> list[PublishedFile]:
    if not written:
        return []
    counts = dict(con.execute(
        "select file_name, num_rows from parquet_file_metadata(?::varchar[])",
        [[str(f) for f, _ in written]]).fetchall())
    out = []
    for n, (path, partition) in enumerate(written):
        folder = files_dir / spec.relation
        if spec.partition_by is not None and states:
            folder = folder / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{version}-{n}.parquet"
        size = path.stat().st_size
        path.rename(dest)
        signature = states.get(partition, (0, ""))[1]
        out.append(PublishedFile(str(dest), partition, int(counts[str(path)]), size,
                                 signature, version))
        result.bytes_written += size
    return out
