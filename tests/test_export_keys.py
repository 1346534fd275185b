"""`runner export --partition-by KEY`: a partition key the table need not hold comes from
the model's `export` config (runner/publish/export_keys.py), not from the engine: a key
named like a column replaces it, any other is added; a name that is neither a column
nor the model's key is refused, saying how to declare one."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from runner.api import build

ORDERS = ("{{ config(materialized='table') }}\n"
          "select * from (values (1, date '2024-09-03', 'EUR'), (2, date '2024-10-30', 'SEK'),"
          " (3, date '2024-10-31', 'EUR')) t(id, month, currency)")
KEYED = """
    version: 2
    models:
      - name: orders
        config:
          export:
            partition_by: month
            partition_expression: "strftime({{ this }}.month, '%Y-%m')"
      - name: payments
        config:
          export:
            partition_by: [quarter]
            partition_expression: "'Q' || quarter({{ this }}.month)"
    """


def _folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


@pytest.fixture
def shop(make_project) -> Path:
    root = make_project({"models/orders.sql": ORDERS,
                         "models/payments.sql": "{{ config(materialized='table') }}\n"
                                                "select id, month from {{ ref('orders') }}",
                         "models/orders.yml": KEYED})
    assert build(root, db_path=root / "db.duckdb").ok
    return root


def _export(cli, root: Path, model: str, out: Path, *args: str):
    return cli("export", model, "--out", out, "--project-dir", root, "--db",
               root / "db.duckdb", *args)


def test_a_key_named_like_a_column_replaces_it(shop: Path, cli, tmp_path: Path) -> None:
    code, _, err = _export(cli, shop, "orders", tmp_path / "o", "--partition-by", "month")
    assert code == 0, err
    assert _folders(tmp_path / "o") == ["month=2024-09", "month=2024-10"]
    rows = duckdb.sql(f"select id, month, currency from read_parquet('{tmp_path}/o/*/*.parquet',"
                      " hive_partitioning = true) order by id").fetchall()
    assert rows == [(1, "2024-09", "EUR"), (2, "2024-10", "SEK"), (3, "2024-10", "EUR")]


def test_the_key_is_found_for_schema_dot_table_and_beside_columns(shop: Path, cli,
                                                                  tmp_path: Path) -> None:
    code, _, err = _export(cli, shop, "main.orders", tmp_path / "o", "--partition-by",
                           "currency", "--partition-by", "month")
    assert code == 0, err
    assert _folders(tmp_path / "o") == ["currency=EUR", "currency=SEK"]
    assert _folders(tmp_path / "o" / "currency=EUR") == ["month=2024-09", "month=2024-10"]


def test_a_key_the_table_does_not_hold_is_added(shop: Path, cli, tmp_path: Path) -> None:
    code, _, err = _export(cli, shop, "payments", tmp_path / "p", "--partition-by", "quarter")
    assert code == 0, err
    assert _folders(tmp_path / "p") == ["quarter=Q3", "quarter=Q4"]


def test_without_an_export_config_a_column_is_partitioned_as_it_is(make_project, cli,
                                                                   tmp_path: Path) -> None:
    # the engine itself knows no key: a date column named month stays a date
    root = make_project({"models/orders.sql": ORDERS})
    assert build(root, db_path=root / "db.duckdb").ok
    code, _, err = _export(cli, root, "orders", tmp_path / "o", "--partition-by", "month")
    assert code == 0, err
    assert _folders(tmp_path / "o") == ["month=2024-09-03", "month=2024-10-30",
                                        "month=2024-10-31"]


@pytest.mark.parametrize("model, key", [("orders", "week"), ("payments", "month_text")])
def test_a_name_that_is_neither_column_nor_key_is_refused(shop: Path, cli, tmp_path: Path,
                                                          model: str, key: str) -> None:
    out = tmp_path / "x"
    code, stdout, err = _export(cli, shop, model, out, "--partition-by", key)
    assert code == 2, stdout + err
    assert f"cannot partition by '{key}'" in err and "declares no export partition key" in err
    assert f"export: {{partition_by: {key}, partition_expression:" in err
    assert "Traceback" not in stdout + err and not out.exists()


@pytest.mark.parametrize("config, message", [
    ("export: month", "must be a mapping with partition_by and partition_expression"),
    ("export: {partition_by: month}", "needs both partition_by and partition_expression"),
    ("export: {partition_by: [month, id], partition_expression: x}", "one key is supported"),
    ("export: {partition_by: month, partition_expresion: x}", "must be a mapping"),
])
def test_a_malformed_export_config_is_a_project_error(make_project, cli, tmp_path: Path,
                                                      config: str, message: str) -> None:
    root = make_project({"models/orders.sql": ORDERS, "models/orders.yml": f"""
        version: 2
        models:
          - name: orders
            config:
              {config}
        """})
    assert build(root, db_path=root / "db.duckdb").ok
    code, stdout, err = _export(cli, root, "orders", tmp_path / "o", "--partition-by", "month")
    assert code == 2, stdout + err
    assert message in err and "export config of orders" in err
    assert "Traceback" not in stdout + err


def test_a_key_whose_expression_fails_names_the_key(make_project, cli, tmp_path: Path) -> None:
    root = make_project({"models/orders.sql": ORDERS, "models/orders.yml": """
        version: 2
        models:
          - name: orders
            config:
              export: {partition_by: month, partition_expression: "{{ this }}.nosuch"}
        """})
    assert build(root, db_path=root / "db.duckdb").ok
    code, stdout, err = _export(cli, root, "orders", tmp_path / "o", "--partition-by", "month")
    assert code == 2, stdout + err
    assert "cannot compute the partition key 'month' of orders (its export config)" in err
    assert "partition_expression" in err and "Traceback" not in stdout + err


def test_the_engine_imports_no_domain_code() -> None:
    # runner/ is the generic engine; the charging domain (cpo/) plugs in through the
    # project's config. Two seams are still imports: the domain's own commands
    # (runner/cli.py) and the built-in sample landing zone (runner/session.py).
    root = Path(__file__).resolve().parents[1] / "runner"
    importing = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                       if re.search(r"^\s*(from|import) cpo\b", path.read_text(), re.M))
    assert importing == ["cli.py", "session.py"]
