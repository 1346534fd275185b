"""runner report --dialect platform writes the platform's own export shape: proved against
the real export (the Turku file), from a landing zone made of it; and --decimal-comma."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from conftest_reports import ROOT, build_zone
from cpo.report import ReportError, write_report
from cpo.sample.turku import COLUMNS, export_landing_zone
from test_report_command import SEPT, zone  # noqa: F401  (the hand-written zone, built)

TURKU = ROOT.parent / "shared" / "data" / "public" / "turku-virta" / "Turku Finland 2019.csv"
needs_turku = pytest.mark.skipif(
    not TURKU.exists(), reason=f"the platform's real export is not at {TURKU} "
                               "(../shared/data/public relative to the project root)")


def read_platform_file(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    text = raw.decode("latin-1")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", ""), "CRLF line ends"
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


@pytest.fixture(scope="module")
def turku_db(tmp_path_factory) -> Path:
    if not TURKU.exists():
        pytest.skip(f"the platform's real export is not at {TURKU}")
    tmp = tmp_path_factory.mktemp("turku")
    counts = export_landing_zone(TURKU, tmp / "raw")
    assert counts["charging_sessions"] == 7737 and counts["stations"] == 18
    return build_zone(tmp, tmp / "raw", "2020-01-01T00:00:00Z").db_path


@needs_turku
def test_the_platform_dialect_writes_the_real_export_field_for_field(turku_db, tmp_path):
    out = tmp_path / "turku.csv"
    message = write_report(ROOT, "charging-sessions", ["TURKU"], "2019-01-01", "2020-01-01",
                           out, db=turku_db, dialect="platform")
    assert "wrote 7737 rows" in message
    written = read_platform_file(out)
    at = [written[0].index(h) for h in COLUMNS]
    mine = [[row[i] for i in at] for row in written[1:]]

    with TURKU.open(encoding="latin-1", newline="") as f:
        real = list(csv.reader(f, delimiter=";"))
    assert real[0][:8] == list(COLUMNS)
    real = [row[:8] for row in real[1:]]
    # In the file's order: the report orders by start, then charge ID, which is the
    # row's line number in the landing zone made from the file (sorted by start).
    assert len(mine) == len(real) == 7737
    different = [(n + 2, a, b) for n, (a, b) in enumerate(zip(mine, real)) if a != b]
    assert not different, f"{len(different)} rows differ; first: {different[:3]}"
    assert "Hämeenkatu 8" in {row[2] for row in mine}


@needs_turku
def test_the_landing_zone_keeps_the_seconds_each_duration_implies(turku_db):
    import duckdb
    con = duckdb.connect(str(turku_db), read_only=True)
    try:
        rows = dict(con.execute(
            "select charge_id, [epoch(start_time)::bigint % 60, epoch(stop_time)::bigint % 60,"
            " energy_wh] from reports.charging_sessions_cpo "
            "where charge_id in ('0000002', '0000003', '0004255')").fetchall())
    finally:
        con.close()
    # 01.47-01.47 with Duration 1: a second past the minute; 14.40-15.44 with 64: none;
    # a cancellation keeps its negative energy
    assert rows == {"0000002": [0, 1, 0], "0000003": [0, 0, 3270], "0004255": [0, 0, -1050]}


def test_the_platform_dialect_on_the_hand_written_zone(zone, tmp_path):  # noqa: F811
    out = tmp_path / "fi.csv"
    write_report(ROOT, "charging-sessions", ["org_fi", "org_is"], *SEPT, out, db=zone,
                 dialect="platform")
    header, *rows = read_platform_file(out)
    by_id = {r[header.index("Charge ID")]: dict(zip(header, r)) for r in rows}
    turku = by_id["f_turku"]
    assert (turku["Start time"], turku["Stop time"], turku["Duration"]) == \
        ("10/09/2024 14.40", "10/09/2024 15.44", "64")
    assert (turku["Price"], turku["VAT"], turku["Net"], turku["VAT P"]) == \
        ("12,40", "2,52", "9,88", "25,5")
    # to the minute, as the platform shows it: 12.04.01 is 12.04, 65 started minutes
    assert (by_id["f_roam"]["Stop time"], by_id["f_roam"]["Duration"]) == \
        ("20/09/2024 12.04", "65")
    assert by_id["i_1"]["Price"] == "1234" and by_id["i_1"]["CPO name"] == "Hleðsla ehf"
    assert by_id["f_formula"]["Station name"] == "'=1+2"


def test_decimal_comma_with_the_default_dialect(zone, tmp_path):  # noqa: F811
    out = tmp_path / "comma.csv"
    write_report(ROOT, "charging-sessions", ["org_fi"], *SEPT, out, db=zone,
                 delimiter=";", decimal_comma=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""),
                                    delimiter=";"))
    turku = next(dict(zip(header, r)) for r in rows if r[1] == "f_turku")
    assert (turku["Price"], turku["VAT P"], turku["Start time"]) == \
        ("12,40", "25,5", "2024-09-10 14:40:00")


def test_a_name_the_platform_encoding_cannot_write_is_an_error_naming_the_row(
        tmp_path, monkeypatch, zone):  # noqa: F811
    import cpo.report.writers as writers
    real = writers.csv_cell

    def with_a_polish_name(value, fmt, *args, **kwargs):
        return real("Łódź" if value == "Market Square, Turku" else value, fmt, *args, **kwargs)
    monkeypatch.setattr(writers, "csv_cell", with_a_polish_name)
    out = tmp_path / "pl.csv"
    with pytest.raises(ReportError) as caught:
        write_report(ROOT, "charging-sessions", ["org_fi"], *SEPT, out, db=zone,
                     dialect="platform")
    message = caught.value.message
    assert "Station name" in message and "Charge ID f_edge_in" in message
    assert "'Ł'" in message and "ISO-8859-1" in message
    assert not out.exists()


def test_the_command_takes_the_dialect_and_the_decimal_mark(zone, tmp_path, cli):  # noqa: F811
    out = tmp_path / "p.csv"
    code, stdout, stderr = cli("report", "charging-sessions", "--org", "org_fi", "--from",
                               SEPT[0], "--to", SEPT[1], "--out", out, "--db", zone,
                               "--project-dir", ROOT, "--dialect", "platform",
                               "--decimal-point")
    assert code == 0, stderr
    header, *rows = read_platform_file(out)
    turku = next(dict(zip(header, r)) for r in rows if r[1] == "f_turku")
    assert (turku["Start time"], turku["Price"]) == ("10/09/2024 14.40", "12.40")
    code, stdout, stderr = cli("report", "charging-sessions", "--org", "org_fi", "--from",
                               SEPT[0], "--to", SEPT[1], "--out", tmp_path / "c.csv",
                               "--db", zone, "--project-dir", ROOT, "--decimal-comma")
    assert code == 2 and "--delimiter ';'" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "c.csv").exists()


# --- the landing zone made from an export: what it infers, what it refuses -----------------

HEADER = ";".join(COLUMNS)


def export(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("latin-1"))
    return path


def sessions_of(zone_dir: Path) -> dict[str, dict[str, str]]:
    with (zone_dir / "charging_sessions" / "turku.csv").open(encoding="utf-8") as f:
        return {r["charge_id"]: r for r in csv.DictReader(f)}


def test_an_hour_repeated_in_autumn_is_read_as_the_duration_says(tmp_path):
    path = export(tmp_path,
                  # 03.30 summer time to 03.40 winter time: 70 minutes
                  "27/10/2019 03.30;1;Aurakatu;27/10/2019 03.30;27/10/2019 03.40;70;100;AC",
                  # 10 minutes and a second whichever the reading: the first (summer time)
                  "27/10/2019 03.35;1;Aurakatu;27/10/2019 03.35;27/10/2019 03.45;11;100;AC")
    rows = sessions_of(export_landing_zone(path, tmp_path / "raw") and tmp_path / "raw")
    assert (rows["0000002"]["start_time"], rows["0000002"]["stop_time"]) == \
        ("2019-10-27T00:30:00Z", "2019-10-27T01:40:00Z")
    assert (rows["0000003"]["start_time"], rows["0000003"]["stop_time"]) == \
        ("2019-10-27T00:35:00Z", "2019-10-27T00:45:01Z")


@pytest.mark.parametrize("row,message", [
    ("01/05/2019 10.00;1;Aurakatu;01/05/2019 10.00;01/05/2019 10.10;30;100;AC",
     "Duration 30 is not the started minutes from 01/05/2019 10.00 to 01/05/2019 10.10"),
    ("31/03/2019 03.30;1;Aurakatu;31/03/2019 03.30;31/03/2019 04.10;10;100;AC",
     "31/03/2019 03.30 is not a time on the clock in Europe/Helsinki"),
    ("01/05/2019 10.00;1;Aurakatu;01/05/2019 10.00;01/05/2019 10.10;10;-100;AC",
     "no earlier session at station 1 has 100 Wh"),
    ("01/05/2019 10.00;1;Aurakatu;2019-05-01 10:00;01/05/2019 10.10;10;100;AC",
     "'2019-05-01 10:00' is not a time written dd/mm/yyyy hh.mm"),
    ("01/05/2019 10.00;1;Aurakatu;01/05/2019 10.00;01/05/2019 10.10;10;1,5;AC",
     "Energy (Wh) '1,5' is not a whole number"),
    ("01/05/2019 10.00;1;Aurakatu;01/05/2019 10.00", "row 1 has 4 fields and the header 8"),
])
def test_an_export_row_that_cannot_be_a_session_is_an_error_naming_it(tmp_path, row, message):
    from runner.errors import SourceError
    with pytest.raises(SourceError, match=re.escape(message)) as caught:
        export_landing_zone(export(tmp_path, row), tmp_path / "raw")
    assert caught.value.line == 2 and caught.value.path.endswith("export.csv")
    assert not (tmp_path / "raw" / "charging_sessions").exists()
