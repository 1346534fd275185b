"""The raw landing zone: a folder per source table holding CSV, Parquet and NDJSON files,
read as one view of VARCHAR columns plus `_source_file`."""

from __future__ import annotations

import json
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
