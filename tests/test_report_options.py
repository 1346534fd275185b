"""Tests of runner report's options checked before any database is read: the timeframe
(--from, --to) and the file's shape (--dialect, --delimiter, --decimal-comma)."""

from __future__ import annotations

import pytest

from cpo.report import ReportError, parse_timeframe


@pytest.mark.parametrize("day,why", [
    ("2024-02-30", "February 2024 has 29 days"),
    ("2023-02-29", "February 2023 has 28 days"),
    ("2024-04-31", "April 2024 has 30 days"),
    ("2024-13-01", "there is no month 13"),
    ("2024-00-10", "there is no month 00"),
    ("2024-01-00", "there is no day 00"),
    ("0000-01-01", "no year 0000"),
])
def test_a_well_written_day_that_does_not_exist_says_so(day, why):
    for dates, option in (((day, "2025-01-01"), "--from"), (("2020-01-01", day), "--to")):
        with pytest.raises(ReportError) as caught:
            parse_timeframe(*dates)
        message = caught.value.message
        assert f"{option} {day} is not a day in the calendar" in message
        assert why in message
        assert "YYYY-MM-DD" not in message


@pytest.mark.parametrize("text", ["2024-9-1", "01/09/2024", "2024-09-01'; --", ""])
def test_a_badly_written_date_asks_for_yyyy_mm_dd(text):
    with pytest.raises(ReportError, match="is not a date written YYYY-MM-DD"):
        parse_timeframe(text, "2024-10-01")


def test_swapped_dates_are_named_swapped_with_the_right_order():
    with pytest.raises(ReportError) as caught:
        parse_timeframe("2024-10-01", "2024-09-01")
    assert "swapped" in caught.value.message
    assert caught.value.hint == "write --from 2024-09-01 --to 2024-10-01."


def test_the_same_day_twice_is_an_empty_timeframe():
    with pytest.raises(ReportError, match="must come after") as caught:
        parse_timeframe("2024-09-01", "2024-09-01")
    assert "swapped" not in caught.value.message
    assert "--to 2024-09-02" in caught.value.hint


def test_a_good_timeframe():
    import datetime as dt
    assert parse_timeframe(" 2024-02-29", "2024-03-01 ") == (dt.date(2024, 2, 29),
                                                             dt.date(2024, 3, 1))


@pytest.mark.parametrize("dates,expected", [
    (("2024-02-30", "2024-03-01"), "--from 2024-02-30 is not a day in the calendar"),
    (("2024-10-01", "2024-09-01"), "swapped"),
])
def test_the_command_exits_2_without_a_traceback(tmp_path, cli, dates, expected):
    out = tmp_path / "r.csv"
    code, stdout, stderr = cli("report", "charging-sessions", "--org", "ORG00001",
                               "--from", dates[0], "--to", dates[1], "--out", out,
                               "--db", tmp_path / "none.duckdb")
    assert code == 2
    assert expected in stderr and "Traceback" not in stderr
    assert not out.exists()


# --- the CSV's shape: --dialect, --delimiter, --decimal-comma ------------------------------


def shape(dialect=None, delimiter=None, decimal_comma=None, file_format="csv"):
    from cpo.report.command import csv_dialect
    return csv_dialect(dialect, delimiter, decimal_comma, file_format)


def test_the_default_shape_is_todays():
    d = shape()
    assert (d.encoding, d.delimiter, d.decimal_comma) == ("utf-8-sig", ",", False)
    assert shape(delimiter=";").delimiter == ";" and not shape(delimiter=";").decimal_comma


def test_the_platform_shape_and_what_overrides_it():
    d = shape("platform")
    assert (d.encoding, d.delimiter, d.decimal_comma, d.instant_format) == \
        ("latin-1", ";", True, "%d/%m/%Y %H.%M")
    assert not shape("platform", decimal_comma=False).decimal_comma
    assert shape("platform", delimiter="tab").delimiter == "\t"
    assert shape(delimiter=";", decimal_comma=True).decimal_comma


@pytest.mark.parametrize("kw,message", [
    (dict(dialect="excel-fi"), "there is no --dialect 'excel-fi'"),
    (dict(decimal_comma=True), "--decimal-comma needs a field separator other than ','"),
    (dict(dialect="platform", delimiter=",", decimal_comma=None),
     "--decimal-comma needs a field separator other than ','"),
    (dict(dialect="platform", file_format="xlsx"), "--dialect is for .csv files"),
    (dict(decimal_comma=True, delimiter=";", file_format="parquet"),
     "is for .csv files"),
])
def test_shapes_that_cannot_be_written_are_errors(kw, message):
    with pytest.raises(ReportError, match=message):
        shape(**kw)
