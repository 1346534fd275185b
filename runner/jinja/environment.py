"""The Jinja environment a project renders in: the sandbox, the loader of the project's
templates (models, tests, hooks and macros, by name), and the cache of compiled templates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment


class TemplateLoader(jinja2.BaseLoader):
    """Templates by name: (text, file name), added as the renderer meets them."""

    def __init__(self) -> None:
        self.templates: dict[str, tuple[str, str]] = {}

    def get_source(self, environment, template):
        if template not in self.templates:
            raise jinja2.TemplateNotFound(template)
        text, filename = self.templates[template]
        return text, filename, lambda: True


def sandboxed_environment(loader: TemplateLoader, cache_dir: Path | None) -> SandboxedEnvironment:
    """dbt's Jinja: undefined names are errors, `{% do %}` works, templates run sandboxed.

    With `cache_dir`, compiled templates are kept there, keyed by their source: a rebuild
    skips Jinja's parse and compile. The code also depends on the environment's options,
    so the folder is named after this module's text and Jinja's version."""
    cache = None
    if cache_dir is not None:
        signature = hashlib.sha1(Path(__file__).read_bytes() +
                                 jinja2.__version__.encode()).hexdigest()[:12]
        try:
            (cache_dir / signature).mkdir(parents=True, exist_ok=True)
            cache = jinja2.FileSystemBytecodeCache(str(cache_dir / signature))
        except OSError:
            cache = None
    return SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined,
                                bytecode_cache=cache, keep_trailing_newline=True,
                                extensions=["jinja2.ext.do"])


def template_line(exc: BaseException, path: str) -> int | None:
    """The template line of an error raised while rendering: Jinja rewrites the traceback
    so that a template's frames carry its file name and its own line numbers."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == path or filename.endswith("/" + path.lstrip("./")):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
