"""Directory browser: tenants, groups, end users and service users, with search (read-only pages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from sqlalchemy import ColumnElement, SQLColumnExpression, exists, func, or_, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from switchboard.access.policy import Area, Kind, require_area, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.console.pages import console_page, page, refusal
from switchboard.db.engine import database_of
from switchboard.db.fastread import AnySelect
from switchboard.directory import service
from switchboard.directory.models import Department, Group, ServiceUser, Tenant, User
from switchboard.directory.search import CALL_CENTER_TYPES, KIND_TYPES
from switchboard.errors import NotFound, SwitchboardError
from switchboard.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, like_prefix
from switchboard.system.store import DEFAULT_DOMAIN, END_USER_NAME, read_setting, render_end_user_name

router = APIRouter(prefix="/console", include_in_schema=False)
SEARCH_LENGTH = 80  # the longest id (local@domain) a search can usefully name
TABS = ("users", "services")
Text = SQLColumnExpression[str]


# -- lists: one search box, keyset pages, the policy's condition in the same query ----------------


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

    @property
    def prefix(self) -> str:
        return like_prefix(self.q)

    @property
    def contains(self) -> str:
        return "%" + like_prefix(self.q)

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


def _like(column: Text, pattern: str) -> ColumnElement[bool]:
    return func.lower(column).like(pattern, escape="\\")


def _listing(
    session: Session,
    principal: Principal,
    stmt: AnySelect,
    key: Text,
    browse: Browse,
    view: Callable[[Any], Any] = lambda row: row[0],
    extra: dict[str, str] | None = None,
) -> Listing:
    """One page of `stmt` (already filtered by the policy and the search), ordered by `key`,
    each row shown through `view`."""
    params = scope_params(principal)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()), params) or 0
    keyed = stmt.add_columns(key.label("sort_key"))

    def beyond(condition: ColumnElement[bool]) -> bool:
        return bool(session.scalar(select(exists(stmt.where(condition))), params))

    if browse.before:  # a page back: read backwards from its end, one row more to know if there is more
        backwards = keyed.where(key < browse.before).order_by(key.desc()).limit(browse.limit + 1)
        found = list(session.execute(backwards, params))
        rows = found[: browse.limit][::-1]
        earlier = len(found) > browse.limit
        later = bool(rows) and beyond(key > rows[-1].sort_key)
    else:
        start = keyed.where(key > browse.after) if browse.after else keyed
        found = list(session.execute(start.order_by(key).limit(browse.limit + 1), params))
        rows = found[: browse.limit]
        later = len(found) > browse.limit
        earlier = bool(rows) and bool(browse.after) and beyond(key < rows[0].sort_key)
    extra = extra or {}
    return Listing(
        rows=[view(row) for row in rows],
        total=total,
        next_page=browse.link(**extra, after=rows[-1].sort_key) if later else None,
        previous_page=browse.link(**extra, before=rows[0].sort_key) if earlier else None,
    )


def _tenants(session: Session, principal: Principal, browse: Browse) -> Listing:
    stmt = select(Tenant).where(visibility(principal, Kind.TENANT))
    if browse.q:
        stmt = stmt.where(
            or_(Tenant.tenant_key.like(browse.prefix, escape="\\"), _like(Tenant.name, browse.contains))
        )
    return _listing(session, principal, stmt, Tenant.tenant_key, browse)


def _groups(session: Session, principal: Principal, tenant: Tenant, browse: Browse) -> Listing:
    stmt = select(Group).where(Group.tenant_pk == tenant.pk, visibility(principal, Kind.GROUP))
    if browse.q:
        stmt = stmt.where(
            or_(Group.group_key.like(browse.prefix, escape="\\"), _like(Group.group_name, browse.contains))
        )
    return _listing(session, principal, stmt, Group.group_key, browse)


def _members(
    principal: Principal, model: type[User] | type[ServiceUser], group: Group, browse: Browse
) -> tuple[AnySelect, Text]:
    """A group's end users or service users the principal may see (as the API's lists: the
    policy's condition), with their department, matching the search."""
    key: Text = User.user_key if model is User else ServiceUser.service_user_key
    kind = Kind.USER if model is User else Kind.SERVICE_USER
    stmt = (
        select(model, Department.full_path_name)
        .outerjoin(Department, Department.pk == model.department_pk)
        .where(model.group_pk == group.pk, visibility(principal, kind))
    )
    if browse.q:
        name = User.first_name + " " + User.last_name if model is User else ServiceUser.name
        stmt = stmt.where(
            or_(
                key.like(browse.prefix, escape="\\"),
                _like(name, browse.contains),
                model.extension.like(browse.prefix, escape="\\"),
                _like(model.phone_number, browse.contains),
            )
        )
    return stmt, key


def _member(
    session: Session, principal: Principal, model: type[User] | type[ServiceUser], group: Group, raw_id: str
) -> Any:
    """One end user or service user of the group, as its list shows it; 404 when not visible."""
    stmt, key = _members(principal, model, group, EVERYONE)
    wanted = service.full_user_id(raw_id, read_setting(session, DEFAULT_DOMAIN)).lower()
    row = session.execute(stmt.where(key == wanted), scope_params(principal)).first()
    if row is None:
        raise NotFound(f"{model.__tablename__} {raw_id!r} is not in group {group.group_id!r}")
    return row


def kind_label(row: ServiceUser) -> str:
    """The kind as search objects names it (seed 003's userType), written for reading."""
    if row.kind == "call_center":
        user_type = CALL_CENTER_TYPES[row.settings.get("type", "Basic")]
    else:
        user_type = KIND_TYPES[row.kind]
    return "IVR" if user_type == "ivr" else user_type.capitalize()


def user_view(user: User, department: str | None, name_template: str) -> dict[str, str]:
    """An end user as an operator looks for it; the name as search objects builds it."""
    return {
        "id": user.user_id,
        "name": render_end_user_name(name_template, user.first_name, user.last_name),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "extension": user.extension,
        "phoneNumber": user.phone_number,
        "department": department or "",
    }


def service_user_view(row: ServiceUser, department: str | None) -> dict[str, str]:
    return {
        "id": row.service_user_id,
        "name": row.name,
        "kind": kind_label(row),
        "extension": row.extension,
        "phoneNumber": row.phone_number,
        "department": department or "",
    }


def _details(member: User | ServiceUser, department: str | None, name_template: str) -> list[tuple[str, str]]:
    """The member's page: what the API returns that an operator reads (no devices, no trunking)."""
    if isinstance(member, User):
        return [
            ("User id", member.user_id),
            ("Name", render_end_user_name(name_template, member.first_name, member.last_name)),
            ("First name", member.first_name),
            ("Last name", member.last_name),
            ("Extension", member.extension),
            ("Phone number", member.phone_number),
            ("Mobile phone number", member.mobile_phone_number),
            ("Email address", member.email_address),
            ("Title", member.title),
            ("Department", department or ""),
            ("Calling line id", f"{member.cli_first_name} {member.cli_last_name}".strip()),
            ("Calling line phone number", member.cli_phone_number),
            ("Language", member.language),
            ("Time zone", member.time_zone),
        ]
    return [
        ("Service user id", member.service_user_id),
        ("Kind", kind_label(member)),
        ("Name", member.name),
        ("Extension", member.extension),
        ("Phone number", member.phone_number),
        ("Department", department or ""),
        (
            "Calling line id",
            f"{member.calling_line_id_first_name} {member.calling_line_id_last_name}".strip(),
        ),
        ("Aliases", ", ".join(member.aliases)),
        ("Language", member.language),
        ("Time zone", member.time_zone),
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
        return {"tenants": _tenants(session, principal, browse), "q": browse.q}

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
            "groups": _groups(session, principal, tenant, browse),
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
    tab = tab if tab in TABS else "users"
    browse = Browse.of(q, after, before, limit)

    def build(session: Session, principal: Principal) -> dict[str, Any]:
        group = service.find_group(session, principal, tenant_id, group_id)
        tenant = session.get_one(Tenant, group.tenant_pk)
        counts = {}
        for name, model in (("users", User), ("services", ServiceUser)):
            every, _ = _members(principal, model, group, EVERYONE)
            counts[name] = session.scalar(
                select(func.count()).select_from(every.subquery()), scope_params(principal)
            )
        name_template = read_setting(session, END_USER_NAME)

        def view(row: Any) -> dict[str, str]:
            member, department = row[0], row[1]
            if isinstance(member, User):
                return user_view(member, department, name_template)
            return service_user_view(member, department)

        stmt, key = _members(principal, User if tab == "users" else ServiceUser, group, browse)
        return {
            "tenant": tenant,
            "group": group,
            "tab": tab,
            "counts": counts,
            "members": _listing(session, principal, stmt, key, browse, view, {"tab": tab}),
            "q": browse.q,
        }

    return _directory_page(request, "directory_group.html", build)


@router.get("/directory/{tenant_id}/groups/{group_id}/users/{user_id}/")
def user_page(request: Request, tenant_id: str, group_id: str, user_id: str) -> Response:
    return _member_page(request, tenant_id, group_id, User, user_id)


@router.get("/directory/{tenant_id}/groups/{group_id}/services/{service_user_id}/")
def service_user_page(request: Request, tenant_id: str, group_id: str, service_user_id: str) -> Response:
    return _member_page(request, tenant_id, group_id, ServiceUser, service_user_id)


def _member_page(
    request: Request, tenant_id: str, group_id: str, model: type[User] | type[ServiceUser], raw_id: str
) -> Response:
    def build(session: Session, principal: Principal) -> dict[str, Any]:
        group = service.find_group(session, principal, tenant_id, group_id)
        member, department = _member(session, principal, model, group, raw_id)
        return {
            "tenant": session.get_one(Tenant, group.tenant_pk),
            "group": group,
            "member_id": member.user_id if isinstance(member, User) else member.service_user_id,
            "is_user": isinstance(member, User),
            "details": _details(member, department, read_setting(session, END_USER_NAME)),
        }

    return _directory_page(request, "directory_member.html", build)
