"""APIO's search objects: one indexed query with the policy in it, shaped as APIO shapes it.

Missing, not visible and mismatched ids all end in the same "no row" of the same query, so the
404s are byte-identical and take the same path (and time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import StrictStr, ValidationError
from sqlalchemy import Select, bindparam, select

from switchboard.access.policy import Kind, scope_params, visibility, visibility_key
from switchboard.access.principal import Principal
from switchboard.db.fastread import FastReader, Row
from switchboard.directory.models import Group, ServiceUser, Tenant, User
from switchboard.directory.queries import (
    DepartmentGroup,
    DepartmentOfObject,
    department_columns,
    pop_department,
)
from switchboard.errors import BadRequest, NotFound
from switchboard.kit.schemas import Schema

# type -> stored service kind ("user" is the end-user table)
TYPES: dict[str, str] = {
    "user": "user",
    "ivr": "ivr",
    "call queue": "call_center",
    "call center": "call_center",
    "premium call center": "call_center",
    "hunt group": "hunt_group",
    "route point": "route_point",
}
CALL_CENTER_TYPES = {"Basic": "call queue", "Standard": "call center", "Premium": "premium call center"}
KIND_TYPES = {"ivr": "ivr", "hunt_group": "hunt group", "route_point": "route point"}

TENANT = [
    ("type", Tenant.type),
    ("useCustomRoutingProfile", Tenant.use_custom_routing_profile),
    ("defaultDomain", Tenant.default_domain),
    ("tenantId", Tenant.tenant_id),
    ("name", Tenant.name),
    ("supportEmail", Tenant.support_email),
    ("useTenantLanguages", Tenant.use_tenant_languages),
]
GROUP = [
    ("groupId", Group.group_id),
    ("groupName", Group.group_name),
    ("defaultDomain", Group.default_domain),
    ("userLimit", Group.user_limit),
    ("userCount", Group.user_count),
    ("cliName", Group.cli_name),
    ("cliPhoneNumber", Group.cli_phone_number),
    ("timeZone", Group.time_zone),
    ("locationDialingCode", Group.location_dialing_code),
    ("addressInformation", Group.address_information),
]
# APIO's user example, in its order; no device and no trunking information.
END_USER = [
    ("userId", User.user_id),
    ("lastName", User.last_name),
    ("firstName", User.first_name),
    ("cliLastName", User.cli_last_name),
    ("cliFirstName", User.cli_first_name),
    ("phoneNumber", User.phone_number),
    ("extension", User.extension),
    ("cliPhoneNumber", User.cli_phone_number),
    ("language", User.language),
    ("timeZone", User.time_zone),
    ("title", User.title),
    ("pagerPhoneNumber", User.pager_phone_number),
    ("mobilePhoneNumber", User.mobile_phone_number),
    ("emailAddress", User.email_address),
    ("yahooId", User.yahoo_id),
    ("addressLocation", User.address_location),
    ("address", User.address),
    ("networkClassOfService", User.network_class_of_service),
]
# serviceInstanceProfile, flattened to the root.
SERVICE_USER = [
    ("userId", ServiceUser.service_user_id),
    ("name", ServiceUser.name),
    ("callingLineIdLastName", ServiceUser.calling_line_id_last_name),
    ("callingLineIdFirstName", ServiceUser.calling_line_id_first_name),
    ("phoneNumber", ServiceUser.phone_number),
    ("extension", ServiceUser.extension),
    ("language", ServiceUser.language),
    ("timeZone", ServiceUser.time_zone),
    ("aliases", ServiceUser.aliases),
    ("settings", ServiceUser.settings),
    ("kind", ServiceUser.kind),
]


class SearchRequest(Schema):
    """APIO's request: snake_case keys, strings only, nothing else."""

    model_config = {"alias_generator": None, "validate_by_name": True}
    tenant_id: StrictStr
    group_id: StrictStr | None = None
    user_id: StrictStr | None = None
    type: StrictStr | None = None


@dataclass(frozen=True)
class Search:
    tenant: str
    group: str | None
    user: str | None
    kind: str | None  # "user" or a service kind, when a user is asked for

    @property
    def variant(self) -> str:
        if self.user is None:
            return "tenant" if self.group is None else "group"
        return "end_user" if self.kind == "user" else "service_user"

    def described(self) -> str:
        """What was asked for, in words (for the audit log): "end user 'u@t.example' of group 'g'
        in tenant 't'"."""
        words = f"tenant {self.tenant!r}"
        if self.group is not None:
            words = f"group {self.group!r} in {words}"
        if self.user is not None:
            noun = "end user" if self.kind == "user" else (self.kind or "user").replace("_", " ")
            words = f"{noun} {self.user!r} of {words}"
        return words


def parse(raw: dict[str, Any], default_domain: str) -> Search:
    """APIO's rules for search objects; every violation is a 400 that names the field."""
    try:
        request = SearchRequest.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "body"
        reason = "unknown field" if error["type"] == "extra_forbidden" else str(error["msg"])
        raise BadRequest.field(field, reason) from exc
    for name in ("tenant_id", "group_id", "user_id"):
        value = getattr(request, name)
        if value is not None and not (0 < len(value) <= 80):
            raise BadRequest.field(name, "must be 1 to 80 characters")
    if request.type is not None and request.type not in TYPES:
        raise BadRequest.field("type", f"must be one of: {', '.join(TYPES)}")
    if request.user_id is not None and request.group_id is None:
        raise BadRequest.field("group_id", "is required when user_id is given")
    user = request.user_id
    if user is not None and "@" not in user:
        user = f"{user}@{default_domain}"
    kind = TYPES[request.type or "user"] if user is not None else None
    return Search(
        tenant=request.tenant_id.lower(),
        group=request.group_id.lower() if request.group_id else None,
        user=user.lower() if user else None,
        kind=kind,
    )


def _labelled(prefix: str, columns: list[tuple[str, Any]]) -> list[Any]:
    return [column.label(f"{prefix}{name}") for name, column in columns]


def _statement(variant: str, principal: Principal) -> Select[Any]:
    columns = _labelled("t.", TENANT)
    conditions = [Tenant.tenant_key == bindparam("tenant"), visibility(principal, Kind.TENANT)]
    if variant == "tenant":
        return select(*columns).where(*conditions)
    columns += _labelled("g.", GROUP)
    conditions += [Group.group_key == bindparam("group"), visibility(principal, Kind.GROUP)]
    if variant == "group":
        return (
            select(*columns).select_from(Group).join(Tenant, Tenant.pk == Group.tenant_pk).where(*conditions)
        )
    model: type[User] | type[ServiceUser] = User if variant == "end_user" else ServiceUser
    if model is User:
        columns += _labelled("u.", END_USER)
        conditions += [User.user_key == bindparam("user"), visibility(principal, Kind.USER)]
    else:
        columns += _labelled("u.", SERVICE_USER)
        conditions += [
            ServiceUser.service_user_key == bindparam("user"),
            ServiceUser.kind == bindparam("kind"),
            visibility(principal, Kind.SERVICE_USER),
        ]
    return (
        select(*columns, *department_columns())
        .select_from(model)
        .join(Group, Group.pk == model.group_pk)
        .join(Tenant, Tenant.pk == model.tenant_pk)
        .outerjoin(DepartmentOfObject, DepartmentOfObject.pk == model.department_pk)
        .outerjoin(DepartmentGroup, DepartmentGroup.pk == DepartmentOfObject.group_pk)
        .where(*conditions)
    )


def _split(row: Row) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], Row]:
    """One pass over the row: "t.", "g." and "u." columns, and the rest (the department)."""
    parts: dict[str, dict[str, Any]] = {"t": {}, "g": {}, "u": {}}
    rest: Row = {}
    for key, value in row.items():
        if key[1:2] == ".":
            parts[key[0]][key[2:]] = value
        else:
            rest[key] = value
    return parts["t"], parts["g"], parts["u"], rest


async def search_objects(
    reader: FastReader, principal: Principal, search: Search, name_template: str
) -> dict[str, Any]:
    variant = search.variant
    query = reader.compiled(
        ("search", variant, visibility_key(principal)), lambda: _statement(variant, principal)
    )
    params = {"tenant": search.tenant, "group": search.group, "user": search.user, "kind": search.kind}
    row = await reader.fetch_one(query, {**params, **scope_params(principal)})
    if row is None:
        raise NotFound(f"search objects: {search.described()} is not found or not visible")
    tenant, group, user, rest = _split(row)
    answer: dict[str, Any] = {"tenant": {**tenant, "id": tenant["tenantId"]}}
    if search.group is not None:
        answer["group"] = {"groupId": group["groupId"], "id": group["groupId"], **group}
    if search.user is not None:
        department = pop_department({**rest, "tenantId": tenant["tenantId"]})
        answer["user"] = (
            _end_user(user, department, name_template)
            if variant == "end_user"
            else _service_user(user, department)
        )
    return answer


def _end_user(user: dict[str, Any], department: dict[str, Any] | None, template: str) -> dict[str, Any]:
    from switchboard.system.store import render_end_user_name

    shaped = {"userId": user["userId"], "id": user["userId"], "userType": "user"}
    shaped["name"] = render_end_user_name(template, user["firstName"], user["lastName"])
    for key, value in user.items():
        shaped.setdefault(key, value)
    shaped["department"] = department
    return shaped


def _service_user(user: dict[str, Any], department: dict[str, Any] | None) -> dict[str, Any]:
    settings = user.pop("settings") or {}
    kind = user.pop("kind")
    if kind == "call_center":
        user_type = CALL_CENTER_TYPES[settings.get("type", "Basic")]
    else:
        user_type = KIND_TYPES[kind]
    shaped = {
        "userId": user["userId"],
        "id": user["userId"],
        "userType": user_type,
        **user,
        "department": department,
    }
    if kind in ("call_center", "ivr"):
        shaped["type"] = settings.get("type", "Basic")
    return shaped
