"""Directory reads as Core selects whose labels are the wire names; one shape per object.

The same select serves the hot path (FastReader, raw driver) and the write path (the response of a
create or update, read back inside its own transaction), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic.alias_generators import to_camel
from sqlalchemy import ColumnElement, and_, bindparam, func, literal, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from switchboard.access.policy import Kind, scope_params, visibility, visibility_key
from switchboard.access.principal import Principal
from switchboard.db.fastread import AnySelect, CompiledQuery, FastReader, Row
from switchboard.db.in_lists import chunks, one_of
from switchboard.directory.models import Department, Group, Reseller, ServiceUser, Tenant, User
from switchboard.directory.schemas import (
    GroupCreate,
    ServiceInstanceProfile,
    TenantCreate,
    UserCreate,
)
from switchboard.kit.criteria import Field, condition
from switchboard.kit.pagination import Filters, PageRequest, Variant, page_body
from switchboard.kit.schemas import ListPage


def _columns(model: Any, fields: list[str]) -> list[Any]:
    return [getattr(model, name).label(to_camel(name)) for name in fields]


# The reseller is stored as a key to its row, read by name (resellerId).
TENANT_FIELDS = [f for f in TenantCreate.model_fields if f != "reseller_id"]
GROUP_FIELDS = [f for f in GroupCreate.model_fields] + ["user_count"]
USER_FIELDS = [f for f in UserCreate.model_fields if f != "department"]
PROFILE_FIELDS = [f for f in ServiceInstanceProfile.model_fields if f != "department"]
PROFILE_KEYS = [to_camel(f) for f in PROFILE_FIELDS]

DepartmentOfObject = aliased(Department)
DepartmentGroup = aliased(Group)
_ParentDepartment = aliased(Department)
_ScopeGroup = aliased(Group)
_ScopeTenant = aliased(Tenant)


def department_columns() -> list[Any]:
    return [
        DepartmentOfObject.name.label("_departmentName"),
        DepartmentGroup.group_id.label("_departmentGroupId"),
        DepartmentOfObject.full_path_name.label("_departmentPath"),
    ]


def pop_department(row: Row) -> dict[str, Any] | None:
    name, group_id, path = (
        row.pop("_departmentName"),
        row.pop("_departmentGroupId"),
        row.pop("_departmentPath"),
    )
    if name is None:
        return None
    return {
        "tenantId": row["tenantId"],
        "groupId": group_id,
        "departmentName": name,
        "fullPathName": path,
    }


def shape_user(row: Row) -> Row:
    row["department"] = pop_department(row)
    return row


def shape_service_user(row: Row) -> Row:
    profile = {key: row.pop(key) for key in PROFILE_KEYS}
    profile["department"] = pop_department(row)
    settings = row.pop("settings") or {}
    row["serviceInstanceProfile"] = profile
    row.update(settings)
    return row


def _identity(row: Row) -> Row:
    return row


def _key_or_name(key: Any, name: Any) -> ColumnElement[bool]:
    return or_(_starts(key), _contains(name))


def _starts(column: Any) -> ColumnElement[bool]:
    return column.like(bindparam("search_prefix"), escape="\\")  # type: ignore[no-any-return]


def _contains(column: Any) -> ColumnElement[bool]:
    return func.lower(column).like(bindparam("search_contains"), escape="\\")


@dataclass(frozen=True)
class Shape:
    """How to select one kind of object, scoped by its parents' ids, and how to shape a row."""

    name: str
    kind: Kind  # the policy's name for these rows
    base: Callable[[], AnySelect]  # columns, joins and the parent scope (bind parameters)
    key: Callable[[], QueryableAttribute[str]]  # the object's own lower-cased id column
    name_column: Callable[[], QueryableAttribute[str]]
    shape: Callable[[Row], Row] = _identity
    # What the console's search box matches (search_prefix, search_contains), when more than
    # the start of the id or a fragment of the name.
    search: Callable[[], ColumnElement[bool]] | None = None
    # The fields APIO's criteria name (insensitive<Field>Contains=...): see kit/criteria.
    fields: Callable[[], Mapping[str, Field]] = dict
    aliases: tuple[tuple[str, str], ...] = ()  # other names of those fields: (alias, field)
    # The rows a total counts without criteria, when a leaner select than `base` finds the same
    # ones (a criterion may name a joined table's column, which only `base` has).
    count_base: Callable[[], AnySelect] | None = None

    def item(self) -> AnySelect:
        return self.base().where(self.key() == bindparam("key"))

    def page(self, variant: Variant) -> AnySelect:
        has_after, has_before, has_id, has_name, has_search, matched = variant
        key = self.key()
        stmt = self._filtered((has_id, has_name, has_search, matched)).add_columns(key.label("_sort"))
        if has_after:
            stmt = stmt.where(key > bindparam("after"))
        if has_before:  # a page back: read backwards from where it ends
            return stmt.where(key < bindparam("before")).order_by(key.desc()).limit(bindparam("limit"))
        return stmt.order_by(key).limit(bindparam("limit"))

    def count(self, filters: Filters, visible: Any) -> AnySelect:
        inner = (
            self._filtered(filters, None if filters[3] else self.count_base)
            .where(visible)
            .with_only_columns(literal(1), maintain_column_froms=True)
            .subquery()
        )
        return select(func.count().label("total")).select_from(inner)

    def _filtered(self, filters: Filters, base: Callable[[], AnySelect] | None = None) -> AnySelect:
        has_id, has_name, has_search, matched = filters
        stmt = (base or self.base)()
        fields = self.fields()
        for signature in matched:
            stmt = stmt.where(condition(signature, fields[signature[0]]))
        if has_id:
            stmt = stmt.where(and_(self.key() >= bindparam("id_from"), self.key() < bindparam("id_to")))
        if has_name:
            stmt = stmt.where(func.lower(self.name_column()).like(bindparam("name_like"), escape="\\"))
        if has_search:
            stmt = stmt.where(self.search() if self.search else _key_or_name(self.key(), self.name_column()))
        return stmt


def _tenant_base() -> AnySelect:
    return select(*_columns(Tenant, TENANT_FIELDS), Reseller.name.label("resellerId")).outerjoin(
        Reseller, Reseller.pk == Tenant.reseller_pk
    )


def _group_base() -> AnySelect:
    return _any_group_base().where(Tenant.tenant_key == bindparam("tenant"))


def _any_group_base() -> AnySelect:
    """Groups of every tenant (APIO's system-wide group search; the policy narrows them)."""
    return select(Tenant.tenant_id.label("tenantId"), *_columns(Group, GROUP_FIELDS)).join(
        Tenant, Tenant.pk == Group.tenant_pk
    )


def _department_base() -> AnySelect:
    return (
        select(
            Tenant.tenant_id.label("tenantId"),
            Group.group_id.label("groupId"),
            Department.name.label("name"),
            _ParentDepartment.name.label("parent"),
            Department.full_path_name.label("fullPathName"),
        )
        .select_from(Department)
        .join(Tenant, Tenant.pk == Department.tenant_pk)
        .outerjoin(Group, Group.pk == Department.group_pk)
        .outerjoin(_ParentDepartment, _ParentDepartment.pk == Department.parent_pk)
        .where(Tenant.tenant_key == bindparam("tenant"))
        .where(Department.scope_pk == func.coalesce(_group_scope(), 0))
    )


def _group_scope() -> Any:
    # The group of a group-level department list, or NULL (-> scope 0) for the tenant level.
    return (
        select(_ScopeGroup.pk)
        .where(_ScopeGroup.tenant_pk == Tenant.pk, _ScopeGroup.group_key == bindparam("group"))
        .scalar_subquery()
    )


def _group_member_base(model: type[User] | type[ServiceUser], *columns: Any) -> AnySelect:
    """An end user or service user with its tenant, group and department, scoped by their ids."""
    return _any_member_base(model, *columns).where(model.group_pk == _named_group_pk())


def _tenant_member_base(model: type[User] | type[ServiceUser], *columns: Any) -> AnySelect:
    """An end user or service user with its tenant, group and department, in any group of a tenant."""
    return _any_member_base(model, *columns).where(Tenant.tenant_key == bindparam("tenant"))


def _any_member_base(model: type[User] | type[ServiceUser], *columns: Any) -> AnySelect:
    """An end user or service user with its tenant, group and department, in any tenant."""
    return (
        select(
            Tenant.tenant_id.label("tenantId"),
            Group.group_id.label("groupId"),
            *columns,
            *department_columns(),
        )
        .select_from(model)
        .join(Group, Group.pk == model.group_pk)
        .join(Tenant, Tenant.pk == model.tenant_pk)
        .outerjoin(DepartmentOfObject, DepartmentOfObject.pk == model.department_pk)
        .outerjoin(DepartmentGroup, DepartmentGroup.pk == DepartmentOfObject.group_pk)
    )


def _named_group_pk() -> Any:
    """The pk of the group the scope names (tenant and group ids). Members are selected by it so
    that a page reads the (group, key) index in key order and stops at its limit: joined by the
    tenant's id instead, SQLite (without statistics) walked every user of the tenant through
    another index and sorted them."""
    return (
        select(_ScopeGroup.pk)
        .join(_ScopeTenant, _ScopeTenant.pk == _ScopeGroup.tenant_pk)
        .where(_ScopeTenant.tenant_key == bindparam("tenant"), _ScopeGroup.group_key == bindparam("group"))
        .scalar_subquery()
    )


def _user_count_base() -> AnySelect:
    """The end users a list counts: of the named group, without the columns and joins a page
    shows (every filter and the policy's clause are on the users table)."""
    return select(User.pk).where(User.group_pk == _named_group_pk())


def _user_base() -> AnySelect:
    return _group_member_base(User, *_columns(User, USER_FIELDS))


def _tenant_user_base() -> AnySelect:
    return _tenant_member_base(User, *_columns(User, USER_FIELDS))


def _any_user_base() -> AnySelect:
    return _any_member_base(User, *_columns(User, USER_FIELDS))


def _any_service_user_base() -> AnySelect:
    return _group_member_base(
        ServiceUser,
        ServiceUser.service_user_id.label("serviceUserId"),
        *_columns(ServiceUser, PROFILE_FIELDS),
        ServiceUser.settings.label("settings"),
    )


def _service_user_base() -> AnySelect:
    return _any_service_user_base().where(ServiceUser.kind == bindparam("kind"))


def _group_service_base() -> AnySelect:
    return _any_service_user_base().add_columns(ServiceUser.kind.label("kind"))


def _member_search(
    model: type[User] | type[ServiceUser], key: Any, name: Any
) -> Callable[[], ColumnElement[bool]]:
    """An end user or service user: also by an extension's start or a fragment of its number."""
    return lambda: or_(_key_or_name(key, name), _starts(model.extension), _contains(model.phone_number))


# externalId1..4: what an APIO client filters its tenant, group and user lists by.
EXTERNAL_IDS = tuple(to_camel(f"external_id{n}") for n in range(1, 5))


def _external_ids(model: type[Tenant] | type[Group] | type[User]) -> dict[str, Field]:
    """The criteria fields ExternalId1..4 (and the lists' own externalId1=... exact matches)."""
    return {f"ExternalId{n}": Field(getattr(model, f"external_id{n}")) for n in range(1, 5)}


# The fields APIO's criteria name on each list and search (their gateway's names), and aliases.
def _tenant_criteria() -> dict[str, Field]:
    return {
        "TenantId": Field(Tenant.tenant_id, Tenant.tenant_key),
        "Name": Field(Tenant.name),
        "Type": Field(Tenant.type),
        "ResellerId": Field(Reseller.name, Reseller.name_key),  # the base's outer join
        **_external_ids(Tenant),
    }


def _group_criteria() -> dict[str, Field]:
    return {
        "GroupId": Field(Group.group_id, Group.group_key),
        "GroupName": Field(Group.group_name),
        **_external_ids(Group),
    }


def _user_criteria() -> dict[str, Field]:
    return {
        "UserId": Field(User.user_id, User.user_key),
        "UserLastName": Field(User.last_name),
        "UserFirstName": Field(User.first_name),
        "PhoneNumber": Field(User.phone_number),
        "Extension": Field(User.extension),
        "EmailAddress": Field(User.email_address),
        "GroupId": Field(Group.group_id, Group.group_key),
        **_external_ids(User),
    }


TENANTS = Shape(
    "tenants",
    Kind.TENANT,
    _tenant_base,
    lambda: Tenant.tenant_key,
    lambda: Tenant.name,
    fields=_tenant_criteria,
    aliases=(("TenantName", "Name"),),
)
GROUPS = Shape(
    "groups",
    Kind.GROUP,
    _group_base,
    lambda: Group.group_key,
    lambda: Group.group_name,
    fields=_group_criteria,
    aliases=(("Name", "GroupName"),),
)
DEPARTMENTS = Shape(
    "departments", Kind.DEPARTMENT, _department_base, lambda: Department.name_key, lambda: Department.name
)
USERS = Shape(
    "users",
    Kind.USER,
    _user_base,
    lambda: User.user_key,
    lambda: User.last_name,
    shape_user,
    search=_member_search(User, User.user_key, User.first_name + " " + User.last_name),
    fields=_user_criteria,
    aliases=(("LastName", "UserLastName"), ("FirstName", "UserFirstName")),
    count_base=_user_count_base,
)
# A tenant's end users in every group (APIO's tenant-level user search); the group list's
# leaner count names one group, so these count from their own base.
TENANT_USERS = replace(USERS, name="tenant_users", base=_tenant_user_base, count_base=None)
# Every tenant's (APIO's system-wide searches: the policy narrows them to the caller's view).
_TENANT_ID = {"TenantId": Field(Tenant.tenant_id, Tenant.tenant_key)}
ANY_USERS = replace(
    USERS,
    name="any_users",
    base=_any_user_base,
    fields=lambda: {**_user_criteria(), **_TENANT_ID},
    count_base=None,
)
ANY_GROUPS = replace(
    GROUPS,
    name="any_groups",
    base=_any_group_base,
    # group ids are unique in a tenant only: the page's order and cursor are tenant/group.
    key=lambda: Tenant.tenant_key + "/" + Group.group_key,  # type: ignore[arg-type, return-value]
    fields=lambda: {**_group_criteria(), **_TENANT_ID},
)
SERVICE_USERS = Shape(
    "service_users",
    Kind.SERVICE_USER,
    _service_user_base,
    lambda: ServiceUser.service_user_key,
    lambda: ServiceUser.name,
    shape_service_user,
)
# A group's service users of every kind, each with its kind (the console's second tab).
GROUP_SERVICES = Shape(
    "group_services",
    Kind.SERVICE_USER,
    _group_service_base,
    lambda: ServiceUser.service_user_key,
    lambda: ServiceUser.name,
    shape_service_user,
    search=_member_search(ServiceUser, ServiceUser.service_user_key, ServiceUser.name),
)


async def read_item(
    reader: FastReader, shape: Shape, params: Mapping[str, Any], principal: Principal
) -> Row | None:
    """One object by its ids, if the principal may see it (one query: the policy is in it)."""
    role = visibility_key(principal)
    query = reader.compiled(
        (shape.name, "item", role), lambda: shape.item().where(visibility(principal, shape.kind))
    )
    row = await reader.fetch_one(query, {**params, **scope_params(principal)})
    return None if row is None else shape.shape(row)


async def read_page(
    reader: FastReader,
    listing: type[ListPage],
    shape: Shape,
    scope: Mapping[str, Any],
    request: PageRequest,
    principal: Principal,
) -> dict[str, object]:
    """One page of what the principal may see, and the total of it."""
    variant, role = request.variant, visibility_key(principal)
    visible = visibility(principal, shape.kind)

    def compiled(key: tuple[object, ...], build: Callable[[], AnySelect]) -> CompiledQuery:
        # APIO's criteria combine in more ways than a cache should hold: compiled per request.
        return reader.uncached(build) if request.criteria else reader.compiled(key, build)

    page_query = compiled((shape.name, "page", variant, role), lambda: shape.page(variant).where(visible))
    count_query = compiled(
        (shape.name, "count", request.filters, role), lambda: shape.count(request.filters, visible)
    )
    params = {**scope, **request.params(), **scope_params(principal)}
    rows = [shape.shape(row) for row in await reader.fetch_all(page_query, params)]
    counted = await reader.fetch_one(count_query, params)
    return page_body(listing, rows, request, int(counted["total"]) if counted else 0)


def read_items_in(
    session: Session, shape: Shape, scope: Mapping[str, Any], keys: Collection[str], *by_parent: Any
) -> dict[str, Row]:
    """Objects of one parent scope by their lookup keys, as the API shows them (a batch's stored
    objects: a query per thousand keys, not one per object). `by_parent`: the rows' own parent
    column equal to the parent's pk — without it SQLite, with no statistics, walks every row of
    the tenant for a long IN list instead of using the (parent, key) index."""
    found: dict[str, Row] = {}
    for chunk in chunks(keys):
        stmt = (
            shape.base()
            .add_columns(shape.key().label("_key"))
            .where(one_of(session, shape.key(), chunk), *by_parent)
        )
        for row in session.execute(stmt, scope).mappings():
            shaped = dict(row)
            found[shaped.pop("_key")] = shape.shape(shaped)
    return found


def read_item_in(session: Session, shape: Shape, params: Mapping[str, Any]) -> Row:
    """The object as the API shows it, read inside a write transaction (after flush)."""
    row = session.execute(shape.item(), dict(params)).mappings().one()
    return shape.shape(dict(row))


def read_visible_item_in(
    session: Session, shape: Shape, params: Mapping[str, Any], principal: Principal
) -> Row | None:
    """read_item inside a unit of work (the console's pages)."""
    stmt = shape.item().where(visibility(principal, shape.kind))
    row = session.execute(stmt, {**params, **scope_params(principal)}).mappings().first()
    return None if row is None else shape.shape(dict(row))


@dataclass(frozen=True, slots=True)
class Browsed:
    """A page as the console pages through it: its rows in order, the total, and the sort keys
    after which the next page starts and before which the previous one ends, if there are such."""

    rows: list[Row]
    total: int
    next_after: str | None
    previous_before: str | None


def count_in(
    session: Session, shape: Shape, scope: Mapping[str, Any], request: PageRequest, principal: Principal
) -> int:
    """How many rows match the request's filters that the principal may see."""
    stmt = shape.count(request.filters, visibility(principal, shape.kind))
    return session.scalar(stmt, {**scope, **request.params(), **scope_params(principal)}) or 0


def _page_rows_in(
    session: Session, shape: Shape, scope: Mapping[str, Any], request: PageRequest, principal: Principal
) -> list[Row]:
    stmt = shape.page(request.variant).where(visibility(principal, shape.kind))
    params = {**scope, **request.params(), **scope_params(principal)}
    return [shape.shape(dict(row)) for row in session.execute(stmt, params).mappings()]


def browse_in(
    session: Session, shape: Shape, scope: Mapping[str, Any], request: PageRequest, principal: Principal
) -> Browsed:
    """read_page inside a unit of work, forwards or (request.before) backwards, knowing whether
    rows lie on either side of the page (the console's previous and next links)."""

    def any_beyond(after: str | None = None, before: str | None = None) -> bool:
        # Limit 0 reads the look-ahead row alone: whether any row lies beyond that key.
        probe = replace(request, limit=0, after=after, before=before)
        return bool(_page_rows_in(session, shape, scope, probe, principal))

    found = _page_rows_in(session, shape, scope, request, principal)
    rows = found[: request.limit]
    if request.before is not None:
        rows.reverse()
        earlier = len(found) > request.limit
        later = bool(rows) and any_beyond(after=rows[-1]["_sort"])
    else:
        later = len(found) > request.limit
        earlier = bool(rows) and request.after is not None and any_beyond(before=rows[0]["_sort"])
    keys = [str(row.pop("_sort")) for row in rows]
    return Browsed(
        rows=rows,
        total=count_in(session, shape, scope, request, principal),
        next_after=keys[-1] if later else None,
        previous_before=keys[0] if earlier else None,
    )
