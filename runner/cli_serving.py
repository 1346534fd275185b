"""The `runner` commands of the serving layer: show, export and publish. Each reads the
target's tables (DuckDB's file, or Spark's with --target) and writes or prints them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from runner.cli_flags import Profile, ProfilesDir, Target
from runner.cli_options import Db, MemoryLimit, ProjectDir, Vars, _vars
from runner.errors import RunnerError


def echo_published(published) -> None:
    rewritten = sum(published.rewritten.values())
    typer.echo(f"publish: version {published.version} in {published.seconds:.2f}s, "
               f"{rewritten} partition{'s' if rewritten != 1 else ''} rewritten "
               f"({published.bytes_written:,} bytes), {published.deleted} expired "
               f"file{'s' if published.deleted != 1 else ''} removed")
    typer.echo(f"published: {published.catalog}")


def _target(project_dir: Path, target: str | None, profile: str | None,
            profiles_dir: Path | None):
    """The target of --target/--profile/--profiles-dir (profiles.yml), DuckDB's without."""
    from runner.engines.profiles import resolve_target
    return resolve_target(Path(project_dir).resolve(), target, profile, profiles_dir,
                          warn=lambda text: typer.echo(text, err=True))


def register(app: typer.Typer) -> None:
    """Add the serving layer's commands to `app`."""

    @app.command()
    def show(model: Annotated[Optional[str], typer.Argument(help="A model, or schema.table.")
                              ] = None,
             project_dir: ProjectDir = Path("."), db: Db = None,
             limit: Annotated[int, typer.Option("--limit", "-n", help="How many rows.")] = 10,
             inline: Annotated[Optional[str], typer.Option(
                 "--inline", help="A query to run instead, with ref(), source() and macros.")
             ] = None, vars: Vars = None, profiles_dir: ProfilesDir = None,
             target: Target = None, profile: Profile = None) -> None:
        """Print the first rows of a built model, or of an --inline query.

        Example: runner show roaming_sessions_cpo --limit 5
        """
        chosen = _target(project_dir, target, profile, profiles_dir)
        if chosen.type == "spark":
            from runner.publish.spark import show_spark
            typer.echo(show_spark(project_dir, model, chosen, limit, db=db, inline=inline))
            return
        if inline is not None:
            from runner.task.show import show_inline
            typer.echo(show_inline(project_dir, inline, db, limit, _vars(vars)))
            return
        if model is None:
            raise RunnerError("show needs a model (or --inline \"select ...\").")
        from runner.publish.export import show_rows
        typer.echo(show_rows(project_dir, model, db, limit))


    @app.command()
    def export(model: Annotated[str, typer.Argument(help="A model, or schema.table.")],
               out: Annotated[Path, typer.Option("--out", help="The file, .parquet or .csv "
                                                               "(a folder with --partition-by).")],
               project_dir: ProjectDir = Path("."), db: Db = None,
               partition_by: Annotated[Optional[list[str]], typer.Option(
                   "--partition-by", help="Hive-partition by these columns, or by the partition "
                                     "key the model's export config declares.")
               ] = None,
               where: Annotated[Optional[str], typer.Option(
                   "--where", help="A plain predicate over the table's columns.")] = None,
               memory_limit: MemoryLimit = None, profiles_dir: ProfilesDir = None,
               target: Target = None, profile: Profile = None) -> None:
        """Write a table to Parquet (zstd) or CSV, as the extension says, atomically.

        Example: runner export charging_sessions_cpo --out sessions_by_month --partition-by month
        """
        from runner.publish.export import export_table
        chosen = _target(project_dir, target, profile, profiles_dir)
        if chosen.type == "spark":
            from runner.publish.spark_export import export_spark
            rows = export_spark(project_dir, model, out, chosen, partition_by or [], where,
                                db=db, memory_limit=memory_limit)
            typer.echo(f"wrote {rows} rows to {out}")
            return
        rows = export_table(project_dir, model, out, db, partition_by or [], where,
                            memory_limit=memory_limit)
        typer.echo(f"wrote {rows} rows to {out}")


    @app.command()
    def publish(project_dir: ProjectDir = Path("."), db: Db = None, vars: Vars = None,
                memory_limit: MemoryLimit = None, profiles_dir: ProfilesDir = None,
                target: Target = None, profile: Profile = None) -> None:
        """Publish the tables marked `publish` for readers: Parquet and a catalog file.

        A successful build does it too. Example: runner publish --db cpo_reports.duckdb
        """
        from runner.api import publish as publish_now
        echo_published(publish_now(project_dir, db, _vars(vars), memory_limit,
                               on_note=lambda note: typer.echo(f"note: {note}"),
                               target=_target(project_dir, target, profile, profiles_dir)))
