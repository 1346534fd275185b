"""`runner export MODEL --target spark --out x.parquet`: Spark's table written as one
Parquet (or CSV) file, atomically as runner.publish.export writes DuckDB's. Not yet with
--partition-by."""

from __future__ import annotations

import shutil
from pathlib import Path

from runner.engines.profiles import Target
from runner.errors import ExportError, RunnerError
from runner.publish.export import check_where, export_options, write_atomically


def export_spark(project_dir: str | Path, model: str, out: str | Path, target: Target,
                 partition_by: list[str], where: str | None = None) -> int:
    from runner.api import resolve_relation
    from runner.engines.base import connect
    from runner.engines.spark import transpile
    from runner.project.loader import load_project
    out = Path(out).resolve()
    export_options(out, bool(partition_by))       # the extension, checked first
    if partition_by:
        raise ExportError("--partition-by is not supported with --target spark yet.",
                          hint="export the whole table, or build on DuckDB.")
    project = load_project(project_dir)
    schema, table = resolve_relation(project_dir, model)
    adapter = connect(target, project.root)
    if adapter.relation_kind(schema, table) is None:
        raise RunnerError(f"{schema}.{table} is not in Spark's catalog (target "
                          f"{target.name}).", hint="run 'runner build --target spark' first.")
    relation = adapter.relation_name(schema, table)
    query = f"select * from {relation}"
    if where:
        columns = [c for c, _ in adapter.columns(schema, table)]
        query = transpile(f'select * from "{schema}"."{table}" where '
                          f"{check_where(where, columns)}")
    frame = adapter.execute(query)
    rows = frame.count()
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        folder = tmp.with_name(tmp.name + ".d")
        try:
            writer = frame.coalesce(1).write.mode("overwrite")
            if out.suffix.lower() == ".csv":
                writer.option("header", True).csv(str(folder))
                parts = sorted(folder.glob("part-*.csv"))
            else:
                adapter.spark.conf.set("spark.sql.parquet.outputTimestampType",
                                       "TIMESTAMP_MICROS")
                writer.option("compression", "zstd").parquet(str(folder))
                parts = sorted(folder.glob("part-*.parquet"))
            if len(parts) != 1:
                raise ExportError(f"Spark wrote {len(parts)} files for {relation}; "
                                  "expected one.", hint="report this.")
            shutil.move(str(parts[0]), str(tmp))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    write_atomically(out, write)
    return int(rows)
