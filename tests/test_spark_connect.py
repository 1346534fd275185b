"""`--target` with `method: connect` (markers `spark` and `connect`): a real Spark Connect
server, started here as a subprocess (pyspark's SparkConnectServer on local[2]), takes
`runner build --target connect` of the charging project over the generated sample, and
both reports, `audit.rejected_sessions` and `audit.reconciliation` equal the DuckDB
build's cell for cell, and `runner export` and `runner report` read the server's tables
as they read DuckDB's; a server that is not there is a clear error naming its URL
within seconds. The server's JVM runs in another time zone than UTC: the runner sets
the session's, as a local session's is."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest_reports import ROOT, build_zone
from test_spark_project import assert_outputs_equal

pytestmark = [pytest.mark.spark, pytest.mark.connect]

REPORT_TIME = "2024-10-15T00:00:00Z"
SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def profiles(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(
        "cpo_reports:\n  target: dev\n  outputs:\n    dev: {type: duckdb}\n"
        f"    connect: {{type: spark, method: connect, host: \"{url}\"}}\n",
        encoding="utf-8")
    return folder


def needs_client() -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[dev]')")
    for module in ("grpc", "grpc_status", "pyarrow", "pandas", "zstandard"):
        pytest.importorskip(module, reason=f"{module}, of pyspark's Connect client, is "
                                           "not installed (pip install '.[dev]')")


class ConnectServer:
    """A Spark Connect server in a subprocess, its output in `log`."""

    def __init__(self, folder: Path):
        import pyspark
        home = Path(pyspark.__file__).parent
        self.port = free_port()
        self.url = f"sc://localhost:{self.port}"
        self.log = folder / "connect-server.log"
        warehouse = folder / "warehouse"
        command = [
            str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS,
            "--master", "local[2]", "--name", "runner-tests-connect",
            "--conf", f"spark.connect.grpc.binding.port={self.port}",
            "--conf", "spark.connect.grpc.binding.address=localhost",
            "--conf", f"spark.sql.warehouse.dir={warehouse}",
            "--conf", "spark.sql.catalogImplementation=hive",
            "--conf", "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;"
                      f"databaseName={warehouse}/metastore_db;create=true",
            # not UTC: the runner sets the session's time zone itself
            "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={warehouse} "
                      "-Duser.timezone=America/New_York",
            "--conf", "spark.ui.enabled=false",
            "--conf", "spark.sql.shuffle.partitions=2",
            "--conf", "spark.default.parallelism=2"]
        env = {**os.environ, "SPARK_HOME": str(home)}
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                            env=env, cwd=folder, start_new_session=True)

    def wait_ready(self, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the Spark Connect server exited ({self.process.returncode})"
                            f":\n{self.tail()}")
            if "Spark Connect server started" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.5)
        pytest.fail(f"the Spark Connect server did not start in {seconds:.0f} s:\n"
                    f"{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory):
    """One Spark Connect server for the module; its log is shown under a failed test
    (tests/conftest.py), and it is stopped at the end."""
    needs_client()
    if not shutil.which("java"):
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)")
    os.environ["TZ"] = "UTC"        # Spark's timestamps reach Python in local time
    time.tzset()
    server = ConnectServer(tmp_path_factory.mktemp("connect"))
    try:
        server.wait_ready()
        yield server
    finally:
        from runner.engines.spark import close_remote_sessions
        close_remote_sessions()     # else the process's exit waits on a gone server
        server.stop()


def test_sample_built_through_spark_connect_equals_duckdb(connect_server, cli,
                                                          tmp_path) -> None:
    from cpo.sample import generate
    from runner.engines.spark import remote_session
    raw = tmp_path / "raw"
    generate(raw, sessions=600, seed=1)
    duck = build_zone(tmp_path, raw, REPORT_TIME).db_path
    folder = profiles(tmp_path / "profiles", connect_server.url)
    code, out, err = cli("build", "--project-dir", ROOT, "--target", "connect",
                         "--profiles-dir", folder, "--raw-dir", raw, "--full-refresh",
                         "--target-path", tmp_path / "target",
                         "--vars", f"{{report_time: {REPORT_TIME}}}")
    assert code == 0, out + err
    assert f"database: {connect_server.url}" in out
    spark = remote_session(connect_server.url)
    assert_outputs_equal(spark, duck)
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.table("reports.charging_sessions_cpo").count() > 500
    assert spark.table("audit.rejected_sessions").count() > 0
    # export and report read the server's tables as they read a local session's
    exported = tmp_path / "cpo.parquet"
    code, out, err = cli("export", "charging_sessions_cpo", "--project-dir", ROOT,
                         "--target", "connect", "--profiles-dir", folder, "--out", exported)
    assert code == 0, out + err
    with duckdb.connect(str(duck), read_only=True) as con:
        listed = ", ".join(r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = "
            "'reports' and table_name = 'charging_sessions_cpo' and column_name <> "
            "'_built_at' order by ordinal_position").fetchall())
        mine = f"select {listed} from reports.charging_sessions_cpo"
        theirs = f"select {listed} from read_parquet('{exported}')"
        assert con.execute(f"select (select count(*) from ({mine})), "
                           f"(select count(*) from ({mine} except all {theirs})), "
                           f"(select count(*) from ({theirs} except all {mine}))"
                           ).fetchone()[1:] == (0, 0)
    for kind in ("charging-sessions", "roaming-sessions"):
        on_duck, on_connect = tmp_path / f"{kind}-duck.csv", tmp_path / f"{kind}-connect.csv"
        span = ["--org", "ORG00001", "--org", "ORG00004", "--from", "2024-03-01",
                "--to", "2024-11-01"]
        code, out, err = cli("report", kind, "--project-dir", ROOT, "--db", duck,
                             "--out", on_duck, *span)
        assert code == 0, out + err
        code, out, err = cli("report", kind, "--project-dir", ROOT, "--target", "connect",
                             "--profiles-dir", folder, "--out", on_connect, *span)
        assert code == 0, out + err
        assert on_connect.read_bytes() == on_duck.read_bytes()
        assert on_duck.read_bytes().count(b"\n") > 3, kind


def test_a_connect_server_that_is_not_there_is_named_within_seconds(tmp_path) -> None:
    """Not pyspark's ten minutes of retries: exit 3, the URL named, no traceback."""
    needs_client()
    url = f"sc://localhost:{free_port()}"
    folder = profiles(tmp_path / "profiles", url)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "runner", "build", "--project-dir", str(ROOT), "--target",
         "connect", "--profiles-dir", str(folder), "--target-path",
         str(tmp_path / "target"), "--select", "stg_raw__organisations"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.monotonic() - started
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"no Spark Connect server answers at {url}" in done.stderr
    assert "Traceback" not in done.stderr
    assert seconds < 30, seconds


def test_each_url_has_a_session_of_its_own(connect_server) -> None:
    """pyspark's getOrCreate() hands back the process's first Connect session whatever
    URL is asked for; the runner keeps one per URL."""
    from runner.engines.spark import remote_session
    plain = remote_session(connect_server.url)
    named = remote_session(f"{connect_server.url}/;user_id=runner-tests")
    assert named is not plain and remote_session(connect_server.url) is plain
    assert named.client._user_id == "runner-tests"
    assert named.sql("select 1 as x").collect()[0]["x"] == 1


def waits(policy) -> list[int]:
    """The waits (ms) of a retry policy for a server that never answers again."""
    state, out = policy.to_state(), []
    while (wait := state.next_attempt()) is not None:
        out.append(wait)
    return out


def test_a_statement_retries_a_silent_server_about_a_minute_at_most() -> None:
    """No server: the statements' policy (profiles.yml's connect_retries and
    connect_timeout) is pyspark's DefaultPolicy bounded, not its ten minutes."""
    needs_client()
    from runner.engines.spark import statement_policy
    default = waits(statement_policy())
    assert len(default) == 8 and default[0] == 1000, default
    assert max(default) <= 10_500 and 45_000 <= sum(default) <= 60_000, default
    assert [w // 1000 for w in waits(statement_policy(4, 3))] == [1, 2, 3, 3]
    assert waits(statement_policy(0, 10)) == []
    assert waits(statement_policy(2, 0)) == [0, 0]
    # a wait the server asks for (gRPC RetryInfo) is capped the same
    assert statement_policy(3, 5).max_server_retry_delay == 5000


def test_a_lost_server_is_told_by_pyspark_exception_types() -> None:
    """UNAVAILABLE (what pyspark raises once its retries ran out) or a session the
    server no longer has; a query's own error, whatever its text, is not."""
    needs_client()
    import grpc
    from pyspark.errors.exceptions.connect import (AnalysisException,
                                                   SparkConnectException,
                                                   SparkConnectGrpcException)
    from runner.engines.spark import server_lost
    url = "sc://h:15002"
    gone = SparkConnectGrpcException(message="failed to connect to all addresses\nmore",
                                     grpc_status_code=grpc.StatusCode.UNAVAILABLE)
    assert server_lost(gone, url) == (
        "the Spark Connect server at sc://h:15002 stopped answering",
        "failed to connect to all addresses")
    closed = SparkConnectException(errorClass="NO_ACTIVE_SESSION", messageParameters={})
    assert "lost this run's session" in server_lost(closed, url)[0]
    for other in (AnalysisException(message="[TABLE_OR_VIEW_NOT_FOUND] UNAVAILABLE",
                                    grpc_status_code=grpc.StatusCode.INTERNAL),
                  SparkConnectGrpcException(message="the server is unavailable",
                                            grpc_status_code=grpc.StatusCode.INTERNAL),
                  ValueError("UNAVAILABLE: stopped answering")):
        assert server_lost(other, url) is None, other


LOST_PROJECT = {
    "dbt_project.yml": """
        name: lost
        profile: cpo_reports
        on-run-end: ["select 1 as done"]
        """,
    "models/first.sql": "{{ config(materialized='table') }}\nselect 1 as n\n",
    # long enough (a count distinct of two billion numbers) for the kill to land in it
    "models/slow.sql": """
        {{ config(materialized='table') }}
        select (select max(n) from {{ ref('first') }}) as n,
               count(distinct i % 1000003) as k
        from range(2000000000) t(i)
        """,
    "models/after_1.sql": "{{ config(materialized='table') }}\n"
                          "select n, k from {{ ref('slow') }}\n",
    "models/after_2.sql": "select n from {{ ref('after_1') }}\n",
    "models/after_3.sql": "{{ config(materialized='table') }}\n"
                          "select n from {{ ref('after_2') }}\n",
    "models/schema.yml": """
        version: 2
        models:
          - name: slow
            columns:
              - name: k
                data_tests: [not_null]
        """,
}


# a unit test of `slow` runs its count over the given rows: as long as the model
LOST_UNIT_TEST = """
    unit_tests:
      - name: slow_counts
        model: slow
        given:
          - input: ref('first')
            rows: [{n: 1}]
        expect:
          rows: [{n: 1, k: 1000003}]
    """


@pytest.mark.parametrize("during", ["model", "unit_test"])
def test_a_server_killed_mid_build_ends_the_build_within_a_minute(make_project, tmp_path,
                                                                  during: str) -> None:
    """A server of its own, SIGKILLed while the build runs `slow` (or `slow`'s unit
    test, which runs just before it): the build exits 1 within about a minute of the
    kill (not pyspark's ten minutes, nor a wait per node left), naming the URL on
    stderr without a traceback; what ran failed, every node after it (the models, the
    data test, on-run-end) skipped with that reason, and run_results.json written."""
    needs_client()
    if not shutil.which("java"):
        pytest.skip("no Java runtime (apt-get install openjdk-17-jre-headless)")
    (tmp_path / "server").mkdir()
    server = ConnectServer(tmp_path / "server")
    build = None
    try:
        server.wait_ready()
        from runner.engines.spark import close_remote_sessions, remote_session
        mine = remote_session(server.url)       # this process's, closed after the kill
        root = make_project({**LOST_PROJECT, "models/unit.yml": LOST_UNIT_TEST}
                            if during == "unit_test" else LOST_PROJECT)
        folder = profiles(tmp_path / "profiles", server.url)
        build = subprocess.Popen(
            [sys.executable, "-m", "runner", "build", "--project-dir", str(root),
             "--target", "connect", "--profiles-dir", str(folder)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
        assert build.stdout is not None
        progress = []
        for line in build.stdout:           # until `first` is built: `slow` starts
            progress.append(line)
            if "model first" in line:
                break
        assert "OK" in progress[-1] and "model first" in progress[-1], "".join(progress)
        time.sleep(3)
        assert build.poll() is None, "".join(progress)
        os.killpg(server.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        try:
            out, err = build.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            build.kill()
            out, err = build.communicate()
            pytest.fail(f"the build still ran {time.monotonic() - killed:.0f} s after "
                        f"the server was killed:\n{''.join(progress)}{out}\n{err}")
        seconds = time.monotonic() - killed
        started = time.monotonic()
        close_remote_sessions()                 # one try at the gone server, no wait
        closing = time.monotonic() - started
        assert mine.is_stopped
    finally:
        if build is not None and build.poll() is None:
            build.kill()
            build.wait()
        server.stop()
    out = "".join(progress) + out
    assert build.returncode == 1, out + err
    assert seconds < 90, (seconds, out, err)
    assert closing < 5, closing
    gone = f"the Spark Connect server at {server.url} stopped answering"
    assert gone in err, err
    assert "Traceback" not in err and "Traceback" not in out, err
    assert "RETRIES_EXCEEDED" not in err, err        # pyspark's warning: said above
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    by_name = {r["unique_id"].split(".")[-1] if r["unique_id"].startswith("model.")
               else r["unique_id"]: r for r in results}
    assert by_name["first"]["status"] == "success"
    killed_in = by_name["slow" if during == "model" else "unit_test.lost.slow.slow_counts"]
    assert killed_in["status"] == "error"
    assert killed_in["message"].startswith(gone + ": "), killed_in
    assert "Traceback" not in killed_in["message"]
    later = [r for r in results if r["unique_id"] not in (
        by_name["first"]["unique_id"], killed_in["unique_id"])]
    kinds = sorted(r["unique_id"].split(".")[0] for r in later)
    assert kinds == ["model"] * (3 if during == "model" else 4) + ["operation", "test"], \
        later
    for result in later:
        assert result["status"] == "skipped", result
        assert gone in result["message"], result
    # no node waited on the gone server: the time after the kill is `slow`'s alone
    assert sum(r["execution_time"] for r in later) < 1, later
