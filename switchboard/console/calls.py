"""Live calls, refreshing themselves, with recording controls, over the call-control services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from switchboard.access.policy import Area, may_control_call, require_area
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.calls import queries, service
from switchboard.calls.control import CallControl
from switchboard.calls.models import Call, Recording
from switchboard.calls.recordings import LocatedCall, RecordingAction, check_action
from switchboard.console import notices
from switchboard.console.forms import BLANK, Filled, ShowAgain
from switchboard.console.pages import console_action_async, console_page, page, refusal
from switchboard.console.sessions import SignedIn
from switchboard.db.base import utcnow
from switchboard.errors import Conflict, Forbidden, NotFound, SwitchboardError
from switchboard.kit.pagination import DEFAULT_LIMIT, encode_cursor, number_after, page_request
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/console", include_in_schema=False)
T = TypeVar("T")

# In the order the buttons appear.
ACTIONS: tuple[RecordingAction, ...] = ("start", "pause", "resume", "stop")
RECORDING_DONE = {
    "start": "Recording started.",
    "pause": "Recording paused.",
    "resume": "Recording resumed.",
    "stop": "Recording stopped.",
}
# Without JavaScript the page reloads itself this often (console.js refreshes the table instead).
RELOAD_SECONDS = 10
REFRESH_SECONDS = 5


def _calls_principal(current: SignedIn) -> Principal:
    """The account, with the calls area's function-level rule the API applies."""
    require_area(current.principal, Area.CALLS)
    return current.principal


def _possible_actions(
    principal: Principal, call: Call, recording: Recording | None, own_extension: str | None
) -> list[RecordingAction]:
    """The recording buttons call control would accept: its own checks, asked for each action."""
    running = service.active_of(recording) if recording is not None else None
    # last_leg only numbers a new recording's file; the checks do not read it.
    located = LocatedCall(
        call.pk,
        call.unique_id,
        call.state,
        call.tenant_pk,
        call.extension,
        call.campaign_pk,
        0,
        running,
        own_extension,
    )
    possible = []
    for action in ACTIONS:
        if action == "start" and call.state != "Connected":
            continue  # the PBX records answered calls only
        try:
            check_action(principal, located, action, None)
        except (Conflict, Forbidden):
            continue
        possible.append(action)
    return possible


def _refresh_query(request: Request) -> str:
    """Keeps "stop refreshing" across a button's round trip."""
    return "?refresh=off" if request.query_params.get("refresh") == "off" else ""


@router.get("/calls/")
def calls_page(request: Request, cursor: str = "", refresh: str = "on") -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    return _calls_page(request, current, cursor, refresh, BLANK)


def _calls_page(request: Request, current: SignedIn, cursor: str, refresh: str, filled: Filled) -> Response:
    try:
        principal = _calls_principal(current)
        before_pk = number_after(page_request(DEFAULT_LIMIT, cursor[:400] or None, None, None))
        with database_of(request).transaction() as session:
            calls, total = service.list_calls(
                session, principal, state="live", before_pk=before_pk, limit=DEFAULT_LIMIT
            )
            shown = calls[:DEFAULT_LIMIT]
            running = queries.running_recordings(session, shown)
            own = service.own_extension(session, principal)
            rows = [
                {
                    "call": service.call_view(session, call),
                    "recording": service.recording_view(running[call.pk], call)
                    if call.pk in running
                    else None,
                    "actions": _possible_actions(principal, call, running.get(call.pk), own),
                    "may_hang_up": may_control_call(principal, call.tenant_pk, call.extension, own),
                }
                for call in shown
            ]
    except SwitchboardError as error:
        return refusal(request, current, error)
    auto = refresh != "off"
    next_page = None
    if len(calls) > DEFAULT_LIMIT:
        next_page = "?" + urlencode({"cursor": encode_cursor(str(shown[-1].pk)), "refresh": refresh})
    return page(
        request,
        "calls.html",
        current,
        rows=rows,
        total=total,
        next_page=next_page,
        newest_link=bool(cursor),
        auto=auto,
        reload_seconds=RELOAD_SECONDS,
        refresh_seconds=REFRESH_SECONDS,
        back=_refresh_query(request),
        show_tenant=current.principal.role == "system",
        now_utc=utcnow().strftime("%H:%M:%S UTC"),
        filled=filled,
    )


async def _control_action(
    request: Request, work: Callable[[Principal], Awaitable[T]]
) -> tuple[SignedIn, T] | Response:
    """A call-control form: the account, with the calls area's rule, handed to `work`."""

    async def run(current: SignedIn, form: dict[str, str]) -> T:
        return await work(_calls_principal(current))

    def again(current: SignedIn, filled: Filled) -> Response:
        refresh = "off" if _refresh_query(request) else "on"
        return _calls_page(request, current, "", refresh, filled)

    return await console_action_async(request, run, ShowAgain("calls", {}, again))


def _control(request: Request) -> CallControl:
    control = services_of(request).calls
    return control


def _require_unique_id(unique_id: str) -> None:
    if not service.UNIQUE_ID.match(unique_id):
        raise NotFound(f"call {unique_id} not found")


@router.post("/calls/{unique_id}/recording/{action}")
async def control_recording(request: Request, unique_id: str, action: str) -> Response:
    """Start / pause / resume / stop, owned by the signed-in account, as the API's route does."""

    async def work(principal: Principal) -> int | None:
        _require_unique_id(unique_id)
        chosen = next((known for known in ACTIONS if known == action), None)
        if chosen is None:
            raise NotFound(f"no recording action {action}")
        call, _ = await _control(request).recording(principal, chosen, unique_id, None)
        return call.tenant_pk

    done = await _control_action(request, work)
    if isinstance(done, Response):
        return done
    audit_write(request, 200, f"call:{unique_id} recording {action}", done[1])
    words = RECORDING_DONE.get(action, "Recording changed.")
    return notices.redirect(f"/console/calls/{_refresh_query(request)}", done[0], words)


def _visible_call(request: Request, principal: Principal, unique_id: str) -> dict[str, Any]:
    _require_unique_id(unique_id)
    with database_of(request).transaction() as session:
        return service.call_view(session, service.find_call(session, principal, unique_id, None))


@router.get("/calls/{unique_id}/hangup")
def confirm_hangup(request: Request, unique_id: str) -> Response:
    current = console_page(request)
    if isinstance(current, Response):
        return current
    try:
        call = _visible_call(request, _calls_principal(current), unique_id)
    except SwitchboardError as error:
        return refusal(request, current, error)
    return page(request, "hangup_confirm.html", current, call=call, back=_refresh_query(request))


@router.post("/calls/{unique_id}/hangup")
async def hangup(request: Request, unique_id: str) -> Response:
    async def work(principal: Principal) -> None:
        _require_unique_id(unique_id)
        await _control(request).hangup(principal, unique_id, None)
        await _control(request).settle()  # the list that follows no longer shows the call

    done = await _control_action(request, work)
    if isinstance(done, Response):
        return done
    audit_write(request, 200, f"call:{unique_id} hangup", None)
    return notices.redirect(f"/console/calls/{_refresh_query(request)}", done[0], "Call hung up.")
