"""dbt's --resource-type and --exclude-resource-type (build, test, ls; env vars
DBT_RESOURCE_TYPES and DBT_EXCLUDE_RESOURCE_TYPES): which kinds of node a command keeps
of those its --select/--exclude chose. As dbt's resource_types_from_args: the
--resource-type set (the command's default without one; `all` and `default` expanded),
then the --exclude-resource-type set taken away; `runner test` keeps only test and
unit_test of it. A type the runner has no node of (exposure, metric, ...) is accepted
and selects nothing."""

from __future__ import annotations

from typing import Iterable

from runner.errors import OptionError

# dbt-core's click choices (core/dbt/cli/params.py, resource_type and
# exclude_resource_type), in their order; `all` is not one of the exclusion's.
CHOICES = ("metric", "semantic_model", "saved_query", "source", "analysis", "function",
           "model", "test", "unit_test", "exposure", "snapshot", "seed", "default", "all")
EXCLUDE_CHOICES = tuple(c for c in CHOICES if c != "all")

# dbt's task defaults: BuildTask's RUNNER_MAP keys, TEST_NODE_TYPES, ListTask's
# DEFAULT_RESOURCE_VALUES (and its ALL_RESOURCE_VALUES, with analysis).
_BUILD = frozenset({"model", "snapshot", "seed", "test", "unit_test", "saved_query",
                    "exposure", "function"})
_TESTS = frozenset({"test", "unit_test"})
_LIST = frozenset({"model", "snapshot", "seed", "test", "source", "exposure", "metric",
                   "saved_query", "semantic_model", "unit_test", "function"})
DEFAULTS = {"test": (_TESTS, _TESTS), "ls": (_LIST, _LIST | {"analysis"})}


def words(values: Iterable[str] | None) -> list[str]:
    """The values as given: repeated flags, several after one flag or in the env var
    (space-separated), in any case, as dbt's lower-cased names."""
    return [word.lower() for value in values or () for word in str(value).split()]


def _check(values: list[str], option: str, choices: tuple[str, ...]) -> None:
    from difflib import get_close_matches
    for word in values:
        if word not in choices:
            close = get_close_matches(word, choices, n=1, cutoff=0.6)
            raise OptionError(
                f"{option} {word!r} is not one of its resource types: "
                f"{', '.join(choices)}.",
                hint=(f"did you mean {close[0]!r}? " if close else "use one of those; ") +
                     "repeat the flag, or give several after it, for more than one.")


def resolve(command: str, include: Iterable[str] | None,
            exclude: Iterable[str] | None) -> frozenset[str] | None:
    """The resource types `command` keeps; None when neither option is given (all of
    them). An unknown name is an OptionError (exit 2) listing dbt's choices."""
    wanted, unwanted = words(include), words(exclude)
    _check(wanted, "--resource-type", CHOICES)
    _check(unwanted, "--exclude-resource-type", EXCLUDE_CHOICES)
    if not wanted and not unwanted:
        return None
    default, every = DEFAULTS.get(command, (_BUILD, _BUILD))
    kept = set(default) if not wanted else set(wanted)
    if "all" in kept:
        kept |= every
    if "default" in kept:
        kept |= default
    kept -= {"all", "default"}
    gone = set(unwanted)
    if "default" in gone:
        gone |= default
    kept -= gone
    if command == "test":
        kept &= _TESTS
    return frozenset(kept)


def described(include: Iterable[str] | None, exclude: Iterable[str] | None) -> str:
    """The options as a command line would give them, for notes."""
    parts = [f"--resource-type {' '.join(words(include))}"] if words(include) else []
    if words(exclude):
        parts.append(f"--exclude-resource-type {' '.join(words(exclude))}")
    return " ".join(parts)
