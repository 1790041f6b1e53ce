"""Directory writes. Services take a session, never commit; the caller owns the transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from typing import Any, cast

from pydantic.alias_generators import to_camel
from sqlalchemy import Table, delete, exists, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from switchboard.access.names import Namespaces, namespace_in_use
from switchboard.access.policy import Kind, Target, first_visible, require_manage, target_in
from switchboard.access.principal import Principal
from switchboard.db.base import utcnow
from switchboard.db.bulk_insert import insert_rows
from switchboard.db.in_lists import chunks, one_of
from switchboard.db.keyset import keyset_page
from switchboard.directory.models import Department, Domain, Group, ServiceUser, Tenant, User
from switchboard.directory.resellers import tenant_reseller_pk
from switchboard.directory.schemas import (
    KIND_SETTINGS,
    DepartmentCreate,
    DepartmentRef,
    DepartmentUpdate,
    DomainCreate,
    GroupCreate,
    GroupUpdate,
    ServiceCreate,
    ServiceInstanceProfile,
    ServiceUpdate,
    TenantCreate,
    TenantUpdate,
    UserCreate,
    UserUpdate,
)
from switchboard.errors import BadRequest, Conflict, NotFound, SwitchboardError
from switchboard.kit.schemas import Schema
from switchboard.kit.writes import changed_fields, flush_or_conflict, stored_json
from switchboard.signals.feed import bump
from switchboard.system.store import DEFAULT_DOMAIN, SETTINGS_CHANNEL, check_domain_name, read_setting

PATH_SEPARATOR = " \\ "


def full_user_id(raw: str, default_domain: str) -> str:
    """local@domain as given, or local@DEFAULT_DOMAIN when the domain is left out (as APIO's searches do)."""
    return raw if "@" in raw else f"{raw}@{default_domain}"


def stored_values(data: Schema, fields: Collection[str]) -> dict[str, Any]:
    """The fields as stored: keyed by column name, nested values as their wire (camelCase) JSON."""
    # The whole model dumped and the fields picked: an `include` set costs more than it saves.
    dumped = data.model_dump(by_alias=True)
    alias = _aliases(type(data))
    return {name: dumped[alias[name]] for name in fields}


@cache
def _aliases(model: type[Schema]) -> dict[str, str]:
    return {name: info.alias or name for name, info in model.model_fields.items()}


def _assign(row: Any, data: Schema, fields: Collection[str]) -> None:
    for name, value in stored_values(data, fields).items():
        setattr(row, name, value)


# Fields a PATCH may set to null to clear them; for every other field null means "unchanged".
# The reseller is stored as a key to its row (create_tenant, update_tenant set it).
TENANT_STORED = frozenset(TenantCreate.model_fields) - {"reseller_id"}
CLEARABLE = frozenset(
    {
        "reseller_id",
        "department",
        "trunk_addressing",
        "parent",
        "noojee_accept_get",
        *(f"external_id{n}" for n in range(1, 5)),
    }
)


# -- lookups -------------------------------------------------------------------------------------


def find_tenant(session: Session, principal: Principal, tenant_id: str) -> Tenant:
    tenant = first_visible(
        session, principal, Kind.TENANT, select(Tenant).where(Tenant.tenant_key == tenant_id.lower())
    )
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist")
    return tenant


def find_group(session: Session, principal: Principal, tenant_id: str, group_id: str) -> Group:
    group = first_visible(
        session,
        principal,
        Kind.GROUP,
        select(Group)
        .join(Tenant, Tenant.pk == Group.tenant_pk)
        .where(Tenant.tenant_key == tenant_id.lower(), Group.group_key == group_id.lower()),
    )
    if group is None:
        raise NotFound(f"group {group_id!r} is not in tenant {tenant_id!r}")
    return group


def find_department(
    session: Session, principal: Principal, tenant_pk: int, group_pk: int | None, name: str
) -> Department:
    department = first_visible(
        session,
        principal,
        Kind.DEPARTMENT,
        select(Department).where(
            Department.tenant_pk == tenant_pk,
            Department.scope_pk == (group_pk or 0),
            Department.name_key == name.lower(),
        ),
    )
    if department is None:
        raise NotFound(f"department {name!r} does not exist in that scope")
    return department


def _lookup_key(session: Session, user_id: str) -> str:
    return full_user_id(user_id, read_setting(session, DEFAULT_DOMAIN)).lower()


def _find_user(session: Session, principal: Principal, group: Group, user_id: str) -> User:
    user = first_visible(
        session,
        principal,
        Kind.USER,
        select(User).where(User.group_pk == group.pk, User.user_key == _lookup_key(session, user_id)),
    )
    if user is None:
        raise NotFound(f"user {user_id!r} is not in that group")
    return user


def _find_service_user(
    session: Session, principal: Principal, group: Group, kind: str, user_id: str
) -> ServiceUser:
    service_user = first_visible(
        session,
        principal,
        Kind.SERVICE_USER,
        select(ServiceUser).where(
            ServiceUser.group_pk == group.pk,
            ServiceUser.kind == kind,
            ServiceUser.service_user_key == _lookup_key(session, user_id),
        ),
    )
    if service_user is None:
        raise NotFound(f"{kind} {user_id!r} is not in that group")
    return service_user


def _group_with_tenant(
    session: Session, principal: Principal, tenant_id: str, group_id: str, manage: Kind | None
) -> tuple[Tenant, Group]:
    """The group (404 if not visible) and its tenant; with `manage`, 403 unless the principal may
    change objects of that kind in this group."""
    group = find_group(session, principal, tenant_id, group_id)
    tenant = session.get_one(Tenant, group.tenant_pk)
    if manage is not None:
        require_manage(principal, target_in(manage, tenant, group.pk))
    return tenant, group


# -- tenants and domains -------------------------------------------------------------------------


def create_tenant(session: Session, principal: Principal, data: TenantCreate) -> Tenant:
    # A reseller admin's tenants are its reseller's; a resellerId it sends must name its own (a
    # reseller it cannot see is not found). Who may make tenants at all is decided first.
    reseller_pk = principal.reseller_pk
    require_manage(principal, Target(Kind.TENANT_LIFECYCLE, reseller_pk=reseller_pk))
    if data.reseller_id:
        reseller_pk = tenant_reseller_pk(session, principal, data.reseller_id)
        require_manage(principal, Target(Kind.TENANT_LIFECYCLE, reseller_pk=reseller_pk))
    if session.scalar(select(Tenant.pk).where(Tenant.tenant_key == data.tenant_id.lower())):
        raise Conflict(f"tenant {data.tenant_id!r} already exists")
    if namespace_in_use(session, data.tenant_id.lower(), read_setting(session, DEFAULT_DOMAIN)):
        # Only the system creates tenants: saying so tells it nothing it cannot see.
        raise Conflict(
            f"names of the form {data.tenant_id}.<name> (usernames, ids in the default domain) are "
            "already held outside this tenant; rename them first"
        )
    tenant = Tenant(tenant_key=data.tenant_id.lower(), reseller_pk=reseller_pk)
    _assign(tenant, data, TENANT_STORED)
    session.add(tenant)
    flush_or_conflict(session, f"tenant {data.tenant_id!r} already exists")
    if data.noojee_accept_get is not None:  # every worker's cache of the GET setting hears of it
        bump(session, SETTINGS_CHANNEL)
    return tenant


def update_tenant(session: Session, principal: Principal, tenant_id: str, changes: TenantUpdate) -> Tenant:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.TENANT, tenant))
    fields = changed_fields(changes, CLEARABLE)
    if "reseller_id" in fields:
        require_manage(principal, Target(Kind.RESELLER))  # which reseller owns a tenant: the system's call
        tenant.reseller_pk = tenant_reseller_pk(session, principal, changes.reseller_id)
    _assign(tenant, changes, fields - {"reseller_id"})
    session.flush()
    if "noojee_accept_get" in fields:  # every worker's cache of the GET setting hears of it
        bump(session, SETTINGS_CHANNEL)
    return tenant


def tenant_time_zone(session: Session, tenant_pk: int | None) -> str:
    """A tenant's IANA zone ('' is UTC). session.get: a page of rows loads each tenant once."""
    tenant = session.get(Tenant, tenant_pk) if tenant_pk is not None else None
    return tenant.time_zone if tenant is not None else ""


def _refuse_non_empty(session: Session, what: str, children: list[Any]) -> None:
    """409 when any of `children` (EXISTS selects) finds a row: a delete that would take them
    must say so (deleteNonEmpty, as APIO's gateway asks)."""
    if session.scalar(select(or_(*(child.exists() for child in children)))):
        raise Conflict(f"{what} is not empty; delete what it holds first, or send deleteNonEmpty=1")


def delete_tenant(
    session: Session, principal: Principal, tenant_id: str, with_children: bool = False
) -> None:
    """Deletes the tenant; one holding groups or departments only `with_children` (they go with it).
    Its domains, accounts, keys and contact-centre data go with it either way."""
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.TENANT_LIFECYCLE, tenant))
    if not with_children:
        _refuse_non_empty(
            session,
            f"tenant {tenant.tenant_id!r}",
            [
                select(Group.pk).where(Group.tenant_pk == tenant.pk),
                select(Department.pk).where(Department.tenant_pk == tenant.pk),
            ],
        )
    session.execute(delete(Tenant).where(Tenant.pk == tenant.pk))
    bump(session, "credentials")  # its accounts, keys and tokens went with it: forget them everywhere


def add_domain(session: Session, principal: Principal, tenant_id: str, data: DomainCreate) -> Domain:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.DOMAIN, tenant))
    name = check_domain_name("domain", data.domain)
    if name == read_setting(session, DEFAULT_DOMAIN):
        raise Conflict(f"domain {name} is the system default domain and belongs to no tenant")
    if session.scalar(select(Domain.pk).where(Domain.name_key == name)):
        raise Conflict(f"domain {name} is already assigned")
    domain = Domain(tenant_pk=tenant.pk, name=name, name_key=name)
    session.add(domain)
    flush_or_conflict(session, f"domain {name} is already assigned")
    return domain


def tenant_domains(session: Session, tenant: Tenant) -> list[Domain]:
    return list(
        session.scalars(select(Domain).where(Domain.tenant_pk == tenant.pk).order_by(Domain.name_key))
    )


def domain_page(
    session: Session, principal: Principal, tenant_id: str, after: str | None, limit: int
) -> tuple[Tenant, list[Domain], int]:
    """A page of a visible tenant's domains by name (see keyset_page), and how many it has."""
    tenant = find_tenant(session, principal, tenant_id)
    rows, total = keyset_page(
        session, select(Domain).where(Domain.tenant_pk == tenant.pk), Domain.name_key, after, limit
    )
    return tenant, rows, total


def remove_domain(session: Session, principal: Principal, tenant_id: str, name: str) -> None:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.DOMAIN, tenant))
    domain = session.scalar(
        select(Domain).where(Domain.tenant_pk == tenant.pk, Domain.name_key == name.lower())
    )
    if domain is None:
        raise NotFound(f"domain {name!r} is not assigned to {tenant_id!r}")
    suffix = f"%@{domain.name_key}"
    in_use = session.scalar(
        select(
            exists().where(User.tenant_pk == tenant.pk, User.user_key.like(suffix))
            | exists().where(ServiceUser.tenant_pk == tenant.pk, ServiceUser.service_user_key.like(suffix))
        )
    )
    if in_use:
        raise Conflict(f"domain {domain.name} is still used by users of this tenant")
    session.delete(domain)
    session.flush()


Holder = tuple[str, int]  # ("user" | "service_user" | "new", pk or position): who holds an extension


class Admission:
    """The rules a new end user's or service user's id and extension must pass: the id's domain is
    the tenant's own or the default, an id in the default domain is in the tenant's namespace
    (access.names), the id is free everywhere, the extension is free in the tenant.

    What they are checked against is read once for a whole batch (`preload`: one query per kind of
    fact) or, for one object, when first asked; objects admitted in the same batch count as stored,
    so a batch is refused exactly where creating its objects one by one would have been."""

    def __init__(self, session: Session, principal: Principal) -> None:
        self._session = session
        self._namespaces = Namespaces(session, principal)
        self._taken: dict[str, bool] = {}  # lower-cased id -> in use
        self._owners: dict[str, int | None] = {}  # domain -> its tenant's pk
        self._holders: dict[tuple[int, str], list[Holder]] = {}  # (tenant pk, extension) -> holders
        self._admitted = 0

    @cached_property
    def default_domain(self) -> str:
        return str(read_setting(self._session, DEFAULT_DOMAIN))

    def full_id(self, raw: str) -> str:
        return full_user_id(raw, self.default_domain)

    def preload(self, user_ids: Collection[str], extensions: Collection[tuple[int, str]]) -> None:
        keys = {user_id.lower() for user_id in user_ids} - self._taken.keys()
        self._load_taken(keys)
        domains = {key.rsplit("@", 1)[1] for key in keys} - {self.default_domain} - self._owners.keys()
        self._load_owners(domains)
        self._namespaces.preload(
            {local for local, domain in map(_split_id, keys) if domain == self.default_domain}
        )
        by_tenant: dict[int, set[str]] = {}
        for tenant_pk, extension in extensions:
            if extension and (tenant_pk, extension) not in self._holders:
                by_tenant.setdefault(tenant_pk, set()).add(extension)
        for tenant_pk, wanted in by_tenant.items():
            self._load_holders(tenant_pk, wanted)

    def identity(self, tenant_pk: int, field: str, user_id: str) -> str:
        """The id's lookup key; 400 for another tenant's domain or, in the default domain, for a
        name outside the tenant's namespace (decided before, and whatever, the id's use); 409 when
        the id is in use."""
        local, domain = _split_id(user_id)
        if domain != self.default_domain:
            if domain not in self._owners:
                self._load_owners({domain})
            if self._owners[domain] != tenant_pk:
                raise BadRequest.field(
                    field, f"domain {domain} is not one of this tenant's domains (nor {self.default_domain})"
                )
        else:
            self._namespaces.check(
                field, local, tenant_pk, f"@{domain}", "ids in the tenant's own domains take any form"
            )
        key = user_id.lower()
        if key not in self._taken:
            self._load_taken({key})
        if self._taken[key]:
            raise Conflict(f"{field} {user_id!r} is already in use")
        return key

    def extension(self, tenant_pk: int, extension: str, own: Holder | None = None) -> None:
        """409 when another end user or service user of the tenant has the extension."""
        if not extension:
            return
        if (tenant_pk, extension) not in self._holders:
            self._load_holders(tenant_pk, {extension})
        if any(holder != own for holder in self._holders[(tenant_pk, extension)]):
            raise Conflict(f"extension {extension} is already used in this tenant")

    def admit(self, tenant_pk: int, key: str, extension: str) -> None:
        """Count a new object of this batch as stored, for the objects after it."""
        self._taken[key] = True
        if extension:
            self._admitted += 1
            self._holders.setdefault((tenant_pk, extension), []).append(("new", self._admitted))

    def _load_taken(self, keys: Collection[str]) -> None:
        for chunk in chunks(keys):
            self._taken.update(dict.fromkeys(chunk, False))
            found = self._session.scalars(
                union_all(
                    select(User.user_key).where(one_of(self._session, User.user_key, chunk)),
                    select(ServiceUser.service_user_key).where(
                        one_of(self._session, ServiceUser.service_user_key, chunk)
                    ),
                )
            )
            self._taken.update(dict.fromkeys(found, True))

    def _load_owners(self, domains: Collection[str]) -> None:
        for chunk in chunks(domains):
            self._owners.update(dict.fromkeys(chunk))
            rows = self._session.execute(
                select(Domain.name_key, Domain.tenant_pk).where(one_of(self._session, Domain.name_key, chunk))
            )
            self._owners.update({name: tenant_pk for name, tenant_pk in rows})

    def _load_holders(self, tenant_pk: int, extensions: Collection[str]) -> None:
        for chunk in chunks(extensions):
            for extension in chunk:
                self._holders[(tenant_pk, extension)] = []
            rows = self._session.execute(
                union_all(
                    select(User.extension, literal("user"), User.pk).where(
                        User.tenant_pk == tenant_pk, one_of(self._session, User.extension, chunk)
                    ),
                    select(ServiceUser.extension, literal("service_user"), ServiceUser.pk).where(
                        ServiceUser.tenant_pk == tenant_pk,
                        one_of(self._session, ServiceUser.extension, chunk),
                    ),
                )
            )
            for extension, table, pk in rows:
                self._holders[(tenant_pk, extension)].append((table, pk))


def _split_id(user_id: str) -> tuple[str, str]:
    """local@domain -> (local, lower-cased domain)."""
    local, _, domain = user_id.rpartition("@")
    return local, domain.lower()


# -- groups --------------------------------------------------------------------------------------


def create_group(session: Session, principal: Principal, tenant_id: str, data: GroupCreate) -> Group:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, target_in(Kind.GROUP, tenant))
    key = data.group_id.lower()
    conflict = f"group {data.group_id!r} already exists in this tenant"
    if session.scalar(select(Group.pk).where(Group.tenant_pk == tenant.pk, Group.group_key == key)):
        raise Conflict(conflict)
    group = Group(tenant_pk=tenant.pk, group_key=key, user_count=0)
    _assign(group, data, GroupCreate.model_fields)
    session.add(group)
    flush_or_conflict(session, conflict)
    return group


def update_group(
    session: Session, principal: Principal, tenant_id: str, group_id: str, changes: GroupUpdate
) -> Group:
    _, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=Kind.GROUP)
    limit = changes.user_limit
    if limit is not None and limit < group.user_count:
        raise Conflict(f"userLimit {limit} is below the group's userCount {group.user_count}")
    _assign(group, changes, changed_fields(changes, CLEARABLE))
    session.flush()
    return group


def delete_group(
    session: Session, principal: Principal, tenant_id: str, group_id: str, with_children: bool = False
) -> None:
    """Deletes the group; one holding end users, service users or departments only `with_children`
    (they go with it). The accounts placed in it go with it either way."""
    _, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=Kind.GROUP)
    if not with_children:
        _refuse_non_empty(
            session,
            f"group {group.group_id!r}",
            [
                select(User.pk).where(User.group_pk == group.pk),
                select(ServiceUser.pk).where(ServiceUser.group_pk == group.pk),
                select(Department.pk).where(Department.group_pk == group.pk),
            ],
        )
    session.execute(delete(Group).where(Group.pk == group.pk))
    bump(session, "credentials")  # its accounts, keys and tokens went with it: forget them everywhere


# -- departments ---------------------------------------------------------------------------------


def _department_scope(
    session: Session, principal: Principal, tenant_id: str, group_id: str | None
) -> tuple[Tenant, Group | None]:
    """Tenant and (for group-level departments) group, visible and manageable, or 404/403."""
    if group_id is None:
        tenant, group = find_tenant(session, principal, tenant_id), None
    else:
        tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    require_manage(principal, target_in(Kind.DEPARTMENT, tenant, group.pk if group else None))
    return tenant, group


def _resolve_parent(
    session: Session, principal: Principal, tenant: Tenant, group: Group | None, name: str
) -> Department:
    """A parent is a department of the same scope or, for a group's department, of the tenant."""
    scopes = [group.pk, None] if group is not None else [None]
    for scope in scopes:
        try:
            return find_department(session, principal, tenant.pk, scope, name)
        except NotFound:
            continue
    raise BadRequest.field("parent", f"no department named {name!r} in this group or tenant")


def create_department(
    session: Session, principal: Principal, tenant_id: str, group_id: str | None, data: DepartmentCreate
) -> Department:
    tenant, group = _department_scope(session, principal, tenant_id, group_id)
    parent = _resolve_parent(session, principal, tenant, group, data.parent) if data.parent else None
    group_pk = group.pk if group else None
    department = Department(
        tenant_pk=tenant.pk,
        group_pk=group_pk,
        scope_pk=group_pk or 0,
        name=data.name,
        name_key=data.name.lower(),
        parent_pk=parent.pk if parent else None,
        full_path_name=f"{parent.full_path_name}{PATH_SEPARATOR}{data.name}" if parent else data.name,
    )
    session.add(department)
    flush_or_conflict(session, f"department {data.name!r} already exists here")
    return department


def update_department(
    session: Session,
    principal: Principal,
    tenant_id: str,
    group_id: str | None,
    name: str,
    changes: DepartmentUpdate,
) -> Department:
    tenant, group = _department_scope(session, principal, tenant_id, group_id)
    department = find_department(session, principal, tenant.pk, group.pk if group else None, name)
    fields = changed_fields(changes, CLEARABLE)
    if changes.name is not None:
        department.name = changes.name
        department.name_key = department.name.lower()
    if "parent" in fields:
        new_parent = changes.parent
        parent = _resolve_parent(session, principal, tenant, group, new_parent) if new_parent else None
        if parent is not None and _is_within(session, parent, department.pk):
            raise BadRequest.field("parent", "a department cannot be inside itself")
        department.parent_pk = parent.pk if parent else None
    flush_or_conflict(session, f"department {department.name!r} already exists here")
    _repath(session, tenant.pk)
    return department


def _is_within(session: Session, candidate: Department, ancestor_pk: int) -> bool:
    node: Department | None = candidate
    while node is not None:
        if node.pk == ancestor_pk:
            return True
        node = session.get(Department, node.parent_pk) if node.parent_pk else None
    return False


def _repath(session: Session, tenant_pk: int) -> None:
    """Recompute every derived full path of a tenant's departments (few rows; renames are rare)."""
    departments = session.scalars(select(Department).where(Department.tenant_pk == tenant_pk)).all()
    by_pk = {d.pk: d for d in departments}

    def path(department: Department) -> str:
        parent = by_pk.get(department.parent_pk) if department.parent_pk else None
        return f"{path(parent)}{PATH_SEPARATOR}{department.name}" if parent else department.name

    for department in departments:
        department.full_path_name = path(department)
    session.flush()


def delete_department(
    session: Session, principal: Principal, tenant_id: str, group_id: str | None, name: str
) -> None:
    tenant, group = _department_scope(session, principal, tenant_id, group_id)
    department = find_department(session, principal, tenant.pk, group.pk if group else None, name)
    if session.scalar(select(exists().where(Department.parent_pk == department.pk))):
        raise Conflict(f"department {department.name!r} has sub-departments; move or delete them first")
    session.delete(department)
    session.flush()


def _department_of(
    session: Session,
    principal: Principal,
    tenant: Tenant,
    group: Group,
    field: str,
    ref: DepartmentRef | None,
) -> int | None:
    if ref is None:
        return None
    scope: Group | None = None
    if ref.group_id is not None:
        if ref.group_id.lower() != group.group_key:
            raise BadRequest.field(f"{field}.groupId", "must be this group, or absent for the tenant")
        scope = group
    try:
        return find_department(
            session, principal, tenant.pk, scope.pk if scope else None, ref.department_name
        ).pk
    except NotFound as exc:
        raise BadRequest.field(f"{field}.departmentName", "no such department") from exc


# -- end users -----------------------------------------------------------------------------------

_USER_COLUMNS = [f for f in UserCreate.model_fields if f not in ("user_id", "department")]


# A UserValues as plain data (marshal can write it): the id, the department as its wire JSON,
# the columns' values in _USER_COLUMNS order.
PlainUser = tuple[str, dict[str, Any] | None, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class UserValues:
    """A validated create body as create_users uses it: the id as given, the department asked
    for, and the other fields as their columns store them. A bulk import validates a row once and
    keeps these, as plain data, for its load."""

    user_id: str
    department: DepartmentRef | None
    columns: dict[str, Any]

    @classmethod
    def of(cls, data: UserCreate) -> UserValues:
        return cls(data.user_id, data.department, stored_values(data, _USER_COLUMNS))

    def plain(self) -> PlainUser:
        department = self.department.model_dump(by_alias=True) if self.department else None
        return self.user_id, department, tuple(self.columns[name] for name in _USER_COLUMNS)

    @classmethod
    def from_plain(cls, plain: PlainUser) -> UserValues:
        user_id, department, values = plain
        ref = DepartmentRef.model_validate(department) if department is not None else None
        return cls(user_id, ref, dict(zip(_USER_COLUMNS, values, strict=True)))


@dataclass(frozen=True, slots=True)
class NewUser:
    """One end user to create: where, and its create body's values."""

    tenant_id: str
    group_id: str
    data: UserValues


def create_users(
    session: Session, principal: Principal, requests: Sequence[NewUser]
) -> list[str | SwitchboardError]:
    """Create end users in one pass, with the rules of creating them one by one: each request's
    result is the new user's lookup key, or the error refusing it (which writes nothing for it).

    The facts the rules need are read a few queries per batch, not per user; the admitted users
    are written with one multi-row INSERT and each group's count is raised once."""
    admission = Admission(session, principal)
    places: dict[tuple[str, str], tuple[Tenant, Group] | SwitchboardError] = {}
    wheres = [(request.tenant_id.lower(), request.group_id.lower()) for request in requests]
    for request, where in zip(requests, wheres, strict=True):
        if where not in places:
            try:
                places[where] = _group_with_tenant(
                    session, principal, request.tenant_id, request.group_id, manage=Kind.USER
                )
            except SwitchboardError as exc:
                places[where] = exc
    user_ids = [admission.full_id(request.data.user_id) for request in requests]
    wanted_extensions = [
        (place[0].pk, request.data.columns["extension"])
        for request, where in zip(requests, wheres, strict=True)
        if not isinstance(place := places[where], SwitchboardError)
    ]
    admission.preload(user_ids, wanted_extensions)
    groups = {place[1].pk: place[1] for place in places.values() if not isinstance(place, SwitchboardError)}
    room = _room_in(session, groups)
    departments: dict[tuple[int, str | None, str], int | SwitchboardError | None] = {}
    results: list[str | SwitchboardError] = []
    rows: list[dict[str, Any]] = []
    for request, where, user_id in zip(requests, wheres, user_ids, strict=True):
        data = request.data
        try:
            place = places[where]
            if isinstance(place, SwitchboardError):
                raise place
            tenant, group = place
            key = admission.identity(tenant.pk, "userId", user_id)
            admission.extension(tenant.pk, data.columns["extension"])
            department_pk = _cached_department(
                session, principal, tenant, group, data.department, departments
            )
            if room[group.pk] <= 0:
                raise Conflict(f"group {group.group_id!r} is full (userLimit {group.user_limit})")
        except SwitchboardError as exc:
            results.append(exc)
            continue
        room[group.pk] -= 1
        admission.admit(tenant.pk, key, data.columns["extension"])
        row = dict(data.columns)
        row.update(
            tenant_pk=tenant.pk, group_pk=group.pk, user_id=user_id, user_key=key, department_pk=department_pk
        )
        rows.append(row)
        results.append(key)
    if rows:
        _insert_users(session, rows, utcnow())
    return results


def _room_in(session: Session, groups: Mapping[int, Group]) -> dict[int, int]:
    """How many more users each group admits, its row locked until commit (PostgreSQL) so that
    concurrent creators in one group take turns; SQLite has one writer at a time anyway."""
    room: dict[int, int] = {}
    for chunk in chunks(groups):
        rows = session.execute(
            select(Group.pk, Group.user_limit - Group.user_count).where(Group.pk.in_(chunk)).with_for_update()
        )
        room.update({pk: free for pk, free in rows})
    return room


def _insert_users(session: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    counts = Counter(row["group_pk"] for row in rows)
    try:
        insert_rows(session, cast(Table, User.__table__), rows, {"created_at": now, "updated_at": now})
    except IntegrityError as exc:
        # A concurrent writer took an id or a place the checks found free: the same answer, 409.
        raise Conflict("a userId or group place was taken concurrently; try again") from exc
    for group_pk, added in counts.items():
        session.execute(
            update(Group)
            .where(Group.pk == group_pk)
            .values(user_count=Group.user_count + added)
            .execution_options(synchronize_session=False)
        )


def _cached_department(
    session: Session,
    principal: Principal,
    tenant: Tenant,
    group: Group,
    ref: DepartmentRef | None,
    seen: dict[tuple[int, str | None, str], int | SwitchboardError | None],
) -> int | None:
    """_department_of, asked once per group and department in a batch."""
    if ref is None:
        return None
    where = (group.pk, ref.group_id.lower() if ref.group_id else None, ref.department_name.lower())
    if where not in seen:
        try:
            seen[where] = _department_of(session, principal, tenant, group, "department", ref)
        except SwitchboardError as exc:
            seen[where] = exc
    found = seen[where]
    if isinstance(found, SwitchboardError):
        raise found
    return found


def create_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, data: UserCreate
) -> User:
    (result,) = create_users(session, principal, [NewUser(tenant_id, group_id, UserValues.of(data))])
    if isinstance(result, SwitchboardError):
        raise result
    return session.scalars(select(User).where(User.user_key == result)).one()


def update_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, user_id: str, changes: UserUpdate
) -> User:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    user = _find_user(session, principal, group, user_id)
    require_manage(principal, target_in(Kind.USER, tenant, group.pk))
    fields = changed_fields(changes, CLEARABLE)
    if changes.extension is not None:
        Admission(session, principal).extension(tenant.pk, changes.extension, own=("user", user.pk))
    if "department" in fields:
        user.department_pk = _department_of(
            session,
            principal,
            tenant,
            group,
            "department",
            changes.department,
        )
    _assign(user, changes, fields.intersection(_USER_COLUMNS))
    session.flush()
    return user


def delete_user(session: Session, principal: Principal, tenant_id: str, group_id: str, user_id: str) -> None:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    user = _find_user(session, principal, group, user_id)
    require_manage(principal, target_in(Kind.USER, tenant, group.pk))
    session.delete(user)
    bump(session, "credentials")  # an account linked to this user loses its link (and extension)
    session.execute(
        update(Group)
        .where(Group.pk == group.pk)
        .values(user_count=Group.user_count - 1)
        .execution_options(synchronize_session=False)
    )
    session.flush()


# -- service users -------------------------------------------------------------------------------

_PROFILE_COLUMNS = [f for f in ServiceInstanceProfile.model_fields if f != "department"]


def _apply_profile(
    session: Session,
    principal: Principal,
    tenant: Tenant,
    group: Group,
    row: ServiceUser,
    profile: ServiceInstanceProfile,
) -> None:
    own = ("service_user", row.pk) if row.pk is not None else None
    Admission(session, principal).extension(tenant.pk, profile.extension, own)
    _assign(row, profile, _PROFILE_COLUMNS)
    row.department_pk = _department_of(
        session, principal, tenant, group, "serviceInstanceProfile.department", profile.department
    )


def _kind_settings(kind: str, data: Schema, only_set: bool) -> dict[str, Any]:
    names = KIND_SETTINGS[kind].model_fields
    wanted = changed_fields(data, CLEARABLE) if only_set else names
    return {to_camel(name): stored_json(getattr(data, name)) for name in names if name in wanted}


def create_service_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, kind: str, data: ServiceCreate
) -> ServiceUser:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=Kind.SERVICE_USER)
    raw_id = data.service_user_id
    admission = Admission(session, principal)
    user_id = admission.full_id(raw_id)
    key = admission.identity(tenant.pk, "serviceUserId", user_id)
    row = ServiceUser(
        tenant_pk=tenant.pk,
        group_pk=group.pk,
        kind=kind,
        service_user_id=user_id,
        service_user_key=key,
        settings=_kind_settings(kind, data, only_set=False),
    )
    _apply_profile(session, principal, tenant, group, row, data.service_instance_profile)
    session.add(row)
    flush_or_conflict(session, f"serviceUserId {user_id!r} is already in use")
    return row


def update_service_user(
    session: Session,
    principal: Principal,
    tenant_id: str,
    group_id: str,
    kind: str,
    user_id: str,
    changes: ServiceUpdate,
) -> ServiceUser:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    row = _find_service_user(session, principal, group, kind, user_id)
    require_manage(principal, target_in(Kind.SERVICE_USER, tenant, group.pk))
    profile = changes.service_instance_profile
    if profile is not None:
        _apply_profile(session, principal, tenant, group, row, profile)
    row.settings = {**row.settings, **_kind_settings(kind, changes, only_set=True)}
    session.flush()
    return row


def delete_service_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, kind: str, user_id: str
) -> None:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    row = _find_service_user(session, principal, group, kind, user_id)
    require_manage(principal, target_in(Kind.SERVICE_USER, tenant, group.pk))
    session.delete(row)
    session.flush()
