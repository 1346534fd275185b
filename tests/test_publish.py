"""The serving layer (runner/publish/serving.py): what a build publishes equals the build
database's tables row for row, after many hourly builds with sessions moving between
months and partitions that only lose rows; only changed partitions are rewritten; files
past the grace period go; a partition expression or publish config that is wrong is a
clear error."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pytest

from conftest_reports import ROOT, SESSION_COLUMNS, write_csv
from runner.api import build, publish

REPORT_TIME = "2026-01-01T00:00:00Z"


def vars_for(tmp: Path, **extra) -> dict:
    return {"report_time": REPORT_TIME, "publish_dir": str(tmp / "published"), **extra}


def build_ok(raw: Path, db: Path, vars: dict, full_refresh: bool = False):
    result = build(ROOT, raw_dir=raw, db_path=db, vars=vars, full_refresh=full_refresh)
    assert result.ok, result.summary()
    assert result.publish_error is None, result.publish_error
    return result.published


def published_tables(catalog: Path) -> list[str]:
    with duckdb.connect(str(catalog), read_only=True) as con:
        return [r[0] for r in con.execute("select relation from publication.tables "
                                          "order by 1").fetchall()]


def differences(db: Path, catalog: Path) -> dict[str, tuple[int, int]]:
    """Per published table, rows only in the database and rows only in the publication
    (EXCEPT ALL both ways; the publication's partition key aside)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{db}' as db (read_only)")
        con.execute(f"attach '{catalog}' as pub (read_only)")
        out = {}
        for table in published_tables(catalog):
            pub = f"select columns(lambda c: c <> 'report_month') from pub.{table}"
            built = f"select * from db.{table}"
            a = con.execute(f"select count(*) from ({built} except all {pub})").fetchone()[0]
            b = con.execute(f"select count(*) from ({pub} except all {built})").fetchone()[0]
            if a or b:
                out[table] = (a, b)
        return out
    finally:
        con.close()


def files_on_disk(folder: Path) -> set[str]:
    return {str(p) for p in (folder / "files").rglob("*.parquet")}


def named_files(catalog: Path) -> tuple[set[str], set[str]]:
    """(files the current version's views name, files kept for the grace period)."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        current = {r[0] for r in con.execute("select path from publication.files").fetchall()}
        retired = {r[0] for r in con.execute("select path from publication.retired"
                                             ).fetchall()}
    return current, retired


def moved_versions(raw: Path, days: int, limit: int, offset: int) -> list[dict]:
    """Later versions of some sessions, their start and stop moved `days` earlier: each
    leaves its month for another one."""
    moved = "strftime(try_cast({} as timestamptz) - to_days({}), '%Y-%m-%dT%H:%M:%SZ')"
    others = [c for c in SESSION_COLUMNS
              if c not in ("start_time", "stop_time", "created_at", "updated_at")]
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        cursor = con.execute(
            f"select {', '.join(others)}, {moved.format('start_time', days)} as start_time, "
            f"{moved.format('stop_time', days)} as stop_time from read_parquet("
            f"'{raw.as_posix()}/charging_sessions/*.parquet', union_by_name = true) "
            f"where try_cast(stop_time as timestamptz) is not null "
            f"and try_cast(start_time as timestamptz) is not null and charge_id is not null "
            f"order by charge_id limit {limit} offset {offset}")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    for r in rows:
        r.update(created_at=r["start_time"], updated_at="2026-06-01T00:00:00Z")
    assert len(rows) == limit
    return [{c: (None if r[c] is None else str(r[c])) for c in SESSION_COLUMNS} for r in rows]


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> Path:
    from cpo.sample import generate
    raw = tmp_path_factory.mktemp("publish_zone") / "raw"
    generate(raw, 1500, seed=11)
    return raw


def test_hourly_publishes_equal_the_build_and_rewrite_only_changed_partitions(
        tmp_path: Path, zone: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(zone, raw)
    held_back = sorted((raw / "charging_sessions").glob("sessions_*.parquet"))[-2:]
    later = tmp_path / "later"
    later.mkdir()
    for f in held_back:
        shutil.move(f, later / f.name)
    db = tmp_path / "b.duckdb"
    vars = vars_for(tmp_path, publish_grace_minutes=0)
    catalog = tmp_path / "published" / "b.duckdb"          # named as the database

    first = build_ok(raw, db, vars)
    assert first.catalog == catalog
    assert differences(db, catalog) == {}
    assert set(published_tables(catalog)) >= {
        "reports.charging_sessions_cpo", "reports.roaming_sessions_cpo",
        "audit.rejected_sessions", "audit.reconciliation"}

    # the reports' month folders hold a file per week of the start (file_by)
    from runner.publish.catalog import read_publication
    for table in ("reports.charging_sessions_cpo", "reports.roaming_sessions_cpo"):
        files = read_publication(catalog).tables[table].files
        assert all(f.sub for f in files), table
        assert len({f.partition for f in files}) < len(files), table

    # nothing new: nothing of the reports is rewritten
    again = build_ok(raw, db, vars_for(tmp_path, publish_grace_minutes=0,
                                       incremental_lookback_days=0))
    assert again.rewritten["reports.charging_sessions_cpo"] == 0
    assert again.rewritten["reports.roaming_sessions_cpo"] == 0
    assert differences(db, catalog) == {}

    org_csv = raw / "organisations" / "organisations.csv"
    original_orgs = org_csv.read_text(encoding="utf-8")
    with duckdb.connect() as con:
        org_id = con.execute(f"select organisation_id from read_csv('{org_csv}', "
                             "all_varchar = true) order by 1 limit 1").fetchone()[0]
    steps = [
        ("a month of sessions", lambda: shutil.copy(later / held_back[0].name,
                                                    raw / "charging_sessions")),
        ("sessions moved 40 days earlier", lambda: write_csv(
            raw / "charging_sessions" / "moved_1.csv", moved_versions(raw, 40, 12, 0),
            SESSION_COLUMNS)),
        # an organisation's time zone breaks: its sessions leave the reports (partitions
        # that only lose rows) for rejected_sessions
        ("an organisation's zone breaks", lambda: org_csv.write_text(
            _retimezoned(original_orgs, org_id, "Mars/Olympus_Mons"), encoding="utf-8")),
        ("the zone is mended", lambda: org_csv.write_text(
            _retimezoned(original_orgs, org_id, None, stamp="2026-07-01T00:00:00Z"),
            encoding="utf-8")),
        ("another month and more moves", lambda: (
            shutil.copy(later / held_back[1].name, raw / "charging_sessions"),
            write_csv(raw / "charging_sessions" / "moved_2.csv",
                      moved_versions(raw, -75, 9, 30), SESSION_COLUMNS))),
    ]
    for label, change in steps:
        change()
        published = build_ok(raw, db, vars)
        assert differences(db, catalog) == {}, label
        current, retired = named_files(catalog)
        # grace 0: what the previous publish retired is gone; nothing else is on disk
        assert files_on_disk(tmp_path / "published") == current | retired, label
        assert sum(published.rewritten.values()) > 0, label

    # the folder of links holds the current version: read as a Hive-partitioned
    # dataset, it equals the catalog's views (durations there are microseconds)
    with duckdb.connect(str(catalog), read_only=True) as con:
        for table, star in (("reports.charging_sessions_cpo",
                             "* replace (to_microseconds(duration) as duration)"),
                            ("audit.rejected_sessions", "*")):
            folder = tmp_path / "published" / "tables" / "b" / table
            dataset = (f"(select {star} from read_parquet('{folder}/*/*.parquet', "
                       "hive_partitioning = true, hive_types = {'report_month': 'VARCHAR'}))")
            for a, b in ((dataset, table), (table, dataset)):
                assert con.execute(f"select count(*) from (from {a} except all "
                                   f"from {b})").fetchone()[0] == 0, table

    # the incremental publication equals a full publish of the same database
    fresh = publish(ROOT, db, vars_for(tmp_path / "fresh"))
    with duckdb.connect() as con:
        con.execute(f"attach '{catalog}' as inc (read_only)")
        con.execute(f"attach '{fresh.catalog}' as whole (read_only)")
        for table in published_tables(catalog):
            for a, b in (("inc", "whole"), ("whole", "inc")):
                assert con.execute(f"select count(*) from (from {a}.{table} except all "
                                   f"from {b}.{table})").fetchone()[0] == 0, table


def _retimezoned(text: str, org_id: str, zone: str | None,
                 stamp: str = "2026-06-01T00:00:00Z") -> str:
    """organisations.csv with a later row for `org_id`: its zone replaced (None: as it
    was), updated at `stamp`."""
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(text)))
    row = dict(next(r for r in rows if r["organisation_id"] == org_id))
    if zone:
        row["timezone"] = zone
    row["updated_at"] = stamp
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows + [row])
    return out.getvalue()


# -- the engine on a tiny project -------------------------------------------------------

TINY = {"models/events.sql": "select 1 as x",
        "models/_models.yml": """
            version: 2
            models:
              - name: events
                config:
                  publish:
                    partition_by: month_key
                    partition_expression: "strftime({{ this }}.happened, '%Y-%m')"
            """}


def _events(db: Path, sql: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(sql)


def test_a_partition_that_only_lost_rows_is_rewritten_and_an_emptied_one_removed(
        make_project, tmp_path: Path) -> None:
    root = make_project(TINY)
    db = tmp_path / "t.duckdb"
    _events(db, "create table main.events as select i as id, "
                "timestamptz '2024-01-01' + to_days(cast(i * 20 as int)) as happened, "
                "now() as _built_at from range(9) r(i)")
    first = publish(root, db)
    assert first.rewritten == {"main.events": 6}          # 2024-01 to 2024-06
    _events(db, "delete from main.events where id = 3")         # 2024-03 loses a row
    second = publish(root, db)
    assert second.rewritten == {"main.events": 1}
    _events(db, "delete from main.events where happened >= '2024-06-01'")   # 2024-06 emptied
    third = publish(root, db)
    assert third.rewritten == {"main.events": 1}
    with duckdb.connect(str(third.catalog), read_only=True) as con:
        assert con.execute("select month_key, count(*) from main.events group by 1 "
                           "order by 1").fetchall() == [
            ("2024-01", 2), ("2024-02", 1), ("2024-03", 1), ("2024-04", 2), ("2024-05", 1)]
        assert con.execute("select count(*) from main.events where id = 3").fetchone() == (0,)
    _events(db, "delete from main.events")
    empty = publish(root, db)
    with duckdb.connect(str(empty.catalog), read_only=True) as con:
        assert con.execute("select count(*) from main.events").fetchone() == (0,)
        assert "month_key" in [d[0] for d in
                               con.execute("select * from main.events").description]


def test_a_changed_table_shape_rewrites_every_partition(make_project, tmp_path) -> None:
    root = make_project(TINY)
    db = tmp_path / "t.duckdb"
    _events(db, "create table main.events as select i as id, timestamptz '2024-01-01' "
                "+ to_days(cast(i * 40 as int)) as happened, now() as _built_at from range(4) r(i)")
    publish(root, db)
    _events(db, "alter table main.events add column note varchar")
    again = publish(root, db)
    assert again.rewritten == {"main.events": 4}
    with duckdb.connect(str(again.catalog), read_only=True) as con:
        assert "note" in [d[0] for d in con.execute("select * from main.events").description]


@pytest.mark.parametrize("config, message", [
    ("publish: yes-please", "must be true or a mapping"),
    ("publish: {partition_by: [a, b], partition_expression: '1'}", "one key is supported"),
    ("publish: {partition_expression: '1'}", "no partition_by"),
    ("publish: {file_by: x}", "file_by but no partition_by"),
    ("publish: {partition_by: k, locaton: x}", "must be true or a mapping"),
])
def test_a_bad_publish_config_names_the_model(make_project, tmp_path, cli, config,
                                              message) -> None:
    root = make_project({"models/m.sql": "select 1 as x",
                         "models/_m.yml": f"""
                             version: 2
                             models:
                               - name: m
                                 config:
                                   {config}
                             """})
    code, out, err = cli("publish", "--project-dir", root, "--db", tmp_path / "m.duckdb")
    assert code == 2, out + err
    assert message in err and "m" in err and "Traceback" not in err


def test_a_partition_key_that_is_a_column_already_is_refused(make_project, tmp_path,
                                                             cli) -> None:
    root = make_project({"models/m.sql": "select 1 as x, '2024-01' as k",
                         "models/_m.yml": """
                             version: 2
                             models:
                               - name: m
                                 config:
                                   materialized: table
                                   publish: {partition_by: k, partition_expression: "'x'"}
                             """})
    code, out, err = cli("build", "--project-dir", root, "--db", tmp_path / "m.duckdb")
    assert code == 2, out + err
    assert "also a column" in err and "published:" not in out


def test_intervals_are_microseconds_in_the_files_and_intervals_in_the_views(
        make_project, tmp_path) -> None:
    """Spark, Trino and Polars read no Parquet INTERVAL: the files hold BIGINT
    microseconds, and the catalog's views give the intervals back."""
    root = make_project(TINY)
    db = tmp_path / "t.duckdb"
    _events(db, "create table main.events as select i as id, timestamptz '2024-01-01' + "
                "to_days(cast(i * 40 as int)) as happened, to_days(i) + to_minutes(i) as "
                "took, now() as _built_at from range(4) r(i)")
    published = publish(root, db)
    with duckdb.connect(str(published.catalog), read_only=True) as con:
        files = [r[0] for r in con.execute("select path from publication.files").fetchall()]
        kinds = {r[0] for r in con.execute(
            "select type from parquet_schema(?::varchar[]) where name = 'took'",
            [files]).fetchall()}
        assert kinds == {"INT64"}
        assert con.execute("select count(*) from (select id, took from main.events except "
                           "all select i, to_days(i) + to_minutes(i) from range(4) r(i))"
                           ).fetchone() == (0,)
        assert con.execute("select typeof(took) from main.events limit 1").fetchone() == \
            ("INTERVAL",)


def test_published_files_are_zstd_parquet(make_project, tmp_path) -> None:
    """Readers are promised zstd Parquet (README, "Serving"); the level (1, for the
    publish's CPU) is not in the file, the codec is."""
    root = make_project({**TINY, "models/plain.sql": "select 1 as x",
                         "models/_models.yml": TINY["models/_models.yml"] + """
              - name: plain
                config:
                  publish: true
            """})
    db = tmp_path / "t.duckdb"
    _events(db, "create table main.events as select i as id, timestamptz '2024-01-01' + "
                "to_days(cast(i * 40 as int)) as happened, repeat('ab', i) as note, "
                "now() as _built_at from range(40) r(i); create table main.plain as "
                "select i as id, now() as _built_at from range(40) r(i)")
    published = publish(root, db)
    with duckdb.connect(str(published.catalog), read_only=True) as con:
        files = [r[0] for r in con.execute("select path from publication.files").fetchall()]
        assert any("plain" in f for f in files) and any("events" in f for f in files)
        codecs = {r[0] for r in con.execute(
            "select distinct compression from parquet_metadata(?::varchar[])",
            [files]).fetchall()}
    assert codecs == {"ZSTD"}


def _limit_file_size() -> None:
    import resource
    import signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # writes fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_publish_that_runs_out_of_space_leaves_the_previous_version(
        make_project, tmp_path) -> None:
    import subprocess
    import sys
    root = make_project(TINY)
    db = tmp_path / "t.duckdb"
    _events(db, "create table main.events as select i as id, timestamptz '2024-01-01' + "
                "to_days(cast(i % 90 as int)) as happened, md5(i::varchar) || md5((i * 7)"
                "::varchar) as note, now() as _built_at from range(60000) r(i)")
    first = publish(root, db)
    _events(db, "update main.events set note = md5(note), _built_at = now()")
    cmd = [sys.executable, "-m", "runner", "publish", "--project-dir", str(root), "--db",
           str(db)]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=_limit_file_size,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "could not publish" in proc.stderr and "previous publication is unchanged" in \
        proc.stderr and "Traceback" not in proc.stderr
    assert "published:" not in proc.stdout
    assert differences_from(first.catalog, "select id, note from main.events") != 0
    assert not list(first.catalog.parent.glob(".staging-*"))
    again = publish(root, db)
    assert differences_from(again.catalog, "select id, note from main.events") == 0


def differences_from(catalog: Path, query: str) -> int:
    """Rows of `query` against the database named in the catalog, and the catalog's, in
    one side only."""
    with duckdb.connect(str(catalog), read_only=True) as con:
        db = con.execute("select database from publication.version").fetchone()[0]
    with duckdb.connect() as con:
        con.execute(f"attach '{db}' as db (read_only)")
        con.execute(f"attach '{catalog}' as pub (read_only)")
        a = con.execute(f"select count(*) from ({query.replace('main.', 'db.main.')} except "
                        f"all {query.replace('main.', 'pub.main.')})").fetchone()[0]
        b = con.execute(f"select count(*) from ({query.replace('main.', 'pub.main.')} except "
                        f"all {query.replace('main.', 'db.main.')})").fetchone()[0]
    return a + b


def test_replaced_files_stay_for_the_grace_period_then_go(make_project, tmp_path) -> None:
    root = make_project(TINY)
    db = tmp_path / "t.duckdb"
    grace = {"publish_grace_minutes": 0.02}           # 1.2 s
    _events(db, "create table main.events as select i as id, timestamptz '2024-01-01' + "
                "to_days(cast(i * 40 as int)) as happened, now() as _built_at "
                "from range(4) r(i)")
    first = publish(root, db, grace)
    _events(db, "delete from main.events where id = 0")
    publish(root, db, grace)
    replaced = {str(p) for p in files_on_disk(first.catalog.parent)} - \
        named_files(first.catalog)[0]
    assert len(replaced) == 1                          # 2024-01's first file
    publish(root, db, grace)                           # within the grace period: kept
    assert replaced <= files_on_disk(first.catalog.parent)
    time.sleep(1.5)
    last = publish(root, db, grace)
    assert last.deleted == 1 and not replaced & files_on_disk(first.catalog.parent)
    assert files_on_disk(first.catalog.parent) == named_files(first.catalog)[0]


def test_another_database_publishing_to_the_same_catalog_rewrites_everything(
        make_project, tmp_path) -> None:
    root = make_project(TINY)
    first, second = tmp_path / "t.duckdb", tmp_path / "elsewhere" / "t.duckdb"
    second.parent.mkdir()
    for db, n in ((first, 4), (second, 3)):
        _events(db, "create table main.events as select i as id, timestamptz '2024-01-01'"
                    f" + to_days(cast(i * 40 as int)) as happened, timestamptz '2024-06-01'"
                    f" as _built_at from range({n}) r(i)")
    shared = {"publish_dir": str(tmp_path / "published")}
    publish(root, first, shared)
    again = publish(root, second, shared)               # same name, same folder
    assert again.rewritten == {"main.events": 3}
    assert any("held a publication of" in n for n in again.notes)
    assert differences_from(again.catalog, "select id from main.events") == 0


def test_a_database_without_the_published_tables_publishes_none(make_project,
                                                                 tmp_path) -> None:
    """A first build of part of the project (none of its published tables): each is
    noted as not published, and the next publish, with the table, is as usual."""
    root = make_project(TINY)
    db = tmp_path / "t.duckdb"
    duckdb.connect(str(db)).close()
    first = publish(root, db)
    assert first.notes == [f"main.events is not in {db}: not published"]
    _events(db, "create table main.events as select 1 as id, timestamptz '2024-01-01' "
                "as happened, now() as _built_at")
    again = publish(root, db)
    assert again.rewritten == {"main.events": 1}
