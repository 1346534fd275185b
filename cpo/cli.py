"""The `runner` commands of the charging domain: `generate` (a sample landing zone) and
`report` (one report file for CPO staff). Each is thin: options, one call, output."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from runner.cli_flags import Profile, ProfilesDir, Target
from runner.cli_options import Db, ProjectDir


def register(app: typer.Typer) -> None:
    """Add the domain's commands to `app`."""

    @app.command()
    def generate(out: Annotated[Path, typer.Option("--out", help="The landing zone folder.")],
                 sessions: Annotated[int, typer.Option(
                     "--sessions", min=1, help="How many sessions (charge IDs); each is "
                                               "written as one row per version.")] = 100_000,
                 seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42) -> None:
        """Write a deterministic sample landing zone in the raw contract.

        Example: runner generate --out data/raw --sessions 100000 --seed 42
        """
        from cpo.sample import generate as write
        counts = write(out, sessions, seed)
        typer.echo(f"wrote a sample landing zone of {sessions:,} sessions (seed {seed}) to "
                   f"{out.resolve()}")
        for table, n in counts.items():
            if table == "charging_sessions":
                typer.echo(f"{table}: {sessions:,} sessions in {n:,} rows, one per version of a "
                           "session (sent when it starts, stops and is billed; some twice)")
            else:
                typer.echo(f"{table}: {n:,} rows")

    @app.command()
    def report(kind: Annotated[str, typer.Argument(
                   help="charging-sessions or roaming-sessions.")],
               out: Annotated[Path, typer.Option(
                   "--out", help="The file: .csv, .xlsx or .parquet.")],
               org: Annotated[list[str], typer.Option(
                   "--org", help="An organisation ID (repeat for several).")],
               date_from: Annotated[str, typer.Option(
                   "--from", help="First day, YYYY-MM-DD, in each organisation's time "
                                  "zone.")],
               date_to: Annotated[str, typer.Option(
                   "--to", help="Day after the last, YYYY-MM-DD.")],
               project_dir: ProjectDir = Path("."), db: Db = None,
               role: Annotated[Optional[str], typer.Option(
                   "--role", help="Check the request against this role in roles.yml.")] = None,
               delimiter: Annotated[Optional[str], typer.Option(
                   "--delimiter", help="CSV field separator, e.g. ';' or tab (default: the "
                                       "dialect's).")] = None,
               dialect: Annotated[Optional[str], typer.Option(
                   "--dialect", help="CSV shape: 'excel' (default; UTF-8 with a byte-order "
                                     "mark, ',', times to the second) or 'platform' (the "
                                     "platform's own export: ISO-8859-1, ';', local times "
                                     "dd/mm/yyyy hh.mm, a decimal comma).")] = None,
               decimal_comma: Annotated[Optional[bool], typer.Option(
                   "--decimal-comma/--decimal-point",
                   help="Decimal mark of money and percentages in a CSV (default: the "
                        "dialect's). A decimal comma needs --delimiter ';' (or another "
                        "separator than ',').", show_default=False)] = None,
               profiles_dir: ProfilesDir = None, target: Target = None,
               profile: Profile = None) -> None:
        """Write one report for some organisations and a timeframe, as CPO staff receive it.

        Example: runner report charging-sessions --org ORG00001 --from 2024-09-01 --to 2024-10-01 --out sessions.xlsx

        For Excel where the decimal mark is a comma: --delimiter ';' --decimal-comma.

        In the platform's own export shape, for scripts built on it: --dialect platform.
        """
        from cpo.report import write_report
        from runner.engines.profiles import resolve_target
        chosen = resolve_target(Path(project_dir).resolve(), target, profile, profiles_dir,
                                warn=lambda text: typer.echo(text, err=True))
        message = write_report(project_dir, kind, org, date_from, date_to, out, db=db, role=role,
                               delimiter=delimiter, dialect=dialect, decimal_comma=decimal_comma,
                               target=chosen)
        typer.echo(message)
