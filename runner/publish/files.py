"""The serving folder's files besides the catalog: leftovers of a killed publish, and the
folder of links that tools reading a Hive-partitioned folder (Spark, Trino, Polars,
pandas) are pointed at."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

from runner.publish.catalog import Publication


def link_tables(tables: Path, pub: Publication, keep: dt.timedelta) -> None:
    """published/tables/<database>/<schema>.<table> is a symbolic link, replaced atomically, to a
    folder of hard links to the current version's files, named as a Hive-partitioned
    dataset (<key>=<value>/part-<n>.parquet): a tool that reads the folder sees one
    version. The folders of earlier versions stay for `keep` after they were replaced."""
    versions = tables / ".versions"
    target = versions / pub.version
    tables.mkdir(parents=True, exist_ok=True)       # also when no table is published yet
    previous = {}
    for relation, table in sorted(pub.tables.items()):
        base = target / relation
        base.mkdir(parents=True, exist_ok=True)
        hive = table.partition_by and table.rows
        for n, f in enumerate(sorted(table.files, key=lambda f: f.path)):
            source = Path(f.path)
            sub = base / source.parent.name if hive else base
            sub.mkdir(exist_ok=True)
            dest = sub / f"part-{n}.parquet"
            try:
                os.link(source, dest)
            except OSError:                 # another file system: a copy
                shutil.copy2(source, dest)
        link = tables / relation
        if link.is_symlink():
            previous[relation] = (tables / os.readlink(link)).parent
        tmp = tables / f".{relation}.{pub.version}.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.path.relpath(base, tables))
        os.replace(tmp, link)
    for link in tables.iterdir():
        if link.is_symlink() and link.name not in pub.tables:     # no longer published
            link.unlink()
    now = time.time()
    for replaced in set(previous.values()) - {target}:
        if replaced.is_dir():
            os.utime(replaced, (now, now))  # replaced now: kept for `keep` from now
    for old in versions.iterdir() if versions.is_dir() else ():
        if old != target and old not in previous.values() and \
                now - old.stat().st_mtime > keep.total_seconds():
            shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(folder: Path, name: str, files_dir: Path,
                     previous: Publication | None) -> None:
    """What a killed publish of database `name` left: staging folders, temporary catalogs,
    and files under files/<name>/ that no catalog names (written, never published)."""
    for leftover in folder.glob(f".staging-{name}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in list(folder.glob(f".{name}.duckdb.*.tmp*")) + \
            list(folder.glob(f".{name}.duckdb.state.json.tmp")):
        leftover.unlink(missing_ok=True)
    if previous is None or not files_dir.is_dir():
        return
    named = {f.path for t in previous.tables.values() for f in t.files} | \
        {p for p, _ in previous.retired}
    for path in files_dir.rglob("*.parquet"):
        if str(path) not in named:
            path.unlink(missing_ok=True)


def remove_empty_folders(files_dir: Path) -> None:
    if not files_dir.is_dir():
        return
    for path in sorted(files_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
