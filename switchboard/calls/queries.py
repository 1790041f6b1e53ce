"""What the calls routes and the console read and store outside call control: pages of calls and
recordings as the API shows them, one recording, running recordings, and the dialling policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.access.policy import Kind, first_visible
from switchboard.access.principal import Principal
from switchboard.calls import service
from switchboard.calls.models import RUNNING_RECORDING_STATES, Call, DiallingPolicy, Recording
from switchboard.errors import Conflict, NotFound
from switchboard.kit.pagination import PageRequest, number_after, page_body
from switchboard.kit.schemas import ListPage


def calls_page(
    session: Session,
    principal: Principal,
    listing: type[ListPage],
    page: PageRequest,
    *,
    state: str | None,
    extension: str | None,
    campaign_pk: int | None,
) -> dict[str, object]:
    """A page of the calls the principal may see, newest first, as the API lists them."""
    calls, total = service.list_calls(
        session,
        principal,
        state=state,
        extension=extension,
        campaign_pk=campaign_pk,
        before_pk=number_after(page),
        limit=page.limit,
    )
    items = [{**service.call_view(session, call), "_sort": call.pk} for call in calls]
    return page_body(listing, items, page, total)


def recordings_page(
    session: Session,
    principal: Principal,
    listing: type[ListPage],
    page: PageRequest,
    tag: str | None,
    unique_id: str | None,
) -> dict[str, object]:
    """A page of the recordings of calls the principal may see, oldest first."""
    found = service.visible_recordings(session, principal, tag, unique_id, number_after(page), page.limit + 1)
    total = service.count_recordings(session, principal, tag, unique_id)
    items = [{**service.recording_view(recording, call), "_sort": recording.pk} for recording, call in found]
    return page_body(listing, items, page, total)


def find_recording(session: Session, principal: Principal, recording_id: int) -> tuple[Recording, Call]:
    """The recording and its call, if the principal may see it (scoped like its call)."""
    recording = first_visible(
        session, principal, Kind.RECORDING, select(Recording).where(Recording.pk == recording_id)
    )
    if recording is None:
        raise NotFound(f"recording {recording_id} not found")
    return recording, session.get_one(Call, recording.call_pk)


def recording_file(session: Session, principal: Principal, recording_id: int) -> tuple[Path, str]:
    """The audio file of a stopped recording the principal may see, and the name to download it
    as; 409 while it runs, 404 when hidden or its file is not on this server."""
    recording, call = find_recording(session, principal, recording_id)
    if recording.state == "failed":
        raise NotFound(f"recording {recording_id} failed: the PBX wrote no file")
    if recording.state != "stopped":
        raise Conflict("the recording is still running; its file is written when it stops")
    path = Path(recording.file)
    if not path.is_file():
        raise NotFound(f"recording {recording_id} has no file on this server")
    return path, f"{call.unique_id}-{recording.leg}.wav"


def recording_of_leg(session: Session, call_pk: int, leg: int) -> dict[str, Any]:
    """The recording of a call's leg as the API shows it (after call control changed it)."""
    stored = session.scalars(
        select(Recording).where(Recording.call_pk == call_pk, Recording.leg == leg)
    ).one()
    return service.recording_view(stored, session.get_one(Call, call_pk))


def running_recordings(session: Session, calls: list[Call]) -> dict[int, Recording]:
    """Each call's unstopped recording (call control never runs two at once on a call); the calls
    are already the visible ones, and a recording follows its call."""
    if not calls:
        return {}
    stmt = select(Recording).where(
        Recording.call_pk.in_([call.pk for call in calls]), Recording.state.in_(RUNNING_RECORDING_STATES)
    )
    return {recording.call_pk: recording for recording in session.scalars(stmt)}


def store_dialling_policy(
    session: Session, tenant_pk: int, allowed: list[str], max_concurrent_calls: int
) -> DiallingPolicy:
    policy = session.get(DiallingPolicy, tenant_pk) or DiallingPolicy(tenant_pk=tenant_pk)
    policy.allowed, policy.max_concurrent_calls = list(allowed), max_concurrent_calls
    session.add(policy)
    return policy
