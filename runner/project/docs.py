"""dbt's docs blocks: `{% docs name %}...{% enddocs %}` in the .md files of the project's
docs-paths (by default its model, seed, test, macro and analysis paths) and of each
installed package's, and `{{ doc('name') }}` / `{{ doc('package', 'name') }}` in YAML
descriptions (models, columns, seeds, sources), rendered into the description text, so
that DuckDB's comments get the text. A doc is looked up as dbt-core's resolve_doc does:
the named package; else the project (which overrides a package's), then the describing
package, then any package."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from runner.errors import ProjectError

_BLOCK = re.compile(r"{%-?\s*docs\s+([A-Za-z_][A-Za-z0-9_]*)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}",
                    re.S)
_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined)


def docs_paths(settings: dict[str, Any], paths: dict[str, list[str]]) -> list[str]:
    """dbt's docs-paths: as given, else every resource path."""
    given = settings.get("docs-paths")
    if isinstance(given, list):
        return [str(p) for p in given]
    return [*paths["model-paths"], *paths["seed-paths"], *paths["test-paths"],
            *paths["macro-paths"], *(settings.get("analysis-paths") or ["analyses"])]


def read_blocks(root: Path, folders: list[str]) -> dict[str, str]:
    """{doc name: its text} of the .md files below the folders (the text rendered as
    dbt renders it, without context, and stripped)."""
    blocks: dict[str, str] = {}
    for folder in dict.fromkeys(folders):
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.md")):
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in _BLOCK.finditer(text):
                name = match.group(1)
                if name in blocks:
                    raise ProjectError(f"two docs blocks are named {name!r}.",
                                       path=path.relative_to(root).as_posix(),
                                       hint="rename one of them.")
                try:
                    blocks[name] = _ENV.from_string(match.group(2)).render().strip()
                except jinja2.TemplateError as exc:
                    raise ProjectError(f"the docs block {name!r} cannot be rendered: {exc}.",
                                       path=path.relative_to(root).as_posix()) from None
    return blocks


def render_descriptions(project: Any, settings: dict[str, Any]) -> None:
    """Replaces every description holding Jinja by its text, with doc() (and var())."""
    from runner.project.properties import read_yaml
    docs = {project.name: read_blocks(project.root, docs_paths(settings, project.paths))}
    from runner.project.loader import DEFAULT_PATHS
    for package, folder in project.packages.items():
        own = read_yaml(folder / "dbt_project.yml") or {}
        own = own if isinstance(own, dict) else {}
        paths = {k: list(own.get(k) or v) for k, v in DEFAULT_PATHS.items()}
        docs[package] = read_blocks(folder, docs_paths(own, paths))

    def render(text: str, package: str | None, yaml_path: Path | None, what: str) -> str:
        if "{{" not in text and "{%" not in text:
            return text
        where = yaml_path.relative_to(project.root).as_posix() \
            if yaml_path and yaml_path.is_relative_to(project.root) else str(yaml_path)

        def doc(*args: str) -> str:
            if len(args) not in (1, 2):
                raise ProjectError(f"doc() takes a name, or a package and a name, in the "
                                   f"description of {what}.", path=where)
            name = args[-1]
            order = [args[0]] if len(args) == 2 else \
                list(dict.fromkeys([project.name, package or project.name, *docs]))
            for candidate in order:
                if name in docs.get(candidate, {}):
                    return docs[candidate][name]
            from difflib import get_close_matches
            close = get_close_matches(name, sorted({n for d in docs.values() for n in d}),
                                      n=1)
            raise ProjectError(f"the description of {what} uses doc({', '.join(map(repr, args))}), "
                               f"but no docs block {name!r} exists"
                               f"{' in package ' + repr(args[0]) if len(args) == 2 else ''}"
                               f"{f' (did you mean {close[0]!r}?)' if close else ''}.",
                               path=where, hint="add {% docs " + name + " %}...{% enddocs %} "
                               "to a .md file in the models folder (or docs-paths), or fix "
                               "the name.")

        def var(name: str, default: Any = None) -> Any:
            return project.vars.get(name, default)
        try:
            return _ENV.from_string(text).render(doc=doc, var=var)
        except jinja2.TemplateError as exc:
            raise ProjectError(f"the description of {what} cannot be rendered: {exc}.",
                               path=where, hint="descriptions may use doc() and var().") \
                from None

    for node in project.nodes.values():
        what = f"{node.kind} {node.name}"
        node.description = render(node.description, node.package, node.yaml_path, what)
        for column in node.columns.values():
            column.description = render(column.description, node.package, node.yaml_path,
                                        f"column {column.name} of {what}")
    for table in project.sources.values():
        what = f"source {table.source}.{table.name}"
        table.description = render(table.description, None, table.yaml_path, what)
        for column in table.columns.values():
            column.description = render(column.description, None, table.yaml_path,
                                        f"column {column.name} of {what}")
