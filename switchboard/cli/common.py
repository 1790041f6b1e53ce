"""What every switchboard command shares: the data-dir option, settings, the database, stderr, and
a request body checked as the API checks it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:  # settings, pydantic and the engine load where a command needs them (start-up time)
    from pydantic import BaseModel

    from switchboard.db.engine import Database
    from switchboard.settings import Settings

    Body = TypeVar("Body", bound=BaseModel)
else:
    Body = TypeVar("Body")

err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", metavar="DIR", help="Data directory (default: $SWITCHBOARD_DATA_DIR or ./data)."
    ),
]


def command_settings(data_dir: Path | None, **overrides: object) -> Settings:
    """Settings from the environment, with the command line's options on top."""
    from switchboard.settings import Settings

    given = {name: value for name, value in overrides.items() if value is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    settings = Settings(**given)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings


def tls_files(settings: Settings) -> tuple[Path, Path]:
    """The certificate and key `serve` uses: the configured ones, else the data dir's self-signed
    pair (made on first use, by whichever of serve and demo comes first)."""
    if settings.certfile and settings.keyfile:
        return settings.certfile, settings.keyfile
    from switchboard.tls import ensure_self_signed

    return ensure_self_signed(settings.data_dir)


def open_database(settings: Settings) -> Database:
    from switchboard.db.engine import Database

    return Database(settings.effective_database_url)


def upgrade_schema(settings: Settings) -> None:
    from switchboard.db.migrate import upgrade

    upgrade(settings.effective_database_url)


def checked_body(schema: type[Body], data: dict[str, Any], options: Mapping[str, str]) -> Body:
    """`data` as the API's schema reads it; a refusal is one line naming the command line's option
    (`options`: the schema's field -> the option) and the value, and exit code 2, never a traceback."""
    from pydantic import ValidationError
    from rich.markup import escape

    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field, *rest = first["loc"] or ("input",)
        name = options.get(str(field), str(field))
        given = f" {first['input']!r}" if rest and isinstance(first["input"], str) else ""
        err.print(f"[red]Invalid {escape(name + given)}:[/red] {escape(first['msg'])}", soft_wrap=True)
        raise typer.Exit(2) from exc
