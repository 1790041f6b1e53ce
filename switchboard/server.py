"""The ASGI entry point for server worker processes: settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from switchboard.app import create_app
from switchboard.logs import configure_logging
from switchboard.settings import Settings


def app_from_environment() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
