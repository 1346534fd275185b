"""`runner export MODEL --target spark --out x.parquet` (or .csv, or a folder with
--partition-by): Spark's table (the rows --where keeps, filtered by Spark) written by
export.py's DuckDB writer (runner.publish.spark), so that the file, or the Hive folder,
is the one a DuckDB build's export writes: same layout, file names, types (an interval
is Parquet's INTERVAL) and text (CSV)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from runner.engines.profiles import Target
from runner.publish.export import PartitionKey, check_where, export_options, write_export


def export_spark(project_dir: str | Path, model: str, out: str | Path, target: Target,
                 partition_by: list[str], where: str | None = None,
                 partition_keys: Mapping[str, PartitionKey] | None = None,
                 key_relations: Mapping[str, list[tuple[str, str]]] | None = None,
                 db: Path | None = None, memory_limit: str | None = None) -> int:
    """`key_relations`: the relations a partition key of `partition_keys` reads besides
    the table (copied from Spark with it). `db` and `memory_limit` are DuckDB's: refused."""
    from runner.engines.spark import transpile
    from runner.jinja.relation import relation_name
    from runner.publish.spark import refuse_duckdb_options, spark_table, spark_tables
    refuse_duckdb_options(db=db, memory_limit=memory_limit)
    out = Path(out).resolve()
    export_options(out, bool(partition_by))       # the extension, checked first
    adapter, schema, table = spark_table(project_dir, model, target)
    query = None
    if where:
        columns = [c for c, _ in adapter.columns(schema, table)]
        query = transpile(f'select * from "{schema}"."{table}" where '
                          f"{check_where(where, columns)}")
    tables = [(schema, table, query)]
    for col in partition_by:
        tables += [(s, t, None) for s, t in (key_relations or {}).get(col, [])]
    with spark_tables(adapter, tables) as con:
        return write_export(con, relation_name(schema, table), project_dir, out,
                            partition_by, partition_keys=partition_keys)
