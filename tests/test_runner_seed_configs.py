"""Seeds as dbt reads them with dbt-duckdb: `column_types`, `delimiter` and `quote_columns`
from dbt_project.yml (`+key`) and a seed's YAML `config:`, values rendered from vars; and
the types dbt-duckdb gives the other columns (a whole number column is INTEGER, as dbt's
agate type inference makes it, not DuckDB's BIGINT)."""

from __future__ import annotations

from runner.api import build


def _types(query, db, table: str) -> dict[str, str]:
    return dict(query(db, "select column_name, data_type from information_schema.columns "
                          "where table_name = ? order by ordinal_position", [table]))


def test_seed_columns_are_typed_as_dbt_duckdb_types_them(make_project, query) -> None:
    root = make_project({"seeds/s.csv": "id,big,price,day,at,flag,name,empty\n"
                                        "1,3000000000,1.5,2024-01-31,2024-01-31 10:00:00,"
                                        "true,a,\n"
                                        "-7,1,2,2024-02-01,2024-02-01 11:30:00,false,b,\n"})
    db = root / "db.duckdb"
    assert build(root, db_path=db).ok
    assert _types(query, db, "s") == {
        "id": "INTEGER",            # dbt: a number without decimals is "integer"
        "big": "BIGINT",            # beyond INTEGER (where dbt-duckdb's load fails)
        "price": "DOUBLE",          # dbt: float8
        "day": "DATE", "at": "TIMESTAMP", "flag": "BOOLEAN", "name": "VARCHAR",
        "empty": "INTEGER",         # dbt: a column with no value is a number column
    }
    assert query(db, "select id, big, empty from main.s order by id") == \
        [(-7, 1, None), (1, 3000000000, None)]


def test_seed_configs_from_the_project_and_yaml_rendered_from_vars(make_project, query,
                                                                  cli) -> None:
    root = make_project({
        "dbt_project.yml": """
            name: proj
            vars:
              code_type: varchar
              sep: ";"
            seeds:
              proj:
                +column_types:
                  code: "{{ var('code_type') }}"
                +quote_columns: true
                semi:
                  +delimiter: "{{ var('sep') }}"
        """,
        "seeds/plain.csv": "code,n\n007,1\n",
        "seeds/semi/semi.csv": "code;n\n010;2\n",
        "seeds/piped.csv": "code|n|when\n001|3|2024-05-01\n",
        "seeds/props.yml": """
            version: 2
            seeds:
              - name: piped
                config:
                  delimiter: "{{ var('pipe', '|') }}"
                  quote_columns: "{{ var('quote', false) }}"
                  column_types:
                    when: "{{ var('when_type', 'date') }}"
        """,
    })
    db = root / "db.duckdb"
    code, out, err = cli("build", "--project-dir", root, "--db", db,
                         "--vars", "{when_type: varchar}")
    assert code == 0, out + err
    assert "quote_columns" not in err and "delimiter" not in err   # acted on: no warning
    assert query(db, "select * from main.plain") == [("007", 1)]
    assert query(db, "select * from main.semi") == [("010", 2)]
    assert query(db, "select * from main.piped") == [("001", 3, "2024-05-01")]
    assert _types(query, db, "piped") == {"code": "VARCHAR", "n": "INTEGER",
                                          "when": "VARCHAR"}


def test_a_seed_delimiter_that_is_not_one_character_is_an_error(make_project, cli) -> None:
    root = make_project({"seeds/s.csv": "a,b\n1,2\n",
                         "seeds/p.yml": "version: 2\nseeds:\n  - name: s\n"
                                        "    config:\n      delimiter: \"{{ var('d', '') }}\"\n"})
    code, out, err = cli("seed", "--project-dir", root, "--db", root / "db.duckdb")
    assert code == 2
    assert "seeds/s.csv" in err and "delimiter" in err and "Traceback" not in err
