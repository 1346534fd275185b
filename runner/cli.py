"""The `runner` command. Each command is thin: options, one library call, output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from runner.cli_flags import (Profile, ProfilesDir, Target, TargetPath, Threads, dbt_argv,
                              dbt_flags as _dbt_flags, threads_number)
from runner.cli_options import (Db, Defer, Empty, Exclude, ExcludeResourceType, FailFast,
                                FullRefresh, MemoryLimit, ProjectDir, RawDir, ResourceType,
                                Select, State, Vars, _vars)
from runner.cli_serving import echo_published
from runner.errors import RunnerError
from runner.plain_options import PlainGroup

# rich_markup_mode=None: click's own help layout, where a flag reads as a flag (typer's
# rich panels print a type after every option, `--full-refresh <bool>` included).
app = typer.Typer(cls=PlainGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Build the CPO report models into DuckDB, test them and export them.")


def _version(value: bool) -> None:
    if value:
        import duckdb
        from runner import __version__
        typer.echo(f"runner {__version__} (DuckDB {duckdb.__version__})")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version,
        help="Print the runner's and DuckDB's versions and exit.")] = False) -> None:
    """Build the CPO report models into DuckDB, test them and export them."""


_MARK = {"success": "OK", "pass": "PASS", "warn": "WARN", "fail": "FAIL",
         "error": "ERROR", "skipped": "SKIP"}


def _progress(result, index: int, total: int) -> None:
    label = f"{result.kind} {result.name}"
    # the first line: a unit test's differing rows follow in the summary
    detail = f" [{result.message.splitlines()[0]}]" if result.message else ""
    width = len(str(total))
    typer.echo(f"{index:>{width}}/{total} {_MARK.get(result.status, result.status):5} "
               f"{label}{detail} ({result.seconds:.2f}s)")


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _run(command: str, project_dir: Path, db: Path | None, raw_dir: Path | None,
         select: list[str] | None, exclude: list[str] | None, vars: str | None,
         full_refresh: bool = False, fail_fast: bool = False,
         memory_limit: str | None = None, dbt: tuple = (), target_path: Path | None = None,
         threads: str | None = None, **options) -> None:
    """`options`: empty, state, defer (see runner.api.execute)."""
    from runner.api import execute
    from runner.engines.profiles import resolve_target
    profiles_dir, target, profile = dbt or (None, None, None)
    chosen = resolve_target(Path(project_dir).resolve(), target, profile, profiles_dir,
                            warn=lambda text: typer.echo(text, err=True))
    result = execute(command, project_dir, raw_dir=raw_dir, db_path=db, vars=_vars(vars),
                     target=chosen,
                     select=select, exclude=exclude, full_refresh=full_refresh,
                     fail_fast=fail_fast, on_result=_progress, memory_limit=memory_limit,
                     on_note=lambda note: typer.echo(f"note: {note}"), on_warning=_warn,
                     target_path=target_path, threads=threads_number(threads), **options)
    typer.echo(result.summary())
    typer.echo(f"database: {result.db_path}")
    if result.stopped:          # the engine went away mid-run (a Spark Connect server)
        typer.echo(f"Database error: {result.stopped}; the run stopped there, the nodes "
                   "not yet run skipped (target/run_results.json).\n  What to do: check "
                   "the server (its log), then run the command again.", err=True)
    if not result.ok:
        raise typer.Exit(1)
    if result.publish_error:
        raise result.publish_error
    if result.published:
        echo_published(result.published)


@app.command()
def build(project_dir: ProjectDir = Path("."), db: Db = None, raw_dir: RawDir = None,
          select: Select = None, exclude: Exclude = None, vars: Vars = None,
          full_refresh: FullRefresh = False, fail_fast: FailFast = False,
          memory_limit: MemoryLimit = None, target_path: TargetPath = None,
          threads: Threads = None, profiles_dir: ProfilesDir = None, target: Target = None,
          profile: Profile = None, empty: Empty = False, state: State = None,
          defer: Defer = False, resource_type: ResourceType = None,
          exclude_resource_type: ExcludeResourceType = None) -> None:
    """Seeds, models and data tests in graph order.

    Example: runner build --raw-dir data/raw --vars '{report_time: 2024-10-01T00:00:00Z}'

    In production, without the unit tests, as dbt advises:
    Example: runner build --exclude-resource-type unit_test
    """
    _run("build", project_dir, db, raw_dir, select, exclude, vars, full_refresh, fail_fast,
         memory_limit, (profiles_dir, target, profile), target_path, threads,
         empty=empty, state=state, defer=defer, resource_types=resource_type,
         exclude_resource_types=exclude_resource_type)


@app.command()
def run(project_dir: ProjectDir = Path("."), db: Db = None, raw_dir: RawDir = None,
        select: Select = None, exclude: Exclude = None, vars: Vars = None,
        full_refresh: FullRefresh = False, fail_fast: FailFast = False,
        memory_limit: MemoryLimit = None, target_path: TargetPath = None,
        threads: Threads = None, profiles_dir: ProfilesDir = None, target: Target = None,
        profile: Profile = None, empty: Empty = False, state: State = None,
        defer: Defer = False) -> None:
    """Models only, in graph order.

    Example: runner run --select +charging_sessions_cpo
    """
    _run("run", project_dir, db, raw_dir, select, exclude, vars, full_refresh, fail_fast,
         memory_limit, (profiles_dir, target, profile), target_path, threads,
         empty=empty, state=state, defer=defer)


@app.command()
def test(project_dir: ProjectDir = Path("."), db: Db = None, raw_dir: RawDir = None,
         select: Select = None, exclude: Exclude = None, vars: Vars = None,
         fail_fast: FailFast = False, memory_limit: MemoryLimit = None,
         target_path: TargetPath = None, threads: Threads = None,
         profiles_dir: ProfilesDir = None, target: Target = None,
         profile: Profile = None, state: State = None, resource_type: ResourceType = None,
         exclude_resource_type: ExcludeResourceType = None) -> None:
    """Data tests and unit tests against the tables already built (--resource-type
    test or unit_test: only those).

    Example: runner test --select charging_sessions_cpo
    """
    _run("test", project_dir, db, raw_dir, select, exclude, vars, fail_fast=fail_fast,
         memory_limit=memory_limit, dbt=(profiles_dir, target, profile),
         target_path=target_path, threads=threads, state=state,
         resource_types=resource_type, exclude_resource_types=exclude_resource_type)


@app.command()
def seed(project_dir: ProjectDir = Path("."), db: Db = None, raw_dir: RawDir = None,
         select: Select = None, exclude: Exclude = None, vars: Vars = None,
         full_refresh: FullRefresh = False, fail_fast: FailFast = False,
         memory_limit: MemoryLimit = None, target_path: TargetPath = None,
         threads: Threads = None, profiles_dir: ProfilesDir = None, target: Target = None,
         profile: Profile = None, state: State = None) -> None:
    """Load the CSV files in seeds/ into tables (each is replaced whole, so
    --full-refresh changes nothing; --raw-dir is accepted like the other commands').

    Example: runner seed --select vat_rates
    """
    _run("seed", project_dir, db, raw_dir, select, exclude, vars, full_refresh, fail_fast,
         memory_limit, (profiles_dir, target, profile), target_path, threads, state=state)


@app.command()
def snapshot(project_dir: ProjectDir = Path("."), db: Db = None, raw_dir: RawDir = None,
             select: Select = None, exclude: Exclude = None, vars: Vars = None,
             fail_fast: FailFast = False, memory_limit: MemoryLimit = None,
             profiles_dir: ProfilesDir = None, target: Target = None,
             profile: Profile = None) -> None:
    """The snapshots in snapshots/ (type 2 history of a query), in graph order (on
    Spark: MERGE on Delta or Iceberg tables, a rewrite of the table on Parquet).

    Example: runner snapshot
    """
    _run("snapshot", project_dir, db, raw_dir, select, exclude, vars, fail_fast=fail_fast,
         memory_limit=memory_limit, dbt=(profiles_dir, target, profile))


@app.command("compile")
def compile_(project_dir: ProjectDir = Path("."), select: Select = None,
             exclude: Exclude = None, vars: Vars = None,
             full_refresh: FullRefresh = False, fail_fast: FailFast = False,
             target_path: TargetPath = None, threads: Threads = None,
             profiles_dir: ProfilesDir = None, target: Target = None,
             profile: Profile = None) -> None:
    """Render and check the models' SQL into target/compiled without running it.

    It stops at the first error, with or without --fail-fast.
    Example: runner compile --select stg_raw__charging_sessions
    """
    from runner.api import compile_project
    from runner.engines.profiles import resolve_target
    chosen = resolve_target(Path(project_dir).resolve(), target, profile, profiles_dir,
                            warn=lambda text: typer.echo(text, err=True))
    if threads_number(threads) is not None:
        _warn(f"--threads {threads} is not acted on by compile: it runs no model.")
    for name, path in compile_project(project_dir, _vars(vars), select, exclude,
                                      on_warning=_warn, full_refresh=full_refresh,
                                      target_path=target_path, target=chosen).items():
        typer.echo(f"{name}: {path}")


Output = Annotated[Optional[str], typer.Option(
    "--output", "-o", help="selector, name, path or json (dbt's); without it, the "
                           "runner's table of models and seeds.")]


@app.command("ls")
def ls(project_dir: ProjectDir = Path("."), select: Select = None,
       exclude: Exclude = None, vars: Vars = None, fail_fast: FailFast = False,
       target_path: TargetPath = None, profiles_dir: ProfilesDir = None,
       target: Target = None, profile: Profile = None, state: State = None,
       output: Output = None, resource_type: ResourceType = None,
       exclude_resource_type: ExcludeResourceType = None) -> None:
    """List the models and seeds in build order (`runner list` too, as dbt's; with --output
    or a resource type option: dbt's list of sources, models, seeds, snapshots, data tests
    and unit tests).

    It writes nothing under target/. Example: runner ls --select tag:report
    """
    if output or resource_type or exclude_resource_type:
        from runner.task.listing import list_resources, render
        for entry in list_resources(project_dir, select, exclude, _vars(vars),
                                    resource_type, state, on_warning=_warn,
                                    exclude_resource_types=exclude_resource_type):
            typer.echo(render(entry, output or "selector"))
        return
    from runner.api import list_nodes
    _dbt_flags(profiles_dir, target, profile)
    for node in list_nodes(project_dir, select, exclude, _vars(vars), on_warning=_warn,
                           state=state):
        typer.echo(f"{node['kind']:5} {node['name']:40} {node['materialized']:11} "
                   f"{node['relation']}")


@app.command("list", hidden=True)
def list_(project_dir: ProjectDir = Path("."), select: Select = None,
          exclude: Exclude = None, vars: Vars = None, fail_fast: FailFast = False,
          target_path: TargetPath = None, profiles_dir: ProfilesDir = None,
          target: Target = None, profile: Profile = None, state: State = None,
          output: Output = None, resource_type: ResourceType = None,
          exclude_resource_type: ExcludeResourceType = None) -> None:
    """The same as runner ls, by dbt's other name. Example: runner list --select tag:report
    """
    ls(project_dir, select, exclude, vars, fail_fast, target_path, profiles_dir, target,
       profile, state, output, resource_type, exclude_resource_type)


@app.command()
def deps(project_dir: ProjectDir = Path("."), vars: Vars = None,
         fail_fast: FailFast = False, profiles_dir: ProfilesDir = None,
         target: Target = None, profile: Profile = None) -> None:
    """Install the packages of packages.yml (or dependencies.yml) into dbt_packages/.

    A local: package is linked there (copied where a link cannot be made), as dbt does;
    a git: package is cloned at its revision: (from its subdirectory:); a hub package
    (package: owner/name, version:) is resolved through dbt's package hub and unpacked,
    and package-lock.yml written. Example: runner deps
    """
    from runner.deps.packages import deps as install
    _dbt_flags(profiles_dir, target, profile)
    installed = install(project_dir, _vars(vars))
    if not installed:
        typer.echo("no packages to install (no packages: in packages.yml or "
                   "dependencies.yml).")
    for name, path, how in installed:
        typer.echo(f"{name}: {how}, in {path}" if "already installed" in how else
                   f"installed {name}: {how} as {path}")


@app.command()
def vacuum(project_dir: ProjectDir = Path("."), db: Db = None,
           memory_limit: MemoryLimit = None) -> None:
    """Merge the row groups that deletes left partly empty (DuckDB's vacuum).

    Incremental builds skip it to keep hourly builds short; run it now and then,
    e.g. nightly. Example: runner vacuum --db cpo_reports.duckdb
    """
    from runner.api import vacuum as vacuum_db
    before, after, seconds = vacuum_db(project_dir, db, memory_limit)
    typer.echo(f"vacuumed in {seconds:.1f} s: {before} blocks in use before, {after} after")


@app.command()
def prune(project_dir: ProjectDir = Path("."), db: Db = None, vars: Vars = None,
          yes: Annotated[bool, typer.Option(
              "--yes", help="Drop the orphaned relations listed (without it, only list).")
          ] = False) -> None:
    """List the orphaned relations: tables and views in the project's schemas that no
    model, seed or source owns any more (e.g. a deleted model's table); --yes drops them.

    Example: runner prune --db cpo_reports.duckdb
    """
    from runner.task.prune import prune as find
    schemas, orphans, dropped = find(project_dir, db, yes, _vars(vars))
    where = f"in schemas {', '.join(schemas)}"
    if not orphans:
        typer.echo(f"no orphaned relations {where}.")
        return
    typer.echo(f"orphaned relations {where} (no model, seed or source owns them):")
    for orphan in orphans:
        typer.echo(f"  {orphan.kind:5} {orphan.label}")
    n = f"{len(orphans)} orphaned relation{'s' if len(orphans) != 1 else ''}"
    typer.echo(f"dropped {n}." if dropped else
               f"{n}; nothing was dropped: run again with --yes to drop them.")


from runner.cli_serving import register as register_serving  # noqa: E402  (show, export, publish)
register_serving(app)

from cpo.cli import register as register_domain  # noqa: E402  (the charging domain's)
register_domain(app)

from runner.cli_tasks import register  # noqa: E402  (the commands of runner/task/)
register(app, _progress, _warn)


def _only_command(args: list[str]) -> list:
    """The commands `app` builds for this command line: only the one named first, if one
    is. Typer turns each command's signature into its options when the app is called, and
    doing so for all of them was a tenth of a one-model build. Help, --version and a
    mistyped command see them all."""
    names = {info.name or typer.main.get_command_name(info.callback.__name__): info
             for info in app.registered_commands}
    return [names[args[0]]] if args and args[0] in names else app.registered_commands


def main() -> None:
    sys.argv[1:] = dbt_argv(sys.argv[1:])
    every = app.registered_commands
    app.registered_commands = _only_command(sys.argv[1:])
    try:
        app()
    except RunnerError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted: tables being built were left as they were.", err=True)
        sys.exit(130)
    finally:
        app.registered_commands = every


if __name__ == "__main__":
    main()
