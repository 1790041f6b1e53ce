"""What every switchboard command shares: the data-dir option, settings, the database, stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from switchboard.settings import Settings

if TYPE_CHECKING:  # the engine's imports are loaded where a command needs them (start-up time)
    from switchboard.db.engine import Database

err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: $SWITCHBOARD_DATA_DIR or ./data)."),
]


def command_settings(data_dir: Path | None, **overrides: object) -> Settings:
    """Settings from the environment, with the command line's options on top."""
    given = {name: value for name, value in overrides.items() if value is not None}
    if data_dir is not None:
        given["data_dir"] = data_dir
    settings = Settings(**given)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return settings


def open_database(settings: Settings) -> Database:
    from switchboard.db.engine import Database

    return Database(settings.effective_database_url)


def upgrade_schema(settings: Settings) -> None:
    from switchboard.db.migrate import upgrade

    upgrade(settings.effective_database_url)
