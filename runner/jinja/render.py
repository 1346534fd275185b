"""Render Jinja-templated SQL in a sandbox, with dbt's context: ref, source, config,
var, env_var, this, is_incremental and the project's macros; and source_files, the
files of a source's folder (to prune the files an incremental model reads)."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from difflib import get_close_matches
from typing import Any, Callable

import jinja2
from jinja2.sandbox import SecurityError

from runner.errors import RenderError
from runner.jinja.context import (MacroReturn, extra_context, load_macros,
                                  raise_not_implemented, scope_of)
from runner.jinja.database import DatabaseContext
from runner.jinja.environment import TemplateLoader, sandboxed_environment, template_line
from runner.jinja.dbt_globals import SafeDatetime, _SafeItertools, _SafePytz, more_context
from runner.jinja.batches import BatchFilter
from runner.jinja.relation import SOURCE_PARTS, Relation, files_view_name, part_view_name
from runner.project.keys import IMPLEMENTED, unimplemented
from runner.project.loader import MATERIALIZATIONS, Node, Project, SourceTable, TestDef, merge_config

_MISSING = object()


def sql_escaped(value: Any) -> Any:
    """A value from --vars, the project's vars or the environment, with single quotes
    doubled (in lists and mappings too): inside a quoted SQL literal it stays a literal,
    whatever filters or concatenations it goes through."""
    if isinstance(value, str):
        return value.replace("'", "''")
    if isinstance(value, list):
        return [sql_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: sql_escaped(v) for k, v in value.items()}
    return value


@dataclass
class Rendered:
    sql: str
    refs: set[str]
    sources: set[tuple[str, str]]
    config: dict[str, Any]


class Renderer:
    """Renders models, tests and ad-hoc SQL of one project.

    `exists(node)` says whether a node's relation is in the database (for
    is_incremental); `full_refresh` makes is_incremental() false everywhere."""

    def __init__(self, project: Project, cli_vars: dict[str, Any] | None = None,
                 exists: Callable[[Node], bool] | None = None, full_refresh: bool = False,
                 run_started_at: dt.datetime | None = None, cache_dir: Path | None = None,
                 which: str = "compile"):
        self.project = project
        self.which = which
        self.vars = {**project.vars, **(cli_vars or {})}
        self.exists = exists or (lambda node: False)
        self.full_refresh = full_refresh
        self.run_started_at = run_started_at or dt.datetime.now(dt.timezone.utc)
        self.loader = TemplateLoader()
        self.env = sandboxed_environment(self.loader, cache_dir)
        self._state: dict[str, Any] = {}
        # --empty: refs and sources read no rows, except refs of the models this run
        # builds empty anyway (their tables keep DuckDB's rowid for the models reading it)
        self.empty, self.built_empty = False, set()
        self.redirected: dict[str, Relation] = {}   # refs read elsewhere (--defer, --empty)
        # full_build_batches (runner/jinja/batches.py): the batch rendered, (index, count)
        self.batch, self.batch_filtered = None, set()
        # models this run builds whole: tables, and incremental models built from nothing
        # or with --full-refresh (compile_models records them; builds_whole() reads them)
        self.built_whole: set[str] = set()
        # config() keys the runner does not act on: one message each, in order
        self.warnings: dict[str, None] = {}
        # The build's DuckDB connection, once there is one (run_query and introspection)
        self.connection = None
        self.database = DatabaseContext(self)
        # Jinja's own globals (range, dict, namespace, ...) too: macro modules share this
        # dict as is, without the environment's globals.
        self.context = {**self.env.globals, **self._base_context(), **extra_context(self),
                        **more_context(self)}
        self.namespaces = load_macros(self)

    # -- context -------------------------------------------------------------------------
    def _base_context(self) -> dict[str, Any]:
        return {
            "ref": self._ref, "source": self._source, "source_files": self._source_files,
            "source_parts": self._source_parts, "batch_filter": BatchFilter(self),
            "builds_whole": lambda model_name: model_name in self.built_whole,
            "config": self._config,
            "var": self._var, "env_var": self._env_var, "is_incremental": self._is_incremental,
            "run_started_at": self.run_started_at,
            # dbt-duckdb's target: the database is the file's name (set by the build)
            "target": {"name": "dev", "type": "duckdb", "schema": "main",
                       "database": self.project.name, "profile_name": self.project.name,
                       "threads": 1},
            "project_name": self.project.name,
            "exceptions": {"raise_compiler_error": self._raise,
                           "raise_not_implemented": raise_not_implemented(self.label),
                           "warn": lambda message: self.context["warn"](message)},
            # dbt's flags: WHICH is the command (build, run, test, seed, compile, ...)
            "flags": {"FULL_REFRESH": self.full_refresh, "WHICH": self.which,
                      "STORE_FAILURES": False},
            "modules": {"datetime": SafeDatetime(), "re": re, "itertools": _SafeItertools(),
                        "pytz": _SafePytz()},
        }

    def _raise(self, message: str) -> None:
        raise RenderError(str(message), node=self._state.get("name"),
                          path=self._state.get("path"))

    def label(self) -> dict[str, Any]:
        """The node and file being rendered, for an error's location."""
        return {"node": self._state.get("name"), "path": self._state.get("path")}

    def _get(self, name: str, node: str, path: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"Jinja syntax error: {exc.message}.", node=node, path=path,
                              line=exc.lineno, hint="close every {{ }}, {% %} and "
                                                    "{% if %}/{% endif %} pair at that line.")

    # -- the dbt functions ---------------------------------------------------------------
    def _ref(self, *args: str, **kwargs: Any) -> Relation:
        if not args or len(args) > 2:
            raise RenderError("ref() takes a model name (and optionally a project name).",
                              node=self._state.get("name"), path=self._state.get("path"))
        name = str(args[-1])
        nodes = self.project.nodes
        if name not in nodes:
            # Never the model itself nor anything downstream of it: that ref would be a cycle.
            cycle = _downstream(self.project, self._state.get("node"))
            close = get_close_matches(name, [n for n in nodes if n not in cycle], n=1,
                                      cutoff=0.5)
            hint = f"did you mean ref('{close[0]}')?" if close else \
                "check the model's file name under models/ (a ref names a file without .sql)."
            raise RenderError(f"ref('{name}') names a model that does not exist.",
                              node=self._state.get("name"), path=self._state.get("path"),
                              hint=hint)
        self._state["refs"].add(name)
        node = nodes[name]
        return self.redirected.get(name) or Relation(
            node.schema, node.alias, cte=node.materialized == "ephemeral",
            empty=self.empty and name not in self.built_empty)

    def _source(self, source_name: str, table_name: str) -> Relation:
        table = self._source_table(source_name, table_name)
        return Relation(table.schema, table.folder if table.relation else table.name,
                        external=table.external, empty=self.empty)

    def _source_files(self, source_name: str, table_name: str) -> Relation:
        """The view of the files in the source's folder: `_source_file` (as the source
        view's rows carry it), `size_bytes`, `modified_at`, `row_count` (as the file's
        check counted it). Listing it reads no file."""
        table = self._source_table(source_name, table_name)
        if table.external:
            raise RenderError(f"source_files() lists a raw folder's files, not "
                              f"{source_name}.{table_name}'s external_location.")
        return Relation(table.schema, files_view_name(table.name), empty=self.empty)

    def _source_parts(self, source_name: str, table_name: str) -> dict[str, Relation]:
        """The source's rows by the kind of file they came from: `parquet`, each declared
        column with the type the Parquet files give it (VARCHAR NULL where no file has
        it), and `text`, the CSV and NDJSON rows, every column VARCHAR; each with
        `_source_file`. Together, the rows of source(); a model that reads them types
        the Parquet values it can take as they are, instead of from their text."""
        table = self._source_table(source_name, table_name)
        if table.external or table.relation:
            raise RenderError(f"source_parts() splits a raw folder's files by kind, not "
                              f"{source_name}.{table_name}, which is read where it is.")
        return {part: Relation(table.schema, part_view_name(table.name, part),
                               empty=self.empty) for part in SOURCE_PARTS}

    def _source_table(self, source_name: str, table_name: str) -> SourceTable:
        """The declared source table, recorded among the node's sources (the runner
        prepares it before the build)."""
        key = (str(source_name), str(table_name))
        table = self.project.sources.get(key)
        if table is None:
            known = [f"{s}.{t}" for s, t in self.project.sources]
            close = get_close_matches(f"{key[0]}.{key[1]}", known, n=1, cutoff=0.5)
            hint = f"did you mean source('{close[0].split('.')[0]}', " \
                   f"'{close[0].split('.', 1)[1]}')?" if close else \
                "declare it under 'sources:' in a YAML file beside the models."
            raise RenderError(f"source('{key[0]}', '{key[1]}') is not declared.",
                              node=self._state.get("name"), path=self._state.get("path"),
                              hint=hint)
        self._state["sources"].add(key)
        return table

    def _config(self, *args: Any, **kwargs: Any) -> str:
        if args and isinstance(args[0], dict):
            kwargs = {**args[0], **kwargs}
        self._state["config"] = merge_config(self._state["config"], kwargs)
        kind = self._state.get("kind")
        if kind:
            for key in kwargs:
                if str(key) not in IMPLEMENTED[f"{kind}_config"]:
                    self._warn_config(str(key), kind)
        return ""

    def _warn_config(self, key: str, kind: str) -> None:
        """A config() key the runner does not act on, at the line of the model (or test)
        file that sets it: the template line of the config() call, then the first line
        from there that names the key."""
        path, line = self._state.get("path"), None
        frame = sys._getframe(1)
        while frame is not None:
            template = frame.f_globals.get("__jinja_template__")
            if template is not None and template.name == self._state.get("template"):
                line = template.get_corresponding_lineno(frame.f_lineno)
                source = self.loader.templates.get(template.name, ("",))[0].splitlines()
                named = re.compile(rf"""(\b{re.escape(key)}\s*=|['"]{re.escape(key)}['"]\s*:)""")
                line = next((n for n in range(line, len(source) + 1)
                             if named.search(source[n - 1])), line)
                break
            frame = frame.f_back
        where = path
        if path and Path(path).is_absolute() and Path(path).is_relative_to(self.project.root):
            where = Path(path).relative_to(self.project.root).as_posix()
        self.warnings[unimplemented(where, line, key, f"config() of {kind} "
                                                      f"{self._state.get('name')}")] = None

    def _var(self, name: str, default: Any = _MISSING) -> Any:
        if name in self.vars:
            value = self.vars[name]
        elif default is not _MISSING:
            value = default
        else:
            raise RenderError(f"var('{name}') has no value and no default.",
                              node=self._state.get("name"), path=self._state.get("path"),
                              hint=f"pass --vars '{{{name}: ...}}', set it under 'vars:' in "
                                   f"dbt_project.yml, or give var() a default.")
        return sql_escaped(value)

    def _env_var(self, name: str, default: Any = _MISSING) -> str:
        if name in os.environ:
            return sql_escaped(os.environ[name])
        if default is not _MISSING:
            return sql_escaped(default)
        raise RenderError(f"env_var('{name}') is not set and has no default.",
                          node=self._state.get("name"), path=self._state.get("path"),
                          hint=f"export {name}=... before running, or give a default.")

    def _is_incremental(self) -> bool:
        node = self._state.get("node")
        if not self._state.get("execute") or node is None:
            return False
        if self._state["config"].get("materialized") != "incremental":
            return False
        return self.builds_on_its_table(node)

    def builds_on_its_table(self, node: Node) -> bool:
        """An incremental model's build adds to its table: it has one, no --full-refresh."""
        return not self.full_refresh and self.exists(node)

    # -- rendering -----------------------------------------------------------------------
    def render_node(self, node: Node, execute: bool) -> Rendered:
        name = f"model:{node.name}"
        if name not in self.loader.templates:
            self.loader.templates[name] = (node.raw_sql, str(node.path))
        this = Relation(node.schema, node.alias)
        rendered = self._render(name, node.name, node.rel_path, node.config, execute,
                                node=node, this=this, kind=node.kind)
        node.refs, node.sources = rendered.refs, rendered.sources
        return rendered

    def render_string(self, text: str, label: str, path: str | None = None,
                      config: dict | None = None, execute: bool = True,
                      kind: str | None = None) -> Rendered:
        import hashlib
        name = f"string:{label}:{hashlib.sha1(text.encode()).hexdigest()[:16]}"
        if name not in self.loader.templates:
            self.loader.templates[name] = (text, path or label)
        return self._render(name, label, path or label, config or {}, execute, kind=kind)

    def render_hook(self, node: Node, text: str) -> str:
        """A pre_hook or post_hook of a model, rendered with the model's context
        ({{ this }}, is_incremental(), ref, var, macros)."""
        import hashlib
        name = f"hook:{node.name}:{hashlib.sha1(text.encode()).hexdigest()[:16]}"
        if name not in self.loader.templates:
            self.loader.templates[name] = (text, str(node.path))
        return self._render(name, node.name, node.rel_path, node.config, True, node=node,
                            this=Relation(node.schema, node.alias)).sql

    def render_test(self, test: TestDef, text: str) -> Rendered:
        rendered = self.render_string(text, test.name, str(test.path), test.config,
                                      kind="test")
        test.refs, test.sources = rendered.refs, rendered.sources
        return rendered

    def _render(self, name: str, label: str, path: str, config: dict, execute: bool,
                node: Node | None = None, this: Relation | None = None,
                kind: str | None = None) -> Rendered:
        template = self._get(name, label, path)
        state = {"name": label, "path": path, "refs": set(), "sources": set(),
                 "config": dict(config), "execute": execute, "node": node, "kind": kind,
                 "template": name}
        previous = self._state
        self._state = state
        self.context["this"] = this
        self.context["execute"] = execute
        try:
            sql = template.render(scope_of(self, node))
        except RenderError:
            raise
        except MacroReturn:
            raise RenderError("return() is called outside a macro.", node=label, path=path,
                              hint="return() ends a macro with a value; a model's text "
                                   "cannot return.")
        except SecurityError as exc:
            raise RenderError(f"the template reaches for something the sandbox forbids "
                              f"({exc}); nothing was run.", node=label, path=path,
                              hint="templates may use ref, source, config, var and macros, "
                                   "not Python internals or files.")
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{exc.message}.", node=label, path=path,
                              line=template_line(exc, template.filename or path),
                              hint="check the spelling, or define it as a macro in macros/.")
        except jinja2.TemplateError as exc:
            raise RenderError(f"{exc}.", node=label, path=path,
                              line=template_line(exc, template.filename or path))
        except (TypeError, ValueError, AttributeError, KeyError, ZeroDivisionError) as exc:
            raise RenderError(f"{type(exc).__name__} while rendering: {exc}.", node=label,
                              path=path, line=template_line(exc, template.filename or path))
        finally:
            self._state = previous
        materialized = state["config"].get("materialized")
        if materialized and materialized not in MATERIALIZATIONS:
            raise RenderError(f"materialized='{materialized}' is not a materialization.",
                              node=label, path=path,
                              hint=f"use one of {', '.join(sorted(MATERIALIZATIONS))}.")
        return Rendered(sql, state["refs"], state["sources"], state["config"])


_REF = re.compile(r"""\bref\s*\(\s*(?:['"][^'"]*['"]\s*,\s*)?['"]([^'"]+)['"]\s*\)""")


def _downstream(project: Project, node: Node | None) -> set[str]:
    """A model and every model downstream of it: from the refs rendering has recorded so
    far and, for models not rendered yet, the ref('...') calls in their text (asked only
    on the error path, so reading every model's text costs nothing)."""
    if node is None:
        return set()
    from runner.graph.dag import Graph
    parents = {name: (set(other.refs) | set(_REF.findall(other.raw_sql))) & set(project.models)
               for name, other in project.models.items()}
    return {node.name} | Graph(parents).downstream(node.name)
