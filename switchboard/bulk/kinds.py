"""The kinds of directory object a bulk file holds, in the order they must be loaded, and for each:
its record (the API's create body plus the ids of its parents), how to find the stored one as a
record, and how to create or change it — always through the directory services."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from switchboard.access.principal import Principal
from switchboard.directory import service
from switchboard.directory.models import Domain, Group, User
from switchboard.directory.queries import (
    DEPARTMENTS,
    GROUPS,
    SERVICE_USERS,
    TENANTS,
    USERS,
    Shape,
    read_item_in,
    read_items_in,
)
from switchboard.directory.schemas import (
    SERVICE_MODELS,
    DepartmentCreate,
    DepartmentUpdate,
    DomainCreate,
    GroupCreate,
    GroupUpdate,
    ServiceCreate,
    ServiceUpdate,
    TenantCreate,
    TenantUpdate,
    UserCreate,
    UserUpdate,
)
from switchboard.errors import BadRequest, NotFound, SwitchboardError
from switchboard.kit.schemas import Schema
from switchboard.system.store import DEFAULT_DOMAIN, read_setting

Record = dict[str, Any]
Change = Literal["created", "updated", "unchanged"]


class RowError(Exception):
    """A row that cannot be loaded: the field (wire name, or "" for the row) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


Result = Change | RowError
# A record's validated body as plain data (what an import's check keeps for its load), and as the
# batch path takes it. Only end users have a batch path.
Plain = service.PlainUser
Valid = service.UserValues


def row_error(exc: SwitchboardError) -> RowError:
    """A service's refusal as a row's problem, worded as the API words it."""
    if isinstance(exc, NotFound):
        return RowError("", exc.detail)  # whatever is outside the principal's view reads as missing
    problem = (exc.errors or [{}])[0]
    return RowError(problem.get("field", ""), problem.get("reason", exc.detail))


def _department_ref(view: Record | None) -> Record | None:
    """A department as shown by reads -> as given to writes (its name, and group if group-level)."""
    if view is None:
        return None
    ref = {"departmentName": view["departmentName"]}
    if view.get("groupId"):
        ref["groupId"] = view["groupId"]
    return ref


def _full_id(session: Session, raw: str) -> str:
    return service.full_user_id(raw, read_setting(session, DEFAULT_DOMAIN))


@dataclass(frozen=True)
class Kind:
    """One kind of object in a bulk file."""

    name: str  # as in a JSON Lines record's "kind", and the CSV file's name (plural + .csv)
    plural: str
    context: tuple[str, ...]  # the parents' ids a record carries besides the body
    id_field: str
    create_model: Callable[[Record], type[Schema]]
    update_model: Callable[[Record], type[Schema] | None]  # None: nothing can change once made
    # The stored object as a record, or None when the principal sees no such object.
    stored: Callable[[Session, Principal, Record], Record | None]
    create: Callable[[Session, Principal, Record, Schema], object]
    update: Callable[[Session, Principal, Record, Schema], object]
    # Fields whose CSV cells hold JSON (objects and lists).
    json_fields: frozenset[str] = frozenset()
    # Many records at once, each record's result (a refused one writes nothing); None: one by one.
    # The batch path takes each record's validation when it was made already (None: not yet).
    batch: Callable[[Session, Principal, list[Record], Sequence[Valid | None]], list[Result]] | None = None
    # A record validated, as plain data (None: refused), and back: what an import's check keeps
    # for its load, so that each row is validated once. None: the kind's records are not kept.
    validate: Callable[[Record], Plain | None] | None = None

    def apply_many(
        self,
        session: Session,
        principal: Principal,
        records: list[Record],
        validated: Sequence[Plain | None] | None = None,
    ) -> list[Result]:
        """Create, change or leave each record's object; each one's change, or why it was refused.
        RowError when the records are refused as a whole (a concurrent writer took an id the
        checks found free): the caller then tries them one by one to tell which. `validated`:
        the records' `validate` results, when the caller has them."""
        if self.batch is None:
            return [self._apply_isolated(session, principal, record) for record in records]
        given = validated or [None] * len(records)
        valid = [None if plain is None else service.UserValues.from_plain(plain) for plain in given]
        try:
            return self.batch(session, principal, records, valid)
        except SwitchboardError as exc:
            raise row_error(exc) from exc

    def _apply_isolated(self, session: Session, principal: Principal, record: Record) -> Result:
        try:
            with session.begin_nested():  # a refused row leaves nothing behind
                body = self.body(record)
                stored = self.stored(session, principal, record)
                if stored is None:
                    self.create(session, principal, record, body)
                    return "created"
                return self.reconcile(session, principal, record, body, stored)
        except RowError as error:
            return error
        except SwitchboardError as exc:
            return row_error(exc)

    def reconcile(
        self, session: Session, principal: Principal, record: Record, body: Schema, stored: Record
    ) -> Change:
        """Bring a stored object to what the record says."""
        changes = self.changes(body, stored)
        if not changes:
            return "unchanged"
        update_model = self.update_model(record)
        if update_model is None:
            raise RowError(self.id_field, "exists and cannot be changed")
        self.update(session, principal, record, update_model.model_validate(changes))
        return "updated"

    def body(self, record: Record) -> Schema:
        """The create body of a record (its parents' ids taken off); RowError when invalid."""
        fields = {key: value for key, value in record.items() if key not in self.context}
        try:
            return self.create_model(record).model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise RowError(".".join(str(part) for part in first["loc"]), first["msg"]) from exc

    def changes(self, given: Schema, stored: Record) -> Record:
        """The body fields that differ from the stored object, both as the schema reads them
        (defaults filled in); ids never change."""
        wanted = given.model_dump(by_alias=True, mode="json")
        current = self.body(stored).model_dump(by_alias=True, mode="json")
        return {
            key: value for key, value in wanted.items() if key != self.id_field and current.get(key) != value
        }


def _read(session: Session, shape: Shape, params: Record) -> Record | None:
    try:
        return dict(read_item_in(session, shape, params))
    except NoResultFound:
        return None


def _context_ids(record: Record, *names: str) -> list[str]:
    ids = []
    for name in names:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            raise RowError(name, "is required")
        ids.append(value)
    return ids


# -- tenants ---------------------------------------------------------------------------------------


def _tenant_stored(session: Session, principal: Principal, record: Record) -> Record | None:
    try:
        tenant = service.find_tenant(session, principal, str(record.get("tenantId", "")))
    except NotFound:
        return None
    return _read(session, TENANTS, {"key": tenant.tenant_key})


def _tenant_update(session: Session, principal: Principal, record: Record, changes: Schema) -> object:
    if "type" in changes.model_fields_set:
        raise RowError("type", "cannot change once the tenant exists")
    return service.update_tenant(session, principal, record["tenantId"], cast(TenantUpdate, changes))


class _TenantChanges(TenantUpdate):
    """TenantUpdate, plus `type` so that a changed type is reported rather than refused as unknown."""

    type: str | None = None


TENANT = Kind(
    name="tenant",
    plural="tenants",
    context=(),
    id_field="tenantId",
    create_model=lambda _: TenantCreate,
    update_model=lambda _: _TenantChanges,
    stored=_tenant_stored,
    create=lambda session, principal, record, body: service.create_tenant(
        session, principal, cast(TenantCreate, body)
    ),
    update=_tenant_update,
    json_fields=frozenset({"contact", "addressInformation"}),
)

# -- domains ---------------------------------------------------------------------------------------


def _domain_stored(session: Session, principal: Principal, record: Record) -> Record | None:
    (tenant_id,) = _context_ids(record, "tenantId")
    tenant = service.find_tenant(session, principal, tenant_id)
    name = str(record.get("domain", "")).strip().lower()
    owner = session.scalar(select(Domain.tenant_pk).where(Domain.name_key == name))
    # Another tenant's domain is left to add_domain, which refuses it as the API does.
    return {"tenantId": tenant_id, "domain": name} if owner == tenant.pk else None


DOMAIN = Kind(
    name="domain",
    plural="domains",
    context=("tenantId",),
    id_field="domain",
    create_model=lambda _: DomainCreate,
    update_model=lambda _: None,
    stored=_domain_stored,
    create=lambda session, principal, record, body: service.add_domain(
        session,
        principal,
        record["tenantId"],
        cast(DomainCreate, body),
    ),
    update=lambda session, principal, record, body: None,
)

# -- groups ----------------------------------------------------------------------------------------


def _group_stored(session: Session, principal: Principal, record: Record) -> Record | None:
    (tenant_id,) = _context_ids(record, "tenantId")
    try:
        group = service.find_group(session, principal, tenant_id, str(record.get("groupId", "")))
    except NotFound:
        return None
    view = _read(session, GROUPS, {"tenant": tenant_id.lower(), "key": group.group_key})
    if view is not None:
        view.pop("userCount", None)
    return view


GROUP = Kind(
    name="group",
    plural="groups",
    context=("tenantId",),
    id_field="groupId",
    create_model=lambda _: GroupCreate,
    update_model=lambda _: GroupUpdate,
    stored=_group_stored,
    create=lambda session, principal, record, body: service.create_group(
        session,
        principal,
        record["tenantId"],
        cast(GroupCreate, body),
    ),
    update=lambda session, principal, record, body: service.update_group(
        session, principal, record["tenantId"], record["groupId"], cast(GroupUpdate, body)
    ),
    json_fields=frozenset({"contact", "addressInformation"}),
)

# -- departments -----------------------------------------------------------------------------------


def _department_group(record: Record) -> str | None:
    group_id = record.get("groupId")
    return str(group_id) if group_id else None


def _department_stored(session: Session, principal: Principal, record: Record) -> Record | None:
    (tenant_id,) = _context_ids(record, "tenantId")
    group_id = _department_group(record)
    tenant = service.find_tenant(session, principal, tenant_id)
    group = service.find_group(session, principal, tenant_id, group_id) if group_id else None
    try:
        found = service.find_department(
            session, principal, tenant.pk, group.pk if group else None, str(record.get("name", ""))
        )
    except NotFound:
        return None
    params = {"tenant": tenant.tenant_key, "group": group.group_key if group else None, "key": found.name_key}
    view = _read(session, DEPARTMENTS, params)
    if view is None:
        return None
    return {"tenantId": tenant_id, "groupId": group_id, "name": view["name"], "parent": view["parent"]}


DEPARTMENT = Kind(
    name="department",
    plural="departments",
    context=("tenantId", "groupId"),
    id_field="name",
    create_model=lambda _: DepartmentCreate,
    update_model=lambda _: DepartmentUpdate,
    stored=_department_stored,
    create=lambda session, principal, record, body: service.create_department(
        session,
        principal,
        record["tenantId"],
        _department_group(record),
        cast(DepartmentCreate, body),
    ),
    update=lambda session, principal, record, body: service.update_department(
        session,
        principal,
        record["tenantId"],
        _department_group(record),
        record["name"],
        cast(DepartmentUpdate, body),
    ),
)

# -- end users -------------------------------------------------------------------------------------


def _visible_group(session: Session, principal: Principal, tenant_id: str, group_id: str) -> Group:
    try:
        return service.find_group(session, principal, tenant_id, group_id)
    except NotFound as exc:
        raise RowError("groupId", f"no group {group_id!r} in tenant {tenant_id!r}") from exc


def _member_params(session: Session, principal: Principal, record: Record, id_field: str) -> Record | None:
    """Shape parameters of an end user or service user, or None when its group is not visible."""
    tenant_id, group_id = _context_ids(record, "tenantId", "groupId")
    group = _visible_group(session, principal, tenant_id, group_id)
    raw = record.get(id_field)
    if not isinstance(raw, str) or not raw:
        raise RowError(id_field, "is required")
    return {"tenant": tenant_id.lower(), "group": group.group_key, "key": _full_id(session, raw).lower()}


def user_record(view: Record) -> Record:
    """An end user as reads show it -> as a bulk record (also what export writes)."""
    record = {key: value for key, value in view.items() if key != "department"}
    record["department"] = _department_ref(view.get("department"))
    return record


def _user_stored(session: Session, principal: Principal, record: Record) -> Record | None:
    params = _member_params(session, principal, record, "userId")
    view = _read(session, USERS, params) if params else None
    return None if view is None else user_record(view)


def _validate_user(record: Record) -> Plain | None:
    try:
        return service.UserValues.of(cast(UserCreate, USER.body(record))).plain()
    except RowError:
        return None  # the batch path validates it again, to say why


def _users_batch(
    session: Session, principal: Principal, records: list[Record], validated: Sequence[Valid | None]
) -> list[Result]:
    """End users many at a time: their groups resolved once, the stored ones read a query per
    group, the new ones created by the directory's batch path, changed ones updated one by one."""
    results: dict[int, Result] = {}
    default_domain = read_setting(session, DEFAULT_DOMAIN)
    groups: dict[tuple[str, str], Group | RowError] = {}
    wanted: list[Wanted] = []
    bodies: dict[int, UserCreate] = {}  # the models validated here (a stored user's update needs it)
    for index, (record, valid) in enumerate(zip(records, validated, strict=True)):
        try:
            tenant_id, group_id = _context_ids(record, "tenantId", "groupId")
            place = (tenant_id, group_id)
            if valid is None:
                bodies[index] = cast(UserCreate, USER.body(record))
            body = valid if valid is not None else service.UserValues.of(bodies[index])
            if place not in groups:
                try:
                    groups[place] = _visible_group(session, principal, tenant_id, group_id)
                except RowError as error:
                    groups[place] = error
            group = groups[place]
            if isinstance(group, RowError):
                raise group
        except RowError as error:
            results[index] = error
            continue
        wanted.append((index, place, service.full_user_id(body.user_id, default_domain).lower(), body))
    for segment in _without_repeats(wanted):
        _apply_users(session, principal, records, segment, groups, results, bodies)
    return [results[index] for index in range(len(records))]


Wanted = tuple[int, tuple[str, str], str, Valid]  # record index, (tenant, group), key, body


def _without_repeats(wanted: list[Wanted]) -> Iterator[list[Wanted]]:
    """Cut before a user met again, so that the second row sees the first as stored (an update),
    exactly as when the rows are applied one by one."""
    segment: list[Wanted] = []
    keys: set[str] = set()
    for item in wanted:
        if item[2] in keys:
            yield segment
            segment, keys = [], set()
        segment.append(item)
        keys.add(item[2])
    if segment:
        yield segment


def _apply_users(
    session: Session,
    principal: Principal,
    records: list[Record],
    wanted: list[Wanted],
    groups: dict[tuple[str, str], Group | RowError],
    results: dict[int, Result],
    bodies: dict[int, UserCreate],
) -> None:
    """One segment (each user once): the stored ones changed as needed, the rest created together
    (changes go first: the users a segment changes are never the ones it creates)."""
    stored: dict[tuple[str, str, str], Record] = {}
    for place in {place for _, place, _, _ in wanted}:
        group = cast(Group, groups[place])
        keys = [key for _, where, key, _ in wanted if where == place]
        scope = {"tenant": place[0].lower(), "group": group.group_key}
        for key, found in read_items_in(session, USERS, scope, keys, User.group_pk == group.pk).items():
            stored[(*place, key)] = user_record(found)
    new: list[tuple[int, service.NewUser]] = []
    for index, place, key, body in wanted:
        view = stored.get((*place, key))
        if view is None:
            new.append((index, service.NewUser(*place, body)))
            continue
        try:
            with session.begin_nested():
                given = bodies.get(index) or USER.body(records[index])
                results[index] = USER.reconcile(session, principal, records[index], given, view)
        except RowError as error:
            results[index] = error
        except SwitchboardError as exc:
            results[index] = row_error(exc)
    created = service.create_users(session, principal, [request for _, request in new])
    for (index, _), outcome in zip(new, created, strict=True):
        results[index] = row_error(outcome) if isinstance(outcome, SwitchboardError) else "created"


USER = Kind(
    name="user",
    plural="users",
    context=("tenantId", "groupId"),
    id_field="userId",
    create_model=lambda _: UserCreate,
    update_model=lambda _: UserUpdate,
    stored=_user_stored,
    create=lambda session, principal, record, body: service.create_user(
        session,
        principal,
        record["tenantId"],
        record["groupId"],
        cast(UserCreate, body),
    ),
    update=lambda session, principal, record, body: service.update_user(
        session, principal, record["tenantId"], record["groupId"], record["userId"], cast(UserUpdate, body)
    ),
    json_fields=frozenset({"department", "address", "devices", "trunkAddressing"}),
    batch=_users_batch,
    validate=_validate_user,
)

# -- service users ---------------------------------------------------------------------------------


def _service_kind(record: Record) -> str:
    kind = record.get("serviceKind")
    if kind not in SERVICE_MODELS:
        raise RowError("serviceKind", f"one of {', '.join(SERVICE_MODELS)}")
    return str(kind)


def service_user_record(view: Record, kind: str) -> Record:
    """A service user as reads show it -> as a bulk record (also what export writes)."""
    profile = dict(view["serviceInstanceProfile"])
    profile["department"] = _department_ref(profile.get("department"))
    return {**view, "serviceKind": kind, "serviceInstanceProfile": profile}


def _service_user_stored(session: Session, principal: Principal, record: Record) -> Record | None:
    kind = _service_kind(record)
    params = _member_params(session, principal, record, "serviceUserId")
    view = _read(session, SERVICE_USERS, {**params, "kind": kind}) if params else None
    return None if view is None else service_user_record(view, kind)


SERVICE_USER = Kind(
    name="service_user",
    plural="service_users",
    context=("tenantId", "groupId", "serviceKind"),
    id_field="serviceUserId",
    create_model=lambda record: SERVICE_MODELS[_service_kind(record)][0],
    update_model=lambda record: SERVICE_MODELS[_service_kind(record)][1],
    stored=_service_user_stored,
    create=lambda session, principal, record, body: service.create_service_user(
        session,
        principal,
        record["tenantId"],
        record["groupId"],
        _service_kind(record),
        cast(ServiceCreate, body),
    ),
    update=lambda session, principal, record, body: service.update_service_user(
        session,
        principal,
        record["tenantId"],
        record["groupId"],
        _service_kind(record),
        record["serviceUserId"],
        cast(ServiceUpdate, body),
    ),
    json_fields=frozenset({"serviceInstanceProfile"}),
)

# Parents before children: a file may hold a tenant and everything in it.
KINDS: tuple[Kind, ...] = (TENANT, DOMAIN, GROUP, DEPARTMENT, USER, SERVICE_USER)
BY_NAME = {kind.name: kind for kind in KINDS}
BY_PLURAL = {kind.plural: kind for kind in KINDS}


def kind_of(name: str) -> Kind:
    found = BY_NAME.get(name) or BY_PLURAL.get(name)
    if found is None:
        raise BadRequest.field("kind", f"one of {', '.join(BY_NAME)}")
    return found
