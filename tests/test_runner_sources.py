"""The raw landing zone: a folder per source table holding CSV, Parquet and NDJSON files,
read as one view of VARCHAR columns plus `_source_file`."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import duckdb
import pytest

from runner.api import build
from runner.errors import SourceError

SOURCES_YML = """
    version: 2
    sources:
      - name: shop
        tables:
          - name: orders
            columns:
              - name: id
              - name: amount
"""


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({
        "models/staging/_sources.yml": SOURCES_YML,
        "models/staging/stg_orders.sql": "select * from {{ source('shop', 'orders') }}",
    })


def write_mixed_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # columns in another order than declared, and an extra column
    (folder / "a.csv").write_text("amount,extra,id\n10,x,1\n")
    duckdb.sql(f"copy (select 20.5 as amount, 2 as id, 'z' as other) "
               f"to '{folder / 'b.parquet'}' (format parquet)")
    (folder / "c.ndjson").write_text(json.dumps({"zzz": True, "id": 3, "amount": 30}) + "\n")
    (folder / "notes.txt").write_text("not a data file\n")


def test_a_folder_of_csv_parquet_and_ndjson_is_one_view(shop: Path, tmp_path: Path,
                                                        query) -> None:
    raw = tmp_path / "raw"
    write_mixed_folder(raw / "orders")
    db = tmp_path / "db.duckdb"
    result = build(shop, raw_dir=raw, db_path=db)
    assert result.ok, result.summary()
    rows = query(db, "select id, amount, _source_file from stg_orders order by id")
    assert [(i, a) for i, a, _ in rows] == [("1", "10"), ("2", "20.5"), ("3", "30")]
    assert [Path(f).name for _, _, f in rows] == ["a.csv", "b.parquet", "c.ndjson"]
    assert all(Path(f).is_absolute() for _, _, f in rows)
    columns = query(db, "select column_name, data_type from duckdb_columns() "
                        "where table_name = 'stg_orders' order by column_index")
    # declared columns in declared order, VARCHAR; extra columns are not there
    assert columns == [("id", "VARCHAR"), ("amount", "VARCHAR"), ("_source_file", "VARCHAR")]


def test_an_empty_source_folder_gives_an_empty_view(shop: Path, tmp_path: Path,
                                                    query) -> None:
    (tmp_path / "raw" / "orders").mkdir(parents=True)
    db = tmp_path / "db.duckdb"
    assert build(shop, raw_dir=tmp_path / "raw", db_path=db).ok
    assert query(db, "select count(*) from stg_orders") == [(0,)]
    assert [c for c, in query(db, "select column_name from duckdb_columns() "
                                  "where table_name = 'stg_orders'")] \
        == ["id", "amount", "_source_file"]


def test_new_files_are_read_on_the_next_build(shop: Path, tmp_path: Path, query) -> None:
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "1.csv").write_text("id,amount\n1,1\n")
    db = tmp_path / "db.duckdb"
    assert build(shop, raw_dir=raw, db_path=db).ok
    (raw / "orders" / "2.csv").write_text("id,amount\n2,2\n")
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert query(db, "select count(*) from stg_orders") == [(2,)]


def test_a_csv_missing_a_declared_column_names_file_and_column(shop: Path,
                                                               tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    bad = raw / "orders" / "bad.csv"
    bad.write_text("id,price\n1,2\n")
    db = tmp_path / "db.duckdb"
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=raw, db_path=db)
    text = info.value.render()
    assert f"{bad}:1" in text and "amount" in text
    with duckdb.connect(str(db), read_only=True) as con:     # nothing was built
        assert con.execute("select count(*) from duckdb_views() where not internal "
                           "and view_name = 'stg_orders'").fetchone() == (0,)


def test_a_missing_source_subfolder_names_folder_and_yaml(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=tmp_path / "raw", db_path=tmp_path / "db.duckdb")
    text = info.value.render()
    assert str(tmp_path / "raw" / "orders") in text
    assert "_sources.yml" in text


def test_every_missing_source_folder_is_named_in_one_error(make_project, tmp_path: Path,
                                                           cli) -> None:
    project = make_project({
        "models/staging/_sources.yml": SOURCES_YML.replace(
            "          - name: orders\n", "          - name: orders\n"
            "          - name: refunds\n          - name: invoices\n"
            "          - name: customers\n", 1),
        "models/staging/stg_all.sql":
            "select * from {{ source('shop', 'orders') }}, {{ source('shop', 'refunds') }}, "
            "{{ source('shop', 'invoices') }}, {{ source('shop', 'customers') }}",
    })
    raw = tmp_path / "raw"
    (raw / "invoices").mkdir(parents=True)
    code, out, err = cli("build", "--project-dir", project, "--raw-dir", raw,
                         "--db", tmp_path / "db.duckdb")
    assert code == 2
    assert "Traceback" not in err + out
    missing = [raw / "orders", raw / "refunds", raw / "customers"]
    assert all(str(folder) in err for folder in missing), err
    assert str(raw / "invoices") not in err
    assert "3 source tables" in err and "_sources.yml" in err


def test_a_missing_raw_folder_is_one_clear_message(shop: Path, tmp_path: Path, cli) -> None:
    missing = tmp_path / "nowhere"
    db = tmp_path / "db.duckdb"
    code, out, err = cli("build", "--project-dir", shop, "--raw-dir", missing, "--db", db)
    assert code == 2
    assert str(missing) in err and "does not exist" in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) <= 3


def test_the_projects_data_raw_folder_is_the_default(shop: Path, query) -> None:
    (shop / "data" / "raw" / "orders").mkdir(parents=True)
    (shop / "data" / "raw" / "orders" / "x.csv").write_text("id,amount\n5,1\n")
    result = build(shop, db_path=shop / "db.duckdb")
    assert result.ok, result.summary()
    assert result.raw_dir == str(shop / "data" / "raw")
    assert query(shop / "db.duckdb", "select id from stg_orders") == [("5",)]


def test_models_reading_sources_without_any_raw_folder(shop: Path, cli) -> None:
    code, out, err = cli("build", "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 2
    assert "no raw folder was given" in err and "--raw-dir" in err
    assert "Traceback" not in out + err


def test_models_without_sources_need_no_raw_folder(make_project, tmp_path: Path) -> None:
    root = make_project({"models/m.sql": "select 1 as x"})
    result = build(root, db_path=tmp_path / "db.duckdb")
    assert result.ok and result.raw_dir is None


def test_header_case_bom_and_quoted_commas(shop: Path, tmp_path: Path, query) -> None:
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "a.csv").write_bytes(b"\xef\xbb\xbfID,Amount\n1,10\n")
    (raw / "orders" / "b.csv").write_text('"amount","id"\n"1,5",2\n')
    db = tmp_path / "db.duckdb"
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert query(db, "select id, amount from stg_orders order by id") == [("1", "10"),
                                                                        ("2", "1,5")]


@pytest.mark.parametrize("name, content, where", [
    ("a.ndjson", b'{"id": 1, "amount": 2}\n{"id": 2, "amount": \n', ":2"),
    ("x.parquet", b"not parquet", "Parquet"),
])
def test_a_broken_file_is_named_before_anything_is_built(shop: Path, tmp_path: Path, query,
                                                         name, content, where) -> None:
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "ok.csv").write_text("id,amount\n1,1\n")
    (raw / "orders" / name).write_bytes(content)
    db = tmp_path / "db.duckdb"
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=raw, db_path=db)
    text = info.value.render()
    assert str(raw / "orders" / name) in text and where in text
    assert query(db, "select count(*) from duckdb_views() where not internal") == [(0,)]


@pytest.mark.parametrize("files, columns, rows", [
    ({"a.csv": "id,amount\n1,2\n", "b.ndjson": '{"amount": 3, "id": 4}\n'},
     ["id", "amount", "_source_file"], [("1", "2"), ("4", "3")]),
    ({}, ["_source_file"], []),
])
def test_a_source_declared_without_columns_reads_every_column(make_project, tmp_path, query,
                                                             files, columns, rows) -> None:
    root = make_project({
        "models/s.yml": "version: 2\nsources:\n  - name: shop\n    tables:\n"
                        "      - name: orders\n",
        "models/stg.sql": "select * from {{ source('shop', 'orders') }}",
    })
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    for name, text in files.items():
        (raw / "orders" / name).write_text(text)
    db = tmp_path / "db.duckdb"
    result = build(root, raw_dir=raw, db_path=db)
    assert result.ok, result.summary()
    described = query(db, "select column_name, data_type from duckdb_columns() "
                          "where table_name = 'stg' order by column_index")
    assert [c for c, _ in described] == columns
    assert {t for _, t in described} == {"VARCHAR"}
    if rows:
        assert query(db, "select id, amount from stg order by id") == rows


# -- the record of checked files (_runner.source_file_checks) ------------------------------

def replace_keeping_size_and_mtime(path: Path, content: bytes) -> None:
    """New content, same size and modification time: to the record it is the same file."""
    stat = path.stat()
    assert len(content) == stat.st_size
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def landed_good_csv(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A landing zone holding orders/a.csv (GOOD), and where its database goes."""
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    csv = raw / "orders" / "a.csv"
    csv.write_bytes(GOOD)
    return raw, csv, tmp_path / "db.duckdb"


def checks(query, db: Path) -> dict[str, tuple]:
    return {Path(p).name: (size, fmt, cols) for p, size, fmt, cols in
            query(db, "select path, size_bytes, format, columns "
                      "from _runner.source_file_checks")}


# Broken in its last row, past the rows DuckDB samples to sniff a CSV file (creating the
# view reads those): only the check, which parses the file whole, finds it.
ROWS = b"".join(b"%d,%d\n" % (i, i % 97) for i in range(50_000))
GOOD = b"id,amount\n" + ROWS + b"7,10\n"
BROKEN = b"id,amount\n" + ROWS + b"7,1,0"     # same size, one column too many


def test_an_unchanged_file_is_not_checked_again(shop: Path, tmp_path: Path, query) -> None:
    raw, csv, db = landed_good_csv(tmp_path)     # a fresh database: the record is made
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert checks(query, db) == {"a.csv": (len(GOOD), "csv", ["id", "amount"])}
    assert query(db, "select count(*) from stg_orders") == [(50_001,)]
    [(path, mtime)] = query(db, "select path, modified_ns from _runner.source_file_checks")
    assert path == str(csv) and mtime == csv.stat().st_mtime_ns
    # Broken now, but with the size and mtime recorded: the second build does not read it
    # to check it (the view still reads it: the staging view is only a view).
    replace_keeping_size_and_mtime(csv, BROKEN)
    result = build(shop, raw_dir=raw, db_path=db, select=["stg_orders"])
    assert result.ok, result.summary()
    # Another mtime: checked again, and the failure names the file.
    os.utime(csv, ns=(csv.stat().st_atime_ns, csv.stat().st_mtime_ns + 1_000_000_000))
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=raw, db_path=db)
    assert str(csv) in info.value.render()


def test_the_record_keeps_the_row_count_and_a_record_without_one_is_checked_again(
        shop: Path, tmp_path: Path, query) -> None:
    raw, csv, db = landed_good_csv(tmp_path)
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert query(db, "select row_count from _runner.source_file_checks") == [(50_001,)]
    assert query(db, "select row_count from shop.orders__files") == [(50_001,)]
    # a record made before row counts were kept: the file is checked (read) again
    with duckdb.connect(str(db)) as con:
        con.execute("alter table _runner.source_file_checks drop column row_count")
    replace_keeping_size_and_mtime(csv, BROKEN)
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=raw, db_path=db)
    assert str(csv) in info.value.render()
    replace_keeping_size_and_mtime(csv, GOOD)
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert query(db, "select row_count from _runner.source_file_checks") == [(50_001,)]


def test_a_changed_size_is_checked_again_and_the_record_updated(shop: Path, tmp_path: Path,
                                                                 query) -> None:
    raw, csv, db = landed_good_csv(tmp_path)
    assert build(shop, raw_dir=raw, db_path=db).ok
    mtime = csv.stat().st_mtime_ns
    csv.write_bytes(b"id,amount,note\n1,10,x\n")
    os.utime(csv, ns=(mtime, mtime))                # same mtime, another size
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert checks(query, db) == {"a.csv": (22, "csv", ["id", "amount", "note"])}
    csv.write_bytes(b"id,amount,note\n1,10,x,y\n")
    os.utime(csv, ns=(mtime, mtime))
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=raw, db_path=db)
    assert str(csv) in info.value.render()


def test_recorded_columns_still_meet_the_required_columns(make_project, tmp_path: Path,
                                                         query) -> None:
    optional = SOURCES_YML.replace("        columns:", "        meta: {optional_columns: "
                                   "[amount]}\n        columns:")
    root = make_project({"models/s/_sources.yml": optional,
                         "models/s/stg.sql": "select * from {{ source('shop', 'orders') }}"})
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "a.csv").write_text("id,price\n1,2\n")
    db = tmp_path / "db.duckdb"
    assert build(root, raw_dir=raw, db_path=db).ok      # amount is optional: a.csv passes
    assert checks(query, db) == {"a.csv": (13, "csv", ["id", "price"])}
    # Now amount is required: the recorded header of a.csv lacks it.
    (root / "models/s/_sources.yml").write_text(textwrap.dedent(SOURCES_YML))
    with pytest.raises(SourceError) as info:
        build(root, raw_dir=raw, db_path=db)
    text = info.value.render()
    assert f"{raw / 'orders' / 'a.csv'}:1" in text and "amount" in text


def test_full_refresh_checks_every_file_again(shop: Path, tmp_path: Path, cli,
                                              query) -> None:
    raw, csv, db = landed_good_csv(tmp_path)
    code, out, err = cli("build", "--project-dir", shop, "--raw-dir", raw, "--db", db)
    assert code == 0, out + err
    replace_keeping_size_and_mtime(csv, BROKEN)
    assert build(shop, raw_dir=raw, db_path=db, select=["stg_orders"]).ok
    code, out, err = cli("build", "--project-dir", shop, "--raw-dir", raw, "--db", db,
                         "--full-refresh")
    assert code == 2 and str(csv) in err, out + err
    with pytest.raises(SourceError):
        build(shop, raw_dir=raw, db_path=db, full_refresh=True)
    # and a full refresh over good files writes the record again
    csv.write_bytes(GOOD)
    before = query(db, "select checked_at from _runner.source_file_checks")
    assert build(shop, raw_dir=raw, db_path=db, full_refresh=True).ok
    after = query(db, "select checked_at from _runner.source_file_checks")
    assert len(after) == 1 and after[0][0] > before[0][0]


def test_a_failed_check_records_nothing(shop: Path, tmp_path: Path, query) -> None:
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "a.csv").write_bytes(GOOD)
    (raw / "orders" / "b.ndjson").write_text('{"id": 1, "amount": 2}\n{"id": \n')
    db = tmp_path / "db.duckdb"
    with pytest.raises(SourceError) as info:
        build(shop, raw_dir=raw, db_path=db)
    assert f"{raw / 'orders' / 'b.ndjson'}:2" in info.value.render()
    # a.csv passed, but the build stopped: nothing is recorded, not even the schema
    assert query(db, "select count(*) from duckdb_tables() where schema_name = '_runner'") \
        == [(0,)]
    # Once recorded, a later failure leaves the record as it was.
    (raw / "orders" / "b.ndjson").unlink()
    assert build(shop, raw_dir=raw, db_path=db).ok
    recorded = query(db, "select * from _runner.source_file_checks")
    (raw / "orders" / "c.csv").write_text("id,amount\n1\n")
    (raw / "orders" / "d.csv").write_text("id,amount\n1,2\n")
    with pytest.raises(SourceError):
        build(shop, raw_dir=raw, db_path=db)
    assert query(db, "select * from _runner.source_file_checks") == recorded


def test_ndjson_and_parquet_are_recorded_and_read_from_the_record(shop: Path,
                                                                  tmp_path: Path,
                                                                  query) -> None:
    raw = tmp_path / "raw"
    write_mixed_folder(raw / "orders")
    db = tmp_path / "db.duckdb"
    assert build(shop, raw_dir=raw, db_path=db).ok
    recorded = checks(query, db)
    assert set(recorded) == {"a.csv", "b.parquet", "c.ndjson"}
    assert recorded["b.parquet"][1:] == ("parquet", ["amount", "id", "other"])
    assert recorded["c.ndjson"][1:] == ("ndjson", ["id", "amount"])
    stamps = query(db, "select path, checked_at from _runner.source_file_checks order by 1")
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert query(db, "select path, checked_at from _runner.source_file_checks "
                     "order by 1") == stamps          # nothing checked again
    rows = query(db, "select id, amount from stg_orders order by id")
    assert rows == [("1", "10"), ("2", "20.5"), ("3", "30")]


def test_bench_style_callers_prepare_sources_positionally(tmp_path: Path, shop: Path,
                                                         query) -> None:
    from runner.project.loader import load_project
    from runner.execute.sources import prepare_sources
    raw = tmp_path / "raw"
    write_mixed_folder(raw / "orders")
    tables = list(load_project(shop).sources.values())
    db = tmp_path / "db.duckdb"
    with duckdb.connect(str(db)) as con:
        prepare_sources(con, raw, tables)
        prepare_sources(con, raw, tables)
        assert con.execute("select count(*) from shop.orders").fetchone() == (3,)
        assert con.execute("select count(*) from shop.orders__files").fetchone() == (3,)
        assert con.execute("select count(*) from _runner.source_file_checks").fetchone() \
            == (3,)
