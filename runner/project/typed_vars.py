"""--vars checked before anything runs, against the type of the project's default.

A var is untyped, as in dbt; the runner infers what a value passed with --vars must be
from the default dbt_project.yml gives it: true/false -> a boolean, a number -> a number,
an ISO instant ("2024-10-01T00:00:00Z") -> an ISO instant, an ISO date -> an ISO date. Any
other default (text, "", a list, a mapping, no default at all) says nothing, and any
value passes."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from runner.errors import ProjectError
from runner.project.nodes import Project

BOOLEAN, NUMBER, INSTANT, DATE = ("true or false", "a number", "an ISO instant",
                                  "an ISO date")
EXAMPLES = {BOOLEAN: "true", NUMBER: "3", INSTANT: "2024-10-01T00:00:00Z",
            DATE: "2024-10-01"}


def expected_type(default: Any) -> str | None:
    """What a var with this default must be, or None where the default does not say."""
    if isinstance(default, bool):
        return BOOLEAN
    if isinstance(default, (int, float)):
        return NUMBER
    if isinstance(default, dt.datetime):
        return INSTANT
    if isinstance(default, dt.date):
        return DATE
    if isinstance(default, str) and _date(default):
        return DATE
    if isinstance(default, str) and _instant(default):
        return INSTANT
    return None


def conforms(value: Any, expected: str) -> bool:
    if expected == BOOLEAN:
        return isinstance(value, bool)
    if expected == NUMBER:
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return math.isfinite(value)
        if isinstance(value, str):
            try:
                return math.isfinite(float(value))
            except ValueError:
                return False
        return False
    if expected == INSTANT:       # a date alone is its midnight (UTC without an offset)
        return isinstance(value, dt.date) or \
            (isinstance(value, str) and (_instant(value) or _date(value)))
    if expected == DATE:
        return (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or \
            (isinstance(value, str) and _date(value))
    return True


def check_vars(project: Project, cli_vars: dict[str, Any]) -> None:
    """A ProjectError (exit 2) for the first --vars value that does not fit the type of
    its project default."""
    for name, value in cli_vars.items():
        if name not in project.vars:
            continue
        default = project.vars[name]
        expected = expected_type(default)
        if expected is None or conforms(value, expected):
            continue
        shown = default.isoformat() if isinstance(default, dt.date) else default
        raise ProjectError(
            f"--vars {name}: {value!r} is not {expected}, as the var's default in "
            f"dbt_project.yml ({shown!r}) is; nothing was run.",
            path="dbt_project.yml", line=project.var_lines.get(name) or None,
            hint=f"pass {expected}, e.g. --vars '{{{name}: {EXAMPLES[expected]}}}'.")


def _instant(text: str) -> bool:
    text = text.strip()
    if len(text) < 16 or text[10] not in "Tt ":
        return False
    try:
        dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return False
    return True


def _date(text: str) -> bool:
    text = text.strip()
    if len(text) != 10:
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
