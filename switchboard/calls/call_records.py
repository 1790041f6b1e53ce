"""A campaign's call records (Noojee's getCallRecordList): its calls, their leads and recordings.

A call is a campaign's when it was dialled for it (`calls.campaign_pk`); its lead is the lead of
that campaign with the number the call was made to (calls do not name a lead), and through the
lead its allocation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from switchboard.access.models import Account
from switchboard.access.policy import Kind, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.calls.models import Call, Recording
from switchboard.contact_centre.models import Campaign, Lead, LeadPhone
from switchboard.db.in_lists import chunks
from switchboard.directory.service import tenant_time_zone
from switchboard.errors import BadRequest
from switchboard.kit.zones import zone_named


@dataclass(slots=True)
class CallRecord:
    call: Call
    agent: str  # who dialled it (an account's username), "" when unknown
    lead_pk: int | None = None
    lead_external_id: str | None = None
    allocation_pk: int | None = None
    recordings: list[Recording] = field(default_factory=list)


def campaign_call_records(
    session: Session,
    principal: Principal,
    template_id: int | None,
    campaign_id: int | None,
    allocation_id: int | None,
) -> list[CallRecord]:
    """The calls of the campaigns the principal sees (Noojee's API-key rule, as getCampaignList), by id;
    optionally of one template, campaign or allocation."""
    visible_campaigns = select(Campaign.pk).where(visibility(principal, Kind.CAMPAIGN))
    if template_id is not None:
        visible_campaigns = visible_campaigns.where(Campaign.template_pk == template_id)
    stmt = (
        select(Call, Account.username)
        .outerjoin(Account, Account.pk == Call.originated_by)
        .where(Call.campaign_pk.in_(visible_campaigns), visibility(principal, Kind.CALL))
        .order_by(Call.pk)
    )
    if campaign_id is not None:
        stmt = stmt.where(Call.campaign_pk == campaign_id)
    if allocation_id is not None:
        stmt = stmt.where(
            exists(
                select(LeadPhone.lead_pk)
                .join(Lead, Lead.pk == LeadPhone.lead_pk)
                .where(
                    LeadPhone.campaign_pk == Call.campaign_pk,
                    LeadPhone.number == Call.other_party,
                    Lead.allocation_pk == allocation_id,
                )
            )
        )
    records = [
        CallRecord(call, username or "") for call, username in session.execute(stmt, scope_params(principal))
    ]
    _attach_leads(session, records)
    _attach_recordings(session, records)
    return records


def _attach_leads(session: Session, records: list[CallRecord]) -> None:
    """Each call's lead: its campaign's lead with the number called (the oldest, if several)."""
    numbers = sorted({r.call.other_party for r in records if r.call.other_party})
    campaigns = sorted({r.call.campaign_pk for r in records if r.call.campaign_pk is not None})
    if not numbers or not campaigns:
        return
    found: dict[tuple[int, str], tuple[int, str | None, int | None]] = {}
    for chunk in chunks(numbers):
        stmt = (
            select(LeadPhone.campaign_pk, LeadPhone.number, Lead.pk, Lead.external_id, Lead.allocation_pk)
            .join(Lead, Lead.pk == LeadPhone.lead_pk)
            .where(and_(LeadPhone.campaign_pk.in_(campaigns), LeadPhone.number.in_(chunk)))
            .order_by(Lead.pk.desc())  # the oldest lead is written last, so it wins
        )
        for campaign_pk, number, lead_pk, external_id, allocation_pk in session.execute(stmt):
            found[(campaign_pk, number)] = (lead_pk, external_id, allocation_pk)
    for record in records:
        if record.call.campaign_pk is None:
            continue
        lead = found.get((record.call.campaign_pk, record.call.other_party))
        if lead is not None:
            record.lead_pk, record.lead_external_id, record.allocation_pk = lead


def _attach_recordings(session: Session, records: list[CallRecord]) -> None:
    by_call = {r.call.pk: r for r in records}
    for chunk in chunks(sorted(by_call)):
        stmt = (
            select(Recording).where(Recording.call_pk.in_(chunk)).order_by(Recording.call_pk, Recording.leg)
        )
        for recording in session.scalars(stmt):
            by_call[recording.call_pk].recordings.append(recording)


def principal_zone(session: Session, principal: Principal) -> tzinfo:
    """The time zone a principal's hours are in: its tenant's; UTC for principals of no tenant
    (the global key, system administrators)."""
    return zone_named(tenant_time_zone(session, principal.tenant_pk))


def hour_span(day: date, hour: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the hour `hour` (0-23) of `day` on the clocks of `zone`; 400 for
    an hour at the ends of the calendar, which has no UTC span."""
    start = datetime.combine(day, time(hour))
    try:
        end = start + timedelta(hours=1)
        return start.replace(tzinfo=zone).astimezone(UTC), end.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        raise BadRequest.field("date", "out of range") from None
