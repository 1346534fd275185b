"""source_files('src', 'table'): the files of a source's folder as a view, one row per file
(size, modification time, and the row count of its check), without reading them; an
incremental model joins it to its own `_source_file` values to read only the files it has
not loaded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from runner.api import build
from runner.errors import RenderError
from test_runner_sources import SOURCES_YML

INCREMENTAL = """
{{ config(materialized='incremental') }}
select id, amount, _source_file
from {{ source('shop', 'orders') }}
{% if is_incremental() %}
where _source_file in (
    select _source_file from {{ source_files('shop', 'orders') }}
    where _source_file not in (select _source_file from {{ this }}))
{% endif %}
"""


def parquet(path: Path, rows: str) -> None:
    literal = str(path).replace("'", "''")
    duckdb.sql(f"copy ({rows}) to '{literal}' (format parquet)")


def mtime(path: Path) -> dt.datetime:
    ns = path.stat().st_mtime_ns
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=ns // 1000)


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({
        "models/staging/_sources.yml": SOURCES_YML,
        "models/staging/stg_orders.sql": "select * from {{ source('shop', 'orders') }}",
        "models/staging/orders_files.sql":
            "{{ config(materialized='table') }}\n"
            "select * from {{ source_files('shop', 'orders') }}",
        "models/staging/orders_loaded.sql": INCREMENTAL,
    })


def test_source_files_lists_exactly_the_files_of_the_folder(shop: Path, tmp_path: Path,
                                                            query) -> None:
    raw = tmp_path / "raw"
    folder = raw / "orders"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("id,amount\n1,10\n2,20\n")
    parquet(folder / "b.parquet", "select '3' as id, '30' as amount")
    (folder / "c.ndjson").write_text(json.dumps({"id": 4, "amount": 40}) + "\n")
    (folder / "it's here.csv").write_text("id,amount\n5,50\n")     # quoting
    (folder / "notes.txt").write_text("not a data file\n")        # not a source file
    (folder / "sub").mkdir()                                        # nor is a folder
    db = tmp_path / "db.duckdb"
    result = build(shop, raw_dir=raw, db_path=db)
    assert result.ok, result.summary()

    names = ["a.csv", "b.parquet", "c.ndjson", "it's here.csv"]
    rows = query(db, "select _source_file, size_bytes, modified_at, row_count "
                     "from shop.orders__files order by 1")
    assert rows == [(str(folder / n), (folder / n).stat().st_size, mtime(folder / n), count)
                    for n, count in zip(names, [2, 1, 1, 1])]
    # the same table through a model, with the declared types
    assert query(db, "select column_name, data_type from duckdb_columns() "
                     "where table_name = 'orders_files' order by column_index") == \
        [("_source_file", "VARCHAR"), ("size_bytes", "BIGINT"),
         ("modified_at", "TIMESTAMP WITH TIME ZONE"), ("row_count", "BIGINT")]
    assert query(db, "select count(*) from orders_files") == [(4,)]
    # every row of the source view comes from a listed file, and every listed file has rows
    assert query(db, "select count(*) from stg_orders s "
                     "join shop.orders__files f using (_source_file)") == [(5,)]
    assert query(db, "select count(*) from shop.orders__files f where not exists "
                     "(select 1 from stg_orders s where s._source_file = f._source_file)") \
        == [(0,)]


def test_source_files_of_an_empty_folder_is_an_empty_view(shop: Path, tmp_path: Path,
                                                          query) -> None:
    (tmp_path / "raw" / "orders").mkdir(parents=True)
    db = tmp_path / "db.duckdb"
    result = build(shop, raw_dir=tmp_path / "raw", db_path=db)
    assert result.ok, result.summary()
    assert query(db, "select count(*) from shop.orders__files") == [(0,)]
    assert query(db, "select column_name, data_type from duckdb_columns() "
                     "where table_name = 'orders__files' order by column_index") == \
        [("_source_file", "VARCHAR"), ("size_bytes", "BIGINT"),
         ("modified_at", "TIMESTAMP WITH TIME ZONE"), ("row_count", "BIGINT")]
    assert query(db, "select count(*) from orders_loaded") == [(0,)]


def test_an_incremental_model_loads_only_the_new_files(shop: Path, tmp_path: Path,
                                                       query) -> None:
    raw = tmp_path / "raw"
    folder = raw / "orders"
    folder.mkdir(parents=True)
    parquet(folder / "1.parquet", "select '1' as id, '10' as amount")
    parquet(folder / "2.parquet", "select '2' as id, '20' as amount")
    db = tmp_path / "db.duckdb"
    assert build(shop, raw_dir=raw, db_path=db).ok
    parquet(folder / "3.parquet", "select '3' as id, '30' as amount")
    (folder / "4.csv").write_text("id,amount\n4,40\n")
    assert build(shop, raw_dir=raw, db_path=db).ok
    assert query(db, "select id, amount from orders_loaded order by id") == \
        [("1", "10"), ("2", "20"), ("3", "30"), ("4", "40")]
    assert build(shop, raw_dir=raw, db_path=db).ok          # nothing new: nothing added
    assert query(db, "select count(*) from orders_loaded") == [(4,)]
    compiled = (shop / "target/compiled/models/staging/orders_loaded.sql").read_text()
    assert '"shop"."orders__files"' in compiled


def test_a_model_reading_only_source_files_gets_its_source_prepared(make_project,
                                                                    tmp_path: Path,
                                                                    query) -> None:
    root = make_project({
        "models/_sources.yml": SOURCES_YML,
        "models/n.sql": "select count(*) as n, sum(size_bytes) as bytes "
                        "from {{ source_files('shop', 'orders') }}",
    })
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "a.csv").write_text("id,amount\n1,1\n")
    db = tmp_path / "db.duckdb"
    result = build(root, raw_dir=raw, db_path=db)
    assert result.ok, result.summary()
    assert query(db, "select n, bytes from n") == [(1, 14)]


def test_an_undeclared_source_in_source_files_is_the_error_of_source(make_project,
                                                                     tmp_path: Path) -> None:
    errors = []
    for call in ("source", "source_files"):
        root = make_project({
            "models/_sources.yml": SOURCES_YML,
            "models/m.sql": f"select * from {{{{ {call}('shop', 'order') }}}}",
        }, name=call)
        with pytest.raises(RenderError) as info:
            build(root, raw_dir=tmp_path, db_path=tmp_path / f"{call}.duckdb")
        errors.append(info.value)
    by_source, by_files = errors
    assert by_files.message == by_source.message == "source('shop', 'order') is not declared."
    assert by_files.hint == by_source.hint and "source('shop', 'orders')" in by_files.hint
    assert by_files.node == "m" and by_files.path == by_source.path
