"""`runner export --partition-by month` of a table without a month column (the CPO view)
derives the month with the project's `local_month` macro, the definition the models and
the serving layer's partition key use: one definition for all of them. The key is the
model's export config, the charging project's own expression (models/reports/
_reports__models.yml), not code of the engine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from runner.api import build
from runner.publish.export import export_table

ROOT = Path(__file__).resolve().parents[1]


def _charging_export_config() -> dict:
    """The export config of the charging project's CPO view, as its YAML declares it."""
    models = yaml.safe_load((ROOT / "models" / "reports" / "_reports__models.yml"
                             ).read_text())["models"]
    return next(m for m in models if m["name"] == "charging_sessions_cpo")["config"]["export"]


# local_month changed to the month before the UTC month: an export that derives the
# month on its own gives the UTC (or local) month instead
PROJECT = {
    # the layer schemas as this project keeps them (its own generate_schema_name)
    "macros/generate_schema_name.sql":
        (ROOT / "macros" / "generate_schema_name.sql").read_text(),
    "macros/time.sql": """
        {% macro local_month(ts, tz) -%}
            case when {{ tz }} is null then null
                 else cast(date_trunc('month', cast({{ ts }} as timestamptz)
                                      - interval 1 month) as date) end
        {%- endmacro %}
        """,
    "models/int_organisations_validated.sql":
        "{{ config(schema='intermediate') }} select 'o1' as organisation_id, "
        "'Europe/Amsterdam' as timezone_name",
    "models/sessions.sql":
        "select 's1' as charge_id, 'o1' as organisation_id, "
        "timestamptz '2024-03-31 23:30:00+00' as start_time",
    "models/sessions.yml": yaml.safe_dump({"version": 2, "models": [
        {"name": "sessions", "config": {"export": _charging_export_config()}}]}),
}


def test_the_month_of_an_export_is_the_projects_local_month(make_project,
                                                             tmp_path: Path) -> None:
    root = make_project(PROJECT)
    db = tmp_path / "db.duckdb"
    assert build(root, db_path=db).ok
    out = tmp_path / "by_month"
    assert export_table(root, "sessions", out, db, ["month"]) == 1
    assert [p.name for p in out.iterdir()] == ["month=2024-02"]
    assert duckdb.sql(f"select charge_id from read_parquet('{out}/*/*.parquet')"
                      ).fetchall() == [("s1",)]
