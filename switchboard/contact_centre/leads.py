"""Leads: checked against their campaign's template, inserted and updated in batches, per-row results.

One implementation serves the native API and Noojee's insertLeadFast/updateLeadFast, so the
result codes are Noojee's documented ones (0 OK, 101 not found, 102 no phone, 104 DNC, ...).
Each batch is one transaction: it is written whole or not at all, and the results say which.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from switchboard.access.policy import Kind, Target, require_manage
from switchboard.access.principal import Principal
from switchboard.contact_centre.models import Campaign, CampaignTemplate, DoNotCall, Lead, LeadPhone
from switchboard.contact_centre.phones import normalise_phone
from switchboard.contact_centre.service import find_campaign
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.db.failures import is_database_unavailable
from switchboard.db.in_lists import chunks
from switchboard.directory.models import Tenant
from switchboard.errors import NotFound, SwitchboardError, TooManyRequests
from switchboard.events.log import event_params, record_events
from switchboard.kit.pagination import PREFIX_END, like_prefix

log = logging.getLogger(__name__)


class Outcome(IntEnum):
    """Per-row result codes, Noojee's numbering (its lead API documents 0 and 101-112)."""

    OK = 0
    LEAD_NOT_FOUND = 101
    NO_PHONE_FIELDS = 102
    EXCEPTION = 103
    DNC = 104
    DUPLICATE = 105
    INVALID_DISPOSITION = 106
    DISPOSITION_NOT_SET_AND_NO_CHANGE = 107
    NO_CHANGE_ON_INSERT = 108
    TOO_MANY_CONCURRENT_REQUESTS = 109
    DUPLICATE_EXTERNAL_ID = 112
    # Switchboard's own, outside Noojee's range: a value the template cannot take (unknown field,
    # missing required field, bad number, date, e-mail, phone, priority or callback time).
    INVALID_VALUE = 150


# Noojee's message strings, spelling included: clients compare them.
NOOJEE_MESSAGES = {
    Outcome.OK: "OK",
    Outcome.LEAD_NOT_FOUND: "COULDNT_FIND_THE_LEAD",
    Outcome.NO_PHONE_FIELDS: "NO_PHONE_FIELDS",
    Outcome.EXCEPTION: "EXCEPTION",
    Outcome.DNC: "DNC",
    Outcome.DUPLICATE: "DUPLICATE",
    Outcome.INVALID_DISPOSITION: "INVALID_DISPOSTION",
    Outcome.DISPOSITION_NOT_SET_AND_NO_CHANGE: "DISPOSTION_ISNT_SET_AND_NOCHANGE_SPECIFIED",
    Outcome.NO_CHANGE_ON_INSERT: "IMPORT_BUT_NOCHANGE_SPECIFIED",
    Outcome.TOO_MANY_CONCURRENT_REQUESTS: "TIMEOUT_TOO_MANY_CONCURRENT_REQUESTS",
    Outcome.DUPLICATE_EXTERNAL_ID: "DUPLICATE_EXTERNAL_ID",
    Outcome.INVALID_VALUE: "INVALID_VALUE",
}


class Marker:
    """A value that is not a value: a field left out, or Noojee's '<No Change>'."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# A callback time's wall-clock date, in whatever zone it is written, lies in these years: far enough
# inside datetime's range that moving it to UTC and showing it in any zone cannot overflow.
_CALLBACK_FIRST = datetime(1970, 1, 1)
_CALLBACK_LAST = datetime(9998, 12, 31, 23, 59)
ISO_MINUTES = "%Y-%m-%dT%H:%M"


def callback_in_range(value: datetime, written_as: str = ISO_MINUTES) -> datetime:
    """`value` when its date is in the supported range; ValueError naming the range (in the form
    its surface writes dates) otherwise. Every adapter checks the callback times it reads with it."""
    if not _CALLBACK_FIRST.year <= value.year <= _CALLBACK_LAST.year:
        first, last = _CALLBACK_FIRST.strftime(written_as), _CALLBACK_LAST.strftime(written_as)
        raise ValueError(f"must be from {first} to {last}")
    return value


ABSENT = Marker("ABSENT")  # not in the row: the default on insert, unchanged on update
KEEP = Marker("KEEP")  # '<No Change>': unchanged on update, an error (108) on insert


@dataclass(slots=True)
class LeadInput:
    """One row as an adapter understood it; `rejected` carries an adapter's own verdict."""

    fields: dict[str, Any] = field(default_factory=dict)  # name -> str | number | None | KEEP
    external_id: str | None = None
    priority: int | Marker | None = ABSENT
    callback_at: datetime | Marker | None = ABSENT  # naive: in the template's contact-hours zone
    disposition: str | Marker | None = ABSENT
    lead_pk: int | None = None  # updates by id (native API) rather than by external id
    rejected: tuple[Outcome, str] | None = None


@dataclass(frozen=True, slots=True)
class RowResult:
    index: int
    outcome: Outcome
    detail: str
    lead_pk: int | None = None
    external_id: str | None = None


class RowRejected(Exception):
    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CampaignContext:
    """What checking a lead needs: the campaign, its template's fields, dispositions and zone."""

    tenant_pk: int
    campaign: Campaign
    template: CampaignTemplate
    fields: dict[str, dict[str, Any]]  # lower-case name -> field definition
    phone_fields: tuple[str, ...]
    dispositions: dict[str, dict[str, Any]]  # lower-case name -> disposition
    zone: ZoneInfo
    allocation_pk: int | None = None  # where inserted leads go (LeadWriter resolves it per request)


def campaign_context(
    session: Session,
    principal: Principal,
    tenant: Tenant | None,
    campaign_id: int,
    template_id: int | None = None,
    lock: bool = False,
) -> CampaignContext:
    """The visible campaign (404 otherwise, also when it is not of `template_id`).

    With `lock`, writers of the same campaign's leads take turns (PostgreSQL row lock; SQLite
    writers already do), so duplicate checks cannot race each other.
    """
    campaign = find_campaign(session, principal, tenant, campaign_id)
    if template_id is not None and campaign.template_pk != template_id:
        raise NotFound(f"campaign {campaign_id} of template {template_id} not found or not visible")
    require_manage(principal, Target(Kind.LEAD, campaign.tenant_pk))
    if lock and session.get_bind().dialect.name == "postgresql":
        session.execute(select(Campaign.pk).where(Campaign.pk == campaign.pk).with_for_update())
    template = session.get_one(CampaignTemplate, campaign.template_pk)
    fields = {f["name"].lower(): f for f in template.lead_fields}
    return CampaignContext(
        tenant_pk=campaign.tenant_pk,
        campaign=campaign,
        template=template,
        fields=fields,
        phone_fields=tuple(f["name"] for f in template.lead_fields if f.get("phone") or f["type"] == "phone"),
        dispositions={d["name"].lower(): d for d in template.dispositions},
        zone=ZoneInfo(template.contact_hours.get("timeZone", "UTC")),
    )


# -- checking one row ------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _field_value(definition: dict[str, Any], value: Any) -> str | None:
    """The stored text of a field value (None when empty); ValueError when the type refuses it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be text or a number")
    text = str(value).strip()
    if not text:
        return None
    if len(text) > 1000:
        raise ValueError("is longer than 1000 characters")
    if definition.get("phone") or definition["type"] == "phone":
        return normalise_phone(text)
    kind = definition["type"]
    if kind == "number":
        number = float(text)  # ValueError if not a number
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
    elif kind == "date":
        return date.fromisoformat(text.replace("/", "-")).isoformat()
    elif kind == "email" and not _EMAIL.match(text):
        raise ValueError("is not an e-mail address")
    return text


def _merge_fields(
    ctx: CampaignContext, stored: dict[str, str], given: dict[str, Any], insert: bool
) -> dict[str, str]:
    values = dict(stored)
    for name, value in given.items():
        definition = ctx.fields.get(name.lower())
        if definition is None:
            raise RowRejected(Outcome.INVALID_VALUE, f"{name}: no such field in the campaign's template")
        canonical = definition["name"]
        if value is KEEP:
            if insert:
                raise RowRejected(
                    Outcome.NO_CHANGE_ON_INSERT, f"{canonical}: '<No Change>' is for updates only"
                )
            continue
        try:
            text = _field_value(definition, value)
        except ValueError as exc:
            raise RowRejected(Outcome.INVALID_VALUE, f"{canonical}: {exc}") from None
        if text is None:
            values.pop(canonical, None)
        else:
            values[canonical] = text
    for definition in ctx.fields.values():
        if definition.get("required") and definition["name"] not in values:
            raise RowRejected(Outcome.INVALID_VALUE, f"{definition['name']}: required")
    return values


def _phones(ctx: CampaignContext, values: dict[str, str]) -> list[str]:
    phones = list(dict.fromkeys(values[name] for name in ctx.phone_fields if name in values))
    if not phones:
        raise RowRejected(Outcome.NO_PHONE_FIELDS, "the lead has no number in any phone field")
    return phones


def _disposition(
    ctx: CampaignContext, given: str | Marker | None, stored: str | None, insert: bool
) -> str | None:
    if given is ABSENT:
        return stored
    if given is KEEP:
        if insert:
            raise RowRejected(Outcome.NO_CHANGE_ON_INSERT, "disposition: '<No Change>' is for updates only")
        if stored is None:
            raise RowRejected(
                Outcome.DISPOSITION_NOT_SET_AND_NO_CHANGE, "disposition: '<No Change>' but the lead has none"
            )
        return stored
    if given is None or given == "":
        return None
    assert isinstance(given, str)
    disposition = ctx.dispositions.get(given.lower())
    if disposition is None:
        raise RowRejected(Outcome.INVALID_DISPOSITION, f"disposition {given!r} is not one of the template's")
    name: str = disposition["name"]
    return name


def _callback(
    ctx: CampaignContext, given: datetime | Marker | None, stored: datetime | None
) -> datetime | None:
    if isinstance(given, Marker):
        return stored
    if given is None:
        return None
    # Noojee: a callback time is in the template's contact-hours zone unless it says otherwise.
    local = given if given.tzinfo is not None else given.replace(tzinfo=ctx.zone)
    return local.astimezone(UTC)


def _priority(given: int | Marker | None, stored: int) -> int:
    if isinstance(given, Marker) or given is None:
        return stored
    if not 0 <= given <= 100:
        raise RowRejected(Outcome.INVALID_VALUE, "priority: must be 0 to 100 (lower dials first)")
    return given


def _status(ctx: CampaignContext, disposition: str | None, callback_at: datetime | None) -> str:
    if disposition is not None and ctx.dispositions[disposition.lower()].get("final"):
        return "finished"
    return "callback" if callback_at is not None else "new"


@dataclass(slots=True)
class _Checked:
    index: int
    values: dict[str, str]
    phones: list[str]
    priority: int
    callback_at: datetime | None
    disposition: str | None
    status: str
    external_id: str | None
    new_phones: list[str]  # not on the lead before: what DNC and duplicate checks look at
    lead: Lead | None = None  # updates: the stored lead


def _check(ctx: CampaignContext, index: int, row: LeadInput, lead: Lead | None) -> _Checked:
    """Everything about a row that needs no other lead: RowRejected when it cannot be stored."""
    if row.rejected is not None:
        raise RowRejected(*row.rejected)
    insert = lead is None
    values = _merge_fields(ctx, lead.fields if lead else {}, row.fields, insert)
    phones = _phones(ctx, values)
    disposition = _disposition(ctx, row.disposition, lead.disposition if lead else None, insert)
    if insert and (row.priority is KEEP or row.callback_at is KEEP):
        raise RowRejected(Outcome.NO_CHANGE_ON_INSERT, "'<No Change>' is for updates only")
    callback_at = _callback(ctx, row.callback_at, lead.callback_at if lead else None)
    priority = _priority(row.priority, lead.priority if lead else 10)
    return _Checked(
        index=index,
        values=values,
        phones=phones,
        priority=priority,
        callback_at=callback_at,
        disposition=disposition,
        status=_status(ctx, disposition, callback_at),
        external_id=lead.external_id if lead else row.external_id,
        new_phones=[n for n in phones if n not in _phones_of(ctx, lead.fields)] if lead else phones,
        lead=lead,
    )


# -- batches ---------------------------------------------------------------------------------------


def _existing(
    session: Session, column: Any, condition: ColumnElement[bool], values: Iterable[str]
) -> set[str]:
    """Which of `values` appear in `column` under `condition` (IN lists in chunks)."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(values))):
        found.update(session.scalars(select(column).where(condition, column.in_(chunk))))
    return found


class _BatchChecks:
    """The checks against other leads and the DNC list, one query per kind per batch."""

    def __init__(
        self, session: Session, ctx: CampaignContext, checked: list[_Checked], allow_duplicates: bool
    ) -> None:
        numbers = {n for c in checked for n in c.new_phones}
        self.dnc = _existing(session, DoNotCall.number, DoNotCall.tenant_pk == ctx.tenant_pk, numbers)
        self.allow_duplicates = allow_duplicates
        self.taken: dict[str, set[int]] = {}  # number -> leads of the campaign that have it
        if not allow_duplicates:
            for chunk in chunks(sorted(numbers)):
                stmt = select(LeadPhone.number, LeadPhone.lead_pk).where(
                    LeadPhone.campaign_pk == ctx.campaign.pk, LeadPhone.number.in_(chunk)
                )
                for number, lead_pk in session.execute(stmt):
                    self.taken.setdefault(number, set()).add(lead_pk)
        external_ids = [c.external_id for c in checked if c.external_id is not None and c.lead is None]
        self.external_ids = _existing(
            session, Lead.external_id, Lead.campaign_pk == ctx.campaign.pk, external_ids
        )

    def verdict(self, checked: _Checked) -> RowRejected | None:
        """None if the row may be written; then what it takes is recorded for later rows."""
        own = checked.lead.pk if checked.lead is not None else None
        on_dnc = [n for n in checked.new_phones if n in self.dnc]
        if on_dnc:
            return RowRejected(Outcome.DNC, f"{on_dnc[0]} is on the tenant's do-not-call list")
        if checked.lead is None and checked.external_id in self.external_ids:
            return RowRejected(
                Outcome.DUPLICATE_EXTERNAL_ID, f"external id {checked.external_id!r} exists in the campaign"
            )
        if not self.allow_duplicates:
            for number in checked.new_phones:
                if self.taken.get(number, set()) - {own}:
                    return RowRejected(Outcome.DUPLICATE, f"a lead of the campaign already has {number}")
        if checked.external_id is not None:
            self.external_ids.add(checked.external_id)
        # A row not yet written stands in with a negative number, so later rows see its phones.
        for number in checked.phones:
            self.taken.setdefault(number, set()).add(own if own is not None else -1 - checked.index)
        return None


def insert_batch(
    session: Session, ctx: CampaignContext, rows: Sequence[tuple[int, LeadInput]], allow_duplicates: bool
) -> list[RowResult]:
    """Insert the rows that pass every check; one result per row, in order."""
    results: dict[int, RowResult] = {}
    checked: list[_Checked] = []
    for index, row in rows:
        try:
            checked.append(_check(ctx, index, row, None))
        except RowRejected as rejected:
            results[index] = RowResult(index, rejected.outcome, rejected.detail, external_id=row.external_id)
    checks = _BatchChecks(session, ctx, checked, allow_duplicates)
    accepted: list[_Checked] = []
    for item in checked:
        verdict = checks.verdict(item)
        if verdict is None:
            accepted.append(item)
        else:
            results[item.index] = RowResult(
                item.index, verdict.outcome, verdict.detail, external_id=item.external_id
            )
    if accepted:
        now = utcnow()
        pks = session.scalars(
            insert(Lead).returning(Lead.pk, sort_by_parameter_order=True),
            [
                {
                    "campaign_pk": ctx.campaign.pk,
                    "allocation_pk": ctx.allocation_pk,
                    "external_id": item.external_id,
                    "fields": item.values,
                    "priority": item.priority,
                    "callback_at": item.callback_at,
                    "disposition": item.disposition,
                    "status": item.status,
                    "created_at": now,
                    "updated_at": now,
                }
                for item in accepted
            ],
        ).all()
        session.execute(
            insert(LeadPhone),
            [
                {"lead_pk": pk, "number": number, "campaign_pk": ctx.campaign.pk}
                for pk, item in zip(pks, accepted, strict=True)
                for number in item.phones
            ],
        )
        for pk, item in zip(pks, accepted, strict=True):
            results[item.index] = RowResult(item.index, Outcome.OK, "inserted", pk, item.external_id)
        record_events(
            session,
            [
                lead_event(ctx, "lead.created", pk, item.external_id, item.status, item.disposition)
                for pk, item in zip(pks, accepted, strict=True)
            ],
        )
    return [results[index] for index, _ in rows]


def lead_event(
    ctx: CampaignContext, kind: str, pk: int, external_id: str | None, status: str, disposition: str | None
) -> dict[str, Any]:
    """A lead's event: ids, status and disposition; its fields (personal data) stay out of it."""
    data = {
        "leadId": pk,
        "externalId": external_id,
        "campaignId": ctx.campaign.pk,
        "templateId": ctx.template.pk,
        "status": status,
        "disposition": disposition,
    }
    return event_params(kind, ctx.tenant_pk, data, campaign_id=ctx.campaign.pk)


def delete_lead(session: Session, ctx: CampaignContext, lead_id: int) -> None:
    lead = find_lead(session, ctx, lead_id)
    record_events(
        session, [lead_event(ctx, "lead.deleted", lead.pk, lead.external_id, lead.status, lead.disposition)]
    )
    session.delete(lead)


def update_batch(
    session: Session, ctx: CampaignContext, rows: Sequence[tuple[int, LeadInput]], allow_duplicates: bool
) -> list[RowResult]:
    """Update leads matched by external id (Noojee) or id (native); one result per row, in order."""
    leads = _leads_of(session, ctx, [row for _, row in rows])
    results: dict[int, RowResult] = {}
    checked: list[_Checked] = []
    for index, row in rows:
        lead = leads.get(row.lead_pk) if row.lead_pk is not None else leads.get(row.external_id)
        if lead is None:
            what = f"lead {row.lead_pk}" if row.lead_pk is not None else f"external id {row.external_id!r}"
            results[index] = RowResult(
                index,
                Outcome.LEAD_NOT_FOUND,
                f"{what}: no such lead in the campaign",
                external_id=row.external_id,
            )
            continue
        try:
            checked.append(_check(ctx, index, row, lead))
        except RowRejected as rejected:
            results[index] = RowResult(index, rejected.outcome, rejected.detail, lead.pk, lead.external_id)
    checks = _BatchChecks(session, ctx, checked, allow_duplicates)
    now = utcnow()
    changed_phones: list[_Checked] = []
    events: list[dict[str, Any]] = []
    for item in checked:
        lead = item.lead
        assert lead is not None
        verdict = checks.verdict(item)
        if verdict is not None:
            results[item.index] = RowResult(
                item.index, verdict.outcome, verdict.detail, lead.pk, lead.external_id
            )
            continue
        if set(item.phones) != set(_phones_of(ctx, lead.fields)):
            changed_phones.append(item)
        lead.fields = item.values
        lead.priority = item.priority
        lead.callback_at = item.callback_at
        lead.disposition = item.disposition
        lead.status = item.status
        lead.updated_at = now
        results[item.index] = RowResult(item.index, Outcome.OK, "updated", lead.pk, lead.external_id)
        events.append(
            lead_event(ctx, "lead.updated", lead.pk, lead.external_id, lead.status, lead.disposition)
        )
    session.flush()
    record_events(session, events)
    if changed_phones:
        pks = [item.lead.pk for item in changed_phones if item.lead is not None]
        for chunk in chunks(pks):
            session.execute(delete(LeadPhone).where(LeadPhone.lead_pk.in_(chunk)))
        session.execute(
            insert(LeadPhone),
            [
                {"lead_pk": item.lead.pk, "number": number, "campaign_pk": ctx.campaign.pk}
                for item in changed_phones
                if item.lead is not None
                for number in item.phones
            ],
        )
    return [results[index] for index, _ in rows]


def _phones_of(ctx: CampaignContext, values: dict[str, str]) -> list[str]:
    return [values[name] for name in ctx.phone_fields if name in values]


def _leads_of(session: Session, ctx: CampaignContext, rows: list[LeadInput]) -> dict[Any, Lead]:
    """The campaign's leads the rows name, keyed by id and by external id."""
    found: dict[Any, Lead] = {}
    pks = [row.lead_pk for row in rows if row.lead_pk is not None]
    external_ids = [row.external_id for row in rows if row.lead_pk is None and row.external_id is not None]
    for column, values in ((Lead.pk, pks), (Lead.external_id, external_ids)):
        for chunk in chunks(sorted(set(values))):  # type: ignore[type-var]
            stmt = select(Lead).where(Lead.campaign_pk == ctx.campaign.pk, column.in_(chunk))
            for lead in session.scalars(stmt):
                found[lead.pk] = lead
                if lead.external_id is not None:
                    found[lead.external_id] = lead
    # Ids are ints, external ids strings: one dict serves both without collisions.
    return found


Batch = Callable[[Session, CampaignContext, Sequence[tuple[int, LeadInput]], bool], list[RowResult]]


def write_in_batches(
    db: Database,
    open_campaign: Callable[[Session], CampaignContext],
    rows: Sequence[LeadInput],
    write: Batch,
    allow_duplicates: bool,
    batch_size: int,
    on_batch: Callable[[list[RowResult]], None] | None = None,
) -> list[RowResult]:
    """Run `write` over the rows, one transaction per batch; a batch is written whole or not at all.

    An error in the first batch, or the database being unreachable then, is the request's error
    (nothing was written). After that, the rows of a failed batch and of every later one are
    answered EXCEPTION (103), not written.
    `on_batch` hears each committed batch's results (the console's import shows its progress).
    """
    results: list[RowResult] = []
    for start in range(0, max(len(rows), 1), batch_size):  # no rows: still check the campaign
        if start:
            db.give_way()  # SQLite: other requests' writes go between two batches, not after them all
        batch = list(enumerate(rows[start : start + batch_size], start))
        try:
            with db.transaction() as session:
                ctx = open_campaign(session)
                written = write(session, ctx, batch, allow_duplicates)
        except (SwitchboardError, SQLAlchemyError) as exc:
            if start == 0 and (isinstance(exc, SwitchboardError) or is_database_unavailable(exc)):
                raise  # nothing written: the request's own error (404, 403, 503 with the database away)
            log.warning("lead batch at row %d rolled back: %s", start, type(exc).__name__)
            reason = exc.detail if isinstance(exc, SwitchboardError) else "a storage error"
            end = start + len(batch)
            results.extend(
                RowResult(
                    index,
                    Outcome.EXCEPTION,
                    f"not written: its batch was rolled back ({reason})"
                    if index < end
                    else "not written: an earlier batch failed",
                    external_id=rows[index].external_id,
                )
                for index in range(start, len(rows))
            )
            break
        results.extend(written)  # only once committed: a failed commit's rows are not "OK"
        if on_batch is not None:
            on_batch(written)
    return results


class LeadWriteGate:
    """At most `writers` lead-writing requests at once; others wait, then get 109 (Noojee's rule)."""

    def __init__(self, writers: int, wait_seconds: float) -> None:
        self._slots = threading.BoundedSemaphore(writers)
        self.wait_seconds = wait_seconds

    def __enter__(self) -> None:
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise TooManyRequests(
                "Too many concurrent lead inserts or updates; retry shortly.", retry_after=1
            )

    def __exit__(self, *exc: object) -> None:
        self._slots.release()


# -- reading and deleting --------------------------------------------------------------------------


def lead_view(ctx: CampaignContext, lead: Lead) -> dict[str, Any]:
    callback = lead.callback_at
    return {
        "id": lead.pk,
        "campaignId": lead.campaign_pk,
        "allocationId": lead.allocation_pk,
        "externalId": lead.external_id,
        "fields": lead.fields,
        "phones": list(dict.fromkeys(_phones_of(ctx, lead.fields))),
        "priority": lead.priority,
        "callbackAt": callback.isoformat() if callback else None,
        # The same instant in the contact-hours zone, as Noojee's njCallBackDate is written.
        "callbackLocal": callback.astimezone(ctx.zone).strftime("%Y/%m/%d %H:%M") if callback else None,
        "disposition": lead.disposition,
        "status": lead.status,
        "createdAt": lead.created_at.isoformat(),
        "updatedAt": lead.updated_at.isoformat(),
    }


def lead_search(ctx: CampaignContext, text: str) -> ColumnElement[bool]:
    """Leads whose external id starts with `text` (as written), whose text or e-mail fields start
    with it (any case), or with a phone number starting with it once normalised."""
    term = text.strip()
    matches: list[ColumnElement[bool]] = [
        and_(Lead.external_id >= term, Lead.external_id < term + PREFIX_END)
    ]
    pattern = like_prefix(term)
    for definition in ctx.fields.values():
        if definition["type"] in ("text", "email") and not definition.get("phone"):
            value = Lead.fields[definition["name"]].as_string()
            matches.append(func.lower(value).like(pattern, escape="\\"))
    try:
        number = normalise_phone(term)
    except ValueError:
        pass  # not a number: no phone can match
    else:
        phones = select(LeadPhone.lead_pk).where(
            LeadPhone.campaign_pk == ctx.campaign.pk,
            LeadPhone.number >= number,
            LeadPhone.number < number + PREFIX_END,
        )
        matches.append(Lead.pk.in_(phones))
    return or_(*matches)


def list_leads(
    session: Session,
    ctx: CampaignContext,
    after: int | None,
    limit: int,
    status: str | None,
    search: str | None = None,
) -> tuple[list[Lead], int]:
    """A page of the campaign's leads by id (keyset), and how many match in all."""
    stmt = select(Lead).where(Lead.campaign_pk == ctx.campaign.pk)
    if status is not None:
        stmt = stmt.where(Lead.status == status)
    if search and search.strip():
        stmt = stmt.where(lead_search(ctx, search))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if after is not None:
        stmt = stmt.where(Lead.pk > after)
    return list(session.scalars(stmt.order_by(Lead.pk).limit(limit + 1))), total


def find_lead(session: Session, ctx: CampaignContext, lead_id: int) -> Lead:
    lead = session.scalar(select(Lead).where(Lead.campaign_pk == ctx.campaign.pk, Lead.pk == lead_id))
    if lead is None:
        raise NotFound(f"lead {lead_id} not found or not visible")
    return lead
