"""Directory browser: tenants, groups, end users and service users, with search (read-only pages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from switchboard.access.policy import Area, require_area
from switchboard.access.principal import Principal
from switchboard.console.pages import console_page, page, refusal
from switchboard.db.fastread import Row
from switchboard.directory import service
from switchboard.directory.models import Group, Tenant
from switchboard.directory.queries import (
    GROUP_SERVICES,
    GROUPS,
    TENANTS,
    USERS,
    Shape,
    browse_in,
    count_in,
    read_visible_item_in,
)
from switchboard.directory.search import CALL_CENTER_TYPES, KIND_TYPES
from switchboard.errors import NotFound, SwitchboardError
from switchboard.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from switchboard.system.store import DEFAULT_DOMAIN, END_USER_NAME, read_setting, render_end_user_name
from switchboard.web.state import database_of

router = APIRouter(prefix="/console", include_in_schema=False)
SEARCH_LENGTH = 80  # the longest id (local@domain) a search can usefully name


# -- lists: one search box, keyset pages: the API's list queries, with the policy's condition --------


@dataclass(frozen=True, slots=True)
class Browse:
    """What a list page asks for: the search text and where the page starts (after) or ends
    (before), as sort keys of the list, like the API's cursor."""

    q: str
    after: str
    before: str
    limit: int

    @classmethod
    def of(cls, q: str, after: str, before: str, limit: str) -> Browse:
        size = int(limit) if limit.isdigit() else DEFAULT_LIMIT
        return cls(
            q=q.strip()[:SEARCH_LENGTH],
            after=after.lower()[:SEARCH_LENGTH],
            before=before.lower()[:SEARCH_LENGTH],
            limit=min(max(size, 1), MAX_LIMIT),
        )

    def request(self) -> PageRequest:
        """The list query's page; a page back ignores where a page forward would start."""
        return PageRequest(
            limit=self.limit,
            after=None if self.before else self.after or None,
            id_prefix=None,
            name_prefix=None,
            search=self.q or None,
            before=self.before or None,
        )

    def link(self, **where: str) -> str:
        """The query string of this list's page starting or ending at `where` (search kept)."""
        params = {"q": self.q} if self.q else {}
        if self.limit != DEFAULT_LIMIT:
            params["limit"] = str(self.limit)
        return "?" + urlencode({**params, **where})


EVERYONE = Browse(q="", after="", before="", limit=DEFAULT_LIMIT)


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[Any]
    total: int
    next_page: str | None
    previous_page: str | None


def _listing(
    session: Session,
    principal: Principal,
    shape: Shape,
    scope: dict[str, Any],
    browse: Browse,
    view: Callable[[Row], Any] = lambda row: row,
    extra: dict[str, str] | None = None,
) -> Listing:
    """One page of the API's list of `shape` matching the search, each row shown through `view`."""
    found = browse_in(session, shape, scope, browse.request(), principal)
    extra = extra or {}
    return Listing(
        rows=[view(row) for row in found.rows],
        total=found.total,
        next_page=browse.link(**extra, after=found.next_after) if found.next_after else None,
        previous_page=(browse.link(**extra, before=found.previous_before) if found.previous_before else None),
    )


@dataclass(frozen=True, slots=True)
class MemberKind:
    """End users or service users: the group page's tab, the list query, the noun of a 404."""

    tab: str
    shape: Shape
    noun: str


END_USERS = MemberKind("users", USERS, "users")
SERVICES = MemberKind("services", GROUP_SERVICES, "service_users")


def _group_scope(group: Group, tenant: Tenant) -> dict[str, Any]:
    return {"tenant": tenant.tenant_key, "group": group.group_key}


def _member(
    session: Session, principal: Principal, kind: MemberKind, group: Group, tenant: Tenant, raw_id: str
) -> Row:
    """One end user or service user of the group, as its list shows it; 404 when not visible."""
    wanted = service.full_user_id(raw_id, read_setting(session, DEFAULT_DOMAIN)).lower()
    row = read_visible_item_in(session, kind.shape, {**_group_scope(group, tenant), "key": wanted}, principal)
    if row is None:
        raise NotFound(f"{kind.noun} {raw_id!r} is not in group {group.group_id!r}")
    return row


def _department_path(row: Row) -> str:
    department = row["department"]
    return (department["fullPathName"] or "") if department else ""


def kind_label(row: Row) -> str:
    """The kind as search objects names it (APIO's userType), written for reading."""
    if row["kind"] == "call_center":
        user_type = CALL_CENTER_TYPES[row.get("type", "Basic")]
    else:
        user_type = KIND_TYPES[row["kind"]]
    return "IVR" if user_type == "ivr" else user_type.capitalize()


def user_view(row: Row, name_template: str) -> dict[str, str]:
    """An end user as an operator looks for it; the name as search objects builds it."""
    return {
        "id": row["userId"],
        "name": render_end_user_name(name_template, row["firstName"], row["lastName"]),
        "firstName": row["firstName"],
        "lastName": row["lastName"],
        "extension": row["extension"],
        "phoneNumber": row["phoneNumber"],
        "department": _department_path(row),
    }


def service_user_view(row: Row) -> dict[str, str]:
    profile = row["serviceInstanceProfile"]
    return {
        "id": row["serviceUserId"],
        "name": profile["name"],
        "kind": kind_label(row),
        "extension": profile["extension"],
        "phoneNumber": profile["phoneNumber"],
        "department": _department_path(profile),
    }


def _details(kind: MemberKind, row: Row, name_template: str) -> list[tuple[str, str]]:
    """The member's page: what the API returns that an operator reads (no devices, no trunking)."""
    if kind is END_USERS:
        return [
            ("User id", row["userId"]),
            ("Name", render_end_user_name(name_template, row["firstName"], row["lastName"])),
            ("First name", row["firstName"]),
            ("Last name", row["lastName"]),
            ("Extension", row["extension"]),
            ("Phone number", row["phoneNumber"]),
            ("Mobile phone number", row["mobilePhoneNumber"]),
            ("Email address", row["emailAddress"]),
            ("Title", row["title"]),
            ("Department", _department_path(row)),
            ("Calling line id", f"{row['cliFirstName']} {row['cliLastName']}".strip()),
            ("Calling line phone number", row["cliPhoneNumber"]),
            ("Language", row["language"]),
            ("Time zone", row["timeZone"]),
        ]
    profile = row["serviceInstanceProfile"]
    return [
        ("Service user id", row["serviceUserId"]),
        ("Kind", kind_label(row)),
        ("Name", profile["name"]),
        ("Extension", profile["extension"]),
        ("Phone number", profile["phoneNumber"]),
        ("Department", _department_path(profile)),
        (
            "Calling line id",
            f"{profile['callingLineIdFirstName']} {profile['callingLineIdLastName']}".strip(),
        ),
        ("Aliases", ", ".join(profile["aliases"])),
        ("Language", profile["language"]),
        ("Time zone", profile["timeZone"]),
    ]


# -- pages -----------------------------------------------------------------------------------------


def _directory_page(
    request: Request,
    template_name: str,
    build: Callable[[Session, Principal], dict[str, Any] | Response],
) -> Response:
    """A directory page for the signed-in account: the API's area rule, then `build`; a refusal
    (an object out of view reads like a missing one) as a page."""
    current = console_page(request)
    if isinstance(current, Response):
        return current
    try:
        require_area(current.principal, Area.DIRECTORY)
        with database_of(request).transaction() as session:
            built = build(session, current.principal)
    except SwitchboardError as error:
        return refusal(request, current, error)
    if isinstance(built, Response):
        return built
    return page(request, template_name, current, **built)


def _tenant_link(tenant_id: str) -> str:
    return f"/console/directory/{quote(tenant_id, safe='')}/"


@router.get("/directory/")
def tenants_page(
    request: Request, q: str = "", after: str = "", before: str = "", limit: str = ""
) -> Response:
    """Every tenant for a system account; any other account goes straight to its own."""
    browse = Browse.of(q, after, before, limit)

    def build(session: Session, principal: Principal) -> dict[str, Any] | Response:
        if principal.tenant_pk is not None:
            own = session.get_one(Tenant, principal.tenant_pk)
            return RedirectResponse(_tenant_link(own.tenant_id), status_code=303)
        return {"tenants": _listing(session, principal, TENANTS, {}, browse), "q": browse.q}

    return _directory_page(request, "directory_tenants.html", build)


@router.get("/directory/{tenant_id}/")
def tenant_page(
    request: Request, tenant_id: str, q: str = "", after: str = "", before: str = "", limit: str = ""
) -> Response:
    browse = Browse.of(q, after, before, limit)

    def build(session: Session, principal: Principal) -> dict[str, Any]:
        tenant = service.find_tenant(session, principal, tenant_id)
        return {
            "tenant": tenant,
            "domains": [domain.name for domain in service.tenant_domains(session, tenant)],
            "groups": _listing(session, principal, GROUPS, {"tenant": tenant.tenant_key}, browse),
            "q": browse.q,
        }

    return _directory_page(request, "directory_tenant.html", build)


@router.get("/directory/{tenant_id}/groups/{group_id}/")
def group_page(
    request: Request,
    tenant_id: str,
    group_id: str,
    tab: str = "users",
    q: str = "",
    after: str = "",
    before: str = "",
    limit: str = "",
) -> Response:
    """The group, and its end users or (second tab) service users: each list holds only what the
    API's list would give the account (an end user: itself, and no service users)."""
    shown = SERVICES if tab == SERVICES.tab else END_USERS
    browse = Browse.of(q, after, before, limit)

    def build(session: Session, principal: Principal) -> dict[str, Any]:
        group = service.find_group(session, principal, tenant_id, group_id)
        tenant = session.get_one(Tenant, group.tenant_pk)
        scope = _group_scope(group, tenant)
        counts = {
            kind.tab: count_in(session, kind.shape, scope, EVERYONE.request(), principal)
            for kind in (END_USERS, SERVICES)
        }
        name_template = read_setting(session, END_USER_NAME)

        def view(row: Row) -> dict[str, str]:
            return user_view(row, name_template) if shown is END_USERS else service_user_view(row)

        return {
            "tenant": tenant,
            "group": group,
            "tab": shown.tab,
            "counts": counts,
            "members": _listing(session, principal, shown.shape, scope, browse, view, {"tab": shown.tab}),
            "q": browse.q,
        }

    return _directory_page(request, "directory_group.html", build)


@router.get("/directory/{tenant_id}/groups/{group_id}/users/{user_id}/")
def user_page(request: Request, tenant_id: str, group_id: str, user_id: str) -> Response:
    return _member_page(request, tenant_id, group_id, END_USERS, user_id)


@router.get("/directory/{tenant_id}/groups/{group_id}/services/{service_user_id}/")
def service_user_page(request: Request, tenant_id: str, group_id: str, service_user_id: str) -> Response:
    return _member_page(request, tenant_id, group_id, SERVICES, service_user_id)


def _member_page(request: Request, tenant_id: str, group_id: str, kind: MemberKind, raw_id: str) -> Response:
    def build(session: Session, principal: Principal) -> dict[str, Any]:
        group = service.find_group(session, principal, tenant_id, group_id)
        tenant = session.get_one(Tenant, group.tenant_pk)
        member = _member(session, principal, kind, group, tenant, raw_id)
        return {
            "tenant": tenant,
            "group": group,
            "member_id": member["userId"] if kind is END_USERS else member["serviceUserId"],
            "is_user": kind is END_USERS,
            "details": _details(kind, member, read_setting(session, END_USER_NAME)),
        }

    return _directory_page(request, "directory_member.html", build)
