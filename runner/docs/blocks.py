"""dbt's docs blocks: `{% docs name %} ... {% enddocs %}` in the .md files of the model,
seed, macro and test paths, and `{{ doc('name') }}` in a description, replaced by the
block's text on the site (as `dbt docs generate` does)."""

from __future__ import annotations

import re
from difflib import get_close_matches
from pathlib import Path

from runner.errors import ProjectError
from runner.project.nodes import Project

_BLOCK = re.compile(r"{%-?\s*docs\s+([A-Za-z_][\w]*)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.S)
_DOC = re.compile(r"{{-?\s*doc\(\s*(['\"])([\w.]+)\1\s*\)\s*-?}}")
_KEYS = ("model-paths", "seed-paths", "macro-paths", "test-paths")


def load_blocks(project: Project) -> dict[str, str]:
    blocks: dict[str, str] = {}
    where: dict[str, Path] = {}
    folders = {project.root / p for key in _KEYS for p in project.paths.get(key, [])}
    for folder in sorted(folders):
        for path in sorted(folder.rglob("*.md")) if folder.is_dir() else []:
            for match in _BLOCK.finditer(path.read_text(encoding="utf-8")):
                name = match.group(1)
                if name in blocks:
                    raise ProjectError(f"the docs block {name!r} is defined twice, in "
                                       f"{_rel(project, where[name])} and "
                                       f"{_rel(project, path)}.", path=_rel(project, path),
                                       hint="rename one of them.")
                blocks[name], where[name] = match.group(2).strip(), path
    return blocks


def render(text: str, blocks: dict[str, str], project: Project, owner: str,
           path: Path | str | None) -> str:
    """`text` with each {{ doc('name') }} replaced; an unknown name is a ProjectError."""
    if not text or "doc(" not in text:
        return text

    def swap(match: re.Match) -> str:
        name = match.group(2).split(".")[-1]      # doc('package.name') as dbt allows
        if name not in blocks:
            close = get_close_matches(name, blocks, n=1, cutoff=0.6)
            raise ProjectError(f"the description of {owner} uses doc({name!r}), but no "
                               f".md file of the project defines that docs block.",
                               path=_rel(project, path) if path else None,
                               hint=f"did you mean {close[0]!r}?" if close else
                               "add {% docs " + name + " %}...{% enddocs %} to a .md file "
                               "in the models folder.")
        return blocks[name]
    return _DOC.sub(swap, text)


def _rel(project: Project, path: Path | str) -> str:
    try:
        return Path(path).relative_to(project.root).as_posix()
    except ValueError:
        return str(path)
