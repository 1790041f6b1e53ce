"""Directory writes. Services take a session, never commit; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from switchboard.access.policy import Target, first_visible, require_manage
from switchboard.access.principal import Principal
from switchboard.directory.models import Department, Domain, Group, ServiceUser, Tenant, User
from switchboard.directory.schemas import (
    KIND_SETTINGS,
    DepartmentCreate,
    DepartmentRef,
    DomainCreate,
    GroupCreate,
    ServiceInstanceProfile,
    TenantCreate,
    UserCreate,
)
from switchboard.errors import BadRequest, Conflict, NotFound
from switchboard.schemas import Schema
from switchboard.signals.feed import bump
from switchboard.system.store import DEFAULT_DOMAIN, check_domain_name, read_setting

PATH_SEPARATOR = " \\ "


def full_user_id(raw: str, default_domain: str) -> str:
    """local@domain as given, or local@DEFAULT_DOMAIN when the domain is left out (seed 003)."""
    return raw if "@" in raw else f"{raw}@{default_domain}"


def flush_or_conflict(session: Session, conflict: str) -> None:
    # A concurrent writer may win the race the existence checks looked for: same answer, 409.
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def stored_json(value: Any) -> Any:
    """Nested schema values are stored as their wire (camelCase) JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [stored_json(item) for item in value]
    return value


def _assign(row: Any, data: Schema, fields: Iterable[str]) -> None:
    for name in fields:
        setattr(row, name, stored_json(getattr(data, name)))


# Fields a PATCH may set to null to clear them; for every other field null means "unchanged".
CLEARABLE = frozenset({"department", "trunk_addressing", "parent"})


def changed_fields(changes: Schema, clearable: frozenset[str] = CLEARABLE) -> set[str]:
    return {
        name for name in changes.model_fields_set if name in clearable or getattr(changes, name) is not None
    }


# -- lookups -------------------------------------------------------------------------------------


def find_tenant(session: Session, principal: Principal, tenant_id: str) -> Tenant:
    tenant = first_visible(
        session, principal, "tenant", select(Tenant).where(Tenant.tenant_key == tenant_id.lower())
    )
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist")
    return tenant


def find_group(session: Session, principal: Principal, tenant_id: str, group_id: str) -> Group:
    group = first_visible(
        session,
        principal,
        "group",
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
        "department",
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
        "user",
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
        "service_user",
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
    session: Session, principal: Principal, tenant_id: str, group_id: str, manage: str | None
) -> tuple[Tenant, Group]:
    """The group (404 if not visible) and its tenant; with `manage`, 403 unless the principal may
    change objects of that kind in this group."""
    group = find_group(session, principal, tenant_id, group_id)
    tenant = session.get_one(Tenant, group.tenant_pk)
    if manage is not None:
        require_manage(principal, Target(manage, tenant.pk, group.pk))
    return tenant, group


# -- tenants and domains -------------------------------------------------------------------------


def create_tenant(session: Session, principal: Principal, data: TenantCreate) -> Tenant:
    require_manage(principal, Target("tenant_lifecycle"))
    if session.scalar(select(Tenant.pk).where(Tenant.tenant_key == data.tenant_id.lower())):
        raise Conflict(f"tenant {data.tenant_id!r} already exists")
    tenant = Tenant(tenant_key=data.tenant_id.lower())
    _assign(tenant, data, TenantCreate.model_fields)
    session.add(tenant)
    flush_or_conflict(session, f"tenant {data.tenant_id!r} already exists")
    return tenant


def update_tenant(session: Session, principal: Principal, tenant_id: str, changes: Schema) -> Tenant:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, Target("tenant", tenant.pk))
    _assign(tenant, changes, changed_fields(changes))
    session.flush()
    return tenant


def delete_tenant(session: Session, principal: Principal, tenant_id: str) -> None:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, Target("tenant_lifecycle", tenant.pk))
    session.execute(delete(Tenant).where(Tenant.pk == tenant.pk))
    bump(session, "credentials")  # its accounts, keys and tokens went with it: forget them everywhere


def add_domain(session: Session, principal: Principal, tenant_id: str, data: DomainCreate) -> Domain:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, Target("domain", tenant.pk))
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


def remove_domain(session: Session, principal: Principal, tenant_id: str, name: str) -> None:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, Target("domain", tenant.pk))
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


def _check_identity(session: Session, tenant: Tenant, field: str, user_id: str) -> str:
    """The id's domain must be the tenant's own or the default; the id must be free everywhere."""
    domain = user_id.rsplit("@", 1)[1].lower()
    default = read_setting(session, DEFAULT_DOMAIN)
    if domain != default:
        owner = session.scalar(select(Domain.tenant_pk).where(Domain.name_key == domain))
        if owner != tenant.pk:
            raise BadRequest.field(
                field, f"domain {domain} is not one of this tenant's domains (nor {default})"
            )
    key = user_id.lower()
    taken = session.scalar(
        select(exists().where(User.user_key == key) | exists().where(ServiceUser.service_user_key == key))
    )
    if taken:
        raise Conflict(f"{field} {user_id!r} is already in use")
    return key


def _check_extension(
    session: Session, tenant_pk: int, extension: str, own: User | ServiceUser | None
) -> None:
    """Extensions are unique within a tenant, across end users and service users."""
    if not extension:
        return
    holders = [
        session.scalar(select(User).where(User.tenant_pk == tenant_pk, User.extension == extension)),
        session.scalar(
            select(ServiceUser).where(ServiceUser.tenant_pk == tenant_pk, ServiceUser.extension == extension)
        ),
    ]
    if any(holder is not None and holder is not own for holder in holders):
        raise Conflict(f"extension {extension} is already used in this tenant")


# -- groups --------------------------------------------------------------------------------------


def create_group(session: Session, principal: Principal, tenant_id: str, data: GroupCreate) -> Group:
    tenant = find_tenant(session, principal, tenant_id)
    require_manage(principal, Target("group", tenant.pk))
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
    session: Session, principal: Principal, tenant_id: str, group_id: str, changes: Schema
) -> Group:
    _, group = _group_with_tenant(session, principal, tenant_id, group_id, manage="group")
    limit = getattr(changes, "user_limit", None)
    if limit is not None and limit < group.user_count:
        raise Conflict(f"userLimit {limit} is below the group's userCount {group.user_count}")
    _assign(group, changes, changed_fields(changes))
    session.flush()
    return group


def delete_group(session: Session, principal: Principal, tenant_id: str, group_id: str) -> None:
    _, group = _group_with_tenant(session, principal, tenant_id, group_id, manage="group")
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
    require_manage(principal, Target("department", tenant.pk, group.pk if group else None))
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
    session: Session, principal: Principal, tenant_id: str, group_id: str | None, name: str, changes: Schema
) -> Department:
    tenant, group = _department_scope(session, principal, tenant_id, group_id)
    department = find_department(session, principal, tenant.pk, group.pk if group else None, name)
    fields = changed_fields(changes)
    if "name" in fields:
        department.name = changes.name  # type: ignore[attr-defined]
        department.name_key = department.name.lower()
    if "parent" in fields:
        new_parent = changes.parent  # type: ignore[attr-defined]
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


def create_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, data: UserCreate
) -> User:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage="user")
    user_id = full_user_id(data.user_id, read_setting(session, DEFAULT_DOMAIN))
    key = _check_identity(session, tenant, "userId", user_id)
    _check_extension(session, tenant.pk, data.extension, None)
    department_pk = _department_of(session, principal, tenant, group, "department", data.department)
    admitted = session.execute(
        update(Group)
        .where(Group.pk == group.pk, Group.user_count < Group.user_limit)
        .values(user_count=Group.user_count + 1)
        .execution_options(synchronize_session=False)
    )
    if admitted.rowcount == 0:  # type: ignore[attr-defined]
        raise Conflict(f"group {group.group_id!r} is full (userLimit {group.user_limit})")
    user = User(
        tenant_pk=tenant.pk, group_pk=group.pk, user_id=user_id, user_key=key, department_pk=department_pk
    )
    _assign(user, data, _USER_COLUMNS)
    session.add(user)
    flush_or_conflict(session, f"userId {user_id!r} is already in use")
    return user


def update_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, user_id: str, changes: Schema
) -> User:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    user = _find_user(session, principal, group, user_id)
    require_manage(principal, Target("user", tenant.pk, group.pk))
    fields = changed_fields(changes)
    if "extension" in fields:
        _check_extension(session, tenant.pk, changes.extension, user)  # type: ignore[attr-defined]
    if "department" in fields:
        user.department_pk = _department_of(
            session,
            principal,
            tenant,
            group,
            "department",
            changes.department,  # type: ignore[attr-defined]
        )
    _assign(user, changes, fields.intersection(_USER_COLUMNS))
    session.flush()
    return user


def delete_user(session: Session, principal: Principal, tenant_id: str, group_id: str, user_id: str) -> None:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    user = _find_user(session, principal, group, user_id)
    require_manage(principal, Target("user", tenant.pk, group.pk))
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
    _check_extension(session, tenant.pk, profile.extension, row)
    _assign(row, profile, _PROFILE_COLUMNS)
    row.department_pk = _department_of(
        session, principal, tenant, group, "serviceInstanceProfile.department", profile.department
    )


def _kind_settings(kind: str, data: Schema, only_set: bool) -> dict[str, Any]:
    names = KIND_SETTINGS[kind].model_fields
    wanted = changed_fields(data) if only_set else names
    return {to_camel(name): stored_json(getattr(data, name)) for name in names if name in wanted}


def create_service_user(
    session: Session, principal: Principal, tenant_id: str, group_id: str, kind: str, data: Schema
) -> ServiceUser:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage="service_user")
    raw_id: str = data.service_user_id  # type: ignore[attr-defined]
    user_id = full_user_id(raw_id, read_setting(session, DEFAULT_DOMAIN))
    key = _check_identity(session, tenant, "serviceUserId", user_id)
    row = ServiceUser(
        tenant_pk=tenant.pk,
        group_pk=group.pk,
        kind=kind,
        service_user_id=user_id,
        service_user_key=key,
        settings=_kind_settings(kind, data, only_set=False),
    )
    _apply_profile(session, principal, tenant, group, row, data.service_instance_profile)  # type: ignore[attr-defined]
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
    changes: Schema,
) -> ServiceUser:
    tenant, group = _group_with_tenant(session, principal, tenant_id, group_id, manage=None)
    row = _find_service_user(session, principal, group, kind, user_id)
    require_manage(principal, Target("service_user", tenant.pk, group.pk))
    profile = getattr(changes, "service_instance_profile", None)
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
    require_manage(principal, Target("service_user", tenant.pk, group.pk))
    session.delete(row)
    session.flush()
