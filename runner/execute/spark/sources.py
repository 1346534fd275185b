"""Sources and seeds on Spark. A source folder is read with Spark's own readers (CSV
with a header, Parquet, NDJSON), its declared columns as strings (staging models cast
them, as on DuckDB) plus `_source_file` from `_metadata.file_path`, and kept as a table
`<schema>.<table>` for the build. A seed is typed as dbt types it (runner.execute.seeds,
read with an in-memory DuckDB) and written as a Spark table.

Beside it, as on DuckDB, `<table>__files` lists the folder's files (source_files()) and
`<table>__parquet` / `<table>__text` hold its rows by kind of file (source_parts();
on Spark both with the declared columns as strings: a model types them from their
text). Not here yet: the per-file checks of the DuckDB path (a broken row is Spark's
error when the source is read), and sources that name an existing relation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import SourceError
from runner.execute.sources import FORMATS, source_files
from runner.jinja.relation import files_view_name, part_view_name
from runner.project.loader import SourceTable
from runner.project.nodes import Node

# DuckDB's type names (of a seed's columns) as Spark's
SPARK_TYPES = {"BOOLEAN": "boolean", "TINYINT": "tinyint", "SMALLINT": "smallint",
               "INTEGER": "int", "BIGINT": "bigint", "FLOAT": "float", "DOUBLE": "double",
               "DATE": "date", "TIMESTAMP": "timestamp_ntz",
               "TIMESTAMP WITH TIME ZONE": "timestamp", "VARCHAR": "string"}


def source_frame(spark: Any, raw_dir: Path, table: SourceTable) -> Any:
    """The folder's files as one DataFrame: the declared columns (null where a file
    lacks one), as strings, and `_source_file`."""
    return _union(spark, table, list(source_part_frames(spark, raw_dir, table).values()))


def source_part_frames(spark: Any, raw_dir: Path, table: SourceTable) -> dict[str, Any]:
    """The folder's rows by kind of file, as source_parts() names them: `parquet` and
    `text` (CSV and NDJSON), each with the declared columns as strings and
    `_source_file`."""
    # CSV files by their header: Spark's CSV reader takes the first file's header
    # for every file it reads at once, so files whose columns come in another order
    # are read apart (each group's columns then lined up by name)
    groups: dict[tuple, list[str]] = {}
    for path in source_files(raw_dir, table):
        fmt = FORMATS[path.suffix.lower()]
        key = (fmt, _csv_header(path)) if fmt == "csv" else (fmt,)
        groups.setdefault(key, []).append(str(path))
    declared = list(table.columns)
    frames: dict[str, list[Any]] = {"parquet": [], "text": []}
    for (fmt, *_), paths in groups.items():
        if fmt == "csv":
            frame = spark.read.options(header=True, inferSchema=False, multiLine=True,
                                       escape='"', encoding="UTF-8").csv(paths)
        elif fmt == "parquet":
            frame = spark.read.parquet(*paths)
        else:
            frame = spark.read.json(paths)
        present = {c.lower(): c for c in frame.columns}
        names = declared or [c for c in frame.columns]
        # SQL expressions, not pyspark.sql.functions: the same text on a local session
        # and a Spark Connect one
        cols = [f"cast({_quote(present[c.lower()]) if c.lower() in present else 'null'}"
                f" as string) as {_quote(c)}" for c in names]
        file_name = ("url_decode(regexp_replace(_metadata.file_path, '^file:(//)?', ''))"
                     " as _source_file")
        frames["parquet" if fmt == "parquet" else "text"].append(
            frame.selectExpr(*cols, file_name))
    return {part: _union(spark, table, listed) for part, listed in frames.items()}


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _csv_header(path: Path) -> tuple[str, ...]:
    """A CSV file's column names, as its first record gives them."""
    import csv
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return tuple(next(csv.reader(handle), []))


def _union(spark: Any, table: SourceTable, frames: list[Any]) -> Any:
    if not frames:
        names = list(table.columns)
        schema = ", ".join(f"`{c}` string" for c in names + ["_source_file"])
        return spark.createDataFrame([], schema)
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame, allowMissingColumns=True)
    return out


def files_frame(spark: Any, raw_dir: Path, table: SourceTable, counts: dict[str, int]
                ) -> Any:
    """source_files(): one row per file, `_source_file` (as the rows carry it),
    `size_bytes`, `modified_at` and `row_count`, as on DuckDB."""
    import datetime as dt
    rows = []
    for path in source_files(raw_dir, table):
        stat = path.stat()
        modified = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + \
            dt.timedelta(microseconds=stat.st_mtime_ns // 1000)
        rows.append((str(path), int(stat.st_size), modified, counts.get(str(path))))
    return spark.createDataFrame(rows, "_source_file string, size_bytes bigint, "
                                       "modified_at timestamp, row_count bigint")


def load_source(adapter: Any, raw_dir: Path, table: SourceTable) -> str:
    """The source as the table `<schema>.<name>`, replaced; a note with its row count."""
    spark = adapter.spark
    try:
        parts = source_part_frames(spark, raw_dir, table)
        adapter.create_schema(table.schema)
        name = adapter.relation_name(table.schema, table.name)
        for part, frame in parts.items():
            frame.write.mode("overwrite").format("parquet").saveAsTable(
                adapter.relation_name(table.schema, part_view_name(table.name, part)))
        frame = spark.table(adapter.relation_name(
            table.schema, part_view_name(table.name, "parquet"))).unionByName(
            spark.table(adapter.relation_name(table.schema,
                                              part_view_name(table.name, "text"))))
        frame.write.mode("overwrite").format("parquet").saveAsTable(name)
        counts = {r[0]: r[1] for r in adapter.fetch(
            f"select _source_file, count(*) from {name} group by _source_file")[1]}
        files_frame(spark, raw_dir, table, counts).write.mode("overwrite") \
            .format("parquet").saveAsTable(
                adapter.relation_name(table.schema, files_view_name(table.name)))
        rows = sum(counts.values())
    except SourceError:
        raise
    except Exception as exc:         # Spark's reader: a broken file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SourceError(f"Spark could not read the files of {table.source}."
                          f"{table.name}: {first}", path=str(raw_dir / table.folder),
                          hint="check the files (the DuckDB build names the broken row)."
                          ) from None
    return f"source {table.source}.{table.name}: {rows} rows read by Spark"


def seed_frame(spark: Any, node: Node, read_sql: str) -> Any:
    """The seed's rows and dbt's column types, through DuckDB's reading of the CSV."""
    import duckdb
    from runner.execute.seeds import seed_select
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        sql = seed_select(con, node, read_sql)
        described = con.execute(f"describe {sql}").fetchall()
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    fields = []
    for name, dtype, *_ in described:
        dtype = str(dtype).upper()
        spark_type = SPARK_TYPES.get(dtype) or (dtype.lower() if dtype.startswith("DECIMAL")
                                                else "string")
        fields.append(f"`{name}` {spark_type}")
    if any(f.endswith(" string") for f in fields):
        rows = [tuple(v if not isinstance(v, (list, dict)) else str(v) for v in r)
                for r in rows]
    return spark.createDataFrame(rows, ", ".join(fields))
