"""`runner debug`: is everything in place to build? The project, the database file, the
raw folder and the versions, each on a line; what is wrong is named, with what to do."""

from __future__ import annotations

import platform
from pathlib import Path

from runner.errors import DatabaseInUse, RunnerError


class DebugFailed(RunnerError):
    """`runner debug` found a problem (exit 2; a database in use is exit 3)."""
    stage = "Debug"


def versions() -> list[tuple[str, str]]:
    import duckdb
    import jinja2
    import sqlglot
    from importlib.metadata import version
    from runner import __version__
    return [("runner", __version__), ("python", platform.python_version()),
            ("duckdb", duckdb.__version__), ("sqlglot", sqlglot.__version__),
            ("jinja2", jinja2.__version__), ("typer", version("typer"))]


def debug(project_dir: str | Path = ".", db_path: str | Path | None = None,
          raw_dir: str | Path | None = None) -> list[str]:
    """The lines to print; raises DebugFailed (or DatabaseInUse) naming every problem
    after all checks ran, with the lines so far in its message."""
    from runner.session import default_db_path
    from runner.engines.duckdb import connect
    from runner.project.loader import load_project
    lines: list[str] = ["versions: " + ", ".join(f"{n} {v}" for n, v in versions())]
    problems: list[str] = []
    in_use = False
    try:
        project = load_project(project_dir)
    except RunnerError as exc:
        lines.append(f"project: FAILED {exc.message}")
        problems.append(exc.render())
        project = None
    if project is not None:
        lines.append(f"project: OK {project.name} in {project.root} ({len(project.models)} "
                     f"models, {len(project.seeds)} seeds, {len(project.sources)} source "
                     f"tables, {len(project.tests)} data tests, {len(project.packages)} "
                     "packages)")
        db = Path(db_path).resolve() if db_path else default_db_path(project)
        if not db.exists():
            writable = db.parent.is_dir() and _writable(db.parent)
            lines.append(f"database: {'OK' if writable else 'FAILED'} {db} does not exist "
                         f"yet{'; a build creates it' if writable else ''}")
            if not writable:
                problems.append(f"the folder of the database file {db.parent} does not "
                                "exist or is not writable: pass --db with a writable path.")
        else:
            try:
                con = connect(db, read_only=True)
                n = con.execute("select count(*) from duckdb_tables() where "
                                "database_name = current_database()").fetchone()[0]
                con.close()
                lines.append(f"database: OK {db} ({n} tables)")
            except DatabaseInUse as exc:
                in_use = True
                lines.append(f"database: FAILED {exc.message}")
                problems.append(exc.render())
            except RunnerError as exc:
                lines.append(f"database: FAILED {exc.message}")
                problems.append(exc.render())
        lines.append(_raw(project, raw_dir, problems))
    if problems:
        error = DebugFailed("\n".join(lines) + "\n" + f"{len(problems)} problem"
                            f"{'s' if len(problems) != 1 else ''}:\n  " +
                            "\n  ".join(problems))
        if in_use:
            error.exit_code = DatabaseInUse.exit_code
        raise error
    lines.append("All checks passed.")
    return lines


def _writable(folder: Path) -> bool:
    import os
    return os.access(folder, os.W_OK)


def _raw(project, raw_dir, problems: list[str]) -> str:
    """The raw folder's line: each source table needs its folder there."""
    if not project.sources:
        return "raw folder: OK (the project declares no sources)"
    folder = Path(raw_dir).resolve() if raw_dir else project.root / "data" / "raw"
    if not folder.is_dir():
        if raw_dir is None and project.vars.get("sample_sessions"):
            return (f"raw folder: OK {folder} does not exist; a build generates the sample "
                    "landing zone (vars sample_sessions) in target/sample-raw")
        problems.append(f"the raw folder {folder} does not exist: pass --raw-dir with the "
                        "landing zone (one subfolder per source table).")
        return f"raw folder: FAILED {folder} does not exist"
    missing = sorted(t.folder for t in project.sources.values()
                     if not (folder / t.folder).is_dir())
    if missing:
        problems.append(f"the raw folder {folder} lacks the source folders "
                        f"{', '.join(missing)}.")
        return f"raw folder: FAILED {folder} lacks {', '.join(missing)}"
    return f"raw folder: OK {folder} ({len(project.sources)} source folders)"
