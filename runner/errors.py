"""One base exception, a subclass per stage. The CLI prints them for a person."""

from __future__ import annotations


class RunnerError(Exception):
    """A problem a user can fix. `str()` is the message to print; no traceback."""

    exit_code = 2
    stage = "runner"

    def __init__(self, message: str, *, node: str | None = None,
                 path: str | None = None, line: int | None = None,
                 hint: str | None = None):
        self.message = message
        self.node = node
        self.path = path
        self.line = line
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path:
            where = str(self.path) + (f":{self.line}" if self.line else "")
        head = f"{self.stage} error"
        if self.node:
            head += f" in {self.node}"
        if where:
            head += f" ({where})"
        text = f"{head}: {self.message}"
        if self.hint:
            text += f"\n  What to do: {self.hint}"
        return text


class ProjectError(RunnerError):
    """The project files: dbt_project.yml, YAML property files, paths."""
    stage = "Project"


class RenderError(RunnerError):
    """Jinja: syntax errors, unknown refs, missing vars, sandbox violations."""
    stage = "Template"


class GraphError(RunnerError):
    """The dependency graph: cycles, unknown nodes in a selection."""
    stage = "Graph"


class SqlSyntaxError(RunnerError):
    """A compiled model that is not valid SQL, found before anything runs."""
    stage = "SQL syntax"


class SourceError(RunnerError):
    """The raw landing zone: missing folders, unreadable files."""
    stage = "Raw data"


class OptionError(RunnerError):
    """A command-line option whose value cannot be used, e.g. --memory-limit 8XB."""
    stage = "Option"


class DatabaseError(RunnerError):
    """The DuckDB file: locked by another process, unreadable."""
    exit_code = 3
    stage = "Database"


class DatabaseInUse(DatabaseError):
    """The DuckDB file is held by another process (a build writing it)."""


class ExecutionError(RunnerError):
    """A model failing while DuckDB runs it."""
    stage = "Run"


class NotBuilt(ExecutionError):
    """A model refused before its relation changed (its message says why and what to
    do); the relation stays as it was."""


class ExportError(RunnerError):
    """Writing a table or a report to a file."""
    stage = "Export"
