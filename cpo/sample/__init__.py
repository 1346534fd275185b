"""Deterministic generator of a raw landing zone (see the spec `raw-sources.md`).

    from cpo.sample import generate
    counts = generate("data/raw", sessions=1_000_000, seed=42)

Everything is computed inside DuckDB: every pseudo-random value is a hash of
(seed, row number, stream), so a row never depends on another row, any slice of the
session ID range can be produced on its own, and the same (seed, sessions) gives
byte-identical files.  Sessions are written month by month with `COPY ... TO`.

Realism comes from the platform's own public export (Turku, 2019): the hour-of-day
weights and the duration and energy quantiles per plug type below were derived from
it with `derive_reference_tables()`.  Durations and energies are sampled by
inverse CDF with linear interpolation between the quantiles; their rank dependence is
reproduced by drawing the pair of ranks from the export's own rank histogram (see
`RANK_CELLS`).

A few awkward records are planted at fixed positions of every block of `PLANT_PERIOD`
session IDs (see `PLANTED`), so each of them is present in any output of at least
`PLANT_PERIOD` sessions (2,000 sessions hold two of each), whatever the seed.

The generator is split by purpose: `shape` (the platform's shape, its scale, the
organisation and station tables), `sessions` (the SQL of the sessions and their
versions), `write` (`generate()` and the files it writes), `reference` (the tables
derived from the Turku export) and `turku` (a landing zone made from that export itself).
"""

from cpo.sample.reference import (
    DURATION_MIN_QUANTILES, ENERGY_WH_QUANTILES, HOUR_WEIGHTS, QUANTILE_STEPS, RANK_BINS,
    RANK_CELLS, RANK_CORRELATION, derive_reference_tables,
)
from cpo.sample.shape import (
    CHARGE_ID_BASE, COUNTRIES, ORG_NAMES, OTHER_NETWORK, PLANT_PERIOD, PLANTED, PROVIDERS,
    SPAN_DAYS, SPAN_START, STREETS, TABLES, charge_id, planted_kind, scale,
)
from cpo.sample.sessions import charge_id_sql
from cpo.sample.turku import export_landing_zone
from cpo.sample.write import generate

__all__ = [
    "CHARGE_ID_BASE", "COUNTRIES", "DURATION_MIN_QUANTILES", "ENERGY_WH_QUANTILES",
    "HOUR_WEIGHTS", "ORG_NAMES", "OTHER_NETWORK", "PLANTED", "PLANT_PERIOD", "PROVIDERS",
    "QUANTILE_STEPS", "RANK_BINS", "RANK_CELLS", "RANK_CORRELATION", "SPAN_DAYS",
    "SPAN_START", "STREETS", "TABLES", "charge_id", "charge_id_sql",
    "derive_reference_tables", "export_landing_zone", "generate", "planted_kind", "scale",
]
