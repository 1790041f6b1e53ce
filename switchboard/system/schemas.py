"""Shapes of /api/v1/settings/: setting names are UPPER_CASE on the wire, as APIO spells them."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from switchboard.kit.schemas import Schema


class SettingsOut(Schema):
    model_config = ConfigDict(alias_generator=None, validate_by_name=True)
    DEFAULT_DOMAIN: str
    END_USER_NAME: str
    noojeeAcceptGet: bool = Field(description="Noojee methods accept GET like POST (tenants may override).")


class SettingsUpdate(Schema):
    model_config = ConfigDict(alias_generator=None, validate_by_name=True)
    DEFAULT_DOMAIN: str | None = None
    END_USER_NAME: str | None = None
    noojeeAcceptGet: bool | None = None


class AllowlistBody(Schema):
    """The system IP allowlist: addresses or CIDRs; a request must come from one of them."""

    entries: list[str]
