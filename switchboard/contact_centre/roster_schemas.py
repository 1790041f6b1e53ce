"""Shapes of a team's roster: weekly shifts in stack order, and one-off overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from switchboard.kit.schemas import Schema

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = Python's weekday()
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# 24:00 ends a shift at midnight; a shift past midnight is two shifts.
Clock = Annotated[str, StringConstraints(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
Username = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Shift(Schema):
    day: Day
    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if minutes(self.start) >= minutes(self.end):
            raise ValueError("end must be after start (a shift past midnight is two shifts)")
        return self


class RosterMember(Schema):
    username: Username
    shifts: Annotated[list[Shift], Field(max_length=50)] = Field(default_factory=list)


class RosterBody(Schema):
    """The whole weekly roster: the members listed, in stack order (first is position 1), each
    with its shifts; team members not listed have no weekly shifts and no place on the stack."""

    members: Annotated[list[RosterMember], Field(max_length=1000)]


class RosterMemberOut(RosterMember):
    stack_position: int | None


class OverrideCreate(Schema):
    username: Username
    start: datetime = Field(description="A date-time with an offset, or in the tenant's time zone.")
    end: datetime
    on_shift: bool = Field(default=True, description="On shift (true) or off shift (false) in the period.")
    note: Annotated[str, StringConstraints(max_length=200)] = ""


class OverrideOut(Schema):
    id: int
    username: str
    start: datetime
    end: datetime
    on_shift: bool
    note: str


class RosterOut(Schema):
    tenant_id: str
    team: str
    time_zone: str
    members: list[RosterMemberOut]
    overrides: list[OverrideOut]


class OnShiftMember(Schema):
    """Who is on shift, with the fields Noojee's getActiveRosters gives."""

    id: int
    username: str
    extension: str
    phone_number: str
    mobile_number: str
    email: str
    stack_position: int


class OnShiftOut(Schema):
    tenant_id: str
    team: str
    at: datetime
    members: list[OnShiftMember]
