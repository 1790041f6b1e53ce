"""Help that names values, not Python types: `--account ACCOUNT`, `--json`, `KEY_ID` rather than
typer's `--account <str>`, `--json <bool>`, `key_id <int>`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer import _click
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType


class ReadableOption(TyperOption):
    """A flag shows no value; an option shows its metavar (its name in capitals when it has none)."""

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        if self.is_flag or self.count:
            return None
        return self.metavar or (self.name or "value").upper()


class ReadableArgument(TyperArgument):
    """An argument is named by its metavar (its name in capitals when it has none); no type beside it."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "value").upper()

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return None


def _readable(param: _click.Parameter) -> None:
    # Why a class swap: typer builds every parameter itself (typer.main._get_param, no class hook),
    # and its help prints `<type>` beside each one: beside every flag (--help included) whatever
    # its metavar, and beside every argument in any case. The subclasses above change only how a
    # parameter is shown, never how it parses.
    if type(param) is TyperOption:
        param.__class__ = ReadableOption
    elif type(param) is TyperArgument:
        param.__class__ = ReadableArgument


class _ReadableParams:
    """For a command or a group: its parameters, and the help option click adds, shown readably."""

    params: list[_click.Parameter]

    def _adopt_params(self) -> None:
        for param in self.params:
            _readable(param)

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        option: TyperOption | None = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _readable(option)
            # Unset, typer's help flag is None, which goes through its value coercion; that loads
            # pydantic (a tenth of a second at each start). A flag not given is False.
            option.default = False
        return option


def _rewrapped(text: str | None) -> str | None:
    """A docstring's paragraphs, each on one line: the source wraps at its line length, the help at
    the terminal's (typer keeps the source's line breaks)."""
    if text is None:
        return None
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in text.split("\n\n"))


class ReadableCommand(_ReadableParams, TyperCommand):
    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, help=_rewrapped(help), **kwargs)
        self._adopt_params()


class ReadableGroup(_ReadableParams, TyperGroup):
    def __init__(self, *args: Any, help: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, help=_rewrapped(help), **kwargs)
        self._adopt_params()


class CommandGroup(typer.Typer):
    """A typer.Typer whose group and commands print readable help (commands may still name a cls)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(cls=ReadableGroup, **options)

    def command(self, *args: Any, **options: Any) -> Callable[[CommandFunctionType], CommandFunctionType]:
        options.setdefault("cls", ReadableCommand)
        return super().command(*args, **options)
