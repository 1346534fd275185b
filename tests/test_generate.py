"""Tests of runner/generate.py: the raw landing zone follows the contract in
raw-sources.md, is deterministic, carries every awkward case, and its durations,
energies and start hours look like the platform's real export (Turku 2019)."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import duckdb
import pytest

from cpo import sample as gen

REPO = Path(__file__).resolve().parents[1]
PUBLIC_DATA = REPO.parent / "shared" / "data" / "public"
TURKU = PUBLIC_DATA / "turku-virta" / "Turku Finland 2019.csv"

CONTRACT = {
    "organisations": {
        "organisation_id": "VARCHAR", "name": "VARCHAR", "country": "VARCHAR",
        "currency": "VARCHAR", "timezone": "VARCHAR", "is_public": "BOOLEAN",
        "updated_at": "TIMESTAMPTZ",
    },
    "stations": {
        "station_id": "VARCHAR", "evse_id": "VARCHAR", "name": "VARCHAR",
        "organisation_id": "VARCHAR", "current_type": "VARCHAR", "location_type": "VARCHAR",
        "updated_at": "TIMESTAMPTZ",
    },
    "station_roaming_ids": {"station_id": "VARCHAR", "network": "VARCHAR", "evse_id": "VARCHAR"},
    "station_settings_log": {
        "station_id": "VARCHAR", "setting": "VARCHAR", "value": "VARCHAR",
        "changed_at": "TIMESTAMPTZ",
    },
    "charging_sessions": {
        "charge_id": "VARCHAR", "station_id": "VARCHAR", "created_at": "TIMESTAMPTZ",
        "start_time": "TIMESTAMPTZ", "stop_time": "TIMESTAMPTZ", "meter_start_wh": "BIGINT",
        "meter_stop_wh": "BIGINT", "price": "DECIMAL(18,4)", "charge_method": "VARCHAR",
        "billing_type": "VARCHAR", "roaming_network": "VARCHAR", "operator_id": "VARCHAR",
        "provider_id": "VARCHAR", "transaction_id": "VARCHAR", "counter_charge_of": "VARCHAR",
        "updated_at": "TIMESTAMPTZ",
    },
    "revenue_share_agreements": {
        "organisation_id": "VARCHAR", "valid_from": "DATE", "cpo_share_pct": "DECIMAL(18,4)",
    },
}

LATEST_BY = {
    "organisations": "organisation_id",
    "stations": "station_id",
    "charging_sessions": "charge_id",
}


# --------------------------------------------------------------------------------------
# Reading a landing zone back
# --------------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".parquet", ".ndjson"))


def _read_file_sql(path: Path, columns: list[str]) -> str:
    p = path.as_posix().replace("'", "''")
    if path.suffix == ".parquet":
        src = f"read_parquet('{p}')"
    elif path.suffix == ".csv":
        src = f"read_csv('{p}', header = true, all_varchar = true, delim = ',', quote = '\"')"
    else:
        types = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
        src = f"read_json('{p}', format = 'newline_delimited', columns = {types})"
    cols = ", ".join(f'"{c}"::VARCHAR AS "{c}"' for c in columns)
    return f"SELECT {cols}, '{path.name}' AS _file FROM {src}"


def load(out: Path) -> duckdb.DuckDBPyConnection:
    """One table per raw folder with the contract's types (raw_<table>, every row and its
    file) and, where the table has updated_at, the latest version per key (<table>)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table, cols in CONTRACT.items():
        names = list(cols)
        union = " UNION ALL ".join(_read_file_sql(f, names) for f in _files(out / table))
        typed = ", ".join(f'TRY_CAST("{c}" AS {t}) AS "{c}", "{c}" AS "{c}__text"' for c, t in cols.items())
        con.execute(f"CREATE TABLE raw_{table} AS SELECT {typed}, _file FROM ({union})")
        if table in LATEST_BY:
            con.execute(
                f"CREATE TABLE {table} AS SELECT * EXCLUDE (rn) FROM ("
                f"SELECT *, row_number() OVER (PARTITION BY {LATEST_BY[table]} "
                f"ORDER BY updated_at DESC, _file) AS rn FROM raw_{table}) WHERE rn = 1"
            )
    # Sessions with their station's plug type and organisation.
    con.execute("""
        CREATE VIEW s AS
        SELECT cs.*, st.current_type, o.country, o.timezone AS tz, o.currency
        FROM charging_sessions cs
        LEFT JOIN stations st USING (station_id)
        LEFT JOIN organisations o USING (organisation_id)""")
    return con


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The smallest output that must hold every awkward case."""
    out = tmp_path_factory.mktemp("raw_small")
    counts = gen.generate(out, 2 * gen.PLANT_PERIOD, seed=11)
    return out, counts, load(out)


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw_large")
    counts = gen.generate(out, 24_000, seed=7)
    return out, counts, load(out)


# --------------------------------------------------------------------------------------
# (1) Contract
# --------------------------------------------------------------------------------------


def test_folders_and_columns(small):
    out, counts, _ = small
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(CONTRACT)
    assert set(counts) == set(CONTRACT)
    for table, cols in CONTRACT.items():
        files = _files(out / table)
        assert files, table
        assert not [p for p in (out / table).iterdir() if p.suffix not in (".csv", ".parquet", ".ndjson")]
        for f in files:
            if f.suffix == ".csv":
                with f.open(encoding="utf-8", newline="") as fh:
                    header = next(csv.reader(fh))
                assert sorted(header) == sorted(cols), f
            elif f.suffix == ".parquet":
                names = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM '{f.as_posix()}'").fetchall()]
                assert names == list(cols), f
            else:
                for line in f.read_text(encoding="utf-8").splitlines():
                    assert sorted(json.loads(line)) == sorted(cols), f


def test_file_formats_mixed(small):
    out, _, _ = small
    suffixes = {p.suffix for p in _files(out / "charging_sessions")}
    assert suffixes == {".parquet", ".csv", ".ndjson"}
    assert len([p for p in _files(out / "charging_sessions") if p.suffix == ".parquet"]) >= 12
    for table in CONTRACT:
        if table != "charging_sessions":
            assert {p.suffix for p in _files(out / table)} == {".csv"}


def test_values_parse_as_contract_types(large):
    _, _, con = large
    for table, cols in CONTRACT.items():
        for c in cols:
            bad = scalar(con, f'SELECT count(*) FROM raw_{table} WHERE "{c}__text" IS NOT NULL AND "{c}" IS NULL')
            assert bad == 0, f"{table}.{c}: {bad} values do not parse"
    # Key columns are never empty.
    assert scalar(con, "SELECT count(*) FROM raw_charging_sessions WHERE charge_id IS NULL "
                       "OR station_id IS NULL OR start_time IS NULL OR updated_at IS NULL") == 0


def test_counts_returned_match_files(small):
    _, counts, con = small
    for table in CONTRACT:
        assert counts[table] == scalar(con, f"SELECT count(*) FROM raw_{table}"), table


def test_timestamp_styles(small):
    out, _, con = small
    # Helsinki in summer and winter
    text = "\n".join(p.read_text(encoding="utf-8") for p in _files(out / "charging_sessions")
                     if p.suffix != ".parquet")
    assert "+03:00" in text and "+02:00" in text
    styles = con.execute(r"""
        SELECT count(*) FILTER (WHERE updated_at__text ~ '.*[+-]\d\d:\d\d$'),
               count(*) FILTER (WHERE updated_at__text LIKE '%Z'),
               count(*) FILTER (WHERE updated_at__text ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$')
        FROM raw_charging_sessions WHERE _file NOT LIKE '%.parquet'""").fetchone()
    assert all(n > 0 for n in styles), styles


def test_domains(large):
    _, _, con = large

    def values(sql):
        return {r[0] for r in con.execute(sql).fetchall()}

    assert values("SELECT DISTINCT charge_method FROM raw_charging_sessions") == {"app", "onetime", "rfid", "admin"}
    assert values("SELECT DISTINCT billing_type FROM raw_charging_sessions") == {
        "onetime", "prepaid", "postpaid", "postpaid_card", None}
    assert values("SELECT DISTINCT roaming_network FROM raw_charging_sessions") == {
        "hubject", "gireve", "ocpi", "chargepoint_eu", None}
    # billing_type is NULL exactly for roaming and admin sessions
    assert scalar(con, """SELECT count(*) FROM raw_charging_sessions
        WHERE (billing_type IS NULL) <> (roaming_network IS NOT NULL OR charge_method = 'admin')""") == 0
    # roaming operator and provider only on roaming sessions, and shaped like CC*XXX
    assert scalar(con, """SELECT count(*) FROM raw_charging_sessions
        WHERE (roaming_network IS NULL) <> (operator_id IS NULL)
           OR (roaming_network IS NULL) <> (provider_id IS NULL)
           OR NOT regexp_full_match(coalesce(operator_id, 'FI*VIR'), '[A-Z]{2}\\*[A-Z0-9]{3}')
           OR NOT regexp_full_match(coalesce(provider_id, 'DE*8EO'), '[A-Z]{2}\\*[A-Z0-9]{3}')""") == 0
    assert values("SELECT DISTINCT current_type FROM raw_stations") == {"AC", "DC"}
    assert values("SELECT DISTINCT location_type FROM raw_stations") == {"public", "home", "office"}
    assert scalar(con, r"SELECT bool_and(regexp_full_match(evse_id, '[A-Z]{2}\*[A-Z]{3}\*E\d{6}\*\d')) FROM raw_stations")
    assert values("SELECT DISTINCT network FROM raw_station_roaming_ids") == {"hubject", "gireve", "ocpi"}
    assert values("SELECT DISTINCT value FROM raw_station_settings_log WHERE setting = 'free_usage'") == {"true", "false"}
    orgs = con.execute("SELECT DISTINCT country, currency, timezone FROM raw_organisations").fetchall()
    assert set(orgs) == {(c, cur, tz) for c, cur, tz, _, _ in gen.COUNTRIES}
    assert values("SELECT DISTINCT is_public FROM raw_organisations") == {True, False}
    # Prices: 2 decimals, whole numbers in ISK; sessions are mostly billed
    assert scalar(con, "SELECT count(*) FROM s WHERE price <> round(price, 2)") == 0
    assert scalar(con, "SELECT count(*) FROM s WHERE currency = 'ISK' AND price <> round(price, 0)") == 0
    assert scalar(con, "SELECT count(*) FROM s WHERE currency = 'ISK' AND price > 0") > 0
    roaming = scalar(con, "SELECT avg((roaming_network IS NOT NULL)::INT) FROM charging_sessions")
    assert 0.05 < roaming < 0.15
    assert scalar(con, "SELECT avg((transaction_id IS NULL)::INT) FROM charging_sessions "
                       "WHERE charge_method <> 'admin'") < 0.06


def test_version_order(large):
    _, _, con = large
    # created_at = start; the start version has no stop, meter stop or price; later
    # versions are newer.
    assert scalar(con, "SELECT count(*) FROM raw_charging_sessions WHERE created_at <> start_time") == 0
    assert scalar(con, """SELECT count(*) FROM raw_charging_sessions WHERE stop_time IS NULL
        AND (meter_stop_wh IS NOT NULL OR price IS NOT NULL OR updated_at <> start_time)""") == 0
    assert scalar(con, """SELECT count(*) FROM raw_charging_sessions WHERE stop_time IS NOT NULL
        AND updated_at <= start_time""") == 0
    # the latest version is unique per charge ID (no ties on updated_at between different rows)
    assert scalar(con, """SELECT count(*) FROM (
        SELECT charge_id, updated_at FROM raw_charging_sessions
        GROUP BY ALL HAVING count(DISTINCT (stop_time, price, meter_stop_wh)) > 1)""") == 0


# --------------------------------------------------------------------------------------
# (2) Determinism
# --------------------------------------------------------------------------------------


def _snapshot(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(small, tmp_path):
    out, _, _ = small
    again = tmp_path / "again"
    gen.generate(again, 2 * gen.PLANT_PERIOD, seed=11)
    a, b = _snapshot(out), _snapshot(again)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name


def test_other_seed_other_data(small, tmp_path):
    out, _, _ = small
    other = tmp_path / "other"
    gen.generate(other, 2 * gen.PLANT_PERIOD, seed=12)
    a, b = _snapshot(out), _snapshot(other)
    assert a.keys() == b.keys()
    differ = [n for n in a if a[n] != b[n]]
    assert "charging_sessions/sessions_2024-01.parquet" in differ
    assert "stations/stations.csv" in differ


# --------------------------------------------------------------------------------------
# (3) Awkward cases, all in the smallest output that promises them
# --------------------------------------------------------------------------------------


def test_reference_tables_are_well_formed(small):
    _, _, con = small
    orgs = con.execute("SELECT organisation_id FROM organisations").fetchall()
    assert len(orgs) >= 6
    # renamed organisations: two versions with different names, the later one wins
    renamed = con.execute("""
        SELECT organisation_id, arg_max(name, updated_at), arg_min(name, updated_at)
        FROM raw_organisations GROUP BY 1 HAVING count(DISTINCT name) > 1""").fetchall()
    assert renamed and all(new != old for _, new, old in renamed)
    # an exact duplicate organisation row, sent again
    assert scalar(con, "SELECT count(*) FROM (SELECT * EXCLUDE (_file) FROM raw_organisations "
                       "GROUP BY ALL HAVING count(*) > 1)") > 0
    # stations: a later version
    assert scalar(con, "SELECT count(*) FROM (SELECT station_id FROM raw_stations "
                       "GROUP BY 1 HAVING count(DISTINCT (name, location_type)) > 1)") > 0
    # revenue share: one organisation without any agreement, one with a change
    assert scalar(con, "SELECT count(*) FROM organisations WHERE organisation_id NOT IN "
                       "(SELECT organisation_id FROM raw_revenue_share_agreements)") >= 1
    assert scalar(con, "SELECT count(*) FROM (SELECT organisation_id FROM raw_revenue_share_agreements "
                       "GROUP BY 1 HAVING count(DISTINCT cpo_share_pct) > 1)") >= 1
    # settings: free_usage switched on then off; another setting too
    assert scalar(con, """SELECT count(*) FROM (
        SELECT station_id FROM raw_station_settings_log WHERE setting = 'free_usage'
        GROUP BY 1 HAVING max(changed_at) FILTER (WHERE value = 'false')
                          > min(changed_at) FILTER (WHERE value = 'true'))""") > 0
    assert scalar(con, "SELECT count(*) FROM raw_station_settings_log WHERE setting <> 'free_usage'") > 0
    # roaming EVSE IDs in each network's own form
    forms = dict(con.execute("""
        SELECT r.network, bool_and(CASE r.network
            WHEN 'hubject' THEN r.evse_id = replace(s.evse_id, '*E', '*EHUB')
            WHEN 'gireve' THEN r.evse_id = replace(s.evse_id, '*', '')
            ELSE s.evse_id LIKE r.evse_id || '*%' END)
        FROM raw_station_roaming_ids r JOIN stations s USING (station_id) GROUP BY 1""").fetchall())
    assert forms == {"hubject": True, "gireve": True, "ocpi": True}


AWKWARD = {
    "duplicate row in another file": """
        SELECT count(*) FROM (
            SELECT charge_id, updated_at, stop_time, price, meter_stop_wh, transaction_id
            FROM raw_charging_sessions GROUP BY ALL HAVING count(DISTINCT _file) > 1)""",
    "counter-charge": """
        SELECT count(*) FROM charging_sessions c JOIN charging_sessions o ON o.charge_id = c.counter_charge_of
        WHERE c.station_id = o.station_id AND c.meter_start_wh = o.meter_stop_wh
          AND c.meter_stop_wh = o.meter_start_wh AND c.price = -o.price AND c.price < 0
          AND c.charge_id <> o.charge_id""",
    "meter went backwards": """
        SELECT count(*) FROM charging_sessions
        WHERE meter_stop_wh < meter_start_wh AND counter_charge_of IS NULL""",
    "unknown station": """
        SELECT count(*) FROM charging_sessions
        WHERE station_id NOT IN (SELECT station_id FROM raw_stations)""",
    "stop before start": "SELECT count(*) FROM charging_sessions WHERE stop_time < start_time",
    "across local midnight": """
        SELECT count(*) FROM s WHERE timezone(tz, start_time)::DATE < timezone(tz, stop_time)::DATE""",
    "across a month end": """
        SELECT count(*) FROM s
        WHERE date_trunc('month', timezone(tz, start_time)) < date_trunc('month', timezone(tz, stop_time))""",
    "across DST end in Helsinki": """
        SELECT count(*) FROM s WHERE tz = 'Europe/Helsinki'
          AND start_time < TIMESTAMPTZ '2024-10-27 01:00:00Z' AND stop_time > TIMESTAMPTZ '2024-10-27 01:00:00Z'""",
    "across DST start in Helsinki": """
        SELECT count(*) FROM s WHERE tz = 'Europe/Helsinki'
          AND start_time < TIMESTAMPTZ '2025-03-30 01:00:00Z' AND stop_time > TIMESTAMPTZ '2025-03-30 01:00:00Z'""",
    "Finland, last evening at 24 %": """
        SELECT count(*) FROM s WHERE country = 'FI' AND price > 0
          AND timezone(tz, start_time) BETWEEN TIMESTAMP '2024-08-31 20:00' AND TIMESTAMP '2024-08-31 23:59:59'""",
    "Finland, first hours at 25.5 % (still Aug 31 in UTC)": """
        SELECT count(*) FROM s WHERE country = 'FI' AND price > 0
          AND timezone(tz, start_time)::DATE = DATE '2024-09-01' AND start_time < TIMESTAMPTZ '2024-09-01 00:00:00Z'""",
    "Estonia, around 2025-07-01": """
        SELECT least(count(*) FILTER (WHERE timezone(tz, start_time)::DATE = DATE '2025-06-30'),
                     count(*) FILTER (WHERE timezone(tz, start_time)::DATE = DATE '2025-07-01'))
        FROM s WHERE country = 'EE'""",
    "Estonia, 2024-01-01 local but 2023 in UTC": """
        SELECT count(*) FROM s WHERE country = 'EE'
          AND timezone(tz, start_time)::DATE = DATE '2024-01-01' AND start_time < TIMESTAMPTZ '2024-01-01 00:00:00Z'""",
    "no transaction ID": """
        SELECT count(*) FROM charging_sessions WHERE transaction_id IS NULL AND charge_method <> 'admin'""",
    "ongoing": "SELECT count(*) FROM charging_sessions WHERE stop_time IS NULL",
    "stopped, not billed": """
        SELECT count(*) FROM charging_sessions WHERE stop_time IS NOT NULL AND price IS NULL""",
    "billed version arrived late, in another format": """
        SELECT count(*) FROM charging_sessions WHERE price IS NOT NULL AND _file NOT LIKE '%.parquet'""",
    "roaming network not in the list": """
        SELECT count(*) FROM charging_sessions WHERE roaming_network NOT IN ('hubject', 'gireve', 'ocpi')""",
    "roaming station without an EVSE ID for the network": """
        SELECT count(*) FROM charging_sessions c
        WHERE c.roaming_network IN ('hubject', 'gireve', 'ocpi')
          AND c.station_id IN (SELECT station_id FROM raw_stations)
          AND NOT EXISTS (SELECT 1 FROM raw_station_roaming_ids r
                          WHERE r.station_id = c.station_id AND r.network = c.roaming_network)""",
    "each listed roaming network": """
        SELECT count(DISTINCT roaming_network) = 3 FROM charging_sessions
        WHERE roaming_network IN ('hubject', 'gireve', 'ocpi')""",
    "admin session": "SELECT count(*) FROM charging_sessions WHERE charge_method = 'admin' AND billing_type IS NULL",
}


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_awkward_case_present(small, case):
    _, _, con = small
    assert scalar(con, AWKWARD[case]) > 0, case


@pytest.mark.parametrize("seed", [1, 4])
def test_awkward_cases_whatever_the_seed(tmp_path, seed):
    gen.generate(tmp_path, 2 * gen.PLANT_PERIOD, seed=seed)
    con = load(tmp_path)
    missing = [case for case, sql in AWKWARD.items() if not scalar(con, sql)]
    assert not missing


def _free_at_start(con) -> str:
    return """
        WITH f AS (
            SELECT c.charge_id, c.price,
                   coalesce(arg_max(l.value, l.changed_at) = 'true', false) AS free
            FROM charging_sessions c
            LEFT JOIN raw_station_settings_log l
              ON l.station_id = c.station_id AND l.setting = 'free_usage' AND l.changed_at <= c.start_time
            WHERE c.price IS NOT NULL AND c.counter_charge_of IS NULL
            GROUP BY ALL)
        SELECT count(*) FILTER (WHERE free AND price = 0), count(*) FILTER (WHERE free AND price > 0),
               count(*) FILTER (WHERE NOT free AND price > 0)
        FROM f"""


def test_free_usage(small, large):
    for _, _, con in (small, large):
        free_zero, free_priced, paid = con.execute(_free_at_start(con)).fetchone()
        assert free_zero > 0 and free_priced > 0 and paid > 0
    _, _, con = large
    free_zero, free_priced, _ = con.execute(_free_at_start(con)).fetchone()
    assert free_priced < free_zero  # priced anyway is the exception


def test_planted_cases_at_their_positions(small):
    _, _, con = small
    kinds = dict(con.execute("SELECT charge_id, stop_time IS NULL FROM charging_sessions").fetchall())
    ongoing = [c for c in kinds if gen.planted_kind(c) == "ongoing"]
    assert len(ongoing) == 2 and all(kinds[c] for c in ongoing)


# --------------------------------------------------------------------------------------
# (4) Distributions against the real export
# --------------------------------------------------------------------------------------

needs_turku = pytest.mark.skipif(
    not TURKU.exists(),
    reason=f"reference export not found at {TURKU} (../shared/data/public relative to the repo root)",
)

# Two-sample Kolmogorov-Smirnov: reject at level alpha when D > c(alpha) * sqrt((n+m)/(nm)),
# c(alpha) = sqrt(-ln(alpha/2)/2); c(0.001) = 1.949.  The generator samples a piecewise
# linear inverse CDF through the reference's quantiles at steps of 1/QUANTILE_STEPS, which
# moves the CDF by at most that step; we allow it on top.  Both samples are fixed (fixed
# seed), so the test is deterministic; the critical value makes it tight enough that a
# wrong shape fails (see test_ks_detects_a_wrong_distribution).
KS_C_ALPHA = math.sqrt(-math.log(0.001 / 2) / 2)


def ks_threshold(n: int, m: int) -> float:
    return KS_C_ALPHA * math.sqrt((n + m) / (n * m)) + 1.0 / gen.QUANTILE_STEPS


def ks_statistic(con, generated: str, reference: str) -> tuple[float, int, int]:
    """Two-sample KS statistic of two single-column queries (column v)."""
    return con.execute(f"""
        WITH a AS (SELECT v, 1 AS g FROM ({generated}) UNION ALL SELECT v, 0 FROM ({reference})),
        c AS (SELECT v, count(*) FILTER (WHERE g = 1) AS ng, count(*) FILTER (WHERE g = 0) AS nr
              FROM a GROUP BY v),
        d AS (SELECT sum(ng) OVER w / sum(ng) OVER () AS fg, sum(nr) OVER w / sum(nr) OVER () AS fr
              FROM c WINDOW w AS (ORDER BY v))
        SELECT max(abs(fg - fr)), (SELECT sum(ng) FROM c), (SELECT sum(nr) FROM c) FROM d""").fetchone()


def _with_turku(con):
    path = TURKU.as_posix().replace("'", "''")
    con.execute(f"""
        CREATE OR REPLACE TABLE turku AS
        SELECT hour(strptime("Start time", '%d/%m/%Y %H.%M')) AS hour,
               "Duration"::INTEGER AS duration_min, "Energy (Wh)"::BIGINT AS energy_wh,
               "Plug type" AS plug
        FROM read_csv('{path}', delim = ';', header = true, encoding = 'latin-1', all_varchar = true)
        WHERE "Energy (Wh)"::BIGINT >= 0   -- the 3 negative rows are cancellations
    """)
    planted = ", ".join(str(s) for s in gen.PLANTED)
    con.execute(f"""
        CREATE OR REPLACE VIEW ordinary AS
        SELECT current_type AS plug,
               hour(timezone(tz, start_time)) AS hour,
               round(epoch(stop_time - start_time) / 60)::INTEGER AS duration_min,
               meter_stop_wh - meter_start_wh AS energy_wh
        FROM s
        WHERE stop_time IS NOT NULL AND current_type IS NOT NULL
          AND (charge_id::BIGINT - {gen.CHARGE_ID_BASE}) % {gen.PLANT_PERIOD} NOT IN ({planted})
    """)
    return con


MEASURES = [("duration_min", "AC"), ("duration_min", "DC"), ("energy_wh", "AC"), ("energy_wh", "DC"),
            ("hour", "AC"), ("hour", "DC")]


@needs_turku
@pytest.mark.parametrize("measure,plug", MEASURES)
def test_distribution_close_to_turku(large, measure, plug):
    _, _, con = large
    _with_turku(con)
    d, n, m = ks_statistic(
        con,
        f"SELECT {measure} AS v FROM ordinary WHERE plug = '{plug}'",
        f"SELECT {measure} AS v FROM turku WHERE plug = '{plug}'",
    )
    assert n > 1000, n
    assert d < ks_threshold(n, m), f"KS D={d:.4f} n={n} m={m} threshold={ks_threshold(n, m):.4f}"


@needs_turku
def test_ks_detects_a_wrong_distribution(large):
    _, _, con = large
    _with_turku(con)
    # durations a fifth longer, energies from the other plug type, start hours two hours late
    for gen_sql, ref_sql in [
        ("SELECT round(duration_min * 1.2) AS v FROM ordinary WHERE plug = 'AC'",
         "SELECT duration_min AS v FROM turku WHERE plug = 'AC'"),
        ("SELECT energy_wh AS v FROM ordinary WHERE plug = 'AC'",
         "SELECT energy_wh AS v FROM turku WHERE plug = 'DC'"),
        ("SELECT (hour + 2) % 24 AS v FROM ordinary WHERE plug = 'AC'",
         "SELECT hour AS v FROM turku WHERE plug = 'AC'"),
    ]:
        d, n, m = ks_statistic(con, gen_sql, ref_sql)
        assert d > ks_threshold(n, m), gen_sql


@needs_turku
@pytest.mark.parametrize("plug", ["AC", "DC"])
def test_duration_energy_rank_correlation(large, plug):
    _, _, con = large
    _with_turku(con)
    spearman = """SELECT corr(rd, re) FROM (SELECT rank() OVER (ORDER BY duration_min) rd,
                  rank() OVER (ORDER BY energy_wh) re FROM {} WHERE plug = '{}')"""
    got = scalar(con, spearman.format("ordinary", plug))
    want = scalar(con, spearman.format("turku", plug))
    assert abs(got - want) < 0.06, (got, want)


@needs_turku
def test_embedded_tables_match_the_export():
    t = gen.derive_reference_tables(TURKU)
    assert t["hours"] == gen.HOUR_WEIGHTS
    assert t["duration"] == gen.DURATION_MIN_QUANTILES
    assert t["energy"] == gen.ENERGY_WH_QUANTILES
    assert t["rank_corr"] == gen.RANK_CORRELATION
    assert t["rank_cells"] == gen.RANK_CELLS


def test_the_command_says_sessions_versions_and_where(tmp_path, cli):
    out = tmp_path / "zone"
    code, stdout, stderr = cli("generate", "--out", out, "--sessions", 2000, "--seed", 3)
    assert code == 0, stderr
    ids = [r[0] for p in (out / "charging_sessions").iterdir()
           for r in duckdb.sql(f"select charge_id::varchar from '{p.as_posix()}'").fetchall()]
    versions = len(ids)
    assert len(set(ids)) == 2000 and versions > 2000
    assert str(out.resolve()) in stdout
    line = next(x for x in stdout.splitlines() if x.startswith("charging_sessions"))
    assert "2,000 sessions" in line and f"{versions:,} rows" in line and "version" in line
    assert re.search(r"^organisations: \d+ rows$", stdout, re.M)


def test_the_command_refuses_no_sessions_without_a_traceback(tmp_path, cli):
    code, stdout, stderr = cli("generate", "--out", tmp_path / "zone", "--sessions", 0)
    assert code == 2
    assert "Traceback" not in stderr and "--sessions" in stderr
    assert not (tmp_path / "zone").exists()
