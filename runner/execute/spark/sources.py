"""Sources and seeds on Spark. A source folder is read with Spark's own readers (CSV
with a header, Parquet, NDJSON), its declared columns as strings (staging models cast
them, as on DuckDB) plus `_source_file` from `_metadata.file_path`, and kept as a table
`<schema>.<table>` for the build. A seed is typed as dbt types it (runner.execute.seeds,
read with an in-memory DuckDB) and written as a Spark table.

Not here yet: the per-file checks of the DuckDB path (a broken row is Spark's error when
the source is read), source_files(), and sources that name an existing relation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import SourceError
from runner.execute.sources import FORMATS, source_files
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
    from pyspark.sql import functions as F
    groups: dict[str, list[str]] = {}
    for path in source_files(raw_dir, table):
        groups.setdefault(FORMATS[path.suffix.lower()], []).append(str(path))
    declared = list(table.columns)
    frames = []
    for fmt, paths in groups.items():
        if fmt == "csv":
            frame = spark.read.options(header=True, inferSchema=False, multiLine=True,
                                       escape='"', encoding="UTF-8").csv(paths)
        elif fmt == "parquet":
            frame = spark.read.parquet(*paths)
        else:
            frame = spark.read.json(paths)
        present = {c.lower(): c for c in frame.columns}
        names = declared or [c for c in frame.columns]
        cols = [(F.col(f"`{present[c.lower()]}`").cast("string") if c.lower() in present
                 else F.lit(None).cast("string")).alias(c) for c in names]
        file_name = F.expr("url_decode(regexp_replace(_metadata.file_path, "
                           "'^file:(//)?', ''))")
        frames.append(frame.select(*cols, file_name.alias("_source_file")))
    if not frames:
        names = declared or []
        schema = ", ".join(f"`{c}` string" for c in names + ["_source_file"])
        return spark.createDataFrame([], schema)
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame, allowMissingColumns=True)
    return out


def load_source(adapter: Any, raw_dir: Path, table: SourceTable) -> str:
    """The source as the table `<schema>.<name>`, replaced; a note with its row count."""
    try:
        frame = source_frame(adapter.spark, raw_dir, table)
        adapter.create_schema(table.schema)
        name = adapter.relation_name(table.schema, table.name)
        frame.write.mode("overwrite").format("parquet").saveAsTable(name)
        rows = adapter.fetch(f"select count(*) from {name}")[1][0][0]
    except SourceError:
        raise
    except Exception as exc:         # Spark's reader: a broken file
        first = str(exc).strip().splitlines()[0]
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
