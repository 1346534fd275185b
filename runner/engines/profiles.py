"""dbt's targets: `--target` names an output of a profile in profiles.yml (dbt's shape:
profile -> `target:` and `outputs:` -> target -> `type: duckdb` or `type: spark`).

    my_profile:
      target: dev
      outputs:
        dev: {type: duckdb}
        spark_local: {type: spark, method: session, master: "local[2]"}
        cluster: {type: spark, method: connect, host: "sc://spark.example:15002",
                  connect_retries: 8, connect_timeout: 10}

`connect_retries` and `connect_timeout` (dbt-spark's names) bound how long a statement
waits on a Connect server that does not answer (runner.engines.spark.statement_policy).
profiles.yml is read from --profiles-dir, else $DBT_PROFILES_DIR, else the project
folder; the profile is --profile, else dbt_project.yml's `profile:`, else the file's only
one. Without one, `--target spark` is a local Spark session (local[2]) and
`--target duckdb` (or none) the DuckDB file, as before."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from runner.errors import ProjectError

TYPES = ("duckdb", "spark")
SPARK_METHODS = ("session", "connect")
SPARK_KEYS = {"type", "method", "host", "master", "schema", "warehouse", "threads",
              "connect_retries", "connect_timeout"}
# spark connect: a statement retried while the server does not answer, this many times
# at most, the waits doubling from 1 s up to connect_timeout seconds (about a minute in all)
CONNECT_RETRIES = 8
CONNECT_TIMEOUT = 10
DUCKDB_KEYS = {"type", "path", "schema", "threads"}


@dataclass
class Target:
    """The chosen output: dbt's `target` (name, type) and its connection settings."""
    name: str
    type: str = "duckdb"
    method: str = "session"           # spark: session (in this process) | connect
    host: str | None = None           # spark connect: sc://host:port
    master: str = "local[2]"          # spark session
    warehouse: str | None = None      # spark session: where managed tables are kept
    connect_retries: int = CONNECT_RETRIES    # spark connect: retries of a statement
    connect_timeout: int = CONNECT_TIMEOUT    # spark connect: the longest wait between (s)
    path: str | None = None           # duckdb: the database file
    profiles_file: str | None = None


def profiles_path(project_root: Path, profiles_dir: Path | None) -> Path | None:
    for folder in (profiles_dir, os.environ.get("DBT_PROFILES_DIR"), project_root):
        if folder and (Path(folder) / "profiles.yml").is_file():
            return Path(folder) / "profiles.yml"
    return None


def resolve_target(project_root: Path, target: str | None = None, profile: str | None = None,
                   profiles_dir: Path | None = None,
                   warn: Callable[[str], None] | None = None) -> Target:
    """The target the command runs on. A bad profiles.yml is a ProjectError (exit 2)
    naming the file and the key."""
    path = profiles_path(project_root, profiles_dir)
    say = warn or (lambda text: None)
    if path is None:
        for flag, value in (("--profiles-dir", profiles_dir), ("--profile", profile)):
            if value is not None:
                say(f"warning: {flag} {value} is not acted on: there is no profiles.yml "
                    f"(looked in --profiles-dir, $DBT_PROFILES_DIR and {project_root}).")
        if target in (None, "duckdb"):
            return Target(target or "duckdb")
        if target == "spark":
            return Target("spark", type="spark")
        say(f"warning: --target {target} is not acted on: there is no profiles.yml, so "
            "the targets are `duckdb` (the DuckDB file given with --db, default "
            "<project>/<name>.duckdb) and `spark` (a local Spark session).")
        return Target(target)
    import yaml                     # only where there is a profiles.yml to read
    if profile is None:             # dbt_project.yml's `profile:`, as dbt reads it
        try:
            settings = yaml.safe_load((project_root / "dbt_project.yml").read_text(
                encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            settings = {}           # the project's loader reports a broken file
        named = settings.get("profile") if isinstance(settings, dict) else None
        profile = str(named) if named is not None else None
    return _from_file(path, target, profile)


def _from_file(path: Path, target: str | None, profile: str | None) -> Target:
    def bad(message: str, hint: str) -> ProjectError:
        return ProjectError(message, path=str(path), hint=hint)
    import yaml
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProjectError(f"profiles.yml is not valid YAML: {exc}", path=str(path),
                           line=mark.line + 1 if mark else None,
                           hint="fix the YAML (dbt's shape: profile -> outputs -> target)."
                           ) from None
    profiles = {k: v for k, v in data.items() if k != "config"} if isinstance(data, dict) \
        else {}
    if not profiles:
        raise bad("profiles.yml defines no profile.",
                  "write `<profile>: {target: dev, outputs: {dev: {type: duckdb}}}`.")
    if profile is None:
        if len(profiles) > 1:
            raise bad(f"profiles.yml has {len(profiles)} profiles "
                      f"({', '.join(map(str, profiles))}) and --profile names none.",
                      "pass --profile with one of them.")
        profile = next(iter(profiles))
    if profile not in profiles:
        raise bad(f"there is no profile {profile!r} in profiles.yml (it has "
                  f"{', '.join(map(str, profiles))}).", "pass --profile with one of them.")
    body = profiles[profile]
    outputs = body.get("outputs") if isinstance(body, dict) else None
    if not isinstance(outputs, dict) or not outputs:
        raise bad(f"profile {profile!r} has no `outputs:`.",
                  f"write `{profile}: {{outputs: {{dev: {{type: duckdb}}}}}}`.")
    name = target or body.get("target")
    if name is None:
        raise bad(f"profile {profile!r} names no `target:` and no --target was given.",
                  f"set `{profile}.target:` or pass --target.")
    if name not in outputs:
        raise bad(f"profile {profile!r} has no output {name!r} in `outputs:` (it has "
                  f"{', '.join(map(str, outputs))}).", "pass --target with one of them.")
    out = outputs[name]
    where = f"{profile}.outputs.{name}"
    if not isinstance(out, dict) or out.get("type") not in TYPES:
        got = out.get("type") if isinstance(out, dict) else out
        raise bad(f"`{where}.type` is {got!r}; the runner runs on "
                  f"{' or '.join(TYPES)}.", f"set `{where}.type: duckdb` or `spark`.")
    known = SPARK_KEYS if out["type"] == "spark" else DUCKDB_KEYS
    unknown = sorted(set(out) - known)
    if unknown:
        raise bad(f"`{where}` has key(s) {', '.join(unknown)} the runner does not act on "
                  f"for type {out['type']}.", f"use only {', '.join(sorted(known))}.")
    result = Target(str(name), type=out["type"], profiles_file=str(path),
                    path=out.get("path"))
    if out["type"] == "spark":
        result.method = str(out.get("method", "session"))
        if result.method not in SPARK_METHODS:
            raise bad(f"`{where}.method` is {result.method!r}.",
                      "use `session` (a Spark session in this process, `master:` e.g. "
                      "local[2]) or `connect` (a Spark Connect server, `host: sc://...`).")
        result.master = str(out.get("master", "local[2]"))
        result.warehouse = out.get("warehouse")
        if result.method == "connect":
            host = out.get("host")
            if not isinstance(host, str) or not host.startswith("sc://"):
                raise bad(f"`{where}.host` is {host!r}; method connect needs a Spark "
                          "Connect URL.", f"set `{where}.host: sc://<server>:15002`.")
            result.host = host
        for key in ("connect_retries", "connect_timeout"):
            if key not in out:
                continue
            if result.method != "connect":
                raise bad(f"`{where}.{key}` is for method connect (how long a statement "
                          "waits on a Spark Connect server that does not answer); this "
                          "output's method is session.", f"remove `{where}.{key}`.")
            value = out[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise bad(f"`{where}.{key}` is {value!r}; it is a whole number, 0 or "
                          "more" + (" (how many times a statement is retried while the "
                                    "server does not answer)." if key == "connect_retries"
                                    else " (seconds: the longest wait between two tries "
                                    "of a statement)."),
                          f"set e.g. `{where}.{key}: "
                          f"{CONNECT_RETRIES if key == 'connect_retries' else CONNECT_TIMEOUT}`.")
            setattr(result, key, value)
    return result
