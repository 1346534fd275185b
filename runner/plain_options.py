"""The command's text, path and list-of-text options, converted without pydantic.

Typer (from 0.2x) converts every option's value through a pydantic TypeAdapter, built the
first time the option is used; importing pydantic for that was a third of the time of
`runner build` on a one-model project. The runner's options are text, paths, lists of text,
flags and a few numbers: click already hands text over as text and flags as booleans, so
for these a plain conversion does the same (paths get typer's own checks,
`coerce_cli_path`); numbers, choices and any other value keep typer's conversion. With a
typer that lacks these internals, nothing changes: typer converts everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

try:
    from dataclasses import dataclass

    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter

    @dataclass(frozen=True)
    class _PlainParam(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.annotation is str and isinstance(value, str):
                return value
            if self.annotation == list[str] and all(isinstance(v, str) for v in value):
                return list(value)
            if self.annotation is bool and isinstance(value, bool):
                return value
            if self.annotation is Path and isinstance(value, (str, Path)):
                return coerce_cli_path(Path(value), self.parameter_info, path_type=Path,
                                       param=param, ctx=ctx)
            typed = build_runtime_param(param.type_descriptor)   # typer's own, with pydantic
            return typed._coerce_value(value, param=param, ctx=ctx)
except ImportError:                          # another typer: it converts every value
    _PlainParam = None


def _plain(param: Any) -> bool:
    info = param.type_descriptor.parameter_info
    annotation = param.type_descriptor.annotation
    if param.type_descriptor.file_annotation is not None or info.parser is not None:
        return False
    if annotation in (str, bool) or annotation == list[str]:
        return True
    return annotation is Path and info.path_type is None


def set_plain_conversion(command: Any, ctx: Any) -> None:
    """Give each text, path, flag or list-of-text option of `command` (its help option
    included) the plain conversion, before any value is converted."""
    if _PlainParam is None:
        return
    for param in command.get_params(ctx):
        if (isinstance(param, _TyperParameter) and getattr(param, "_runtime_param", 0) is None
                and _plain(param)):
            descriptor = param.type_descriptor
            param._runtime_param = _PlainParam(parameter_info=descriptor.parameter_info,
                                               annotation=descriptor.annotation)


class PlainGroup(typer.core.TyperGroup):
    """typer's group of commands, with the plain conversion set on its own options and on
    those of the command it runs."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        set_plain_conversion(self, ctx)
        return super().parse_args(ctx, args)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            set_plain_conversion(command, ctx)
        return command
