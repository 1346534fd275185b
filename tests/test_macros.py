"""The money and time-zone macros, each run through compile_sql on inline rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from runner.api import compile_sql

ROOT = Path(__file__).resolve().parents[1]
D = Decimal


def run(sql: str, vars: dict | None = None) -> list[tuple]:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    return con.execute(compile_sql(sql, ROOT, vars=vars)).fetchall()


def test_round_money_half_away_from_zero_on_decimals_and_doubles():
    rows = run("""
        select x, {{ round_money('x', 'mu') }} as r, {{ round_money('x', 0) }} as r0
        from (values
            (1.005::decimal(18, 4), 2),
            (-1.005::decimal(18, 4), 2),
            (2.5::decimal(18, 4), 0),
            (-2.5::decimal(18, 4), 0),
            (12.3449::decimal(18, 4), 2),
            (0.125::decimal(18, 4), 1),
            (null::decimal(18, 4), 2)
        ) as t(x, mu)
    """)
    assert [(r[1], r[2]) for r in rows] == [
        (D("1.0100"), D("1.0000")),
        (D("-1.0100"), D("-1.0000")),
        (D("3.0000"), D("3.0000")),
        (D("-3.0000"), D("-3.0000")),
        (D("12.3400"), D("12.0000")),
        (D("0.1000"), D("0.0000")),
        (None, None),
    ]
    # A DOUBLE 1.005 is 1.00499999...; round() on it gives 1.0, the macro 1.01.
    assert run("select {{ round_money('1.005::double', 2) }}") == [(D("1.0100"),)]


def test_round_money_returns_decimal_18_4():
    con = duckdb.connect()
    sql = compile_sql("select typeof({{ round_money('1.5', 0) }}), "
                      "typeof({{ round_money('x', 'mu') }}) from (values (1.5, 2)) t(x, mu)",
                      ROOT)
    assert con.execute(sql).fetchall() == [("DECIMAL(18,4)", "DECIMAL(18,4)")]


def test_vat_from_gross_rounds_per_currency():
    rows = run("""
        select {{ vat_from_gross('price', 'rate', 'mu') }}
        from (values
            (12.40, 24.0, 2),      -- 12.40 * 24 / 124 = 2.40 exactly
            (10.00, 25.5, 2),      -- 2.03187... -> 2.03
            (-10.00, 25.5, 2),     -- counter-charge: -2.03
            (1000, 24.0, 0),       -- ISK: 193.548... -> 194
            (62, 24.0, 0),         -- ISK: 12.0
            (5, 100.0, 0),         -- 2.5 -> 3 (tie, away from zero)
            (-5, 100.0, 0),        -- -2.5 -> -3
            (0.03, 100.0, 2),      -- 0.015 -> 0.02 (tie)
            (-0.03, 100.0, 2),     -- -0.02
            (0.00, 24.0, 2),
            (null, 24.0, 2),
            (10.00, null, 2)
        ) as t(price, rate, mu)
    """)
    assert [r[0] for r in rows] == [
        D("2.4000"), D("2.0300"), D("-2.0300"), D("194.0000"), D("12.0000"),
        D("3.0000"), D("-3.0000"), D("0.0200"), D("-0.0200"), D("0.0000"), None, None,
    ]


def test_share_of_rounds_like_money():
    rows = run("""
        select {{ share_of('price', 'pct', 'mu') }}
        from (values (12.40, 80.0, 2), (-12.40, 80.0, 2), (0.05, 50.0, 2),
                     (999, 72.5, 0), (null, 80.0, 2)) as t(price, pct, mu)
    """)
    assert [r[0] for r in rows] == [D("9.9200"), D("-9.9200"), D("0.0300"),
                                    D("724.0000"), None]


def test_local_date_and_month_read_the_wall_clock():
    rows = run("""
        select {{ local_date('ts', 'tz') }}, {{ local_month('ts', 'tz') }}
        from (values
            ('2024-01-31 23:30:00+00'::timestamptz, 'Europe/Helsinki'),
            ('2024-01-31 23:30:00+00'::timestamptz, 'Atlantic/Reykjavik'),
            ('2024-08-31 21:30:00+00'::timestamptz, 'Europe/Helsinki'),
            ('2024-03-31 00:30:00+00'::timestamptz, 'Europe/Helsinki'),
            ('2024-01-01 04:00:00+00'::timestamptz, 'America/New_York'),
            ('2024-01-01 04:00:00+00'::timestamptz, null)
        ) as t(ts, tz)
    """)
    assert rows == [
        (dt.date(2024, 2, 1), dt.date(2024, 2, 1)),
        (dt.date(2024, 1, 31), dt.date(2024, 1, 1)),
        (dt.date(2024, 9, 1), dt.date(2024, 9, 1)),
        (dt.date(2024, 3, 31), dt.date(2024, 3, 1)),
        (dt.date(2023, 12, 31), dt.date(2023, 12, 1)),
        (None, None),
    ]


def test_local_timestamp_and_midnight_across_dst():
    rows = run("""
        select {{ local_timestamp('ts', "'Europe/Helsinki'") }},
               {{ local_midnight('d', "'Europe/Helsinki'") }}
        from (values
            ('2024-03-31 00:30:00+00'::timestamptz, '2024-03-31'::date),
            ('2024-03-31 01:30:00+00'::timestamptz, '2024-10-27'::date)
        ) as t(ts, d)
    """)
    utc = dt.timezone.utc
    assert [r[0] for r in rows] == [dt.datetime(2024, 3, 31, 2, 30),
                                    dt.datetime(2024, 3, 31, 4, 30)]
    assert [r[1].astimezone(utc) for r in rows] == [
        dt.datetime(2024, 3, 30, 22, 0, tzinfo=utc),
        dt.datetime(2024, 10, 26, 21, 0, tzinfo=utc),
    ]


@pytest.mark.parametrize("value, expected", [
    ("2024-10-01T00:00:00Z", dt.datetime(2024, 10, 1, tzinfo=dt.timezone.utc)),
    ("2024-10-01T03:00:00+03:00", dt.datetime(2024, 10, 1, tzinfo=dt.timezone.utc)),
    ("2024-10-01 00:00:00", dt.datetime(2024, 10, 1, tzinfo=dt.timezone.utc)),
])
def test_report_time_reads_the_var(value, expected):
    [(got,)] = run("select {{ report_time() }}", vars={"report_time": value})
    assert got.astimezone(dt.timezone.utc) == expected


def test_report_time_defaults_to_the_build_start():
    before = dt.datetime.now(dt.timezone.utc)
    [(got,)] = run("select {{ report_time() }}", vars={"report_time": ""})
    after = dt.datetime.now(dt.timezone.utc)
    assert before - dt.timedelta(seconds=5) <= got <= after


# -- property: the macros agree with Python's decimal arithmetic ------------------------

from decimal import ROUND_HALF_UP  # noqa: E402  (half away from zero, for Decimal)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

RATES = [D("0"), D("16"), D("19"), D("20"), D("22"), D("24"), D("25"), D("25.5"),
         D("100")]


def expected_vat(price: Decimal, rate: Decimal, minor_units: int) -> Decimal:
    exact = price * rate / (100 + rate)
    return exact.quantize(D(1).scaleb(-minor_units), rounding=ROUND_HALF_UP)


def assert_vat_and_share_exact(rows: list[tuple], values: str) -> None:
    """vat_from_gross and share_of over `values` (rows of price, rate, minor units) equal
    exact decimal arithmetic, rounded half away from zero."""
    got = run(f"select {{{{ vat_from_gross('p', 'r', 'mu') }}}}, "
              f"{{{{ share_of('p', 'r', 'mu') }}}} from (values {values}) t(p, r, mu)")
    for (price, rate, mu), (vat, share) in zip(rows, got):
        assert vat == expected_vat(price, rate, mu), (price, rate, mu)
        want_share = (price * rate / 100).quantize(D(1).scaleb(-mu), rounding=ROUND_HALF_UP)
        assert share == want_share, (price, rate, mu)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**9, 10**9), st.sampled_from(RATES),
                          st.sampled_from([0, 2])), min_size=1, max_size=60))
def test_vat_from_gross_matches_decimal_arithmetic(cases):
    # prices in minor units of the currency, so that each is a valid billed amount
    rows = [(D(p).scaleb(-mu), r, mu) for p, r, mu in cases]
    values = ", ".join(f"({p}::decimal(18, 4), {r}::decimal(5, 2), {mu})"
                       for p, r, mu in rows)
    assert_vat_and_share_exact(rows, values)


def test_local_month_equals_the_wall_clock_month_in_every_zone():
    """local_month converts only the instants near a UTC month boundary; in every zone
    DuckDB knows, at every half hour from two days before to two days after month
    boundaries (DST changes and year ends among them) and at random instants, it
    equals the month of the wall-clock time."""
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    sql = compile_sql("""
        with zones as (select name as tz from pg_timezone_names()),
        boundaries as (
            select unnest([
                timestamptz '1970-01-01 00:00:00+00', timestamptz '2024-03-01 00:00:00+00',
                timestamptz '2024-04-01 00:00:00+00', timestamptz '2024-10-01 00:00:00+00',
                timestamptz '2024-11-01 00:00:00+00', timestamptz '2025-01-01 00:00:00+00'
            ]) as boundary
        ),
        instants as (
            select boundary + to_minutes(30 * step) as ts
            from boundaries, range(-96, 97) as r(step)
            union all
            select timestamptz '1990-01-01 00:00:00+00'
                + to_seconds(cast(random() * 1.5e9 as bigint)) as ts
            from range(2000)
            union all
            select null
        )
        select tz, ts, {{ local_month('ts', 'tz') }} as fast,
            cast(date_trunc('month', timezone(tz, ts)) as date) as wall_clock
        from zones, instants
    """, ROOT)
    checked, wrong = con.execute(
        f"select count(*), count(*) filter (where fast is distinct from wall_clock) "
        f"from ({sql})").fetchone()
    assert checked > 500_000
    assert wrong == 0, con.execute(f"select * from ({sql}) "
                                   f"where fast is distinct from wall_clock limit 5").fetchall()


def test_vat_and_share_agree_with_decimal_arithmetic_across_the_integer_bounds():
    """vat_from_gross and share_of compute in BIGINT below a bound (a price under a
    billion, a share's amount under a hundred million) and in wider integers above it:
    on both sides of each bound, for either sign and fractional rates, both equal exact
    decimal arithmetic."""
    prices = [D("999999999.9999"), D("1000000000.0000"), D("99999999.9950"),
              D("100000000.0050"), D("12345678901.2345"), D("0.0050"), D("0.0000")]
    rates = [D("0"), D("25.5"), D("99.99"), D("100"), D("1000"), D("1000.01")]
    rows = [(sign * p, r, mu) for p in prices for sign in (1, -1) for r in rates
            for mu in (0, 2, 4)]
    values = ", ".join(f"({p}::decimal(18, 4), {r}::decimal(9, 4), {mu})" for p, r, mu in rows)
    assert_vat_and_share_exact(rows, values)
