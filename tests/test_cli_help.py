"""The switchboard command's help: readable for every command, and quick because `--help` and the
light commands load no web framework, server or database layer."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from switchboard.cli.main import app

# What only the commands that serve, migrate or query need; the command line must not load them
# to print its help (each costs tenths of a second at every start).
HEAVY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "playwright",
    "prometheus_client",
    "pydantic",  # typer's value coercion uses it: a flag's default must not need it (readable_help)
)
HEAVY_OURS = ("switchboard.app", "switchboard.db", "switchboard.settings", "switchboard.access")
# typer's type placeholders: <str>, <bool>, <int>, <path>, <list[str]>, <int range>...
PLACEHOLDER = re.compile(r"<[a-z][a-z_ \[\],|]*>")
LIGHT = ["--help", "keys --help", "db --help", "access explain --help", "keys create --help", "serve --help"]


def _command_paths(
    command: typer.core.TyperGroup | object, path: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every command and group of the app, as the words that name it."""
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _command_paths(sub, (*path, name))
    return found


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_walk_reaches_every_command() -> None:
    assert ("keys", "create") in COMMANDS
    assert ("db", "upgrade") in COMMANDS
    assert ("simulate", "call") in COMMANDS
    assert len(COMMANDS) > 25


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "switchboard")
def test_every_commands_help_names_values_not_python_types(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert PLACEHOLDER.findall(result.output) == [], result.output
    assert "--help " in result.output


def test_flags_show_no_value_and_options_their_metavar() -> None:
    serve = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--insecure-http +Development only", serve), serve
    assert re.search(r"--help +Show this message", serve), serve
    assert re.search(r"--port +PORT ", serve), serve
    revoke = CliRunner().invoke(app, ["keys", "revoke", "--help"], env={"COLUMNS": "200"}).output
    assert "KEY_ID" in revoke


@pytest.mark.parametrize("words", LIGHT)
def test_help_loads_no_web_framework_server_or_database_layer(words: str) -> None:
    probe = (
        "import json, sys\n"
        f"sys.argv = ['switchboard', *{words.split()!r}]\n"
        "from switchboard.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "Usage:" in done.stdout
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    heavy = [name for name in loaded if name.split(".")[0] in HEAVY or name.startswith(HEAVY_OURS)]
    assert heavy == []
