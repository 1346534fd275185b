"""Readers of the serving layer, as real processes: a reader querying both reports in a
loop during a full and an hourly build is never refused and always sees one complete
version; a reader holding the catalog open through two hourly builds does not stop them;
a publish killed (SIGKILL) half-way leaves the previous version whole; `runner show` and
`runner report` read the publication while a build holds the database; the catalog opens
in the DuckDB CLI from PyPI (1.x)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest_reports import ROOT
from runner.api import build, publish

REPORT_TIME = "2026-01-01T00:00:00Z"
FIGURES = """
    select (select count(*) from reports.charging_sessions_cpo),
           (select sum(price)::varchar from reports.charging_sessions_cpo),
           (select count(*) from reports.roaming_sessions_cpo),
           (select sum(vat_amount)::varchar from reports.roaming_sessions_cpo),
           (select sum(raw_sessions) from audit.reconciliation),
           (select sum(rejected_sessions) from audit.reconciliation)
"""
# A reader: a new read-only connection to the catalog per read, until `stop` exists;
# one JSON line per read: the figures and whether the version's recorded row counts
# match its rows (a version is complete), or the error.
READER = f"""
import duckdb, json, sys, time, os
catalog, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(stop):
    try:
        with duckdb.connect(catalog, read_only=True) as con:
            figures = list(con.execute('''{FIGURES}''').fetchone())
            recorded = dict(con.execute("select relation, rows from publication.tables")
                            .fetchall())
            whole = all(con.execute(f"select count(*) from {{t}}").fetchone()[0] == n
                        for t, n in recorded.items())
        print(json.dumps({{"at": time.time(), "figures": figures, "whole": whole}}),
              flush=True)
    except Exception as exc:
        print(json.dumps({{"at": time.time(), "error": str(exc)}}), flush=True)
    time.sleep(0.02)
"""


def vars_for(tmp: Path, **extra) -> dict:
    return {"report_time": REPORT_TIME, "publish_dir": str(tmp / "published"), **extra}


def vars_text(vars: dict) -> str:
    return json.dumps(vars)           # JSON is YAML


def figures(path: Path) -> list:
    with duckdb.connect(str(path), read_only=True) as con:
        return list(con.execute(FIGURES).fetchone())


def runner(*args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "runner", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    return out


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """A landing zone without its last two months, built once; those months beside it."""
    from cpo.sample import generate
    root = tmp_path_factory.mktemp("readers")
    raw = root / "raw"
    generate(raw, 3000, seed=17)
    later = root / "later"
    later.mkdir()
    for f in sorted((raw / "charging_sessions").glob("sessions_*.parquet"))[-2:]:
        shutil.move(f, later / f.name)
    db = root / "b.duckdb"
    result = build(ROOT, raw_dir=raw, db_path=db, vars=vars_for(root))
    assert result.ok, result.summary()
    return {"raw": raw, "db": db, "later": sorted(later.iterdir())}


@pytest.fixture
def copy(base, tmp_path: Path) -> dict:
    """The base zone and database copied here, and published here."""
    raw, db = tmp_path / "raw", tmp_path / "b.duckdb"
    shutil.copytree(base["raw"], raw)
    shutil.copy(base["db"], db)
    published = publish(ROOT, db, vars_for(tmp_path))
    return {"raw": raw, "db": db, "later": base["later"], "catalog": published.catalog,
            "vars": vars_for(tmp_path)}


def test_a_reader_in_a_loop_during_a_full_and_an_hourly_build(copy, tmp_path) -> None:
    raw, db, catalog = copy["raw"], copy["db"], copy["catalog"]
    expected = [figures(db)]
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(catalog), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spans = []
    try:
        for month, extra in zip(copy["later"], (["--full-refresh"], [])):
            shutil.copy(month, raw / "charging_sessions")
            started = time.time()
            out = finish(runner("build", "--project-dir", ROOT, "--raw-dir", raw, "--db", db,
                                "--vars", vars_text(copy["vars"]), *extra))
            spans.append((started, time.time()))
            assert out.rstrip().splitlines()[-1] == f"published: {catalog}"
            expected.append(figures(db))
        time.sleep(0.3)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    reads = [json.loads(line) for line in out.splitlines()]
    assert [r for r in reads if "error" in r] == [], err
    assert all(r["whole"] for r in reads)
    assert len({tuple(map(str, e)) for e in expected}) == 3      # three distinct versions
    seen = [r["figures"] for r in reads]
    assert all(s in expected for s in seen), [s for s in seen if s not in expected][:3]
    for started, ended in spans:       # reads did happen while each build ran
        assert sum(started <= r["at"] <= ended for r in reads) >= 5
    assert seen[-1] == expected[-1]


HOLDER = f"""
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
for line in sys.stdin:
    if line.strip() == "new":
        con.close()
        con = duckdb.connect(sys.argv[1], read_only=True)
    print(json.dumps(list(con.execute('''{FIGURES}''').fetchone())), flush=True)
"""


def test_a_reader_holding_the_catalog_through_two_hourly_builds(copy) -> None:
    raw, db, catalog = copy["raw"], copy["db"], copy["catalog"]
    before = figures(db)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(catalog)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(what: str) -> list:
        holder.stdin.write(what + "\n")
        holder.stdin.flush()
        return json.loads(holder.stdout.readline())
    try:
        assert ask("again") == before
        for month in copy["later"]:
            shutil.copy(month, raw / "charging_sessions")
            result = build(ROOT, raw_dir=raw, db_path=db, vars=copy["vars"])
            assert result.ok and result.published and result.publish_error is None
            assert ask("again") == before         # its open connection: the old version
        after = figures(db)
        assert after != before
        assert ask("new") == after                # a new connection: the newest
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_sigkill_mid_publish_leaves_the_previous_version_whole(copy, tmp_path) -> None:
    raw, db, catalog = copy["raw"], copy["db"], copy["catalog"]
    old = figures(catalog)
    # a full refresh with one more month, published elsewhere: the catalog here is then
    # one version behind, and its publish rewrites every partition
    shutil.copy(copy["later"][0], raw / "charging_sessions")
    aside = vars_for(tmp_path / "aside")
    assert build(ROOT, raw_dir=raw, db_path=db, vars=aside, full_refresh=True).ok
    new = figures(db)
    assert new != old
    folder = catalog.parent
    args = ("publish", "--project-dir", ROOT, "--db", db, "--vars", vars_text(copy["vars"]))
    interrupted = 0
    for delay in (0.0, 0.03, 0.1, 0.2, 0.4, 0.8, 1.6):
        # killed at varied moments after the publish began writing (its staging folder
        # appeared)
        before = set(folder.glob(".staging-*"))
        proc = runner(*args)
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline and \
                not set(folder.glob(".staging-*")) - before:
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        seen = figures(catalog)
        assert seen in (old, new), delay
        if seen == new:
            break            # the rename happened: the new version is whole too
        interrupted += proc.returncode == -signal.SIGKILL
    assert interrupted >= 2, "fewer than two trials stopped a publish half-way"
    finish(runner(*args))
    assert figures(catalog) == new
    state = json.loads((folder / f".{catalog.name}.state.json").read_text())
    named = {f["path"] for t in state["tables"].values() for f in t["files"]} | \
        {p for p, _ in state["retired"]}
    assert {str(p) for p in (folder / "files").rglob("*.parquet")} == named
    assert not list(folder.glob(".staging-*"))


LOCKER = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def hold(db: Path) -> subprocess.Popen:
    """A process holding the database file as a build does (read-write)."""
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert locker.stdout.readline().strip() == "locked"
    return locker


def release(locker: subprocess.Popen) -> None:
    locker.stdin.close()
    locker.wait(timeout=30)


def test_show_and_report_read_the_publication_while_a_build_holds_the_database(
        copy, cli, tmp_path) -> None:
    db, catalog = copy["db"], copy["catalog"]
    assert catalog == db.parent / "published" / db.name     # the default place
    with duckdb.connect(str(db), read_only=True) as con:
        org = con.execute("select organisation_id from reports.charging_sessions_cpo "
                          "group by 1 order by count(*) desc limit 1").fetchone()[0]
    report = ("report", "charging-sessions", "--org", org, "--from", "2024-01-01",
              "--to", "2026-01-01", "--project-dir", ROOT)
    code, out, err = cli(*report, "--db", db, "--out", tmp_path / "free.csv")
    assert code == 0, err
    locker = hold(db)
    try:
        code, out, err = cli(*report, "--db", db, "--out", tmp_path / "busy.csv")
        assert code == 0, err
        assert "in use by a build" in out and str(catalog) in out
        code, out, err = cli("show", "charging_sessions_cpo", "--project-dir", ROOT,
                             "--db", db, "--limit", "3")
        assert code == 0, err
        assert "charge_id" in out.splitlines()[0] and len(out.splitlines()) == 5
        assert "in use by a build" in err
    finally:
        release(locker)
    assert (tmp_path / "busy.csv").read_bytes() == (tmp_path / "free.csv").read_bytes()

    # a database with no publication: refused as before, saying there is none
    lonely = tmp_path / "lonely" / "b.duckdb"
    lonely.parent.mkdir()
    shutil.copy(db, lonely)
    locker = hold(lonely)
    try:
        code, out, err = cli(*report, "--db", lonely, "--out", tmp_path / "no.csv")
        assert code == 3 and "in use by" in err and "no publication" in err, out + err
        assert not (tmp_path / "no.csv").exists()
    finally:
        release(locker)


@pytest.fixture(scope="session")
def duckdb_cli(tmp_path_factory) -> Path:
    """The `duckdb` command of the PyPI package duckdb-cli, in a virtual environment of
    this test session."""
    venv = tmp_path_factory.mktemp("clivenv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "duckdb-cli"], check=True)
    return venv / "bin" / "duckdb"


@pytest.mark.slow
def test_the_catalog_opens_in_the_duckdb_cli_from_pypi(copy, duckdb_cli) -> None:
    catalog = copy["catalog"]
    query = ("select charge_id, price, report_month from reports.charging_sessions_cpo "
             "order by charge_id limit 5")
    done = subprocess.run([str(duckdb_cli), "-readonly", "-csv", "-noheader", str(catalog),
                           "-c", "select version()", "-c", query,
                           "-c", "select count(*) from reports.roaming_sessions_cpo"],
                          capture_output=True, text=True, cwd="/", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("v1."), lines[0]
    with duckdb.connect(str(catalog), read_only=True) as con:
        rows = con.execute(query).fetchall()
        roaming = con.execute("select count(*) from reports.roaming_sessions_cpo").fetchone()
    assert lines[1:6] == [f"{c},{p},{m}" for c, p, m in rows]
    assert lines[6] == str(roaming[0])


def test_export_of_a_held_database_is_refused_as_before(copy, cli, tmp_path) -> None:
    """runner export writes the build database's table as it is: while a build holds the
    file it exits 3 (the publication's views have one more column)."""
    locker = hold(copy["db"])
    try:
        code, out, err = cli("export", "charging_sessions_cpo", "--out",
                             tmp_path / "x.parquet", "--project-dir", ROOT, "--db",
                             copy["db"])
        assert code == 3 and "in use by" in err, out + err
        assert not (tmp_path / "x.parquet").exists()
    finally:
        release(locker)
