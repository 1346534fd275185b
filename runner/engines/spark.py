"""Apache Spark as the engine (`--target spark`): a SparkSession in this process
(`method: session`, `master: local[N]`) or a Spark Connect server (`method: connect`,
`host: sc://...`), and runner.engines.base.Adapter over it.

The project's SQL is DuckDB's dialect; it is transpiled to Spark SQL with sqlglot when a
model is compiled for Spark. What sqlglot cannot carry over is a dispatched macro
(`spark__name` beside `duckdb__name`). Managed tables are Parquet (`file_format`
changes it, e.g. delta); a local session keeps them, with a Derby metastore, under
<project>/spark-warehouse (or the output's `warehouse:`)."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any

from runner.engines.base import Adapter
from runner.engines.profiles import CONNECT_RETRIES, CONNECT_TIMEOUT, Target
from runner.errors import DatabaseError, OptionError

# The table formats whose tables take DELETE and MERGE (dbt-spark's list for merge).
ROW_LEVEL_FORMATS = ("delta", "iceberg", "hudi")


def session(target: Target, project_root: Path) -> Any:
    """The SparkSession of the target: this process's active one if there is one (as
    dbt-spark's `method: session`), else a new local one; or a Spark Connect client."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise OptionError("--target spark needs pyspark, which is not installed.",
                          hint="pip install 'pyspark>=4' (and a Java 17 runtime, e.g. "
                               "Debian's openjdk-17-jre-headless).") from None
    quiet_query_errors()
    if target.method == "connect":
        return remote_session(str(target.host), target.connect_retries,
                              target.connect_timeout)
    try:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        warehouse = Path(target.warehouse or project_root / "spark-warehouse").resolve()
        spark = (SparkSession.builder.master(target.master).appName("runner")
                .config("spark.sql.warehouse.dir", str(warehouse))
                .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                        f"jdbc:derby:;databaseName={warehouse}/metastore_db;create=true")
                .config("spark.driver.extraJavaOptions",
                        f"-Dderby.system.home={warehouse}")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .enableHiveSupport().getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        return spark
    except Exception as exc:            # the JVM did not start
        raise DatabaseError(f"cannot start Spark (session, {target.master}): "
                            f"{_first_line(exc)}",
                            hint="check that Java 17 is installed (java -version).") from None


def quiet_query_errors() -> None:
    """PySpark 4 logs every SQL error it raises to stderr, with the JVM's stack trace
    (its SQLQueryContextLogger, as JSON). The runner catches the error and says in its
    own words which model failed and why, so that log is only a traceback for the user:
    it is kept to CRITICAL, which PySpark does not use."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:             # pyspark before 4 logs no such line
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


# The Spark Connect sessions of this process, by URL. pyspark's getOrCreate() would
# hand back the first one whatever URL is asked for.
_REMOTE: dict[str, Any] = {}
# How long the first call waits for a server that does not answer: pyspark's own policy
# retries an unavailable server for about ten minutes before it says anything.
FIRST_CALL_RETRIES = 3
FIRST_CALL_BACKOFF_MS = 250
# Then a statement is retried while the server does not answer (gRPC UNAVAILABLE),
# `connect_retries` times at most, the waits doubling from 1 s up to `connect_timeout`
# seconds (profiles.yml, dbt-spark's field names): 1+2+4+8+10+10+10+10 = 55 s by default,
# a blip ridden out, a lost server named within about a minute (the defaults:
# runner.engines.profiles).


def statement_policy(retries: int = CONNECT_RETRIES, wait: int = CONNECT_TIMEOUT) -> Any:
    """pyspark's DefaultPolicy bounded: `retries` retries, the waits doubling from 1 s (or
    `wait` if shorter) up to `wait` seconds, a wait the server asks for (gRPC RetryInfo)
    no longer than that either (pyspark's own allows ten minutes)."""
    from pyspark.sql.connect.client.retries import DefaultPolicy
    longest = int(wait) * 1000
    return DefaultPolicy(max_retries=int(retries), initial_backoff=min(1000, longest),
                         backoff_multiplier=2.0, max_backoff=longest,
                         max_server_retry_delay=longest)


def remote_session(url: str, retries: int = CONNECT_RETRIES,
                   wait: int = CONNECT_TIMEOUT) -> Any:
    """A Spark Connect session on `url` (sc://host:port), its time zone UTC as a local
    session's; a server that does not answer is a DatabaseError naming the URL within
    seconds. Its statements then have statement_policy(retries, wait)."""
    spark = _REMOTE.get(url)
    if spark is not None and not spark.is_stopped:
        spark.client.set_retry_policies([statement_policy(retries, wait)])
        return spark
    try:
        # the client's own builder: pyspark's refuses a remote session in a process
        # that also runs a local one
        from pyspark.sql.connect.client.retries import DefaultPolicy
        from pyspark.sql.connect.session import SparkSession as RemoteSession
        spark = RemoteSession.builder.remote(url).create()
    except Exception as exc:            # a malformed URL, or the client's packages missing
        raise DatabaseError(f"cannot open a Spark Connect session on {url}: "
                            f"{_first_line(exc)}",
                            hint="method connect needs pyspark's Connect client: pip "
                                 "install 'pyspark[connect]' (grpcio, pandas, pyarrow, "
                                 "...).") from None
    client = spark.client
    client.set_retry_policies([DefaultPolicy(
        max_retries=FIRST_CALL_RETRIES, initial_backoff=FIRST_CALL_BACKOFF_MS,
        backoff_multiplier=2.0, max_backoff=2000)])
    try:
        # the first call to the server; a local session's time zone, which the
        # project's timestamps are read and written in
        with warnings.catch_warnings():     # pyspark's RETRIES_EXCEEDED: said below
            warnings.simplefilter("ignore")
            try:
                spark.conf.set("spark.sql.session.timeZone", "UTC")
            except Exception:
                give_up(spark)
                spark.stop()
                raise
    except Exception as exc:
        raise DatabaseError(f"no Spark Connect server answers at {url}: "
                            f"{_first_line(exc)}",
                            hint="start one (pyspark's sbin/start-connect-server.sh, see "
                                 "README.md) or fix `host:` in profiles.yml.") from None
    client.set_retry_policies([statement_policy(retries, wait)])
    # pyspark's warning when the retries ran out: the run names the server instead
    warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")
    _REMOTE[url] = spark
    return spark


def server_lost(exc: BaseException, url: str) -> tuple[str, str] | None:
    """What a Connect server no longer answering made of a call, by pyspark's exception
    types: gRPC UNAVAILABLE once the retries ran out (SparkConnectGrpcException, or
    grpc's own error), or the session gone (INVALID_HANDLE.SESSION_CHANGED: the server
    restarted and lost it; NO_ACTIVE_SESSION: the client closed then): what happened,
    naming the URL, and the error's first line. None for any other error (a query's
    own)."""
    try:
        import grpc
        from pyspark.errors.exceptions.connect import (SparkConnectException,
                                                       SparkConnectGrpcException)
    except ImportError:
        return None
    seen: BaseException | None = exc
    for _ in range(3):          # pyspark's error, or one raised while handling it
        if seen is None:
            break
        code = seen.getGrpcStatusCode() if isinstance(seen, SparkConnectGrpcException) \
            else seen.code() if isinstance(seen, grpc.RpcError) and \
            callable(getattr(seen, "code", None)) else None
        if code == grpc.StatusCode.UNAVAILABLE:
            return f"the Spark Connect server at {url} stopped answering", \
                _first_line(seen)
        if isinstance(seen, SparkConnectException) and seen.getCondition() in (
                "INVALID_HANDLE.SESSION_CHANGED", "NO_ACTIVE_SESSION"):
            return f"the Spark Connect server at {url} lost this run's session (it " \
                "restarted)", _first_line(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def give_up(spark: Any) -> None:
    """No more retries on this session's server, also for the calls retrying now (the
    policies' own budget, which those calls read at each wait): a lost server is not
    waited on again, by the run's further statements, its release or the process's
    exit."""
    client = spark.client
    for policy in client.get_retry_policies():
        policy.max_retries = 0
    client.set_retry_policies([])


def close_remote_sessions() -> None:
    """Stops this process's Spark Connect sessions, each with one try at releasing its
    server's session: a server already gone is not waited on."""
    for spark in _REMOTE.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                give_up(spark)
                spark.stop()
            except Exception:       # the server already gone: nothing to release
                pass
    _REMOTE.clear()


def _first_line(exc: BaseException) -> str:
    # a gRPC error (pyspark's wraps it): its own message
    grpc_error = exc.__context__ if hasattr(exc.__context__, "details") else exc
    details = getattr(grpc_error, "details", None)
    text = details() if callable(details) else None
    lines = str(text or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def transpile(sql: str) -> str:
    """DuckDB's SQL as Spark SQL (sqlglot), one statement, with what sqlglot carries
    over wrong put right (runner.engines.spark_dialect)."""
    from runner.engines.spark_dialect import transpile as to_spark
    return to_spark(sql)


def plain_path(uri: str) -> str:
    """Spark's `_metadata.file_path` (file:/// URI) as the plain path DuckDB gives."""
    from urllib.parse import unquote
    return unquote(re.sub(r"^file:(//)?", "", uri))


class SparkAdapter(Adapter):
    """runner.engines.base.Adapter over a SparkSession."""

    type = "spark"

    def __init__(self, spark: Any, url: str | None = None):
        self.spark = spark
        self.url = url          # a Spark Connect server's, else None

    def execute(self, sql: str) -> Any:
        return self.spark.sql(sql)

    def fetch(self, sql: str, limit: int | None = None) -> tuple[list[str], list[tuple]]:
        frame = self.spark.sql(sql)
        rows = frame.collect() if limit is None else frame.limit(limit).collect()
        return list(frame.columns), [tuple(r) for r in rows]

    def close(self) -> None:
        """The session stays: later commands of this process (and tests) share it."""

    def relations(self) -> dict[tuple[str, str], str]:
        out = {}
        for db in self.spark.catalog.listDatabases():
            for table in self.spark.catalog.listTables(db.name):
                if not table.isTemporary:
                    out[(db.name, table.name)] = "view" if table.tableType == "VIEW" \
                        else "table"
        return out

    def relation_kind(self, schema: str, name: str) -> str | None:
        catalog = self.spark.catalog
        if not catalog.databaseExists(schema) or \
                not catalog.tableExists(f"{schema}.{name}"):
            return None
        return "view" if catalog.getTable(f"{schema}.{name}").tableType == "VIEW" \
            else "table"

    def columns(self, schema: str, name: str) -> list[tuple[str, str]]:
        fields = self.spark.table(self.relation_name(schema, name)).schema.fields
        return [(f.name, f.dataType.simpleString()) for f in fields]

    @staticmethod
    def quote(identifier: str) -> str:
        return "`" + str(identifier).replace("`", "``") + "`"

    def rename_relation(self, schema: str, name: str, new_name: str, kind: str) -> None:
        self.execute(f"alter {kind} {self.relation_name(schema, name)} rename to "
                     f"{self.relation_name(schema, new_name)}")

    def create_table_as_sql(self, schema: str, name: str, sql: str,
                            config: dict | None = None) -> str:
        """dbt-spark's create table as: `using` the file format, `partitioned by`."""
        config = config or {}
        text = f"create table {self.relation_name(schema, name)}\n" \
               f"using {file_format(config)}\n"
        parts = partition_columns(config)
        if parts:
            text += f"partitioned by ({', '.join(self.quote(p) for p in parts)})\n"
        return text + f"as\n{sql}"

    def transpile(self, sql: str) -> str:
        from runner.engines.spark_dialect import transpile as to_spark
        return to_spark(sql, self._columns_of if self.spark is not None else None)

    def _columns_of(self, sql: str) -> list[str]:
        """A query's column names, from Spark's analysis of it (nothing runs)."""
        return list(self.spark.sql(sql).columns)

    def unload(self, sql: str, folder: Path) -> None:
        """Spark's instants as Parquet's UTC-adjusted microseconds (TIMESTAMPTZ to
        DuckDB), not the INT96 it writes by default."""
        self.spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        self.spark.sql(sql).write.parquet(str(folder))


def file_format(config: dict) -> str:
    fmt = str(config.get("file_format") or "parquet").lower()
    if not re.fullmatch(r"[a-z0-9_]+", fmt):
        raise OptionError(f"file_format {fmt!r} is not a table format name.",
                          hint="write e.g. parquet, delta or iceberg.")
    return fmt


def partition_columns(config: dict) -> list[str]:
    parts = config.get("partition_by")
    return [parts] if isinstance(parts, str) else [str(p) for p in parts or []]
