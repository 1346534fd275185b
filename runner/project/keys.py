"""The keys the runner acts on, in one place, and the warnings for every other key.

A key of dbt_project.yml, of a YAML property file or of a config() block that is not
listed in IMPLEMENTED is read by dbt but not by this runner: it gets one warning naming
the file, the line and the key, and has no effect. A change that implements a key adds
it here, and the warning goes away."""

from __future__ import annotations

from typing import Any, Callable

IMPLEMENTED: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    # dbt_project.yml, top level ("version" is the project's own, nothing to act on)
    "dbt_project": {"name", "version", "config-version", "model-paths", "macro-paths",
                    "seed-paths", "test-paths", "vars", "models", "seeds", "dispatch",
                    "packages-install-path", "docs-paths", "clean-targets",
                    "snapshot-paths", "profile",     # profile: runner.engines.profiles
                    "on-run-start", "on-run-end"},   # runner.execute.hooks
    # a YAML property file, top level
    "property_file": {"version", "models", "seeds", "sources", "unit_tests", "snapshots"},
    # an entry of models: / seeds: / columns:
    "model": {"name", "description", "config", "columns", "data_tests", "tests",
              "constraints"},
    "seed": {"name", "description", "config", "columns", "data_tests", "tests",
             "column_types"},
    "column": {"name", "description", "data_tests", "tests", "data_type", "constraints"},
    # a model's contract: config and its constraints (runner/execute/contracts.py)
    "contract": {"enforced"},
    "constraint": {"type", "expression", "columns", "name", "warn_unenforced",
                   "warn_unsupported", "to", "to_columns"},
    # unit_tests: (runner/project/unit_tests.py)
    "unit_test": {"name", "model", "description", "given", "expect", "overrides", "config"},
    "unit_test_given": {"input", "rows", "format", "fixture"},
    "unit_test_expect": {"rows", "format", "fixture"},
    "unit_test_overrides": {"macros", "vars", "env_vars"},
    "unit_test_config": {"tags", "enabled"},
    # snapshots: in YAML (dbt 1.9), and their configs (runner/execute/snapshots.py)
    "snapshot": {"name", "description", "relation", "config", "columns", "data_tests",
                 "tests"},
    "snapshot_config": {"schema", "target_schema", "alias", "tags", "enabled", "unique_key",
                        "strategy", "updated_at", "check_cols", "hard_deletes",
                        "invalidate_hard_deletes", "snapshot_meta_column_names",
                        "dbt_valid_to_current", "materialized"},
    # sources: a source, its tables, their meta (runner extensions) and columns
    "source": {"name", "description", "schema", "tables", "meta", "freshness",
               "loaded_at_field"},
    "source_table": {"name", "description", "identifier", "meta", "columns", "config",
                     "freshness", "loaded_at_field"},
    "source_table_meta": {"optional_columns", "folder", "external_location", "formatter"},
    "source_config": {"meta", "external_location", "formatter"},     # dbt-duckdb's
    "source_column": {"name", "description"},
    # configs: config(), config: in YAML, +key in dbt_project.yml
    "model_config": {"materialized", "schema", "alias", "tags", "enabled", "unique_key",
                     "incremental_strategy", "pre_hook", "post_hook", "pre-hook",
                     "post-hook", "data_tests_where", "publish", "export", "contract",
                     "partition_by", "file_format",     # dbt-spark's (runner/engines/spark.py)
                     "full_build_batches"},             # the runner's (runner/jinja/batches.py)
    "seed_config": {"schema", "alias", "tags", "column_types", "delimiter", "enabled",
                    "quote_columns", "publish", "export"},
    "test_config": {"severity", "where", "tags", "error_if", "warn_if"},
    # the arguments of each generic data test
    "test:unique": {"column_name"},
    "test:not_null": {"column_name"},
    "test:accepted_values": {"column_name", "values", "quote"},
    "test:relationships": {"column_name", "to", "field"},
    "test:expression_is_true": {"column_name", "expression"},
}.items()}

# Keys of a folder block in dbt_project.yml that are configs even without a "+" (dbt's
# older spelling); whether the runner acts on them is IMPLEMENTED's say.
CONFIG_KEYS = {"materialized", "schema", "tags", "enabled", "alias", "unique_key",
               "incremental_strategy", "column_types", "severity", "full_refresh",
               "docs", "meta", "persist_docs", "on_schema_change", "delimiter",
               "quote_columns"}

Lines = dict[tuple, int]


# What to do instead, where the runner has its own way.
INSTEAD: dict[str, str] = {}


def unimplemented(path: str, line: int | None, key: str, where: str) -> str:
    at = f"{path}:{line}" if line else path
    instead = f"; {INSTEAD[key]}" if key in INSTEAD else ""
    return (f"{at}: '{key}' ({where}) is not implemented by the runner and has no "
            f"effect{instead}.")


class WarningLog:
    """The warnings of one command, each passed on once however often it is found."""

    def __init__(self, on_warning: Callable[[str], None] | None = None):
        self.messages: list[str] = []
        self.on_warning = on_warning

    def add(self, *messages: str) -> None:
        for message in messages:
            if message not in self.messages:
                self.messages.append(message)
                if self.on_warning:
                    self.on_warning(message)


class KeyChecker:
    """Collects the warnings of one file; `lines` maps a key path to its line."""

    def __init__(self, path: str, lines: Lines):
        self.path = path
        self.lines = lines
        self.warnings: list[str] = []

    def warn(self, at: tuple, key: str, where: str, message: str | None = None) -> None:
        line = self.lines.get(at)
        if message is None:
            self.warnings.append(unimplemented(self.path, line, key, where))
        else:
            self.warnings.append(f"{self.path}:{line}: '{key}' ({where}) {message}")

    def keys(self, mapping: Any, kind: str, at: tuple, where: str) -> None:
        if not isinstance(mapping, dict):
            return
        for key in mapping:
            if str(key) not in IMPLEMENTED[kind]:
                self.warn(at + (str(key),), str(key), where)

    # -- YAML property files ---------------------------------------------------------------
    def property_file(self, doc: dict) -> None:
        self.keys(doc, "property_file", (), "top level of a property file")
        for kind in ("models", "seeds", "snapshots"):
            for i, entry in _entries(doc, kind):
                at, name = (kind, i), entry.get("name")
                what = f"{kind[:-1]} {name}"
                self.keys(entry, kind[:-1], at, what)
                config = entry.get("config")
                self.keys(config, f"{kind[:-1]}_config", at + ("config",),
                          f"config of {what}")
                if isinstance(config, dict):
                    self.keys(config.get("contract"), "contract", at + ("config", "contract"),
                              f"contract of {what}")
                self.constraints(entry, at, what)
                self.tests(entry, at, what)
                for j, column in _entries(entry, "columns"):
                    col = at + ("columns", j)
                    col_what = f"column {column.get('name')} of {what}"
                    self.keys(column, "column", col, col_what)
                    self.constraints(column, col, col_what)
                    self.tests(column, col, col_what)
        for i, test in _entries(doc, "unit_tests"):
            at, what = ("unit_tests", i), f"unit test {test.get('name')}"
            self.keys(test, "unit_test", at, what)
            self.keys(test.get("config"), "unit_test_config", at + ("config",),
                      f"config of {what}")
            self.keys(test.get("overrides"), "unit_test_overrides", at + ("overrides",),
                      f"overrides of {what}")
            self.keys(test.get("expect"), "unit_test_expect", at + ("expect",),
                      f"expect of {what}")
            for j, given in _entries(test, "given"):
                self.keys(given, "unit_test_given", at + ("given", j), f"given of {what}")
        for i, source in _entries(doc, "sources"):
            at, what = ("sources", i), f"source {source.get('name')}"
            self.keys(source, "source", at, what)
            for j, table in _entries(source, "tables"):
                tab = at + ("tables", j)
                tab_what = f"source table {source.get('name')}.{table.get('name')}"
                self.keys(table, "source_table", tab, tab_what)
                self.keys(table.get("meta"), "source_table_meta", tab + ("meta",),
                          f"meta of {tab_what}")
                self.keys(table.get("config"), "source_config", tab + ("config",),
                          f"config of {tab_what}")
                for k, column in _entries(table, "columns"):
                    self.keys(column, "source_column", tab + ("columns", k),
                              f"column {column.get('name')} of {tab_what}")

    def constraints(self, entry: dict, at: tuple, what: str) -> None:
        for i, constraint in _entries(entry, "constraints"):
            self.keys(constraint, "constraint", at + ("constraints", i),
                      f"constraint of {what}")

    def tests(self, entry: dict, at: tuple, what: str) -> None:
        key = "data_tests" if "data_tests" in entry else "tests"
        for i, spec in _entries(entry, key, dicts_only=False):
            if not isinstance(spec, dict) or len(spec) != 1:
                continue
            test_type, args = next(iter(spec.items()))
            kind = f"test:{str(test_type).split('.')[-1]}"
            if kind not in IMPLEMENTED or not isinstance(args, dict):
                continue                  # an unknown test is an error of its own
            here = at + (key, i, str(test_type))
            test_what = f"test {str(test_type).split('.')[-1]} on {what}"
            for arg in args:
                if arg == "config":
                    self.keys(args[arg], "test_config", here + ("config",), test_what)
                elif arg == "arguments":
                    self.keys(args[arg], kind, here + ("arguments",), test_what)
                elif str(arg) not in IMPLEMENTED[kind] | IMPLEMENTED["test_config"]:
                    self.warn(here + (str(arg),), str(arg), test_what)

    # -- dbt_project.yml -------------------------------------------------------------------
    def project_file(self, settings: dict, project_name: str,
                     folders: Callable[[str], set[tuple[str, ...]]]) -> None:
        """Top-level keys, and the configs and folders of the models: and seeds: blocks
        (`folders(kind)` gives the folders that exist, as tuples of names)."""
        self.keys(settings, "dbt_project", (), "dbt_project.yml")
        for kind in ("models", "seeds"):
            block = settings.get(kind)
            if isinstance(block, dict):
                self._folder_block(block, (kind,), kind, (), project_name, folders(kind))

    def _folder_block(self, block: dict, at: tuple, kind: str, folder: tuple[str, ...],
                      project_name: str, existing: set[tuple[str, ...]]) -> None:
        config_kind = f"{kind[:-1]}_config"
        where = f"{kind} config in dbt_project.yml"
        for key, value in block.items():
            key = str(key)
            here = at + (key,)
            if key.startswith("+") or key in CONFIG_KEYS:
                name = key.lstrip("+")
                if name not in IMPLEMENTED[config_kind]:
                    self.warn(here, name, where)
            elif not isinstance(value, dict):
                self.warn(here, key, f"neither a config nor a folder of {kind}")
            elif not folder and key == project_name:
                self._folder_block(value, here, kind, folder, project_name, existing)
            elif folder + (key,) in existing:
                self._folder_block(value, here, kind, folder + (key,), project_name,
                                   existing)
            else:
                path = "/".join((kind,) + folder + (key,))
                self.warn(here, key, where, f"matches no folder {path}: its configs "
                                            "apply to nothing; check the folder's name.")


def _entries(mapping: Any, key: str, dicts_only: bool = True):
    items = mapping.get(key) if isinstance(mapping, dict) else None
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items)
            if isinstance(item, dict) or not dicts_only]
