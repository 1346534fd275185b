"""`runner export MODEL --target spark --out x.parquet` (or .csv, or a folder with
--partition-by): Spark's table (the rows --where keeps, filtered by Spark) written by
export.py's DuckDB writer (runner.publish.spark), so that the file, or the Hive folder,
is the one a DuckDB build's export writes: same layout, file names, types (an interval
is Parquet's INTERVAL) and text (CSV)."""

from __future__ import annotations

from pathlib import Path

from runner.engines.profiles import Target
from runner.publish.export import check_where, export_options, write_export
from runner.publish.export_keys import ExportKey, export_key


def export_spark(project_dir: str | Path, model: str, out: str | Path, target: Target,
                 partition_by: list[str], where: str | None = None,
                 db: Path | None = None, memory_limit: str | None = None) -> int:
    """The model's export partition key (export_keys.py), when --partition-by names it,
    is computed by DuckDB: the relations its expression reads are copied from Spark with
    the table. `db` and `memory_limit` are DuckDB's: refused."""
    from runner.engines.spark import transpile
    from runner.jinja.relation import relation_name
    from runner.publish.spark import refuse_duckdb_options, spark_table, spark_tables
    refuse_duckdb_options(db=db, memory_limit=memory_limit)
    out = Path(out).resolve()
    export_options(out, bool(partition_by))       # the extension, checked first
    key = export_key(project_dir, model, partition_by)
    adapter, schema, table = spark_table(project_dir, model, target)
    query = None
    if where:
        columns = [c for c, _ in adapter.columns(schema, table)]
        query = transpile(f'select * from "{schema}"."{table}" where '
                          f"{check_where(where, columns)}")
    tables = [(schema, table, query)] + [(s, t, None) for s, t in key_reads(key)
                                         if (s.lower(), t.lower()) !=
                                         (schema.lower(), table.lower())]
    with spark_tables(adapter, tables) as con:
        return write_export(con, relation_name(schema, table), out, partition_by, key=key)


def key_reads(key: ExportKey | None) -> list[tuple[str, str]]:
    """The (schema, table) relations the key's expression reads, the table's own aside."""
    if key is None:
        return []
    import sqlglot
    from sqlglot import exp
    tree = sqlglot.parse_one(f"select {key.expression}", read="duckdb")
    return list(dict.fromkeys((t.db, t.name) for t in tree.find_all(exp.Table)
                              if t.db and t.name))
