"""The `runner` command: help text everywhere, ls, show, compile, seed, test, and export
to zstd Parquet (partitioned, filtered, atomic)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from runner.api import build
from runner.cli import app


@pytest.fixture
def shop(make_project) -> Path:
    root = make_project({
        "models/staging/stg_orders.sql": "select * from (values (1, 'EUR', 10.5, 9), "
                                         "(2, 'SEK', 99.0, 10), (3, 'EUR', 1.25, 10)) "
                                         "t(id, currency, price, month)",
        "models/marts/orders.sql": "{{ config(materialized='table', tags=['report']) }}\n"
                                   "select * from {{ ref('stg_orders') }}",
        "seeds/currencies.csv": "code,name\nEUR,Euro\nSEK,Swedish krona\n",
    })
    result = build(root, db_path=root / "db.duckdb")
    assert result.ok, result.summary()
    return root


def test_every_command_and_option_has_help_text() -> None:
    registered = [info.name or info.callback.__name__ for info in app.registered_commands]
    assert all(info.callback.__doc__ for info in app.registered_commands), registered
    registered += [info.name for info in app.registered_groups]     # runner source/docs ...
    group = typer.main.get_command(app)
    names = set(group.commands)
    assert len(names) == len(registered)
    assert {"build", "run", "test", "seed", "compile", "ls", "show", "export",
            "generate"} <= names
    runner = CliRunner()
    for name, command in group.commands.items():
        assert command.help and command.help.strip(), name
        assert "Example: runner " + name in command.help, name
        for param in command.params:
            if param.name != "help":
                assert getattr(param, "help", None), (name, param.name)
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert command.help.strip().splitlines()[0][:30] in " ".join(result.output.split())
        for sub, subcommand in getattr(command, "commands", {}).items():
            assert subcommand.help and subcommand.help.strip(), (name, sub)
            for param in subcommand.params:
                if param.name != "help":
                    assert getattr(param, "help", None), (name, sub, param.name)
            result = runner.invoke(app, [name, sub, "--help"])
            assert result.exit_code == 0, (name, sub, result.output)


def test_no_arguments_prints_the_help() -> None:
    result = CliRunner().invoke(app, [])
    assert "build" in result.output and "export" in result.output


def test_ls_lists_nodes_in_build_order(shop: Path, cli) -> None:
    code, out, _ = cli("ls", "--project-dir", shop)
    assert code == 0
    rows = [line.split() for line in out.strip().splitlines()]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("seed", "currencies", "seed", "main.currencies"),
        ("model", "stg_orders", "view", "main.stg_orders"),
        ("model", "orders", "table", "main.orders")]
    code, out, _ = cli("ls", "--project-dir", shop, "--select", "tag:report")
    assert [line.split()[1] for line in out.strip().splitlines()] == ["orders"]


def test_show_prints_the_first_rows(shop: Path, cli) -> None:
    code, out, _ = cli("show", "orders", "--project-dir", shop, "--db", shop / "db.duckdb",
                       "--limit", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split(" | ")[0].strip() == "id"
    assert [c.strip() for c in lines[0].split("|")] == ["id", "currency", "price", "month"]
    assert len(lines) == 4                      # header, rule, two rows
    assert "SEK" in out and "Euro" not in out


def test_show_a_missing_model_suggests_the_closest(shop: Path, cli) -> None:
    code, _, err = cli("show", "order", "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 2
    assert "'order'" in err and "did you mean 'orders'" in err


def test_show_before_build_says_so(shop: Path, cli, tmp_path: Path) -> None:
    code, _, err = cli("show", "orders", "--project-dir", shop, "--db", tmp_path / "x.duckdb")
    assert code == 3
    assert "does not exist" in err and "Traceback" not in err


def test_show_works_in_a_project_whose_models_need_vars(make_project, cli) -> None:
    root = make_project({
        "models/t.sql": "{{ config(materialized='table') }}\nselect 1 as x",
        "models/other.sql": "select '{{ var('report_day') }}' as d",
    })
    db = root / "db.duckdb"
    assert build(root, db_path=db, vars={"report_day": "2024-10-01"}).ok
    code, out, err = cli("show", "t", "--project-dir", root, "--db", db)
    assert code == 0, err
    assert "x" in out


def test_compile_writes_the_sql_and_prints_its_path(shop: Path, cli) -> None:
    code, out, _ = cli("compile", "--project-dir", shop, "--select", "orders")
    assert code == 0
    path = shop / "target" / "compiled" / "models" / "marts" / "orders.sql"
    assert out.strip() == f"orders: {path}"
    assert path.read_text().strip() == 'select * from "main"."stg_orders"'


def test_seed_and_test_commands(shop: Path, cli, query) -> None:
    (shop / "models" / "p.yml").write_text(
        "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: currency\n"
        "        data_tests:\n          - relationships: {to: ref('currencies'), field: code}\n")
    (shop / "seeds" / "currencies.csv").write_text("code,name\nEUR,Euro\n")
    db = shop / "db.duckdb"
    code, out, _ = cli("seed", "--project-dir", shop, "--db", db)
    assert code == 0 and "seed currencies" in out
    assert query(db, "select count(*) from currencies") == [(1,)]
    code, out, _ = cli("test", "--project-dir", shop, "--db", db)
    assert code == 1
    assert "FAIL" in out and "'SEK'" in out


def test_export_writes_zstd_parquet(shop: Path, cli, tmp_path: Path) -> None:
    out_file = tmp_path / "out" / "orders.parquet"
    code, out, err = cli("export", "orders", "--out", out_file, "--project-dir", shop,
                         "--db", shop / "db.duckdb")
    assert code == 0, err
    assert f"wrote 3 rows to {out_file}" in out
    con = duckdb.connect()
    assert con.execute(f"select id, currency from '{out_file}' order by id").fetchall() == \
        [(1, "EUR"), (2, "SEK"), (3, "EUR")]
    codecs = {c for c, in con.execute(
        f"select distinct compression from parquet_metadata('{out_file}')").fetchall()}
    assert codecs == {"ZSTD"}
    assert sorted(p.name for p in out_file.parent.iterdir()) == ["orders.parquet"]


def test_export_to_csv_follows_the_extension(make_project, cli, tmp_path: Path) -> None:
    root = make_project({"models/towns.sql": "{{ config(materialized='table') }}\n"
                                             "select * from (values (1, 'Åbo', 2.5), "
                                             "(2, 'Göteborg, Väst', null)) t(id, town, km)"})
    assert build(root, db_path=root / "db.duckdb").ok
    out_file = tmp_path / "out" / "towns.csv"
    code, out, err = cli("export", "towns", "--out", out_file, "--project-dir", root,
                         "--db", root / "db.duckdb")
    assert code == 0, err
    assert f"wrote 2 rows to {out_file}" in out
    assert out_file.read_bytes().decode("utf-8").splitlines() == \
        ["id,town,km", "1,Åbo,2.5", '2,"Göteborg, Väst",']
    assert sorted(p.name for p in out_file.parent.iterdir()) == ["towns.csv"]


@pytest.mark.parametrize("name, extra", [
    ("orders.xlsx", []), ("orders.txt", []), ("orders", []), ("orders.json", []),
    ("orders.csv", ["--partition-by", "currency"]),
    ("orders.xlsx", ["--partition-by", "currency"]),
])
def test_export_refuses_an_extension_it_does_not_write(shop: Path, cli, tmp_path: Path,
                                                       name, extra) -> None:
    folder = tmp_path / "exports"
    code, out, err = cli("export", "orders", "--out", folder / name, *extra,
                         "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 2, out + err
    assert str(folder / name) in err and "Traceback" not in out + err
    assert (".parquet" in err and ".csv" in err) if not extra else "a folder" in err
    assert not folder.exists()                 # refused before anything was written


def test_export_partitioned_into_a_folder_named_parquet(shop: Path, cli, tmp_path: Path
                                                        ) -> None:
    out_dir = tmp_path / "orders.parquet"
    code, _, err = cli("export", "orders", "--out", out_dir, "--partition-by", "currency",
                       "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["currency=EUR", "currency=SEK"]


def test_export_partitioned_by_a_column(shop: Path, cli, tmp_path: Path) -> None:
    out_dir = tmp_path / "orders"
    code, _, err = cli("export", "orders", "--out", out_dir, "--partition-by", "month",
                       "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["month=10", "month=9"]
    rows = duckdb.sql(f"select id, month from read_parquet('{out_dir}/*/*.parquet', "
                      f"hive_partitioning = true) order by id").fetchall()
    assert rows == [(1, 9), (2, 10), (3, 10)]


def test_export_with_a_where_filter(shop: Path, cli, tmp_path: Path) -> None:
    out_file = tmp_path / "eur.parquet"
    code, out, _ = cli("export", "orders", "--out", out_file, "--where", "currency = 'EUR'",
                       "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 0 and "wrote 2 rows" in out
    assert duckdb.sql(f"select count(*) from '{out_file}'").fetchall() == [(2,)]


@pytest.mark.parametrize("extra, message", [
    (["--partition-by", "nosuch"], "cannot partition by 'nosuch'"),
    (["--partition-by", "id", "--partition-by", "currency", "--partition-by", "price",
      "--partition-by", "month"], "could not write"),
    (["--where", "id in (select 1)"], "--where may only compare"),
    (["--where", "nosuch > 1"], "not a column"),
    # a column of another table, even one named like a column of this one
    (["--where", "other.currency = 'EUR'"], "not a column"),
])
def test_a_failed_export_leaves_no_file(shop: Path, cli, tmp_path: Path, extra,
                                        message) -> None:
    folder = tmp_path / "exports"
    out_file = folder / "orders.parquet"
    code, out, err = cli("export", "orders", "--out", out_file, *extra,
                         "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 2
    assert message in err and "Traceback" not in out + err
    assert not out_file.exists()
    assert not folder.exists() or list(folder.iterdir()) == []    # no temporary files either


def test_a_failed_export_keeps_the_previous_file(shop: Path, cli, tmp_path: Path) -> None:
    out_file = tmp_path / "orders.parquet"
    args = ["--project-dir", shop, "--db", shop / "db.duckdb"]
    assert cli("export", "orders", "--out", out_file, *args)[0] == 0
    before = out_file.read_bytes()
    code, _, _ = cli("export", "orders", "--out", out_file, "--partition-by", "id",
                     "--partition-by", "currency", "--partition-by", "price",
                     "--partition-by", "month", *args)
    assert code == 2
    assert out_file.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_of_a_model_that_is_not_built(shop: Path, cli, tmp_path: Path) -> None:
    (shop / "models" / "later.sql").write_text("select 1 as x")
    out_file = tmp_path / "later.parquet"
    code, _, err = cli("export", "later", "--out", out_file, "--project-dir", shop,
                       "--db", shop / "db.duckdb")
    assert code == 2
    assert "main.later is not in" in err
    assert not out_file.exists()



@pytest.mark.parametrize("command", ["show", "export"])
def test_show_and_export_a_view_over_a_raw_folder_elsewhere(make_project, tmp_path,
                                                            command) -> None:
    import subprocess
    import sys
    root = make_project({
        "models/s.yml": "version: 2\nsources:\n  - name: shop\n    tables:\n"
                        "      - name: orders\n        columns:\n          - name: id\n",
        "models/stg_orders.sql": "select * from {{ source('shop', 'orders') }}",
    })
    raw = tmp_path / "landing"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders" / "a.csv").write_text("id\n7\n")
    db = root / "db.duckdb"
    assert build(root, raw_dir=raw, db_path=db).ok
    extra = ["--out", str(root / "o.parquet")] if command == "export" else []
    proc = subprocess.run([sys.executable, "-m", "runner.cli", command, "stg_orders",
                           "--project-dir", str(root), "--db", str(db), *extra],
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr


def test_run_with_full_refresh_on_the_cli(make_project, cli, query) -> None:
    root = make_project({"models/m.sql": "{{ config(materialized='incremental') }}\n"
                                         "select 1 as x"})
    db = root / "db.duckdb"
    for _ in range(2):
        assert cli("run", "--project-dir", root, "--db", db)[0] == 0
    assert query(db, "select count(*) from m") == [(2,)]          # appended
    code, out, _ = cli("run", "--project-dir", root, "--db", db, "--full-refresh")
    assert code == 0 and "1 rows" in out
    assert query(db, "select count(*) from m") == [(1,)]


@pytest.mark.parametrize("command, listed", [("ls", "m"), ("seed", "s")])
def test_commands_that_render_models_take_vars(make_project, cli, command, listed) -> None:
    root = make_project({"models/m.sql": "select '{{ var('day') }}' as d",
                         "seeds/s.csv": "a\n1\n"})
    args = [command, "--project-dir", root] + (["--db", root / "db.duckdb"]
                                               if command == "seed" else [])
    code, _, err = cli(*args)
    assert code == 2 and "pass --vars" in err
    code, out, err = cli(*args, "--vars", "{day: 2024-10-01}")
    assert code == 0, err
    assert listed in out.split()


@pytest.mark.parametrize("extra", [[], ["--partition-by", "currency"]])
def test_export_to_a_folder_of_other_files_deletes_nothing(shop: Path, cli, tmp_path: Path,
                                                           extra) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "important.txt").write_text("keep me\n")
    code, _, err = cli("export", "orders", "--out", folder, *extra, "--project-dir", shop,
                       "--db", shop / "db.duckdb")
    assert code == 2 and str(folder) in err
    assert (folder / "important.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in folder.iterdir()) == ["important.txt"]


@pytest.fixture
def memory_limits_seen(monkeypatch) -> list[str]:
    """DuckDB's memory_limit on every connection runner.engines.duckdb.connect opens."""
    import runner.engines.duckdb
    seen: list[str] = []
    connect = runner.engines.duckdb.connect

    def recording_connect(*args, **kwargs):
        con = connect(*args, **kwargs)
        seen.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
        return con
    monkeypatch.setattr(runner.engines.duckdb, "connect", recording_connect)
    return seen


def test_export_with_a_memory_limit_writes_the_same_rows(shop: Path, cli, tmp_path: Path,
                                                         memory_limits_seen) -> None:
    seen = memory_limits_seen
    args = ["--partition-by", "month", "--project-dir", shop, "--db", shop / "db.duckdb"]
    assert cli("export", "orders", "--out", tmp_path / "free", *args)[0] == 0
    code, out, err = cli("export", "orders", "--out", tmp_path / "limited", *args,
                         "--memory-limit", "100MB")
    assert code == 0, err
    assert f"wrote 3 rows to {tmp_path / 'limited'}" in out
    expected = duckdb.connect(config={"memory_limit": "100MB"}).execute(
        "select current_setting('memory_limit')").fetchone()[0]
    assert seen[1] == expected != seen[0]
    read = "select * from read_parquet('{}/*/*.parquet', hive_partitioning = true) order by id"
    assert duckdb.sql(read.format(tmp_path / "limited")).fetchall() == \
        duckdb.sql(read.format(tmp_path / "free")).fetchall() == \
        [(1, "EUR", 10.5, 9), (2, "SEK", 99.0, 10), (3, "EUR", 1.25, 10)]


def test_test_command_takes_a_memory_limit(shop: Path, cli, memory_limits_seen) -> None:
    seen = memory_limits_seen
    code, out, err = cli("test", "--project-dir", shop, "--db", shop / "db.duckdb",
                         "--memory-limit", "100MB")
    assert code == 0, out + err
    expected = duckdb.connect(config={"memory_limit": "100MB"}).execute(
        "select current_setting('memory_limit')").fetchone()[0]
    assert seen == [expected]
    code, _, err = cli("test", "--project-dir", shop, "--db", shop / "db.duckdb",
                       "--memory-limit", "lots")
    assert code == 2 and "--memory-limit 'lots' is not a memory size" in err


def test_export_with_a_bad_memory_limit_names_the_option(shop: Path, cli,
                                                         tmp_path: Path) -> None:
    out_file = tmp_path / "orders.parquet"
    code, out, err = cli("export", "orders", "--out", out_file, "--memory-limit", "lots",
                         "--project-dir", shop, "--db", shop / "db.duckdb")
    assert code == 2
    assert "--memory-limit 'lots' is not a memory size" in err
    assert "e.g. --memory-limit 8GB" in err and "Traceback" not in out + err
    assert not out_file.exists()


@pytest.mark.parametrize("command", ["build", "run", "test", "vacuum", "export"])
def test_a_bad_memory_limit_is_an_option_error_not_a_file_in_use(shop: Path, cli, command,
                                                                 tmp_path: Path) -> None:
    extra = ["orders", "--out", tmp_path / "o.parquet"] if command == "export" else []
    code, out, err = cli(command, *extra, "--project-dir", shop, "--db", shop / "db.duckdb",
                         "--memory-limit", "8XB")
    assert code == 2, out + err
    assert "--memory-limit '8XB' is not a memory size" in err
    assert "e.g. --memory-limit 8GB" in err and "Traceback" not in out + err


def test_an_export_over_its_memory_limit_says_so_and_leaves_nothing(make_project, cli,
                                                                    tmp_path: Path) -> None:
    root = make_project({"models/wide.sql": "{{ config(materialized='table') }}\n"
                                            "select i, i % 24 as month, md5(i::varchar) as s "
                                            "from range(300000) t(i)"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    folder = tmp_path / "exports"
    args = ["wide", "--partition-by", "month", "--project-dir", root, "--db", db]
    code, out, err = cli("export", *args, "--out", folder / "wide", "--memory-limit", "1MB")
    assert code == 2, out + err
    assert "Out of Memory" in err and "raise --memory-limit (it was 1MB)" in err
    assert "Traceback" not in out + err
    assert not folder.exists() or list(folder.iterdir()) == []    # no temporaries either
    code, out, err = cli("export", *args, "--out", folder / "wide", "--memory-limit", "200MB")
    assert code == 0, err
    assert "wrote 300000 rows" in out
