"""Shapes of teams, campaign templates and campaigns."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, StringConstraints

from switchboard.kit.schemas import RowId, Schema

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^/\\]+$")]
DialMode = Literal["preview", "progressive", "predictive"]
CampaignStatus = Literal["active", "paused", "finished"]


class TeamCreate(Schema):
    name: Name


class MemberBody(Schema):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    role: Literal["agent", "supervisor"] = "agent"


class Member(Schema):
    username: str
    role: str


class TeamOut(Schema):
    id: int
    tenant_id: str
    name: str
    members: list[Member]


class Disposition(Schema):
    name: Name
    final: bool = False


class LeadField(Schema):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    type: Literal["text", "number", "date", "phone", "email"] = "text"
    required: bool = False
    phone: bool = Field(default=False, description="Dialled: a phone field.")


_zone_names = cache(available_timezones)  # reads the zone database: ~20 ms, once


def _known_zone(name: str) -> str:
    if name not in _zone_names():
        raise ValueError("is not an IANA time zone name (e.g. Australia/Melbourne)")
    return name


class ContactHours(Schema):
    time_zone: Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_zone)] = Field(
        default="UTC", description="IANA zone: contact hours and lead callback times are in it."
    )
    start: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "09:00"
    end: Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "17:00"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]


Dispositions = Annotated[list[Disposition], Field(max_length=100)]
LeadFields = Annotated[list[LeadField], Field(max_length=100)]


class TemplateCreate(Schema):
    name: Name
    team: Name | None = Field(default=None, description="The Details tab's Team: who sees the campaigns.")
    dial_mode: DialMode = "preview"
    dispositions: Dispositions = Field(default_factory=list)
    lead_fields: LeadFields = Field(default_factory=list)
    contact_hours: ContactHours = Field(default_factory=ContactHours)


class TemplateUpdate(Schema):
    """Partial update of TemplateCreate: only the fields sent are changed."""

    name: Name | None = None
    team: Name | None = None
    dial_mode: DialMode | None = None
    dispositions: Dispositions | None = None
    lead_fields: LeadFields | None = None
    contact_hours: ContactHours | None = None


class TemplateOut(TemplateCreate):
    model_config = {"extra": "ignore"}
    id: int
    tenant_id: str


class CampaignCreate(Schema):
    name: Name
    template_id: RowId
    status: CampaignStatus = "active"


class CampaignUpdate(Schema):
    """Partial update of CampaignCreate: only the fields sent are changed."""

    name: Name | None = None
    status: CampaignStatus | None = None


class CampaignOut(CampaignCreate):
    model_config = {"extra": "ignore"}
    id: int
    tenant_id: str
    template_name: str
