"""dbt's macro context: each macro as its own callable (with `return()`), the built-in
`dbt` macro namespace, one namespace per project and package, and `adapter.dispatch`.

As in dbt-core, a macro file is split into its macro blocks and each block is compiled on
its own, so a macro that calls another always goes through the context (and so through
the callable that catches `return()`), whichever file the other one lives in."""

from __future__ import annotations

import json
import re
from collections import ChainMap
from functools import partial
from pathlib import Path
from typing import Any, Callable

import jinja2
from jinja2.sandbox import SecurityError

from runner.errors import RenderError

BUILTIN_DIR = Path(__file__).parent / "macros" / "dbt"
# The built-in macros' own package name, as dbt-core names its global project.
GLOBAL_PROJECT = "dbt"

_TAG = re.compile(r"\{%[-+]?\s*(macro|endmacro)\b(?:\s+([A-Za-z_][A-Za-z0-9_]*))?")
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
# dbt's generic test blocks are macros named test_<name>.
_TEST_OPEN = re.compile(r"(\{%[-+]?\s*)test(\s+)([A-Za-z_])")
_TEST_CLOSE = re.compile(r"(\{%[-+]?\s*)endtest\b")
_RAW = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}.*?\{%[-+]?\s*endraw\s*[-+]?%\}", re.S)


class MacroReturn(Exception):
    """Raised by `return(value)` inside a macro; the macro's call returns `value`."""

    def __init__(self, value: Any):
        super().__init__("return() outside a macro")
        self.value = value


def do_return(value: Any = None) -> None:
    raise MacroReturn(value)


def split_macros(text: str) -> list[tuple[str, int, str]]:
    """The top-level macro blocks of a macro file: (name, first line, block text).
    Text between the blocks is ignored, as dbt ignores it."""
    # Comments and raw blocks hide their tags; blanked to the same length.
    masked = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    masked = _RAW.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), masked)
    blocks, depth, start, name = [], 0, 0, ""
    for match in _TAG.finditer(masked):
        if match.group(1) == "macro":
            if depth == 0:
                start, name = match.start(), match.group(2) or ""
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                end = masked.find("%}", match.end())
                end = len(text) if end < 0 else end + 2
                blocks.append((name, text.count("\n", 0, start) + 1, text[start:end]))
    return blocks


class MacroFunction:
    """A macro as dbt's context offers it: calling it renders the macro and returns its
    text, or the value it passed to `return()`. (Underscored attributes: the sandbox
    keeps templates away from them.)"""

    def __init__(self, name: str, package: str, macro: Any,
                 load: Callable[[], Any] | None = None):
        self._name = name
        self._package = package
        self._macro = macro
        self._load = load

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._macro is None and self._load is not None:
            self._macro = self._load()
            if self._macro is None:
                raise RenderError(f"the macro '{self._package}.{self._name}' could not be "
                                  f"read from its file: its block defines no such macro.")
        try:
            return self._macro(*args, **kwargs)
        except MacroReturn as returned:
            return returned.value

    def __repr__(self) -> str:
        return f"<macro {self._package}.{self._name}>"


class Namespace:
    """`dbt_utils`, `dbt`, the project's own name: its macros as attributes."""

    def __init__(self, package: str, macros: dict[str, MacroFunction],
                 label: Callable[[], dict] = dict):
        self._package = package
        self._macros = macros
        self._label = label

    def __getattr__(self, name: str) -> MacroFunction:
        if name.startswith("_") or name == "jinja_pass_arg":
            raise AttributeError(name)
        if name not in self._macros:
            raise RenderError(f"macro '{self._package}.{name}' does not exist: the "
                              f"'{self._package}' package has no macro named {name!r}.",
                              **self._label(), hint="check the macro's name and that the "
                              "package is installed (runner deps).")
        return self._macros[name]

    def __getitem__(self, name: str) -> MacroFunction:
        return self._macros[name]

    def __contains__(self, name: str) -> bool:
        return name in self._macros

    def __repr__(self) -> str:
        return f"<macro namespace {self._package}>"


def load_macros(renderer: Any) -> dict[str, Namespace]:
    """Compile the built-in macros, the project's and its packages'; put the global ones
    (built-in, then the project's, which override them) into the renderer's context and
    every namespace by its package name. Returns the namespaces."""
    project = renderer.project
    files: dict[str, list[tuple[str, str, str]]] = {GLOBAL_PROJECT: []}
    for path in sorted(BUILTIN_DIR.glob("*.sql")):
        files[GLOBAL_PROJECT].append((f"dbt/{path.name}", str(path),
                                      path.read_text(encoding="utf-8")))
    files.setdefault(project.name, [])
    for macro in project.macros:
        package = getattr(macro, "package", None) or project.name
        files.setdefault(package, []).append((macro.name, str(macro.path), macro.text))

    namespaces: dict[str, Namespace] = {}
    for package, entries in files.items():
        own: dict[str, MacroFunction] = {}
        # A package's macros see their own package's macros first, then the global ones.
        scope = renderer.context if package == project.name else ChainMap(own, renderer.context)
        for template_name, path, text in entries:
            text = _TEST_CLOSE.sub(r"\1endmacro", _TEST_OPEN.sub(r"\1macro\2test_\3", text))
            if package == project.name:
                # The whole file once, as a module: its syntax and any code between the
                # macros are checked (and sandboxed) when the project loads.
                renderer.loader.templates[template_name] = (text, path)
                _module(renderer, template_name, template_name, path, scope)
            for name, line, block in split_macros(text):
                key = f"{template_name}#{name}"
                renderer.loader.templates[key] = ("\n" * (line - 1) + block, path)
                load = partial(_compiled, renderer, key, template_name, path, scope, name)
                # The project's own macros compile now; the built-in ones and a
                # package's (hundreds, most never called) when first called.
                macro = load() if package == project.name else None
                if macro is not None or package != project.name:
                    own[name] = MacroFunction(name, package, macro, load)
        namespaces[package] = Namespace(package, own, renderer.label)
    renderer.context.update(namespaces[GLOBAL_PROJECT]._macros)
    renderer.context.update(namespaces[project.name]._macros)
    for package, namespace in namespaces.items():
        renderer.context.setdefault(package, namespace)
    return namespaces


def scope_of(renderer: Any, node: Any) -> Any:
    """The context a node renders in: a package's node also sees its package's macros
    by their bare names, as in dbt."""
    package = getattr(node, "package", None)
    if package and package in renderer.namespaces:
        return ChainMap(renderer.namespaces[package]._macros, renderer.context)
    return renderer.context


def _compiled(renderer: Any, key: str, template_name: str, path: str, scope: Any,
              name: str) -> Any:
    """The macro `name` of its own template (None if the block defines no such macro)."""
    macro = getattr(_module(renderer, key, template_name, path, scope), name, None)
    return macro if isinstance(macro, jinja2.runtime.Macro) else None


def _module(renderer: Any, key: str, template_name: str, path: str, scope: Any) -> Any:
    template = renderer._get(key, template_name, path)
    try:
        return template.make_module(vars=scope, shared=True)
    except SecurityError as exc:
        raise RenderError(f"the macro file reaches for something the sandbox "
                          f"forbids: {exc}.", path=template_name)
    except jinja2.TemplateError as exc:
        raise RenderError(str(exc), path=template_name, line=getattr(exc, "lineno", None))


def raise_not_implemented(label: Callable[[], dict]) -> Callable[[str], None]:
    """exceptions.raise_not_implemented, as dbt names it."""
    def fail(message: str) -> None:
        raise RenderError(f"not implemented: {message}.", **label())
    return fail


def extra_context(renderer: Any) -> dict[str, Any]:
    """The parts of dbt's context beyond ref/source/config/var: `return`, `adapter`,
    `api`, `zip`, JSON helpers. Macros and namespaces are added by load_macros()."""
    from runner.jinja.dispatch import Adapter, ColumnApi
    from runner.jinja.relation import RelationApi
    label = renderer.label
    return {
        "return": do_return,
        "adapter": Adapter(renderer, label),
        "api": {"Column": ColumnApi(), "Relation": RelationApi()},
        "zip": zip,
        "tojson": lambda value, sort_keys=False: json.dumps(value, sort_keys=sort_keys,
                                                            default=str),
        "fromjson": lambda text, default=None: _fromjson(text, default),
    }


def _fromjson(text: str, default: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default
