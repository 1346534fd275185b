"""Without a landing zone the runner builds from the generated sample: the note says
whether it generated the sample just now or reuses the one in target/sample-raw."""

from __future__ import annotations

from pathlib import Path


def test_the_note_says_whether_the_sample_is_generated_or_reused(make_project, cli) -> None:
    root = make_project({
        "dbt_project.yml": "name: tiny\nvars:\n  sample_sessions: 50\n  sample_seed: 7\n",
        "models/_sources.yml": "version: 2\nsources:\n  - name: raw\n    tables:\n"
                               "      - name: organisations\n        columns:\n"
                               "          - name: organisation_id\n",
        "models/orgs.sql": "select organisation_id from {{ source('raw', 'organisations') }}",
    })
    sample = root / "target" / "sample-raw"
    args = ["build", "--project-dir", root, "--db", root / "db.duckdb"]
    code, out, err = cli(*args)
    assert code == 0, out + err
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert notes == [f"note: no landing zone at {root / 'data' / 'raw'}: building the "
                     f"generated sample (50 sessions, seed 7) in {sample}"], out
    assert (sample / "organisations").is_dir()
    stamp = {p: p.stat().st_mtime_ns for p in sample.rglob("*") if p.is_file()}

    code, out, err = cli(*args)
    assert code == 0, out + err
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert notes == [f"note: no landing zone at {root / 'data' / 'raw'}: reusing the "
                     f"generated sample in {sample} (50 sessions, seed 7)"], out
    assert {p: p.stat().st_mtime_ns for p in sample.rglob("*") if p.is_file()} == stamp
