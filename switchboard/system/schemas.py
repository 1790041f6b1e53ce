"""Shapes of /api/v1/settings/: setting names are UPPER_CASE on the wire, as APIO spells them."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from switchboard.kit.schemas import Schema


class SettingsOut(Schema):
    model_config = ConfigDict(alias_generator=None, validate_by_name=True)
    DEFAULT_DOMAIN: str
    END_USER_NAME: str
    noojeeSubscribeMaxWaitSeconds: float = Field(
        description="Longest wait of a Noojee subscribe (0 to 300 s)"
    )
    noojeeAcceptGet: bool = Field(description="Noojee methods accept GET like POST (tenants may override).")


class SettingsUpdate(Schema):
    model_config = ConfigDict(alias_generator=None, validate_by_name=True)
    DEFAULT_DOMAIN: str | None = None
    END_USER_NAME: str | None = None
    noojeeSubscribeMaxWaitSeconds: float | None = None
    noojeeAcceptGet: bool | None = None


class AllowlistBody(Schema):
    """The system IP allowlist: addresses or CIDRs; a request must come from one of them."""

    entries: list[str]
