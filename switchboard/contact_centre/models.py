"""Contact-centre tables. A template's optional team decides who sees its campaigns (Noojee's rule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.db.base import Base, JSONType, TZDateTime, key_string, utcnow


class Team(Base):
    __tablename__ = "teams"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(key_string(80))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("tenant_pk", "name_key"),)


class TeamMember(Base):
    """An account in a team; members are accounts of the team's tenant."""

    __tablename__ = "team_members"

    team_pk: Mapped[int] = mapped_column(ForeignKey("teams.pk", ondelete="CASCADE"), primary_key=True)
    account_pk: Mapped[int] = mapped_column(ForeignKey("accounts.pk", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="agent")
    # The member's place on the team's roster stack (1 first); NULL: after those placed, by name.
    stack_position: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint("role IN ('agent', 'supervisor')", name="role"),
        # "Which teams is this account in?" is asked by every campaign visibility check.
        Index("ix_team_members_account_pk_team_pk", "account_pk", "team_pk"),
    )


class CampaignTemplate(Base):
    __tablename__ = "campaign_templates"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(key_string(80))
    # Noojee's "Details tab" Team: who may see this template's campaigns. NULL: admins only,
    # unless the tenant opens team-less templates to everyone.
    team_pk: Mapped[int | None] = mapped_column(ForeignKey("teams.pk", ondelete="SET NULL"))
    dial_mode: Mapped[str] = mapped_column(String(20), default="preview")
    dispositions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    lead_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    contact_hours: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Raised in the transaction that changes any of its campaigns: lets a process reuse what it
    # rendered of them while the number read with the visibility check is unchanged.
    campaigns_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_pk", "name_key"),
        CheckConstraint("dial_mode IN ('preview', 'progressive', 'predictive')", name="dial_mode"),
        # A member's templates: its teams' templates in its tenant (the campaign-list hot path).
        Index("ix_campaign_templates_team_pk_tenant_pk", "team_pk", "tenant_pk"),
    )


class Campaign(Base):
    __tablename__ = "campaigns"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"))
    template_pk: Mapped[int] = mapped_column(
        ForeignKey("campaign_templates.pk", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(key_string(80))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_pk", "name_key"),
        CheckConstraint("status IN ('active', 'paused', 'finished')", name="status"),
    )


DEFAULT_ALLOCATION = "Default"  # where leads written without an allocation name go


class Allocation(Base):
    """A named batch of a campaign's leads (Noojee's allocation): each import may name its own."""

    __tablename__ = "allocations"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_pk: Mapped[int] = mapped_column(ForeignKey("campaigns.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(key_string(80))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("campaign_pk", "name_key"),)


class LeadImportRun(Base):
    """One CSV import of the console: its progress and outcome, where every worker can read them
    (the page that follows the upload is a GET of this row; reloading it imports nothing)."""

    __tablename__ = "lead_import_runs"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), unique=True)  # public: uuid4 hex
    campaign_pk: Mapped[int] = mapped_column(ForeignKey("campaigns.pk", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    updating: Mapped[bool] = mapped_column(Boolean)  # rows change leads (by njExternalLeadId)
    status: Mapped[str] = mapped_column(String(12))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    # Every row not written: [line, external id, outcome code, detail], in the file's order.
    failed: Mapped[list[list[Any]]] = mapped_column(JSONType, default=list)
    message: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)  # the heartbeat
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime)


class Lead(Base):
    """One contact of a campaign to be dialled; visible to whoever sees its campaign."""

    __tablename__ = "leads"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_pk: Mapped[int] = mapped_column(ForeignKey("campaigns.pk", ondelete="CASCADE"))
    # Noojee's njExternalLeadId: the integrator's reference, unique in its campaign when given.
    external_id: Mapped[str | None] = mapped_column(key_string(100))
    # Every lead written is given one (its campaign's default when unnamed); the migration gave
    # the leads written before allocations existed their campaign's default.
    allocation_pk: Mapped[int | None] = mapped_column(ForeignKey("allocations.pk", ondelete="CASCADE"))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=10)
    callback_at: Mapped[datetime | None] = mapped_column(TZDateTime)
    disposition: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="new")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("campaign_pk", "external_id"),
        CheckConstraint("priority BETWEEN 0 AND 100", name="priority"),
        CheckConstraint("status IN ('new', 'callback', 'finished')", name="status"),
        # The dialler's order: a campaign's open leads, lower priority number first, then by age.
        Index("ix_leads_campaign_pk_status_priority_pk", "campaign_pk", "status", "priority", "pk"),
        Index("ix_leads_allocation_pk", "allocation_pk"),  # an allocation's lead count
    )


class LeadPhone(Base):
    """A lead's normalised phone numbers: what duplicate checks look up, per campaign."""

    __tablename__ = "lead_phones"

    lead_pk: Mapped[int] = mapped_column(ForeignKey("leads.pk", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(key_string(20), primary_key=True)
    campaign_pk: Mapped[int] = mapped_column(ForeignKey("campaigns.pk", ondelete="CASCADE"))

    __table_args__ = (Index("ix_lead_phones_campaign_pk_number", "campaign_pk", "number"),)


class DoNotCall(Base):
    """A tenant's do-not-call list: normalised numbers no campaign of the tenant may take."""

    __tablename__ = "do_not_call"

    tenant_pk: Mapped[int] = mapped_column(ForeignKey("tenants.pk", ondelete="CASCADE"), primary_key=True)
    number: Mapped[str] = mapped_column(key_string(20), primary_key=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)


def _of_membership() -> ForeignKeyConstraint:
    """Roster rows belong to a membership: leaving the team removes them."""
    return ForeignKeyConstraint(
        ["team_pk", "account_pk"], ["team_members.team_pk", "team_members.account_pk"], ondelete="CASCADE"
    )


class _MemberRow:
    """A row about one member of one team (see _of_membership)."""

    pk: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_pk: Mapped[int] = mapped_column(Integer)
    account_pk: Mapped[int] = mapped_column(Integer)


class RosterShift(_MemberRow, Base):
    """A member's weekly hours: on `weekday` (0 Monday) from start to end minute, in the tenant's
    time zone. A shift past midnight is two rows."""

    __tablename__ = "roster_shifts"

    weekday: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        _of_membership(),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint(
            "start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute", name="hours"
        ),
        Index("ix_roster_shifts_team_pk_weekday", "team_pk", "weekday"),
    )


class RosterOverride(_MemberRow, Base):
    """A one-off period when a member is on (or off) shift whatever the weekly pattern says."""

    __tablename__ = "roster_overrides"

    starts_at: Mapped[datetime] = mapped_column(TZDateTime)
    ends_at: Mapped[datetime] = mapped_column(TZDateTime)
    on_shift: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    __table_args__ = (
        _of_membership(),
        CheckConstraint("starts_at < ends_at", name="period"),
        # "Which overrides are still in force?" asks for those ending after now.
        Index("ix_roster_overrides_team_pk_ends_at", "team_pk", "ends_at"),
    )
