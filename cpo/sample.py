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
"""

from __future__ import annotations

import datetime as _dt
import queue
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

# --------------------------------------------------------------------------------------
# Reference tables derived from `Turku Finland 2019.csv` (7,737 sessions; the 3 rows
# with negative energy, which are cancellations, are left out).  Regenerate with
# derive_reference_tables(); tests/test_generate.py checks they still match the file.
# --------------------------------------------------------------------------------------

QUANTILE_STEPS = 200  # quantiles at 0, 1/200, ..., 1

# Sessions started per local hour 0..23 (Europe/Helsinki).
HOUR_WEIGHTS = {
    "AC": [
        11, 3, 0, 1, 9, 27, 24, 252, 811, 435, 393, 501,
        620, 525, 444, 442, 543, 497, 361, 271, 184, 104, 45, 25,
    ],
    "DC": [
        6, 6, 3, 3, 3, 11, 20, 17, 51, 48, 76, 68,
        84, 66, 67, 114, 89, 90, 99, 106, 78, 50, 24, 27,
    ],
}

# Duration in minutes at quantiles k/QUANTILE_STEPS.
DURATION_MIN_QUANTILES = {
    "AC": [
        0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 4.0, 6.0, 8.0,
        10.0, 12.0, 15.0, 17.0, 18.0, 20.0, 22.0, 23.15, 25.0, 27.0,
        28.05, 30.0, 31.0, 33.0, 34.0, 36.0, 37.0, 38.0, 40.0, 41.0,
        43.0, 44.0, 45.0, 46.0, 48.0, 49.0, 50.0, 51.0, 52.0, 54.0,
        55.0, 56.0, 57.0, 59.0, 60.0, 61.0, 62.0, 63.19, 65.0, 66.0,
        68.0, 69.0, 71.0, 72.0, 73.64, 75.0, 76.0, 77.0, 78.0, 80.0,
        81.0, 82.0, 84.0, 85.0, 86.0, 87.0, 88.0, 90.0, 91.0, 93.0,
        94.0, 95.0, 97.0, 98.0, 99.0, 100.0, 102.0, 103.0, 104.0, 106.0,
        107.0, 109.0, 111.0, 113.0, 115.0, 116.0, 117.0, 119.0, 121.0, 122.0,
        123.5, 125.0, 126.0, 128.0, 129.0, 130.0, 132.0, 134.0, 136.0, 137.0,
        138.0, 139.0, 140.12, 141.0, 142.0, 144.0, 146.0, 147.0, 149.0, 150.0,
        152.0, 153.0, 155.0, 157.0, 158.0, 160.0, 162.0, 164.0, 166.0, 168.0,
        169.0, 171.19, 173.82, 175.0, 177.0, 179.0, 181.0, 183.0, 184.0, 186.0,
        188.0, 190.0, 192.0, 194.0, 196.0, 198.0, 200.0, 203.0, 205.0, 207.0,
        209.0, 211.0, 213.0, 216.0, 218.0, 220.0, 223.0, 224.0, 226.0, 229.0,
        232.0, 234.0, 236.0, 239.0, 241.0, 243.0, 245.0, 247.0, 251.0, 252.31,
        255.0, 259.0, 262.0, 264.0, 267.49, 272.0, 276.0, 283.0, 290.0, 300.66,
        311.3, 324.94, 349.0, 368.2, 403.84, 442.0, 465.0, 510.0, 594.9, 680.0,
        740.1, 844.14, 946.76, 1056.22, 1231.14, 1373.47, 1464.52, 1700.38, 2597.31, 4138.45,
        17739.0,
    ],
    "DC": [
        0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 3.0,
        3.0, 4.0, 4.0, 4.83, 5.0, 5.0, 6.0, 6.0, 6.0, 6.0,
        6.0, 7.0, 7.0, 7.0, 7.1, 8.0, 8.0, 8.0, 8.0, 9.0,
        9.0, 9.0, 9.0, 10.0, 10.0, 10.0, 11.0, 11.0, 11.0, 11.0,
        11.0, 12.0, 12.0, 12.0, 12.0, 12.62, 13.0, 13.0, 13.0, 14.0,
        14.0, 14.0, 14.0, 15.0, 15.0, 15.0, 15.0, 16.0, 16.0, 16.0,
        16.0, 16.0, 16.0, 17.0, 17.0, 17.0, 17.0, 17.0, 18.0, 18.0,
        18.0, 18.0, 18.0, 18.0, 19.0, 19.0, 19.0, 19.0, 19.0, 20.0,
        20.0, 20.0, 20.0, 20.0, 21.0, 21.0, 21.0, 21.0, 22.0, 22.0,
        22.0, 22.0, 22.0, 22.0, 22.0, 22.88, 23.0, 23.0, 23.0, 23.0,
        23.0, 23.0, 23.0, 24.0, 24.0, 24.0, 24.0, 25.0, 25.0, 25.0,
        25.0, 25.0, 26.0, 26.0, 26.0, 26.0, 27.0, 27.0, 27.0, 27.0,
        28.0, 28.0, 28.0, 29.0, 29.0, 29.62, 30.0, 31.0, 31.0, 31.0,
        32.0, 32.0, 33.0, 33.0, 34.0, 35.0, 36.0, 36.0, 37.0, 37.98,
        38.0, 39.0, 40.0, 41.0, 41.0, 42.0, 42.0, 43.0, 44.0, 44.23,
        45.25, 46.0, 47.0, 48.33, 49.0, 50.0, 51.4, 53.0, 55.0, 56.0,
        57.0, 58.0, 59.0, 60.58, 61.0, 62.62, 63.0, 65.0, 65.0, 66.0,
        68.0, 69.77, 72.0, 72.83, 77.7, 82.75, 89.9, 102.7, 128.4, 223.0,
        8795.0,
    ],
}

# Energy in Wh at quantiles k/QUANTILE_STEPS.
ENERGY_WH_QUANTILES = {
    "AC": [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 40.0, 142.6, 329.53,
        448.2, 560.35, 650.0, 760.0, 850.0, 954.03, 1020.0, 1080.0, 1154.8, 1231.92,
        1290.0, 1370.0, 1440.0, 1500.0, 1572.9, 1650.0, 1700.0, 1750.0, 1800.0, 1870.0,
        1920.0, 1980.0, 2040.0, 2110.0, 2162.56, 2206.83, 2250.0, 2302.0, 2350.0, 2400.0,
        2460.0, 2510.0, 2550.0, 2620.0, 2670.0, 2720.0, 2770.0, 2820.0, 2879.06, 2950.0,
        3010.8, 3050.0, 3110.0, 3160.0, 3220.0, 3270.0, 3326.1, 3367.49, 3410.0, 3460.0,
        3520.0, 3570.0, 3630.0, 3690.5, 3776.9, 3840.0, 3890.0, 3950.0, 3990.0, 4050.0,
        4110.0, 4171.35, 4250.0, 4294.84, 4370.0, 4430.0, 4480.0, 4542.95, 4580.0, 4630.22,
        4700.0, 4760.0, 4821.2, 4870.0, 4930.0, 5000.0, 5050.0, 5102.95, 5140.0, 5200.0,
        5250.0, 5300.0, 5330.0, 5373.32, 5428.0, 5460.75, 5530.0, 5580.0, 5643.52, 5690.0,
        5750.0, 5790.0, 5830.0, 5890.0, 5920.81, 5960.0, 6006.8, 6060.0, 6100.0, 6140.0,
        6188.1, 6220.0, 6260.0, 6300.0, 6340.0, 6390.0, 6440.0, 6490.0, 6549.8, 6580.0,
        6630.25, 6700.0, 6760.0, 6820.0, 6873.95, 6940.0, 7010.0, 7060.0, 7110.0, 7150.0,
        7190.0, 7230.0, 7270.0, 7305.05, 7341.0, 7398.87, 7433.23, 7470.0, 7530.0, 7594.52,
        7679.5, 7730.0, 7810.0, 7893.42, 7980.0, 8051.25, 8140.0, 8246.19, 8350.0, 8460.0,
        8631.6, 8810.0, 9009.68, 9232.05, 9438.4, 9664.75, 9941.1, 10140.0, 10331.9, 10490.15,
        10843.0, 11348.5, 12408.4, 12863.3, 14283.3, 16180.37, 18692.98, 23120.86, 27091.91, 36849.0,
        78700.0,
    ],
    "DC": [
        0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 8.18, 28.0, 29.23,
        31.25, 36.0, 36.3, 37.0, 38.0, 38.0, 38.0, 38.0, 38.0, 39.0,
        39.0, 39.0, 39.0, 40.0, 40.0, 40.62, 41.0, 55.83, 119.7, 162.17,
        313.75, 484.08, 578.0, 722.98, 831.05, 918.38, 969.8, 1057.55, 1167.55, 1248.65,
        1301.0, 1372.05, 1482.9, 1545.27, 1670.8, 1867.25, 1932.05, 1985.33, 2037.2, 2099.35,
        2154.5, 2245.02, 2299.6, 2388.32, 2426.0, 2514.38, 2556.0, 2688.25, 2726.9, 2770.9,
        2887.0, 2990.07, 3085.5, 3166.57, 3235.8, 3366.88, 3461.75, 3535.83, 3676.8, 3752.62,
        3811.5, 3859.3, 3894.8, 3928.55, 3979.75, 4026.25, 4058.3, 4097.0, 4155.6, 4179.88,
        4210.0, 4239.78, 4330.2, 4385.9, 4411.5, 4451.38, 4479.45, 4513.52, 4542.2, 4571.9,
        4584.75, 4615.15, 4673.4, 4718.32, 4751.75, 4812.25, 4849.2, 4879.27, 4889.7, 4922.28,
        4949.5, 4967.82, 5003.85, 5032.48, 5047.2, 5096.62, 5186.4, 5243.38, 5284.1, 5327.73,
        5355.0, 5427.25, 5498.0, 5549.07, 5577.7, 5628.5, 5680.2, 5728.7, 5854.05, 5906.78,
        5937.0, 5980.07, 6017.1, 6078.05, 6136.2, 6232.5, 6399.8, 6708.1, 7002.8, 7221.93,
        7428.75, 7635.57, 7804.3, 7864.2, 8099.55, 8300.5, 8564.2, 8693.42, 8909.45, 9321.7,
        9630.5, 9988.57, 10126.0, 10377.97, 10535.0, 10791.0, 11031.85, 11282.07, 11938.1, 12100.65,
        12388.75, 12552.27, 12731.2, 12856.3, 13035.4, 13170.38, 13327.7, 13560.88, 13938.5, 14354.8,
        14731.0, 14850.48, 15103.45, 15335.27, 15666.7, 15870.38, 16189.5, 16438.3, 16836.4, 17484.12,
        17764.5, 18047.98, 18371.4, 18817.78, 19205.05, 19372.25, 20105.0, 20534.0, 20787.35, 21076.67,
        21300.0, 21852.1, 22410.2, 23851.48, 24238.8, 24639.12, 25259.9, 25807.0, 26412.3, 26809.25,
        27298.0, 28712.67, 29340.6, 29791.35, 30918.15, 31731.5, 34239.9, 38230.55, 45106.15, 65870.02,
        74512.0,
    ],
}

# Spearman rank correlation of duration and energy in the export.
RANK_CORRELATION = {"AC": 0.571, "DC": 0.856}

# How duration and energy go together: sessions counted by (duration rank, energy rank),
# each rank cut into RANK_BINS bins of equal size (ties broken by the other measure), row
# = duration bin, column = energy bin.  Every row and every column sums to about n /
# RANK_BINS, so a cell drawn in proportion to its count, plus a uniform offset inside
# it, gives uniform marginals (the quantile tables stay exact) and the export's
# dependence: short sessions do not get a full battery.
RANK_BINS = 20
RANK_CELLS = {
    "AC": [
        [326,   0,   0,   0,   1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0],
        [  1, 192,   0, 108,  24,   1,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0],
        [  0,  31,   0,  11, 205,  61,   4,   6,   6,   0,   1,   0,   0,   0,   0,   1,   0,   1,   0,   0],
        [  0,  28,   0,   4,  24, 126,  85,   5,  12,  19,   7,   4,   0,   2,   1,   0,   0,   2,   5,   2],
        [  0,  41,   0,   3,   8,  31,  77, 124,   8,   1,   4,  12,   7,   0,   1,   1,   1,   1,   2,   4],
        [  0,  34,   0,   0,   7,  16,  20,  55, 125,  28,   3,   1,   3,   8,   7,   4,   2,   1,   9,   4],
        [  0,   0,  55,   2,  10,   7,  26,  20,  25,  95,  53,   3,   1,   1,   1,   5,   5,   7,   2,   8],
        [  0,   0,  44,   1,   2,  18,  18,  11,  16,  24,  96,  61,   6,   1,   1,   1,   2,   4,   8,  13],
        [  0,   0,  43,   1,   4,   4,  14,  12,  15,  15,  23,  67,  69,  18,   3,   2,   2,   1,  14,  19],
        [  0,   0,  52,   1,   1,   2,   1,  11,   7,  23,  27,  24,  32,  51,  48,  11,   3,   1,   8,  23],
        [  0,   0,  42,   2,   4,   8,   8,   4,   8,  14,  15,  20,  31,  21,  38,  60,  22,   6,   4,  20],
        [  0,   0,  44,   0,   5,   1,  11,   3,  10,   9,   6,  14,  21,  20,  21,  44,  62,  22,   4,  29],
        [  0,   0,  37,   1,   8,   2,   9,   6,   9,  10,  14,  12,  23,  20,  28,  36,  22,  57,  10,  23],
        [  0,   0,  10,  17,   3,   9,  10,  13,  17,  10,  10,  18,  22,  19,  21,  25,  29,  31,  36,  26],
        [  0,   0,   0,  22,   1,  13,   6,   6,  13,  10,  12,  11,  15,  29,  23,  28,  33,  42,  44,  18],
        [  0,   0,   0,  18,   4,   5,   9,   6,   7,  11,  11,   7,   9,  25,  29,  32,  38,  44,  48,  24],
        [  0,   0,   0,  20,   2,   6,   4,  11,  11,   9,  15,  18,  20,  24,  32,  30,  34,  30,  33,  27],
        [  0,   0,   0,  20,   3,   4,   6,  15,  15,   9,  12,  18,  23,  30,  27,  13,  32,  32,  41,  27],
        [  0,   0,   0,  18,   0,   5,   7,  11,  12,  17,   6,  23,  27,  44,  29,  18,  24,  18,  31,  36],
        [  0,   0,   0,  77,  10,   8,  11,   8,  10,  22,  12,  13,  18,  13,  16,  16,  15,  27,  27,  23],
    ],
    "DC": [
        [52,  8,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  0,  0,  0],
        [ 0, 52,  8,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0],
        [ 2,  0, 49,  9,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0],
        [ 1,  0,  3, 24, 20, 11,  2,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0],
        [ 0,  0,  0,  8, 15, 17,  5,  3,  2,  3,  3,  4,  0,  0,  0,  0,  0,  0,  0,  0],
        [ 0,  0,  0,  5, 10,  7,  7, 12,  6,  2,  2,  3,  6,  0,  0,  0,  0,  0,  0,  0],
        [ 0,  0,  0,  4,  5,  8, 13,  4,  4,  2,  6,  3,  2, 10,  0,  0,  0,  0,  0,  0],
        [ 0,  0,  0,  5,  2,  5, 12,  8, 10,  1,  3,  5,  1,  5,  3,  0,  0,  0,  0,  0],
        [ 1,  0,  0,  3,  2,  2,  9, 15,  1,  7,  1,  1,  6,  5,  7,  0,  0,  0,  0,  0],
        [ 0,  0,  0,  3,  2,  1,  6,  5,  6,  2,  4,  7,  5,  9,  3,  7,  0,  0,  0,  0],
        [ 0,  0,  0,  0,  2,  2,  0,  6, 11, 16,  3,  5,  4,  4,  3,  3,  2,  0,  0,  0],
        [ 0,  0,  0,  0,  0,  0,  1,  0,  6, 14, 14,  6,  4,  5,  2,  5,  3,  0,  0,  0],
        [ 0,  0,  0,  0,  0,  0,  1,  2,  6,  6, 13, 11, 10,  3,  2,  1,  4,  1,  0,  0],
        [ 0,  0,  0,  0,  1,  1,  0,  0,  4,  4,  8,  6,  9,  7,  6,  4,  6,  5,  0,  0],
        [ 0,  0,  0,  0,  0,  4,  1,  2,  2,  3,  3,  3,  3,  1, 11, 10,  5, 10,  2,  0],
        [ 0,  0,  0,  0,  1,  1,  2,  1,  1,  0,  1,  2,  6,  2, 10, 12, 11,  5,  5,  0],
        [ 0,  0,  0,  0,  0,  0,  2,  1,  0,  0,  0,  3,  1,  2,  3,  5, 14, 15, 11,  4],
        [ 0,  0,  0,  0,  0,  1,  0,  1,  0,  0,  0,  1,  1,  5,  6,  4,  5, 13, 16,  7],
        [ 0,  0,  0,  0,  0,  0,  0,  0,  1,  0,  0,  0,  1,  2,  3,  7,  9,  8, 16, 13],
        [ 5,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  1,  0,  1,  2,  2,  3, 10, 36],
    ],
}

# --------------------------------------------------------------------------------------
# Shape of the generated platform
# --------------------------------------------------------------------------------------

SPAN_START = _dt.date(2024, 1, 1)
SPAN_DAYS = 731  # 2024-01-01 .. 2025-12-31

# country, currency, time zone, currency units per EUR, minor units
COUNTRIES = [
    ("FI", "EUR", "Europe/Helsinki", 1.0, 2),
    ("SE", "SEK", "Europe/Stockholm", 11.5, 2),
    ("NO", "NOK", "Europe/Oslo", 11.7, 2),
    ("IS", "ISK", "Atlantic/Reykjavik", 150.0, 0),
    ("EE", "EUR", "Europe/Tallinn", 1.0, 2),
    ("DK", "DKK", "Europe/Copenhagen", 7.46, 2),
]

ORG_NAMES = {
    "FI": ["Aurora Lataus Oy", "Kaleva Sähkö Oy", "Saaristo Energia Oy"],
    "SE": ["Norrsken Laddning AB", "Skärgårdens El AB", "Vättern Kraft AB"],
    "NO": ["Fjordlading AS", "Nordlys Energi AS", "Vestland Ladenett AS"],
    "IS": ["Hleðsla Reykjavíkur ehf", "Orkubú Suðurnesja ehf", "Norðurljós Orka ehf"],
    "EE": ["Tallinna Laadimisvõrk OÜ", "Peipsi Energia AS", "Saaremaa Elekter OÜ"],
    "DK": ["Øresund Ladenet ApS", "Jyllands Opladning A/S", "Fyns Elbil ApS"],
}

STREETS = {
    "FI": ["Puutarhakatu", "Hämeenkatu", "Aurakatu", "Linnankatu", "Yliopistonkatu",
           "Eerikinkatu", "Mannerheimintie", "Hatanpään valtatie"],
    "SE": ["Drottninggatan", "Storgatan", "Kungsgatan", "Sveavägen", "Vasagatan"],
    "NO": ["Karl Johans gate", "Storgata", "Kirkegata", "Bogstadveien", "Thorvald Meyers gate"],
    "IS": ["Laugavegur", "Hverfisgata", "Skólavörðustígur", "Borgartún", "Suðurlandsbraut"],
    "EE": ["Narva mnt", "Pärnu mnt", "Tartu mnt", "Viru väljak", "Endla"],
    "DK": ["Strøget", "Vesterbrogade", "Nørrebrogade", "Østerbrogade", "Amagerbrogade"],
}

PROVIDERS = ["DE*8EO", "NL*TNM", "DE*BMW", "NL*ALF", "FI*PLG", "SE*CLE", "NO*ELB",
             "DK*CLE", "FR*MOB", "AT*SMA"]

OTHER_NETWORK = "chargepoint_eu"

# Every block of PLANT_PERIOD session IDs holds these records at these offsets; the other
# offsets are ordinary sessions.  A counter-charge cancels the session just before it.
PLANT_PERIOD = 1000
PLANTED = {
    0: "cancelled",  # an ordinary billed session, cancelled by the next one
    1: "counter_charge",
    3: "meter_backwards",
    5: "unknown_station",
    7: "stop_before_start",
    9: "across_midnight",
    11: "across_month_end",
    13: "across_dst_autumn",  # 2024-10-27, Europe/Helsinki
    14: "across_dst_spring",  # 2025-03-30, Europe/Helsinki
    15: "fi_before_vat_change",  # 2024-08-31 evening, Helsinki (24 %)
    17: "fi_after_vat_change",  # 2024-09-01 small hours, Helsinki (25.5 %), still Aug 31 in UTC
    19: "ee_before_vat_change",  # 2025-06-30 evening, Tallinn (22 %)
    21: "ee_after_vat_change",  # 2025-07-01 small hours, Tallinn (24 %)
    23: "ee_new_year_2024",  # 2024-01-01 before 02:00, Tallinn (22 %), still 2023 in UTC
    25: "no_transaction_id",
    27: "duplicate_versions",  # both versions arrive twice, in another file
    29: "ongoing",  # only the start version
    31: "other_roaming_network",
    33: "free_but_priced",
    34: "free_usage",
    35: "roaming_without_network_evse_id",  # hubject at a station hubject has no ID for
    36: "roaming_hubject",
    37: "roaming_gireve",
    38: "roaming_ocpi",
    41: "stopped_not_billed",  # latest version has a stop but no price
    43: "stopped_then_billed",  # three versions, the billed one arrives late
}
_SLOT = {name: slot for slot, name in PLANTED.items()}

# Version kinds
_NORMAL, _ONGOING, _STOPPED_UNBILLED, _STOP_THEN_BILL = 0, 1, 2, 3

_SESSION_COLUMNS = [
    "charge_id", "station_id", "created_at", "start_time", "stop_time", "meter_start_wh",
    "meter_stop_wh", "price", "charge_method", "billing_type", "roaming_network",
    "operator_id", "provider_id", "transaction_id", "counter_charge_of", "updated_at",
]
_TS_COLUMNS = {"created_at", "start_time", "stop_time", "updated_at"}

# The late CSV lists its columns in another order, as a different export would.
_LATE_CSV_COLUMNS = [
    "charge_id", "updated_at", "station_id", "start_time", "stop_time", "meter_start_wh",
    "meter_stop_wh", "price", "transaction_id", "charge_method", "billing_type",
    "roaming_network", "operator_id", "provider_id", "counter_charge_of", "created_at",
]

TABLES = [
    "organisations", "stations", "station_roaming_ids", "station_settings_log",
    "charging_sessions", "revenue_share_agreements",
]


def scale(sessions: int) -> dict:
    """Number of stations and organisations for a given number of sessions.

    About 500 sessions per station and year (the span is two years), 150 stations per
    organisation; never fewer than 60 stations and 8 organisations.
    """
    stations = max(60, sessions // 1000)
    orgs = max(8, stations // 150)
    return {"stations": stations, "organisations": orgs}


CHARGE_ID_BASE = 1_000_000_000


def charge_id(i: int) -> str:
    """The charge ID of session number i (0-based)."""
    return str(CHARGE_ID_BASE + i)


def planted_kind(charge_id_: str) -> str | None:
    """The planted case a charge ID carries, or None for an ordinary session."""
    return PLANTED.get((int(charge_id_) - CHARGE_ID_BASE) % PLANT_PERIOD)


# --------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------


def _sql_list(values) -> str:
    def lit(v):
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(v)

    return "[" + ", ".join(lit(v) for v in values) + "]"


def _lookup(weights: list[int]) -> list[int]:
    # One entry per reference session: indexing it with floor(u * len) draws an index
    # (hour, cell) with exactly the reference frequencies.
    return [h for h, w in enumerate(weights) for _ in range(w)]


def _macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    seed = int(seed)
    # hash() combines its arguments with a weak mix, so streams of the same row would be
    # correlated; hashing the combined value again decorrelates them.
    con.execute(f"CREATE OR REPLACE MACRO hx(i, s) AS hash(hash({seed}, i, s))")
    con.execute(
        "CREATE OR REPLACE MACRO u(i, s) AS "
        "(hx(i, s) >> 11)::DOUBLE / 9007199254740992.0"
    )
    # Text form of an instant for CSV/NDJSON: 0 = with the local offset, 1 = 'Z',
    # 2 = naive UTC.
    con.execute(
        "CREATE OR REPLACE MACRO fmt_ts(ts, tz, style) AS CASE "
        "WHEN ts IS NULL THEN NULL "
        "WHEN style = 0 THEN strftime(timezone(tz, ts), '%Y-%m-%dT%H:%M:%S') || "
        "  CASE WHEN date_diff('minute', ts::TIMESTAMP, timezone(tz, ts)) < 0 THEN '-' ELSE '+' END || "
        "  lpad((abs(date_diff('minute', ts::TIMESTAMP, timezone(tz, ts))) // 60)::VARCHAR, 2, '0') || ':' || "
        "  lpad((abs(date_diff('minute', ts::TIMESTAMP, timezone(tz, ts))) % 60)::VARCHAR, 2, '0') "
        "WHEN style = 1 THEN strftime(ts, '%Y-%m-%dT%H:%M:%SZ') "
        "ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S') END"
    )


def _org_sql(n_orgs: int) -> str:
    countries = _sql_list([c[0] for c in COUNTRIES])
    currencies = _sql_list([c[1] for c in COUNTRIES])
    tzs = _sql_list([c[2] for c in COUNTRIES])
    fxs = _sql_list([c[3] for c in COUNTRIES])
    minors = _sql_list([c[4] for c in COUNTRIES])
    names = "[" + ", ".join(_sql_list(ORG_NAMES[c[0]]) for c in COUNTRIES) + "]"
    per = len(ORG_NAMES["FI"])
    # Operator codes: a bijection of 0..26^3-1, chosen so that the first one is VIR.
    return f"""
    CREATE OR REPLACE TABLE org AS
    WITH b AS (
        SELECT j, (j % 6)::INTEGER + 1 AS c, ((j * 7919 + 14421) % 17576)::INTEGER AS code
        FROM range({n_orgs}) t(j)
    )
    SELECT
        j,
        'ORG' || lpad((j + 1)::VARCHAR, 5, '0') AS organisation_id,
        {names}[c][((j // 6) % {per})::INTEGER + 1]
            || CASE WHEN j >= {6 * per} THEN ' ' || (j // {6 * per} + 1)::VARCHAR ELSE '' END AS name,
        {countries}[c] AS country,
        {currencies}[c] AS currency,
        {tzs}[c] AS timezone,
        CASE WHEN j = 7 THEN false WHEN j < 7 THEN true ELSE u(j, 101) >= 0.25 END AS is_public,
        chr(65 + (code // 676)) || chr(65 + (code // 26) % 26) || chr(65 + code % 26) AS opcode,
        {fxs}[c] AS fx,
        {minors}[c] AS minor,
        0.25 + 0.20 * u(j, 102) AS p_ac,
        0.45 + 0.30 * u(j, 103) AS p_dc,
        CASE WHEN u(j, 104) < 0.35 THEN 0.50 + 0.50 * u(j, 105) ELSE 0 END AS fee,
        TIMESTAMPTZ '2022-01-01 00:00:00+00' + to_seconds((u(j, 106) * 600 * 86400)::BIGINT) AS updated_at,
        j % 3 = 1 AS renamed,
        TIMESTAMPTZ '2024-06-01 00:00:00+00' + to_seconds((u(j, 107) * 500 * 86400)::BIGINT) AS renamed_at
    FROM b
    """


def _station_sql(n_st: int, n_orgs: int, sessions: int) -> str:
    streets = "[" + ", ".join(_sql_list(STREETS[c[0]]) for c in COUNTRIES) + "]"
    streets_len = _sql_list([len(STREETS[c[0]]) for c in COUNTRIES])
    countries = _sql_list([c[0] for c in COUNTRIES])
    # Average Wh a station's meter advances per second over the span.
    rate = sessions / n_st * 9000.0 / (SPAN_DAYS * 86400.0)
    return f"""
    CREATE OR REPLACE TABLE st AS
    WITH b AS (
        SELECT k,
            CASE WHEN k < {4 * n_orgs} THEN k % {n_orgs}
                 ELSE least(floor({n_orgs} * pow(u(k, 201), 1.5))::BIGINT, {n_orgs - 1}) END AS j
        FROM range({n_st}) t(k)
    ), c AS (
        SELECT b.k, org.*,
            CASE WHEN k = 0 THEN 'AC' WHEN k = 1 THEN 'DC'
                 WHEN u(k, 202) < 0.15 THEN 'DC' ELSE 'AC' END AS current_type,
            CASE WHEN k IN (0, 1, 3, 5) THEN 'public' WHEN k = 2 THEN 'office' WHEN k = 4 THEN 'home'
                 WHEN NOT org.is_public THEN CASE WHEN u(k, 203) < 0.7 THEN 'office' ELSE 'home' END
                 WHEN u(k, 203) < 0.65 THEN 'public' WHEN u(k, 203) < 0.85 THEN 'office'
                 ELSE 'home' END AS location_type,
            list_position({countries}, org.country) AS ci
        FROM b JOIN org USING (j)
    ), d AS (
        SELECT *,
            CASE WHEN k IN (0, 1, 3) THEN true WHEN k IN (2, 4, 5) THEN false
                 ELSE location_type = 'public' AND u(k, 204) < 0.8 END AS roaming,
            CASE WHEN k = 2 THEN true WHEN k IN (0, 1, 3, 4, 5) THEN false
                 ELSE u(k, 205) < 0.10 END AS has_free
        FROM c
    ), e AS (
        SELECT *,
            CASE WHEN k = 2 THEN TIMESTAMPTZ '2023-05-02 07:12:40+00'
                 WHEN has_free THEN TIMESTAMPTZ '2023-09-01 00:00:00+00'
                      + to_seconds((u(k, 206) * 700 * 86400)::BIGINT) END AS f1,
            roaming AND k <> 3 AND (k IN (0, 1) OR u(k, 211) >= 0.15) AS net_hubject,
            roaming AND (k IN (0, 1, 3) OR u(k, 212) >= 0.15) AS net_gireve,
            roaming AND (k IN (0, 1, 3) OR u(k, 213) >= 0.15) AS net_ocpi
        FROM d
    ), f AS (
        SELECT *,
            CASE WHEN k <> 2 AND has_free AND u(k, 207) < 0.7
                 THEN f1 + to_seconds((86400 * (20 + 380 * u(k, 208)))::BIGINT) END AS f2
        FROM e
    )
    SELECT
        k,
        (10000 + k)::VARCHAR AS station_id,
        country || '*' || opcode || '*E' || lpad((k + 1)::VARCHAR, 6, '0') || '*'
            || (1 + hx(k, 234) % 2)::VARCHAR AS evse_id,
        {streets}[ci][(hx(k, 209) % {streets_len}[ci])::INTEGER + 1] || ' ' || (1 + hx(k, 210) % 80)::VARCHAR AS name,
        organisation_id, j, current_type, location_type, country, opcode, timezone, fx, minor,
        CASE WHEN current_type = 'AC' THEN p_ac ELSE p_dc END AS p_kwh, fee,
        roaming, net_hubject, net_gireve, net_ocpi,
        has_free, f1, f2,
        CASE WHEN f2 IS NOT NULL AND u(k, 214) < 0.4
             THEN f2 + to_seconds((86400 * (10 + 290 * u(k, 215)))::BIGINT) END AS f3,
        has_free AND f1 < TIMESTAMPTZ '2024-01-01 00:00:00+00' AND f2 IS NULL AS always_free,
        TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds((u(k, 216) * 360 * 86400)::BIGINT) AS updated_at,
        k = 5 OR u(k, 217) < 0.05 AS changed,
        TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_seconds((u(k, 218) * 600 * 86400)::BIGINT) AS changed_at,
        (1000000 + hx(k, 219) % 49000000)::BIGINT AS meter_base,
        {rate} * (0.5 + u(k, 220)) AS meter_rate
    FROM f
    """


def _write_small_tables(con, out: Path) -> dict:
    counts = {}

    def copy(sql: str, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        return con.execute(f"COPY ({sql}) TO '{path.as_posix()}' (FORMAT csv, HEADER)").fetchone()[0]

    # Organisations: first versions, then a later export with the renamed ones and some
    # unchanged rows sent again.
    org_cols = """organisation_id, name, country, currency, timezone,
        CASE WHEN is_public THEN 'true' ELSE 'false' END AS is_public"""
    n = copy(f"SELECT {org_cols}, fmt_ts(updated_at, timezone, (hx(j, 120) % 3)::INTEGER) AS updated_at "
             f"FROM org ORDER BY j", out / "organisations" / "organisations.csv")
    n += copy(f"""
        SELECT * EXCLUDE (j, v) FROM (
            SELECT j, 0 AS v, organisation_id,
                regexp_replace(name, ' (Oy|AB|AS|ehf|OÜ|ApS|A/S)$', ' Charging \\1') AS name,
                country, currency, timezone,
                CASE WHEN is_public THEN 'true' ELSE 'false' END AS is_public,
                fmt_ts(renamed_at, timezone, (hx(j, 121) % 3)::INTEGER) AS updated_at
            FROM org WHERE renamed
            UNION ALL
            SELECT j, 1 AS v, {org_cols}, fmt_ts(updated_at, timezone, (hx(j, 120) % 3)::INTEGER)
            FROM org WHERE j % 5 = 2
        ) ORDER BY j, v""", out / "organisations" / "organisations_2025.csv")
    counts["organisations"] = n

    st_cols = "station_id, evse_id, name, organisation_id, current_type, location_type"
    n = copy(f"SELECT {st_cols}, fmt_ts(updated_at, timezone, (hx(k, 230) % 3)::INTEGER) AS updated_at "
             f"FROM st ORDER BY k", out / "stations" / "stations.csv")
    # Later versions: renamed or relocated stations; and a few rows sent again unchanged.
    n += copy(f"""
        SELECT * EXCLUDE (k, v) FROM (
            SELECT k, 0 AS v, station_id, evse_id,
                CASE WHEN hx(k, 231) % 2 = 0 THEN name || ' B' ELSE name END AS name,
                organisation_id, current_type,
                CASE WHEN hx(k, 231) % 2 = 1
                     THEN CASE location_type WHEN 'public' THEN 'office' ELSE 'public' END
                     ELSE location_type END AS location_type,
                fmt_ts(changed_at, timezone, (hx(k, 232) % 3)::INTEGER) AS updated_at
            FROM st WHERE changed
            UNION ALL
            SELECT k, 1, {st_cols}, fmt_ts(updated_at, timezone, (hx(k, 230) % 3)::INTEGER)
            FROM st WHERE u(k, 233) < 0.01
        ) ORDER BY k, v""", out / "stations" / "stations_changes.csv")
    counts["stations"] = n

    counts["station_roaming_ids"] = copy("""
        SELECT station_id, network, evse_id FROM (
            SELECT k, 1 AS o, station_id, 'hubject' AS network,
                   replace(evse_id, '*E', '*EHUB') AS evse_id
            FROM st WHERE net_hubject
            UNION ALL
            SELECT k, 2, station_id, 'gireve', replace(evse_id, '*', '') FROM st WHERE net_gireve
            UNION ALL
            SELECT k, 3, station_id, 'ocpi', regexp_replace(evse_id, '\\*[0-9]+$', '')
            FROM st WHERE net_ocpi
        ) ORDER BY k, o""", out / "station_roaming_ids" / "station_roaming_ids.csv")

    # Settings log: free_usage switched on (f1), off (f2), on again (f3); an explicit
    # 'false' before the first switch for some; and max_power changes, to be ignored.
    counts["station_settings_log"] = copy("""
        SELECT station_id, setting, value, fmt_ts(changed_at, timezone, (hx(k, o + 250) % 3)::INTEGER) AS changed_at
        FROM (
            SELECT k, 0 AS o, station_id, timezone, 'free_usage' AS setting, 'false' AS value,
                   f1 - to_seconds((86400 * (30 + 200 * u(k, 241)))::BIGINT) AS changed_at
            FROM st WHERE has_free AND u(k, 242) < 0.3
            UNION ALL SELECT k, 1, station_id, timezone, 'free_usage', 'true', f1 FROM st WHERE has_free
            UNION ALL SELECT k, 2, station_id, timezone, 'free_usage', 'false', f2 FROM st WHERE f2 IS NOT NULL
            UNION ALL SELECT k, 3, station_id, timezone, 'free_usage', 'true', f3 FROM st WHERE f3 IS NOT NULL
            UNION ALL
            SELECT k, 4, station_id, timezone, 'max_power',
                   CASE WHEN current_type = 'DC' THEN '150' WHEN hx(k, 243) % 2 = 0 THEN '11' ELSE '22' END,
                   TIMESTAMPTZ '2023-06-01 00:00:00+00' + to_seconds((u(k, 244) * 900 * 86400)::BIGINT)
            FROM st WHERE k = 0 OR u(k, 245) < 0.05
        ) ORDER BY k, changed_at, o""", out / "station_settings_log" / "station_settings_log.csv")

    # Revenue share: one or two rows per organisation; none for every 50th from the 6th
    # on; from 2024-04-01 only (nothing valid before) for every 50th from the 8th on.
    counts["revenue_share_agreements"] = copy("""
        SELECT organisation_id, strftime(valid_from, '%Y-%m-%d') AS valid_from,
               cpo_share_pct::DECIMAL(5, 2) AS cpo_share_pct
        FROM (
            SELECT j, 0 AS o, organisation_id,
                   CASE WHEN j % 50 = 7 THEN DATE '2024-04-01' ELSE DATE '2023-01-01' END AS valid_from,
                   70 + round(u(j, 130) * 50) / 2 AS cpo_share_pct
            FROM org WHERE j % 50 <> 5
            UNION ALL
            SELECT j, 1, organisation_id,
                   CASE WHEN j = 0 THEN DATE '2025-01-01'
                        ELSE DATE '2024-03-01' + (u(j, 131) * 600)::INTEGER END,
                   70 + round(u(j, 130) * 50) / 2 + CASE WHEN u(j, 132) < 0.5 THEN -2.5 ELSE 5 END
            FROM org WHERE j % 50 <> 5 AND (j = 0 OR u(j, 133) < 0.5)
        ) ORDER BY j, o""", out / "revenue_share_agreements" / "revenue_share_agreements.csv")
    return counts


def _constants_sql() -> str:
    """The sampling tables as one row of lists (kept out of the query text, which
    would otherwise be parsed and planned again for every file)."""
    return f"""
    CREATE OR REPLACE TABLE cst AS SELECT
        {_sql_list(_lookup(HOUR_WEIGHTS["AC"]))}::INTEGER[] AS hac,
        {_sql_list(_lookup(HOUR_WEIGHTS["DC"]))}::INTEGER[] AS hdc,
        {_sql_list(_lookup([c for row in RANK_CELLS["AC"] for c in row]))}::INTEGER[] AS cac,
        {_sql_list(_lookup([c for row in RANK_CELLS["DC"] for c in row]))}::INTEGER[] AS cdc,
        {_sql_list(DURATION_MIN_QUANTILES["AC"])}::DOUBLE[] AS qd_ac,
        {_sql_list(DURATION_MIN_QUANTILES["DC"])}::DOUBLE[] AS qd_dc,
        {_sql_list(ENERGY_WH_QUANTILES["AC"])}::DOUBLE[] AS qe_ac,
        {_sql_list(ENERGY_WH_QUANTILES["DC"])}::DOUBLE[] AS qe_dc,
        {_sql_list([p in PLANTED for p in range(PLANT_PERIOD)]).replace("True", "true").replace("False", "false")}::BOOLEAN[] AS pmask
    """


def _session_sql(base: str, n: int, n_st: int, n_orgs: int) -> str:
    """All fields of the sessions whose row numbers `base` yields (column i), one row per
    session, before they are split into versions.  Each step is its own CTE so that
    every pseudo-random value is computed once."""
    s = _SLOT
    P = PLANT_PERIOD
    K = QUANTILE_STEPS
    n_hac = sum(HOUR_WEIGHTS["AC"])
    n_hdc = sum(HOUR_WEIGHTS["DC"])
    n_cac = sum(map(sum, RANK_CELLS["AC"]))
    n_cdc = sum(map(sum, RANK_CELLS["DC"]))
    B = RANK_BINS
    priced = ", ".join(str(s[k]) for k in (
        "cancelled", "free_but_priced", "fi_before_vat_change", "fi_after_vat_change",
        "ee_before_vat_change", "ee_after_vat_change", "ee_new_year_2024"))
    providers = _sql_list(PROVIDERS)

    def ep(ts: str) -> str:  # epoch seconds of a local wall-clock time
        d = _dt.datetime.fromisoformat(ts)
        return str(int((d - _dt.datetime(1970, 1, 1)).total_seconds()))

    def pick(lst: str) -> str:
        return f"pk.{lst}[(h_pick % len(pk.{lst}))::INTEGER + 1]"

    def interp(q: str, pos: str) -> str:
        j = f"floor({pos})::INTEGER"
        return f"({q}[{j} + 1] + ({pos} - {j}) * ({q}[least({j} + 2, {K + 1})] - {q}[{j} + 1]))"

    span0 = ep(SPAN_START.isoformat() + "T00:00:00")
    return f"""
    WITH pk AS (
        SELECT
            list(k ORDER BY k) FILTER (WHERE NOT has_free) AS nofree,
            list(k ORDER BY k) FILTER (WHERE NOT has_free AND country = 'FI') AS fi,
            list(k ORDER BY k) FILTER (WHERE NOT has_free AND country = 'EE') AS ee,
            list(k ORDER BY k) FILTER (WHERE always_free) AS free,
            list(k ORDER BY k) FILTER (WHERE roaming AND NOT net_hubject) AS nohub,
            list(k ORDER BY k) FILTER (WHERE net_hubject AND net_gireve AND net_ocpi) AS allnet,
            list(k ORDER BY k) FILTER (WHERE roaming) AS roam
        FROM st
    ),
    b AS (
        SELECT i,
            (i % {P})::INTEGER AS slot,
            CASE WHEN i % {P} = {s['counter_charge']} THEN i - 1 ELSE i END AS src
        FROM ({base})
    ),
    c AS (
        SELECT b.*,
            (src % {P})::INTEGER AS sslot,
            u(src, 1) AS u_kind, u(src, 2) AS u_route, u(src, 3) AS u_dup,
            u(src, 10) AS u_station, hx(src, 11) AS h_pick,
            DATE '{SPAN_START.isoformat()}' + ((src * {SPAN_DAYS}) // {n})::INTEGER AS day
        FROM b
    ),
    c2 AS (
        SELECT c.*, cst.pmask[sslot + 1] AS planted FROM c CROSS JOIN cst
    ),
    c3 AS (
        SELECT c2.*,
            CASE
                WHEN sslot = {s['ongoing']} THEN {_ONGOING}
                WHEN sslot = {s['stopped_not_billed']} THEN {_STOPPED_UNBILLED}
                WHEN sslot = {s['stopped_then_billed']} THEN {_STOP_THEN_BILL}
                WHEN planted THEN {_NORMAL}
                WHEN u_kind < 0.005 THEN {_ONGOING}
                WHEN u_kind < 0.008 THEN {_STOPPED_UNBILLED}
                WHEN u_kind < 0.020 THEN {_STOP_THEN_BILL}
                ELSE {_NORMAL}
            END AS kind
        FROM c2
    ),
    c4 AS (
        SELECT c3.*,
            -- where the billed version lands: 0 parquet, 1 late CSV, 2 late NDJSON
            CASE WHEN kind = {_STOP_THEN_BILL} THEN 1 WHEN planted THEN 0
                 WHEN u_route < 0.010 THEN 1 WHEN u_route < 0.016 THEN 2 ELSE 0 END AS route
        FROM c3
    ),
    c5 AS (
        SELECT c4.*,
            -- both versions sent a second time
            sslot = {s['duplicate_versions']}
                OR (NOT planted AND kind = {_NORMAL} AND route = 0 AND u_dup < 0.002) AS dup,
            CASE sslot
                WHEN {s['cancelled']} THEN {pick('nofree')}
                WHEN {s['unknown_station']} THEN -1
                WHEN {s['across_dst_autumn']} THEN {pick('fi')}
                WHEN {s['across_dst_spring']} THEN {pick('fi')}
                WHEN {s['fi_before_vat_change']} THEN {pick('fi')}
                WHEN {s['fi_after_vat_change']} THEN {pick('fi')}
                WHEN {s['ee_before_vat_change']} THEN {pick('ee')}
                WHEN {s['ee_after_vat_change']} THEN {pick('ee')}
                WHEN {s['ee_new_year_2024']} THEN {pick('ee')}
                WHEN {s['free_but_priced']} THEN {pick('free')}
                WHEN {s['free_usage']} THEN {pick('free')}
                WHEN {s['roaming_without_network_evse_id']} THEN {pick('nohub')}
                WHEN {s['other_roaming_network']} THEN {pick('roam')}
                WHEN {s['roaming_hubject']} THEN {pick('allnet')}
                WHEN {s['roaming_gireve']} THEN {pick('allnet')}
                WHEN {s['roaming_ocpi']} THEN {pick('allnet')}
                ELSE least(floor(u_station * {n_st})::BIGINT, {n_st - 1})
            END AS sidx
        FROM c4 CROSS JOIN pk
    ),
    d AS (
        SELECT c5.*,
            coalesce(st.station_id, ({10000 + n_st + 1000000} + src // {P})::VARCHAR) AS station_id,
            coalesce(st.current_type, 'AC') AS ct,
            coalesce(st.timezone, 'Europe/Helsinki') AS tz,
            coalesce(st.country, 'FI') AS country, st.opcode,
            coalesce(st.fx, 1.0) AS fx, coalesce(st.minor, 2) AS minor,
            coalesce(st.p_kwh, 0.35) AS p_kwh, coalesce(st.fee, 0) AS fee,
            coalesce(st.roaming, false) AS st_roaming,
            st.f1, st.f2, st.f3,
            coalesce(st.meter_base, 1000000) AS meter_base, coalesce(st.meter_rate, 0.01) AS meter_rate,
            u(src, 12) AS u_dur, u(src, 13) AS u_sec, u(src, 14) AS u_hour, u(src, 15) AS u_len,
            u(src, 16) AS u_back, u(src, 17) AS u_w, u(src, 18) AS u_roam, u(src, 19) AS u_net,
            u(src, 20) AS u_m, u(src, 21) AS u_b, u(src, 29) AS u_dj, hx(src, 22) AS h_prov, u(src, 23) AS u_tx,
            hx(src, 24) AS h_tx, u(src, 25) AS u_fp, u(src, 26) AS u_upd, u(src, 27) AS u_late
        FROM c5 LEFT JOIN st ON st.k = c5.sidx
    ),
    e AS (
        -- the sampling tables join here, after the hash join: an operator that
        -- materialises its input would copy the lists into every row
        SELECT d.*, cst.hac, cst.hdc, cst.cac, cst.cdc, cst.qd_ac, cst.qd_dc, cst.qe_ac, cst.qe_dc,
            -- local wall-clock start, epoch seconds
            CASE sslot
                WHEN {s['across_midnight']} THEN epoch(day)::BIGINT + 23 * 3600 + (u_sec * 3000)::BIGINT
                WHEN {s['across_month_end']} THEN epoch(last_day(day))::BIGINT + 22 * 3600 + (u_sec * 5400)::BIGINT
                WHEN {s['across_dst_autumn']} THEN {ep('2024-10-27T02:00:00')} + (u_sec * 3300)::BIGINT
                WHEN {s['across_dst_spring']} THEN {ep('2025-03-30T01:30:00')} + (u_sec * 4800)::BIGINT
                WHEN {s['fi_before_vat_change']} THEN {ep('2024-08-31T21:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['fi_after_vat_change']} THEN {ep('2024-09-01T00:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['ee_before_vat_change']} THEN {ep('2025-06-30T21:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['ee_after_vat_change']} THEN {ep('2025-07-01T00:00:00')} + (u_sec * 10500)::BIGINT
                WHEN {s['ee_new_year_2024']} THEN {ep('2024-01-01T00:00:00')} + (u_sec * 7000)::BIGINT
                ELSE epoch(day)::BIGINT + (u_sec * 3600)::BIGINT + 3600 * CASE WHEN ct = 'AC'
                    THEN hac[floor(u_hour * {n_hac})::INTEGER + 1]
                    ELSE hdc[floor(u_hour * {n_hdc})::INTEGER + 1] END
            END AS local_epoch,
            CASE WHEN ct = 'AC' THEN cac[floor(u_dur * {n_cac})::INTEGER + 1]
                 ELSE cdc[floor(u_dur * {n_cdc})::INTEGER + 1] END AS cell,
            CASE
                WHEN sslot = {s['other_roaming_network']} THEN '{OTHER_NETWORK}'
                WHEN sslot IN ({s['roaming_without_network_evse_id']}, {s['roaming_hubject']}) THEN 'hubject'
                WHEN sslot = {s['roaming_gireve']} THEN 'gireve'
                WHEN sslot = {s['roaming_ocpi']} THEN 'ocpi'
                WHEN NOT planted AND st_roaming AND u_roam < 0.27 THEN
                    CASE WHEN u_net < 0.45 THEN 'hubject' WHEN u_net < 0.65 THEN 'gireve'
                         WHEN u_net < 0.985 THEN 'ocpi' ELSE '{OTHER_NETWORK}' END
            END AS roaming_network
        FROM d CROSS JOIN cst
    ),
    e2 AS (
        SELECT e.*,
            {K} * (cell // {B} + u_dj) / {B} AS pos_d,
            least((cell % {B} + u_w) / {B}, 0.999999999) AS v_e,
            timezone(tz, make_timestamp(local_epoch * 1000000)) AS start_time,
            meter_base + (meter_rate * (local_epoch - {span0}))::BIGINT AS meter_start,
            CASE
                WHEN roaming_network IS NOT NULL THEN CASE WHEN u_m < 0.7 THEN 'rfid' ELSE 'app' END
                WHEN planted THEN CASE WHEN u_m < 0.5 THEN 'app' WHEN u_m < 0.65 THEN 'onetime' ELSE 'rfid' END
                WHEN u_m < 0.45 THEN 'app' WHEN u_m < 0.60 THEN 'onetime'
                WHEN u_m < 0.95 THEN 'rfid' ELSE 'admin' END AS charge_method
        FROM e
    ),
    e4 AS (
        SELECT e2.*,
            -- planted sessions that must carry a price get a real amount of energy
            {K} * CASE WHEN sslot IN ({priced}) THEN 0.4 + 0.6 * v_e
                       ELSE v_e END AS pos_e
        FROM e2
    ),
    f AS (
        SELECT e4.*,
            CASE sslot
                WHEN {s['stop_before_start']} THEN -(60 + (u_len * 7200)::BIGINT)
                WHEN {s['across_midnight']} THEN 4200 + (u_len * 13800)::BIGINT
                WHEN {s['across_month_end']} THEN 10800 + (u_len * 13200)::BIGINT
                WHEN {s['across_dst_autumn']} THEN 7200 + (u_len * 7200)::BIGINT
                WHEN {s['across_dst_spring']} THEN 5400 + (u_len * 6600)::BIGINT
                ELSE round(60 * CASE WHEN ct = 'AC' THEN {interp('qd_ac', 'pos_d')}
                                     ELSE {interp('qd_dc', 'pos_d')} END)::BIGINT
            END AS dur_s,
            CASE WHEN sslot = {s['meter_backwards']} THEN -(100 + (u_back * 4900)::BIGINT)
                 ELSE round(CASE WHEN ct = 'AC' THEN {interp('qe_ac', 'pos_e')}
                                 ELSE {interp('qe_dc', 'pos_e')} END)::BIGINT
            END AS energy
        FROM e4
    ),
    g AS (
        SELECT f.*,
            start_time + to_seconds(dur_s) AS stop_time,
            meter_start + energy AS meter_stop,
            CASE WHEN roaming_network IS NOT NULL OR charge_method = 'admin' THEN NULL
                 WHEN charge_method = 'onetime' THEN 'onetime'
                 WHEN charge_method = 'app' THEN
                     CASE WHEN u_b < 0.3 THEN 'prepaid' WHEN u_b < 0.7 THEN 'postpaid' ELSE 'postpaid_card' END
                 ELSE CASE WHEN u_b < 0.6 THEN 'postpaid' WHEN u_b < 0.8 THEN 'prepaid' ELSE 'postpaid_card' END
            END AS billing_type,
            CASE WHEN roaming_network IS NOT NULL THEN country || '*' || opcode END AS operator_id,
            CASE WHEN roaming_network IS NOT NULL THEN {providers}[(h_prov % {len(PROVIDERS)})::INTEGER + 1] END AS provider_id,
            CASE WHEN sslot = {s['no_transaction_id']} OR charge_method = 'admin'
                      OR (NOT planted AND u_tx < 0.025) THEN NULL
                 ELSE 'TX' || upper(printf('%016x', h_tx)) END AS transaction_id
        FROM f
    ),
    h AS (
        SELECT g.*,
            CASE WHEN charge_method = 'admin' THEN 0
                 WHEN ((f1 IS NOT NULL AND start_time >= f1 AND (f2 IS NULL OR start_time < f2))
                       OR (f3 IS NOT NULL AND start_time >= f3))
                      AND NOT (sslot = {s['free_but_priced']} OR (NOT planted AND u_fp < 0.03)) THEN 0
                 ELSE round((greatest(energy, 0) / 1000.0 * p_kwh + fee) * fx, minor)
            END::DECIMAL(12, 2) AS price,
            greatest(start_time, stop_time) AS done_at
        FROM g
    )
    SELECT
        i, slot, kind, route, dup, tz,
        {charge_id_sql('i')} AS charge_id,
        station_id,
        start_time AS created_at,
        start_time,
        stop_time,
        CASE WHEN slot = {s['counter_charge']} THEN meter_stop ELSE meter_start END AS meter_start_wh,
        CASE WHEN slot = {s['counter_charge']} THEN meter_start ELSE meter_stop END AS meter_stop_wh,
        CASE WHEN slot = {s['counter_charge']} THEN -price ELSE price END AS price,
        charge_method, billing_type, roaming_network, operator_id, provider_id, transaction_id,
        CASE WHEN slot = {s['counter_charge']} THEN {charge_id_sql('src')} END AS counter_charge_of,
        done_at + to_seconds(1 + (u_upd * 119)::BIGINT) AS upd_stop,
        CASE
            WHEN slot = {s['counter_charge']} THEN done_at + to_seconds(86400 + (u_upd * 13 * 86400)::BIGINT)
            WHEN route = 1 THEN done_at + to_seconds(86400 + (u_late * 4 * 86400)::BIGINT)
            WHEN route = 2 THEN done_at + to_seconds(3600 + (u_late * 47 * 3600)::BIGINT)
            ELSE done_at + to_seconds(5 + (u_late * 595)::BIGINT)
        END AS upd_billed,
        (hx(i, 28) % 3)::INTEGER AS ts_style
    FROM h
    """


def charge_id_sql(col: str) -> str:
    return f"({col} + {CHARGE_ID_BASE})::VARCHAR"


def _versions_sql(table: str, where: str) -> str:
    """Split the sessions of `table` into versions: 0 start, 1 stopped (no price),
    2 billed; keep the ones `where` selects."""
    return f"""
    SELECT
        charge_id, station_id, created_at, start_time,
        CASE WHEN ver = 0 THEN NULL ELSE stop_time END AS stop_time,
        meter_start_wh,
        CASE WHEN ver = 0 THEN NULL ELSE meter_stop_wh END AS meter_stop_wh,
        CASE WHEN ver = 2 THEN price END AS price,
        charge_method, billing_type, roaming_network, operator_id, provider_id, transaction_id,
        counter_charge_of,
        CASE ver WHEN 0 THEN start_time WHEN 1 THEN upd_stop ELSE upd_billed END AS updated_at,
        tz, ts_style, i, ver,
        CASE WHEN ver = 2 AND (route = 1 OR dup) THEN 1 ELSE 2 END AS dest
    FROM {table} AS s CROSS JOIN (VALUES (0), (1), (2)) t(ver)
    WHERE {where}
    """


def _text_select(columns: list[str]) -> str:
    out = []
    for c in columns:
        if c in _TS_COLUMNS:
            out.append(f"fmt_ts({c}, tz, ts_style) AS {c}")
        else:
            out.append(c)
    return ", ".join(out)


def generate(out_dir: str | Path, sessions: int, seed: int = 42) -> dict:
    """Write a raw landing zone for `sessions` charge IDs into out_dir.

    Returns the number of rows written per table (for charging_sessions: versions,
    including the ones sent twice).  Existing files of the six table folders are
    replaced.
    """
    n = int(sessions)
    if n < 1:
        raise ValueError("sessions must be at least 1")
    out = Path(out_dir)
    sc = scale(n)
    n_st, n_orgs = sc["stations"], sc["organisations"]

    for t in TABLES:
        d = out / t
        d.mkdir(parents=True, exist_ok=True)
        for f in d.iterdir():
            if f.is_file() and f.suffix in (".csv", ".parquet", ".ndjson"):
                f.unlink()

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET Calendar = 'gregorian'")
        con.execute("SET preserve_insertion_order = true")
        _macros(con, seed)
        con.execute(_org_sql(n_orgs))
        con.execute(_station_sql(n_st, n_orgs, n))
        con.execute(_constants_sql())
        counts = _write_small_tables(con, out)
        counts["charging_sessions"] = _write_sessions(con, out / "charging_sessions", n, n_st, n_orgs)
    finally:
        con.close()
    return {t: counts[t] for t in TABLES}


def _month_ranges(n: int):
    """(label, first, end) ranges of row numbers whose natural start day is in one month."""
    def first_row(day: int) -> int:  # smallest i with i * SPAN_DAYS // n >= day
        return (day * n + SPAN_DAYS - 1) // SPAN_DAYS

    out = []
    d = SPAN_START
    end_day = SPAN_START + _dt.timedelta(days=SPAN_DAYS)
    while d < end_day:
        nxt = (d.replace(day=28) + _dt.timedelta(days=4)).replace(day=1)
        lo, hi = first_row((d - SPAN_START).days), first_row((min(nxt, end_day) - SPAN_START).days)
        if hi > lo:
            out.append((d.strftime("%Y-%m"), lo, hi))
        d = nxt
    return out


def _session_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    cur = con.cursor()
    cur.execute("SET enable_progress_bar = false")
    cur.execute("SET TimeZone = 'UTC'")
    cur.execute("SET Calendar = 'gregorian'")
    return cur


def _write_sessions(con, folder: Path, n: int, n_st: int, n_orgs: int) -> int:
    """One Parquet file per month of sessions (by their natural start day) with the
    versions as first sent; then one CSV and one NDJSON file of late-arriving versions
    and of versions sent a second time."""
    folder.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(_SESSION_COLUMNS)
    on_time = (
        f"(ver = 0 AND slot <> {_SLOT['counter_charge']})"
        f" OR (ver = 1 AND kind IN ({_STOPPED_UNBILLED}, {_STOP_THEN_BILL}))"
        f" OR (ver = 2 AND kind = {_NORMAL} AND route = 0)"
    )
    late = "(ver = 2 AND (route IN (1, 2) OR dup)) OR (ver = 0 AND dup)"

    # Months are written by as many workers as DuckDB has threads, each on its own
    # cursor.  Each worker binds and plans its statement once and runs it per month with
    # the month's row numbers unnested from a one-row table: a single row makes the
    # pipeline single-threaded, so rows leave in row-number order and every file's bytes
    # are independent of the number of threads (a table scan would be parallel, and
    # would need a sort).
    months = queue.SimpleQueue()
    for m in _month_ranges(n):
        months.put(m)
    n_workers = max(1, min(months.qsize(), int(con.execute("SELECT current_setting('threads')").fetchone()[0])))

    def work(w: int) -> int:
        cur = _session_connection(con)
        bounds, scratch, stmt = f"bounds_{w}", folder / f".batch_{w}.parquet.tmp", f"write_batch_{w}"
        written = 0
        try:
            cur.execute(f"CREATE OR REPLACE TABLE {bounds} (lo BIGINT, hi BIGINT)")
            cur.execute(f"INSERT INTO {bounds} VALUES (0, 0)")
            sessions = _session_sql(f"SELECT unnest(range(lo, hi)) AS i FROM {bounds}", n, n_st, n_orgs)
            cur.execute(
                f"PREPARE {stmt} AS COPY (SELECT {cols} FROM ({_versions_sql(f'({sessions})', on_time)})) "
                f"TO '{scratch.as_posix()}' "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
            )
            while True:
                try:
                    label, lo, hi = months.get_nowait()
                except queue.Empty:
                    break
                cur.execute(f"UPDATE {bounds} SET lo = {lo}, hi = {hi}")
                written += cur.execute(f"EXECUTE {stmt}").fetchone()[0]
                scratch.replace(folder / f"sessions_{label}.parquet")
        finally:
            scratch.unlink(missing_ok=True)
            cur.execute(f"DROP TABLE IF EXISTS {bounds}")
            cur.close()
        return written

    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        total = sum(pool.map(work, range(n_workers)))

    # Late versions: select the candidate sessions by their row number first (a
    # superset: the conditions of kind, route and dup), then compute only those.
    p = PLANT_PERIOD
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ids AS SELECT range AS i FROM range({n}) WHERE range % {p} IN "
        f"({_SLOT['duplicate_versions']}, {_SLOT['stopped_then_billed']}) "
        f"OR u(range, 1) < 0.020 OR u(range, 2) < 0.016 OR u(range, 3) < 0.002"
    )
    sessions = _session_sql("SELECT i FROM ids", n, n_st, n_orgs)
    con.execute(f"CREATE OR REPLACE TEMP TABLE late AS {_versions_sql(f'({sessions})', late)}")
    path = folder / "late_versions.csv"
    total += con.execute(
        f"COPY (SELECT {_text_select(_LATE_CSV_COLUMNS)} FROM late WHERE dest = 1 ORDER BY i, ver) "
        f"TO '{path.as_posix()}' (FORMAT csv, HEADER)"
    ).fetchone()[0]
    path = folder / "late_versions.ndjson"
    if con.execute("SELECT count(*) FROM late WHERE dest = 2").fetchone()[0]:
        # (an empty NDJSON file has no schema to read, so none is written)
        total += con.execute(
            f"COPY (SELECT {_text_select(_SESSION_COLUMNS)} FROM late WHERE dest = 2 ORDER BY i, ver) "
            f"TO '{path.as_posix()}' (FORMAT json)"
        ).fetchone()[0]
    con.execute("DROP TABLE late")
    con.execute("DROP TABLE ids")
    return total


# --------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------


def derive_reference_tables(csv_path: str | Path) -> dict:
    """Hour weights, duration/energy quantiles and rank correlation per plug type from
    a Virta "Charging sessions" export (ISO-8859-1, ';'-separated, Start time
    'dd/mm/yyyy hh.mm', Duration in minutes, Energy (Wh), Plug type)."""
    con = duckdb.connect()
    try:
        path = str(csv_path).replace("'", "''")
        con.execute(f"""
            CREATE TABLE ref AS
            SELECT hour(strptime("Start time", '%d/%m/%Y %H.%M')) AS h,
                   "Duration"::INTEGER AS dur, "Energy (Wh)"::BIGINT AS e, "Plug type" AS p
            FROM read_csv('{path}', delim = ';', header = true, encoding = 'latin-1', all_varchar = true)
            WHERE "Energy (Wh)"::BIGINT >= 0""")
        k = QUANTILE_STEPS
        probs = f"[x / {k} for x in range(0, {k} + 1)]"
        out = {"hours": {}, "duration": {}, "energy": {}, "rank_corr": {}, "rank_cells": {}}
        for p in ("AC", "DC"):
            out["hours"][p] = [r[0] for r in con.execute(
                f"SELECT count(ref.h) FROM range(24) t(h) LEFT JOIN ref ON ref.h = t.h AND ref.p = '{p}' "
                f"GROUP BY t.h ORDER BY t.h").fetchall()]
            out["duration"][p] = [round(x, 2) for x in con.execute(
                f"SELECT quantile_cont(dur, {probs}) FROM ref WHERE p = '{p}'").fetchone()[0]]
            out["energy"][p] = [round(x, 2) for x in con.execute(
                f"SELECT quantile_cont(e, {probs}) FROM ref WHERE p = '{p}'").fetchone()[0]]
            b = RANK_BINS
            cells = dict(((r[0], r[1]), r[2]) for r in con.execute(f"""
                SELECT bd, be, count(*) FROM (
                    SELECT (row_number() OVER (ORDER BY dur, e) - 1) * {b} // count(*) OVER () AS bd,
                           (row_number() OVER (ORDER BY e, dur) - 1) * {b} // count(*) OVER () AS be
                    FROM ref WHERE p = '{p}')
                GROUP BY ALL""").fetchall())
            out["rank_cells"][p] = [[cells.get((i, j), 0) for j in range(b)] for i in range(b)]
            out["rank_corr"][p] = round(con.execute(
                f"SELECT corr(rd, re) FROM (SELECT rank() OVER (ORDER BY dur) AS rd, "
                f"rank() OVER (ORDER BY e) AS re FROM ref WHERE p = '{p}')"
            ).fetchone()[0], 3)
        return out
    finally:
        con.close()
