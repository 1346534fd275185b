"""The `runner` commands of dbt's smaller tasks: parse, clean, debug, run-operation, retry
and source freshness. Each is thin: options, one call into runner/task/, output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from runner.cli_options import Db, ProjectDir, RawDir, Select, Vars, _vars


def register(app: typer.Typer, progress, warn) -> None:
    """Add the commands to `app`; `progress` and `warn` print a node's result and a
    warning as build does."""

    @app.command()
    def parse(project_dir: ProjectDir = Path("."), vars: Vars = None) -> None:
        """Read the project and write target/manifest.json without rendering SQL to run.

        Example: runner parse
        """
        from runner.session import Session
        session = Session(project_dir, _vars(vars), on_warning=warn)
        manifest = session.write_artifacts(session.db_path)
        kinds: dict[str, int] = {}
        for node in manifest["nodes"].values():
            kinds[node["resource_type"]] = kinds.get(node["resource_type"], 0) + 1
        found = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
        typer.echo(f"parsed {found}, {len(manifest['sources'])} sources, "
                   f"{len(manifest['macros'])} macros")
        typer.echo(f"wrote {session.target / 'manifest.json'}")

    @app.command()
    def debug(project_dir: ProjectDir = Path("."), db: Db = None,
              raw_dir: RawDir = None) -> None:
        """Check the project, the database file, the raw folder and print the versions;
        exits non-zero naming each problem.

        Example: runner debug --raw-dir data/raw
        """
        from runner.task.debug import debug as check
        for line in check(project_dir, db, raw_dir):
            typer.echo(line)

    @app.command("run-operation")
    def run_operation(macro: Annotated[str, typer.Argument(help="The macro (or pkg.macro).")],
                      args: Annotated[Optional[str], typer.Option(
                          "--args", help="YAML mapping of the macro's keyword arguments.")
                      ] = None,
                      project_dir: ProjectDir = Path("."), db: Db = None,
                      vars: Vars = None) -> None:
        """Call a macro; its run_query() calls run in the database.

        Example: runner run-operation round_money --args '{x: 12.345, minor_units: 2}'
        """
        from runner.task.run_operation import run_operation as call
        arguments = _mapping(args, "--args")
        queries, text, seconds = call(project_dir, macro, arguments, db, _vars(vars),
                                      on_log=typer.echo)
        if text:
            typer.echo(f"note: {macro} rendered text, which is not run (as in dbt): "
                       f"{text[:200]}")
        typer.echo(f"run-operation {macro}: {queries} quer{'y' if queries == 1 else 'ies'} "
                   f"run in {seconds:.2f}s")

    @app.command()
    def retry(project_dir: ProjectDir = Path(".")) -> None:
        """Rerun the last build/run/test/seed from its failed and skipped nodes, with its
        options (target/run_results.json).

        Example: runner retry
        """
        from runner.task.retry import retry as rerun
        result = rerun(project_dir, on_result=progress, on_warning=warn,
                       on_note=lambda note: typer.echo(f"note: {note}"))
        if result is None:
            typer.echo("nothing to retry: the last run left no failed or skipped node.")
            return
        typer.echo(result.summary())
        if not result.ok:
            raise typer.Exit(1)

    source = typer.Typer(help="The sources' commands: freshness.\n\n"
                              "Example: runner source freshness", no_args_is_help=True)
    app.add_typer(source, name="source")

    @source.command("freshness")
    def freshness(project_dir: ProjectDir = Path("."), db: Db = None,
                  raw_dir: RawDir = None, select: Select = None, vars: Vars = None) -> None:
        """How old each source table's newest row (or raw file) is, against its
        freshness warn_after/error_after; writes target/sources.json.

        Example: runner source freshness --select source:raw
        """
        from runner.task.freshness import source_freshness

        def show(item) -> None:
            mark = {"pass": "PASS", "warn": "WARN"}.get(item.status, "ERROR")
            typer.echo(f"{mark:5} source {item.source}.{item.table} [{item.message}]")
        results, out = source_freshness(project_dir, raw_dir, db, _vars(vars), select,
                                        on_result=show)
        counts: dict[str, int] = {}
        for item in results:
            counts[item.status] = counts.get(item.status, 0) + 1
        typer.echo(f"source freshness: {len(results)} source tables "
                   f"({', '.join(f'{n} {s}' for s, n in sorted(counts.items())) or 'none has freshness'})")
        typer.echo(f"wrote {out}")
        if any(item.status in ("error", "runtime error") for item in results):
            raise typer.Exit(1)

    docs_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="""The project's
    documentation site: `docs generate` writes it to target/ (index.html, opened from disk,
    and catalog.json in dbt's schema), with column-level lineage; `docs serve` serves it.

    Example: runner docs generate
    """)
    app.add_typer(docs_app, name="docs")

    @docs_app.command("generate")
    def docs_generate(project_dir: ProjectDir = Path("."), db: Db = None,
                      vars: Vars = None) -> None:
        """Write the site and catalog.json to target/, from the project and its database.

        Example: runner docs generate
        """
        from runner.docs.generate import generate
        done = generate(project_dir, db_path=db, vars=_vars(vars),
                        on_note=lambda note: typer.echo(f"note: {note}"), on_warning=warn)
        typer.echo(f"docs: {done.nodes} nodes, {done.columns} columns; lineage of "
                   f"{done.analysed} model{'s' if done.analysed != 1 else ''} analysed, "
                   f"{done.cached} from the cache, in {done.seconds:.2f}s")
        typer.echo(f"catalog: {done.catalog}")
        typer.echo(f"site: {done.index}")

    @docs_app.command("serve")
    def docs_serve(project_dir: ProjectDir = Path("."), port: Annotated[int, typer.Option(
            "--port", help="The port on localhost.")] = 8080) -> None:
        """Serve target/ (the site `docs generate` wrote) on localhost until interrupted."""
        from runner.docs.site import serve
        serve(Path(project_dir).resolve() / "target", port,
              on_ready=lambda url: typer.echo(f"serving the docs at {url} (Ctrl-C stops)"))

    # Last: the examples of the help texts run in this order, and clean deletes target/.
    @app.command()
    def clean(project_dir: ProjectDir = Path(".")) -> None:
        """Delete the folders of dbt_project.yml's clean-targets (default: target).

        Example: runner clean
        """
        from runner.task.clean import clean as remove
        removed = remove(project_dir)
        for path in removed:
            typer.echo(f"deleted {path}")
        if not removed:
            typer.echo("nothing to clean (the clean-targets do not exist).")


def _mapping(text: str | None, option: str) -> dict:
    """A YAML (or JSON) mapping option."""
    import yaml
    from runner.errors import OptionError
    if not text:
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OptionError(f"{option} is not valid YAML: {str(exc).splitlines()[0]}.",
                          hint=f"write a mapping, e.g. {option} '{{days: 7}}'.") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise OptionError(f"{option} must be a mapping, e.g. '{{days: 7}}'.")
    return json.loads(json.dumps(value, default=str))
