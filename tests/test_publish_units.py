"""Publishing with `file_by` (runner/publish/partitions.py): a partition's folder holds one
file per unit (here the UTC day), a publish rewrites only the units whose rows changed,
finds them without computing the partition key on the rows it does not rewrite, finds the
units that only lost rows, and the publication equals the database row for row."""

from __future__ import annotations

from pathlib import Path

import duckdb

from runner.api import publish
from runner.publish.catalog import read_publication

# the key fails on a row marked poisoned: a publish that computes it on such a row fails
DAYS = {"models/events.sql": "select 1 as x",
        "models/_models.yml": """
            version: 2
            models:
              - name: events
                config:
                  publish:
                    partition_by: month_key
                    partition_expression: >-
                      case when {{ this }}.poisoned then error('key computed on id '
                      || {{ this }}.id) else strftime({{ this }}.happened, '%Y-%m') end
                    file_by: "cast({{ this }}.happened as date)"
            """}


def _sql(db: Path, sql: str) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(sql)


def _same(db: Path, catalog: Path) -> None:
    with duckdb.connect() as con:
        con.execute(f"attach '{db}' as db (read_only)")
        con.execute(f"attach '{catalog}' as pub (read_only)")
        built = "select *, strftime(happened, '%Y-%m') as month_key from db.main.events"
        pub = "select * from pub.main.events"
        for a, b in ((built, pub), (pub, built)):
            assert con.execute(f"select count(*) from ({a} except all {b})").fetchone() == (0,)


def _files(catalog: Path) -> dict[str, tuple[str | None, str | None]]:
    pub = read_publication(catalog)
    return {f.path: (f.partition, f.sub) for f in pub.tables["main.events"].files}


def _events(db: Path) -> None:
    # 2024-01-01 to 2024-02-29, four rows a day (ids by the hour)
    _sql(db, "create table main.events as select i as id, timestamptz '2024-01-01' "
             "+ to_hours(cast(i * 6 as int)) as happened, false as poisoned, "
             "timestamptz '2024-03-01' as _built_at from range(60 * 4) r(i)")


def test_a_changed_day_rewrites_its_file_alone(make_project, tmp_path: Path) -> None:
    root = make_project(DAYS)
    db = tmp_path / "t.duckdb"
    _events(db)
    first = publish(root, db)
    assert first.rewritten == {"main.events": 60}
    before = _files(first.catalog)
    assert len(before) == 60
    assert {p for p, _ in before.values()} == {"2024-01", "2024-02"}
    # a partition's files lie in its Hive folder, one per day
    assert {Path(p).parent.name for p in before} == {"month_key=2024-01", "month_key=2024-02"}
    _same(db, first.catalog)

    # one row of 2024-01-10 rewritten: that day's file alone is new
    _sql(db, "update main.events set _built_at = timestamptz '2024-03-02' "
             "where happened = timestamptz '2024-01-10 06:00'")
    second = publish(root, db)
    assert second.rewritten == {"main.events": 1}
    after = _files(second.catalog)
    assert set(before) - set(after) == {p for p, (_, day) in before.items()
                                        if day == "2024-01-10"}
    assert sorted(v for p, v in after.items() if p not in before) == [("2024-01", "2024-01-10")]
    _same(db, second.catalog)


def test_the_key_is_computed_only_on_the_rows_rewritten(make_project, tmp_path) -> None:
    root = make_project(DAYS)
    db = tmp_path / "t.duckdb"
    _events(db)
    publish(root, db)
    # rows of published, unchanged days whose key would fail; a new row on another day
    _sql(db, "update main.events set poisoned = true where happened < '2024-01-20'")
    _sql(db, "insert into main.events values (1000, timestamptz '2024-02-10 03:00', false, "
             "timestamptz '2024-03-02')")
    again = publish(root, db)
    assert again.rewritten == {"main.events": 1}


def test_a_day_that_only_lost_rows_or_all_of_them_is_found(make_project, tmp_path) -> None:
    root = make_project(DAYS)
    db = tmp_path / "t.duckdb"
    _events(db)
    publish(root, db)
    # a row deleted (the day's largest _built_at unchanged): found by its count
    _sql(db, "delete from main.events where happened = timestamptz '2024-02-03 12:00'")
    second = publish(root, db)
    assert second.rewritten == {"main.events": 1}
    assert second.notes == ["main.events: rows left units that got no new row; every unit "
                            "compared (a scan of the table)"]
    _same(db, second.catalog)
    # a day emptied, and a row that moves to another month
    _sql(db, "delete from main.events where cast(happened as date) = date '2024-02-04'")
    _sql(db, "update main.events set happened = timestamptz '2024-03-05 01:00', "
             "_built_at = timestamptz '2024-03-03' where id = 0")
    third = publish(root, db)
    assert third.rewritten == {"main.events": 3}    # 02-04 gone, 01-01 lost one, 03-05 new
    _same(db, third.catalog)
    days = {day for _, day in _files(third.catalog).values()}
    assert "2024-02-04" not in days and "2024-03-05" in days and len(days) == 60


# the unit fails on a row marked poisoned: a publish that computes it on such a row fails
POISONED_UNIT = {**DAYS, "models/_models.yml": """
            version: 2
            models:
              - name: events
                config:
                  publish:
                    partition_by: month_key
                    partition_expression: "strftime({{ this }}.happened, '%Y-%m')"
                    file_by: >-
                      case when {{ this }}.poisoned then error('unit computed on id '
                      || {{ this }}.id) else cast({{ this }}.happened as date) end
            """}


def test_the_unit_is_computed_only_on_new_rows_and_the_changed_units(make_project,
                                                                        tmp_path) -> None:
    root = make_project(POISONED_UNIT)
    db = tmp_path / "t.duckdb"
    _events(db)
    first = publish(root, db)
    table = read_publication(first.catalog).tables["main.events"]
    assert table.built_at is not None and table.built_at.startswith("2024-03-01")
    # each file keeps the bounds of the columns its unit is computed from
    day = next(f for f in table.files if f.sub == "2024-01-10")
    assert set(day.bounds) == {"id", "happened"}
    assert day.bounds["id"] == ["36", "39"]
    # every published row but 2024-02-10's poisoned; a new row there, another on a new day
    _sql(db, "update main.events set poisoned = true "
             "where cast(happened as date) <> date '2024-02-10'")
    _sql(db, "insert into main.events values (1000, timestamptz '2024-02-10 03:00', false, "
             "timestamptz '2024-03-02'), (1001, timestamptz '2024-03-07 03:00', false, "
             "timestamptz '2024-03-02')")
    again = publish(root, db)
    assert again.rewritten == {"main.events": 2} and again.notes == []
    table = read_publication(again.catalog).tables["main.events"]
    assert table.built_at.startswith("2024-03-02")
    assert sorted(f.rows for f in table.files if f.sub in ("2024-02-10", "2024-03-07")) == [1, 5]
    _sql(db, "update main.events set poisoned = false")
    _same(db, again.catalog)


def test_runner_publish_renders_the_publish_configs_once(make_project, tmp_path,
                                                         monkeypatch) -> None:
    import runner.publish.serving as serving
    calls = []
    specs = serving.table_specs

    def counted(project, renderer):
        calls.append(1)
        return specs(project, renderer)
    monkeypatch.setattr(serving, "table_specs", counted)
    monkeypatch.setattr("runner.publish.command.table_specs", counted)
    root = make_project(DAYS)
    db = tmp_path / "t.duckdb"
    _events(db)
    assert publish(root, db).rewritten == {"main.events": 60}
    assert len(calls) == 1


def test_the_publish_config_is_acted_on_and_not_warned_about(make_project, tmp_path) -> None:
    from runner.api import build
    root = make_project({
        "models/events.sql": "select 1 as id, date '2024-01-02' as happened",
        "models/_models.yml": """
            version: 2
            models:
              - name: events
                config:
                  publish: {partition_by: happened}
            """,
        "dbt_project.yml": """\
            name: quiet
            version: "1.0.0"
            config-version: 2
            model-paths: ["models"]
            seed-paths: ["seeds"]
            seeds:
              quiet:
                +publish: true
            """,
        "models/other.sql": "{{ config(publish=true) }} select 1 as id",
        "seeds/c.csv": "code\n1\n"}, name="quiet")
    result = build(root, db_path=tmp_path / "db.duckdb")
    assert result.ok, result.summary()
    assert [w for w in result.warnings if "publish" in str(w)] == []
    assert result.publish_error is None
    assert set(read_publication(result.published.catalog).tables) == \
        {"main.events", "main.other", "main.c"}


class _Recorded:
    """A connection that keeps the text of every statement run through it."""

    def __init__(self, con, statements: list[str]):
        self._con, self._statements = con, statements

    def execute(self, sql, *args):
        self._statements.append(sql)
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def _recording(monkeypatch) -> list[str]:
    import runner.publish.command as command
    statements: list[str] = []
    opened = command.connect
    monkeypatch.setattr(command, "connect",
                        lambda *a, **k: _Recorded(opened(*a, **k), statements))
    return statements


def test_a_full_publish_reads_the_table_once(make_project, tmp_path, monkeypatch) -> None:
    # every unit new: one COPY of the whole table, no filter (a filter per batch of
    # units is a scan of the table per batch)
    statements = _recording(monkeypatch)
    root = make_project(DAYS)
    db = tmp_path / "t.duckdb"
    _events(db)
    first = publish(root, db)
    copies = [s for s in statements if s.startswith("copy") and "main.events" in s.split(
        " to ")[0].replace('"', "")]
    assert len(copies) == 1 and " where " not in copies[0]
    assert len(_files(first.catalog)) == 60     # one file per day, as before
    _same(db, first.catalog)


def test_units_past_the_rows_of_a_write_are_written_in_batches(make_project, tmp_path,
                                                                 monkeypatch) -> None:
    # units too large for one write: UNITS_PER_WRITE a COPY, each a later write into the
    # folder of the first
    from runner.publish import partitions
    monkeypatch.setattr(partitions, "ROWS_PER_WRITE", 3)
    statements = _recording(monkeypatch)
    root = make_project(DAYS)
    db = tmp_path / "t.duckdb"
    _events(db)
    first = publish(root, db)
    copies = [s for s in statements if s.startswith("copy")]
    assert len(copies) == 3 and all(" where " in s for s in copies)     # 24, 24, 12 days
    assert first.rewritten == {"main.events": 60} and len(_files(first.catalog)) == 60
    _same(db, first.catalog)


def test_batches_hold_units_up_to_the_rows_of_a_write(monkeypatch) -> None:
    from runner.publish import partitions
    monkeypatch.setattr(partitions, "UNITS_PER_WRITE", 2)
    monkeypatch.setattr(partitions, "ROWS_PER_WRITE", 10)
    # in the order of the values, NULL last; small units share a write past 2 units
    assert partitions.batches(["c", None, "a", "b"], {"a": 1, "b": 1, "c": 1, None: 1}) == \
        [["a", "b", "c", None]]
    # large ones: 2 a write (at least), more while the rows allow
    assert partitions.batches(["a", "b", "c", "d", "e"],
                              {"a": 6, "b": 6, "c": 6, "d": 1, "e": 1}) == \
        [["a", "b"], ["c", "d", "e"]]
    assert partitions.batches([], {}) == []


def test_the_columns_a_unit_is_computed_from(make_project, tmp_path) -> None:
    from runner.api import Session
    from runner.publish.changes import unit_columns
    from runner.publish.serving import TableSpec
    columns = [("id", "BIGINT"), ("happened", "TIMESTAMP WITH TIME ZONE"),
               ("label", "VARCHAR"), ("amount", "DECIMAL(18,4)")]
    with duckdb.connect() as con:
        def of(**spec) -> list[str]:
            return unit_columns(con, TableSpec("main", "events", "k", **spec), columns)
        assert of(file_by="cast(\"main\".\"events\".happened as date)") == ["happened"]
        # the partition key's own SQL when there is no file_by; a subquery's columns too
        assert of(expression="case when id > (select max(amount) from other) then "
                             "strftime(happened, '%Y') end") == ["id", "happened", "amount"]
        assert of(expression="upper(label)") == []          # no exact statistics: none
        assert of(expression="this is not sql") == []
        assert unit_columns(con, TableSpec("main", "events"), columns) == []
