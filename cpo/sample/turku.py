"""A landing zone made from the platform's own "Charging sessions" export (the Turku file:
ISO-8859-1, ';'-separated, local times written 'dd/mm/yyyy hh.mm', Duration in minutes).

    from cpo.sample.turku import export_landing_zone
    counts = export_landing_zone("Turku Finland 2019.csv", "data/raw")

One organisation owns every station of the file; each row becomes one session, billed
at no known price, whose charge ID is the row's line number (so the report's order, by
start and then charge ID, is the file's). The export shows times to the minute, while its
Duration counts the started minutes of times kept to the second: a start is taken at
second 0 of its minute, and a stop at second 0, or at second 1 where the Duration is one
more than the whole minutes between the shown times. The times are local to the
organisation's time zone; in the hour repeated when the clock goes back, the Duration
says which of the two readings is meant, and where both fit, the first (summer time) is
taken. A row with negative energy is a
cancellation: it becomes a counter-charge of the latest earlier session at the station
with that much energy.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from cpo.sample.shape import _SESSION_COLUMNS as SESSION_COLUMNS, TABLES
from runner.errors import SourceError

ENCODING = "latin-1"
DELIMITER = ";"
TIME_FORMAT = "%d/%m/%Y %H.%M"
COLUMNS = ("Created", "Station ID", "Station name", "Start time", "Stop time", "Duration",
           "Energy (Wh)", "Plug type")
ORGANISATION = {"organisation_id": "TURKU", "name": "Turku", "country": "FI",
                "currency": "EUR", "timezone": "Europe/Helsinki", "is_public": "true",
                "updated_at": "2019-01-01T00:00:00Z"}
METER_BASE = 1_000_000


def export_landing_zone(csv_path: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write the raw landing zone of the export at csv_path into out_dir; return the
    rows written per table."""
    path = Path(csv_path)
    zone = ZoneInfo(ORGANISATION["timezone"])
    with path.open(encoding=ENCODING, newline="") as f:
        reader = csv.reader(f, delimiter=DELIMITER)
        header = next(reader, [])
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise SourceError(f"the export has no column {', '.join(missing)}.",
                              path=str(path), line=1,
                              hint=f"a '{DELIMITER}'-separated {ENCODING} file with the "
                                   f"columns {', '.join(COLUMNS)}.")
        at = {c: header.index(c) for c in COLUMNS}
        rows = []
        for line, r in enumerate(reader, 2):
            if not any(x.strip() for x in r):
                continue
            if len(r) < len(header):
                raise SourceError(f"row {line - 1} has {len(r)} fields and the header "
                                  f"{len(header)}.", path=str(path), line=line,
                                  hint=f"fields are separated by '{DELIMITER}'.")
            rows.append((line, {c: r[i].strip() for c, i in at.items()}))

    stations: dict[str, dict[str, str]] = {}
    sessions = []
    for line, r in rows:
        try:
            start, stop = _instants(r, zone)
            created = start if r["Created"] == r["Start time"] else _local(r["Created"], zone)[0]
            if not re.fullmatch(r"-?\d+", r["Energy (Wh)"]):
                raise ValueError(f"Energy (Wh) {r['Energy (Wh)']!r} is not a whole number")
            energy = int(r["Energy (Wh)"])
        except ValueError as exc:
            raise SourceError(f"row {line - 1}: {exc}.", path=str(path), line=line) from None
        plug = r["Plug type"].upper()
        station = stations.setdefault(r["Station ID"], {
            "station_id": r["Station ID"], "evse_id": f"FI*TKU*E{r['Station ID']}*1",
            "name": r["Station name"], "organisation_id": ORGANISATION["organisation_id"],
            "current_type": plug, "location_type": "public",
            "updated_at": ORGANISATION["updated_at"]})
        if (station["name"], station["current_type"]) != (r["Station name"], plug):
            raise SourceError(f"station {r['Station ID']} is {station['name']!r} ("
                              f"{station['current_type']}) on an earlier row and "
                              f"{r['Station name']!r} ({plug}) here.",
                              path=str(path), line=line)
        sessions.append({"line": line, "charge_id": f"{line:07d}",
                         "station_id": r["Station ID"], "created_at": created,
                         "start_time": start, "stop_time": stop, "energy": energy})

    _meters_and_cancellations(sessions, path)
    out = Path(out_dir)
    counts = {t: 0 for t in TABLES}
    counts["organisations"] = _write(out / "organisations" / "turku.csv", [ORGANISATION])
    counts["stations"] = _write(out / "stations" / "turku.csv", list(stations.values()))
    counts["charging_sessions"] = _write(
        out / "charging_sessions" / "turku.csv",
        [{**{c: None for c in SESSION_COLUMNS}, **{k: _text(v) for k, v in s.items()
                                                   if k in SESSION_COLUMNS},
          "updated_at": _text(s["stop_time"])} for s in sessions])
    for table in TABLES:
        (out / table).mkdir(parents=True, exist_ok=True)
    return counts


def _local(text: str, zone: ZoneInfo) -> list[dt.datetime]:
    """The instants a wall-clock time may be: one, or two in an hour repeated in
    autumn; none (an error) in an hour skipped in spring."""
    try:
        wall = dt.datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        raise ValueError(f"{text!r} is not a time written dd/mm/yyyy hh.mm") from None
    readings = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(dt.timezone.utc)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in readings:
            readings.append(instant)
    if not readings:
        raise ValueError(f"{text} is not a time on the clock in {zone.key} (the hour "
                         "skipped when the clock goes forward)")
    return readings


def _instants(r: dict[str, str], zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """Start and stop to the second, as the Duration implies them."""
    if not re.fullmatch(r"\d+", r["Duration"]):
        raise ValueError(f"Duration {r['Duration']!r} is not a whole number of minutes")
    duration = int(r["Duration"])
    for start in _local(r["Start time"], zone):
        for stop in _local(r["Stop time"], zone):
            minutes = (stop - start) // dt.timedelta(minutes=1)
            if duration == minutes:
                return start, stop
            if duration == minutes + 1:
                return start, stop + dt.timedelta(seconds=1)
    raise ValueError(f"Duration {duration} is not the started minutes from {r['Start time']} "
                     f"to {r['Stop time']} (it can be their whole minutes or one more)")


def _meters_and_cancellations(sessions: list[dict], path: Path) -> None:
    """Meter readings per station, advancing by each session's energy in the file's
    order; a session with negative energy cancels the latest earlier one at the station
    with as much energy that no other cancels."""
    meters: dict[str, int] = {}
    cancelled: set[str] = set()
    for i, s in enumerate(sessions):
        s["meter_start_wh"] = meters.get(s["station_id"], METER_BASE)
        s["meter_stop_wh"] = s["meter_start_wh"] + s["energy"]
        meters[s["station_id"]] = max(s["meter_start_wh"], s["meter_stop_wh"])
        if s["energy"] >= 0:
            continue
        target = next((o for o in reversed(sessions[:i])
                       if o["station_id"] == s["station_id"] and o["energy"] == -s["energy"]
                       and o["charge_id"] not in cancelled), None)
        if target is None:
            raise SourceError(f"row {s['line'] - 1} has {s['energy']} Wh, a cancellation, "
                              f"and no earlier session at station {s['station_id']} has "
                              f"{-s['energy']} Wh for it to cancel.",
                              path=str(path), line=s["line"])
        cancelled.add(target["charge_id"])
        s["counter_charge_of"] = target["charge_id"]


def _text(value) -> str | None:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return None if value is None else str(value)


def _write(path: Path, rows: list[dict]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
