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
      file_by: "cast({{ this }}.start_time as date)" SQL over the row: one file per value
                                                     in each partition (partitions.py)

Publishing is incremental: a unit (a partition, or with `file_by` one value of it) is
rewritten only when its rows changed. Every row the runner writes carries `_built_at`, and
a row is only ever written anew (new `_built_at`) or deleted, so a unit holds the same
rows as when it was published exactly when its row count and its largest `_built_at` are
the same (a new row raises the largest, a deleted one lowers the count). A publish finds
the changed units from the rows written since the previous one (changes.py), and only
where rows left units that got no new row does one grouped scan of the unit and
`_built_at` tell. A table without `_built_at` is compared by an order-free hash of its
rows.

Files a previous version named are kept for `publish_grace_minutes` (a var, default 120)
after they left the catalog, for readers that still have an older catalog open; then they
are deleted. Nothing else in the folder is deleted but leftovers of a publish that was
killed (files no catalog ever named)."""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from runner.engines.native import duckdb

from runner.errors import ExportError, ProjectError
from runner.jinja.relation import files_view_name, relation_name
from runner.publish.changes import (file_facts, latest, newer_rows,
                                    older_rows_filter, table_rows, unit_columns)
from runner.publish.files import link_tables, remove_empty_folders, remove_leftovers
from runner.publish.partitions import (keyed, partition_states, write_empty,
                                       write_units)
from runner.publish.catalog import (Publication, PublishedFile, PublishedTable,
                                    read_publication, write_catalog,
                                    write_state)

DEFAULT_DIR = "published"
DEFAULT_GRACE_MINUTES = 120
OPTIONS = {"partition_by", "partition_expression", "file_by"}


@dataclass
class TableSpec:
    schema: str
    table: str
    partition_by: str | None = None
    expression: str | None = None        # rendered SQL over the row; None: the column
    file_by: str | None = None           # rendered SQL over the row: one file per value

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
        rendered: dict[str, str | None] = {}
        for option, hint in (("partition_expression", "name the key: partition_by: "
                                                      "report_month."),
                             ("file_by", "file_by splits each partition's folder into "
                                         "files.")):
            text = conf.get(option)
            if text and not key:
                raise ProjectError(f"{where} has a {option} but no partition_by.",
                                   node=node.name, path=node.rel_path, hint=hint)
            rendered[option] = renderer.render_hook(node, str(text)) if text else None
        expression, file_by = rendered["partition_expression"], rendered["file_by"]
        specs.append(TableSpec(node.schema, node.alias, str(key) if key else None,
                               expression, file_by or None))
    return specs


def _columns(con: duckdb.DuckDBPyConnection, spec: TableSpec) -> list[tuple[str, str]]:
    return con.execute("select column_name, data_type from information_schema.columns "
                       "where table_schema = ? and table_name = ? order by ordinal_position",
                       [spec.schema, spec.table]).fetchall()


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
            on_note: Callable[[str], None] | None = None,
            specs: list[TableSpec] | None = None) -> PublishResult | None:
    """Publish the project's `publish` tables (`specs`: table_specs', when the caller
    has them) from the open database `con`. Returns None when the project publishes
    nothing."""
    from runner.engines.duckdb import has_relation
    specs = table_specs(project, renderer) if specs is None else specs
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
                noted = len(result.notes)
                table = _publish_table(con, spec, previous, staging, files_dir, version,
                                       result, retired_now)
                pub.tables[spec.relation] = table
                for note in result.notes[noted:] if on_note else []:
                    on_note(note)
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
    partition_type = keyed(spec, columns)[1] if spec.partition_by else "VARCHAR"
    table = PublishedTable(spec.relation, spec.partition_by, shape, partition_type,
                           [n for n, t in columns if t == "INTERVAL"], file_by=spec.file_by)
    old = previous.tables.get(spec.relation) if previous else None
    reuse = old is not None and \
        (old.columns, old.partition_by, old.partition_type, old.intervals, old.file_by) == \
        (shape, spec.partition_by, partition_type, table.intervals, spec.file_by)

    def unit(f: PublishedFile) -> str | None:
        return f.sub if spec.file_by else f.partition
    before: dict[str | None, tuple[int, str]] = {}
    for f in (old.files if reuse else []):
        if f.rows:
            n, _ = before.get(unit(f), (0, f.signature))
            before[unit(f)] = (n + f.rows, f.signature)
    states, written, facts = None, [], None
    if reuse and old.built_at and old.rows and "_built_at" in dict(columns):
        states, written, facts = _changed_since(con, spec, columns, old, before, staging, unit,
                                         result)
    every = states is None          # every unit compared: one grouped scan of the table
    if every:
        states = partition_states(con, spec, columns)
    changed = {k for k, state in states.items() if before.get(k) != state}
    if every and changed:
        written = write_units(con, spec, columns, list(changed), staging,
                              rows={k: n for k, (n, _) in states.items()},
                              every=changed == set(states))
    if not states and reuse and old.rows == 0 and old.files:
        kept = list(old.files)            # still empty: the empty file stays
    else:
        kept = [f for f in old.files if f.rows and unit(f) in states
                and unit(f) not in changed] if reuse else []
        if not states:                    # no rows: one empty file keeps the view's columns
            written = [(write_empty(con, spec, columns, staging), None, None)]
    kept_paths = {f.path for f in kept}
    retired_now += [f.path for f in (old.files if old else []) if f.path not in kept_paths]
    table.files = kept + _move(con, spec, columns, written, states, files_dir, version,
                               result, facts)
    result.rewritten[spec.relation] = len(changed) + len(set(before) - set(states))
    if "_built_at" in dict(columns):
        table.built_at = latest(con, columns, [sig for _, sig in states.values()])
    return table


def _changed_since(con, spec: TableSpec, columns, old: PublishedTable,
                   before: dict, staging: Path, unit: Callable, result: PublishResult
                   ) -> tuple[dict | None, list[tuple[Path, str | None, str | None]],
                              tuple | None]:
    """The units' states, the changed units' files and their facts (file_facts), from
    the rows written since the last publish (changes.py); (None, [], None) when the
    count says that units without new rows lost some: the caller then compares every
    unit."""
    newer = newer_rows(con, spec, columns, old.built_at)
    if newer is None:
        return None, [], None
    changed = set(newer)
    written = []
    if changed:
        older = older_rows_filter(con, spec, columns, old.built_at,
                                  [f for f in old.files if f.rows and unit(f) in changed])
        written = write_units(con, spec, columns, list(changed), staging,
                              since=old.built_at, older=older,
                              rows={u: newer[u][0] + before.get(u, (0, ""))[0]
                                    for u in changed})
    facts = _facts(con, spec, columns, written)
    counts = facts[0]
    rows: dict[str | None, int] = {}
    for path, _, u in written:
        rows[u] = rows.get(u, 0) + counts[str(path)]
    if table_rows(con, spec) - sum(rows.values()) != \
            sum(n for u, (n, _) in before.items() if u not in changed):
        shutil.rmtree(staging / spec.relation, ignore_errors=True)
        result.notes.append(f"{spec.relation}: rows left units that got no new row; every "
                            "unit compared (a scan of the table)")
        return None, [], None
    states = {u: s for u, s in before.items() if u not in changed}
    states.update({u: (rows[u], newer[u][1]) for u in changed})
    return states, written, facts


def _facts(con, spec: TableSpec, columns: list[tuple[str, str]],
           written: list[tuple[Path, str | None, str | None]]) -> tuple:
    """The written files' row counts and bounds (changes.file_facts)."""
    return file_facts(con, [str(f) for f, _, _ in written],
                      unit_columns(con, spec, columns) if written else [], columns)


def _move(con, spec: TableSpec, columns: list[tuple[str, str]],
          written: list[tuple[Path, str | None, str | None]], states: dict, files_dir: Path,
          version: str, result: PublishResult, facts: tuple | None = None
          ) -> list[PublishedFile]:
    if not written:
        return []
    counts, bounds = facts or _facts(con, spec, columns, written)
    out = []
    for n, (path, partition, unit) in enumerate(written):
        folder = files_dir / spec.relation
        if spec.partition_by is not None and states:
            # the partition's Hive folder; a unit's files lie in it side by side
            folder = folder / (path.parent.parent if spec.file_by else path.parent).name
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / f"{version}-{n}.parquet"
        size = path.stat().st_size
        path.rename(dest)
        signature = states.get(unit, (0, ""))[1]
        out.append(PublishedFile(str(dest), partition, counts[str(path)], size,
                                 signature, version,
                                 unit if spec.file_by else None,
                                 bounds.get(str(path)) or None))
        result.bytes_written += size
    return out
