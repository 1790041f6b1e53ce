"""Directory provisioning routes: thin adapters that parse, call one service, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic.alias_generators import to_camel
from starlette.responses import Response

from switchboard.access.dependencies import DirectoryCaller
from switchboard.access.principal import Principal
from switchboard.audit.recording import audit_write
from switchboard.directory import service
from switchboard.directory.filters import list_parameters, list_request, search_parameters, search_request
from switchboard.directory.models import Tenant
from switchboard.directory.queries import (
    ANY_GROUPS,
    ANY_USERS,
    DEPARTMENTS,
    GROUPS,
    SERVICE_USERS,
    TENANT_USERS,
    TENANTS,
    USERS,
    Shape,
    read_item,
    read_item_in,
    read_page,
)
from switchboard.directory.schemas import (
    KIND_PATHS,
    SERVICE_MODELS,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    DomainCreate,
    DomainOut,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    TenantCreate,
    TenantOut,
    TenantUpdate,
    UserCreate,
    UserOut,
    UserUpdate,
)
from switchboard.errors import NotFound
from switchboard.kit.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    DeleteNonEmpty,
    Limit,
    PageRequest,
    page_body,
    page_request,
)
from switchboard.kit.schemas import ListPage, page_of
from switchboard.system.store import DEFAULT_DOMAIN
from switchboard.web.responses import errors, json_response, no_content
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1", tags=["directory"])

READ = errors(400, 401, 403, 404)
WRITE = errors(400, 401, 403, 404, 409)

TenantPage = page_of(TenantOut, "tenants")
DomainPage = page_of(DomainOut, "domains")
GroupPage = page_of(GroupOut, "groups")
DepartmentPage = page_of(DepartmentOut, "departments")
UserPage = page_of(UserOut, "users")


async def page_params(
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    id_prefix: Annotated[str | None, Query(alias="idPrefix", max_length=80)] = None,
    name_prefix: Annotated[str | None, Query(alias="namePrefix", max_length=80)] = None,
) -> PageRequest:
    return page_request(limit, cursor, id_prefix, name_prefix)


Paging = Annotated[PageRequest, Depends(page_params)]


def _filtered(shape: Shape) -> Callable[[Request, PageRequest], Awaitable[PageRequest]]:
    """A list's paging with APIO's filters on `shape` (see directory/filters)."""

    async def filters(request: Request, paging: Paging) -> PageRequest:
        return await list_request(request, paging, shape)

    return filters


TenantFilters = Annotated[PageRequest, Depends(_filtered(TENANTS))]
GroupFilters = Annotated[PageRequest, Depends(_filtered(GROUPS))]
UserFilters = Annotated[PageRequest, Depends(_filtered(USERS))]


def _documented(parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"parameters": parameters}


async def _require(
    request: Request, principal: Principal, shape: Shape, params: dict[str, Any]
) -> dict[str, Any]:
    row = await read_item(database_of(request).reader, shape, params, principal)
    if row is None:
        where = f" in tenant {params['tenant']!r}" if params.get("tenant") else ""
        raise NotFound(
            f"{shape.kind.replace('_', ' ')} {params.get('key')!r}{where} is not found or not visible"
        )
    return row


async def _list(
    request: Request,
    principal: Principal,
    listing: type[ListPage],
    shape: Shape,
    scope: dict[str, Any],
    paging: PageRequest,
) -> Response:
    reader = database_of(request).reader
    return json_response(await read_page(reader, listing, shape, scope, paging, principal))


def _write(
    request: Request,
    shape: Shape,
    act: Callable[[Any], Any],
    key: Callable[[Any], dict[str, Any]],
    status: int = 200,
) -> Response:
    """Run one service call in a unit of work and answer with the object as reads show it."""
    with database_of(request).transaction() as session:
        obj = act(session)
        params = key(obj)
        body = read_item_in(session, shape, params)
    tenant_pk = obj.pk if isinstance(obj, Tenant) else obj.tenant_pk
    audit_write(request, status, f"{shape.kind}:{'/'.join(str(v) for v in params.values() if v)}", tenant_pk)
    return json_response(body, status)


def _delete(request: Request, act: Callable[[Any], None]) -> Response:
    with database_of(request).transaction() as session:
        act(session)
    audit_write(request, 204, request.url.path, None)
    return no_content()


def _drop_param(fn: Callable[..., Any], name: str) -> None:
    import inspect

    signature = inspect.signature(fn)
    fn.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if p.name != name]
    )


def _register_crud(
    *,
    collection: str,
    item: str,
    handlers: tuple[Callable[..., Any], ...],
    out_model: Any,
    listing: type[ListPage],
    noun: str,
    operation_id: str,
    delete_errors: dict[int | str, dict[str, Any]],
) -> None:
    """List, create, get, update and delete routes of one family, documented alike."""
    list_fn, create_fn, get_fn, update_fn, delete_fn = handlers
    routes: list[tuple[str, Callable[..., Any], str, int, Any, dict[int | str, dict[str, Any]], str]] = [
        (collection, list_fn, "GET", 200, listing, READ, "list"),
        (collection, create_fn, "POST", 201, out_model, WRITE, "create"),
        (item, get_fn, "GET", 200, out_model, READ, "get"),
        (item, update_fn, "PATCH", 200, out_model, WRITE, "update"),
        (item, delete_fn, "DELETE", 204, None, delete_errors, "delete"),
    ]
    for path, handler, method, status, model, responses, verb in routes:
        router.add_api_route(
            path,
            handler,
            methods=[method],
            status_code=status,
            response_model=model,
            responses=responses,
            summary=f"{verb.title()} {'every' if verb == 'list' else 'a'} {noun}",
            operation_id=f"{verb}_{operation_id}",
        )


async def _full_id(request: Request, raw: str) -> str:
    return service.full_user_id(raw, await services_of(request).settings_cache.get(DEFAULT_DOMAIN)).lower()


# -- end users: first, as routes are matched in order and reading a user is the hot path ----------

USERS_PATH = "/tenants/{tenant_id}/groups/{group_id}/users"


@router.get(
    f"{USERS_PATH}/",
    response_model=UserPage,
    responses=READ,
    openapi_extra=_documented(list_parameters(USERS)),
)
async def list_users(
    request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, paging: UserFilters
) -> Response:
    """End users of a group by userId; namePrefix matches lastName; APIO's criteria and
    externalId1..4 (exact) filter them."""
    scope = {"tenant": tenant_id.lower(), "group": group_id.lower()}
    await _require(request, principal, GROUPS, {"tenant": scope["tenant"], "key": scope["group"]})
    return await _list(request, principal, UserPage, USERS, scope, paging)


@router.post(f"{USERS_PATH}/", status_code=201, response_model=UserOut, responses=WRITE)
def create_user(
    request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, body: UserCreate
) -> Response:
    """Creates an end user; a userId without @domain gets DEFAULT_DOMAIN. 409 when the group is full."""
    return _write(
        request,
        USERS,
        lambda s: service.create_user(s, principal, tenant_id, group_id, body),
        lambda u: {"tenant": tenant_id.lower(), "group": group_id.lower(), "key": u.user_key},
        201,
    )


@router.get(f"{USERS_PATH}/{{user_id}}/", response_model=UserOut, responses=READ)
async def get_user(
    request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, user_id: str
) -> Response:
    key = await _full_id(request, user_id)
    return json_response(
        await _require(
            request, principal, USERS, {"tenant": tenant_id.lower(), "group": group_id.lower(), "key": key}
        )
    )


@router.patch(f"{USERS_PATH}/{{user_id}}/", response_model=UserOut, responses=WRITE)
def update_user(
    request: Request,
    principal: DirectoryCaller,
    tenant_id: str,
    group_id: str,
    user_id: str,
    body: UserUpdate,
) -> Response:
    return _write(
        request,
        USERS,
        lambda s: service.update_user(s, principal, tenant_id, group_id, user_id, body),
        lambda u: {"tenant": tenant_id.lower(), "group": group_id.lower(), "key": u.user_key},
    )


@router.delete(f"{USERS_PATH}/{{user_id}}/", status_code=204, responses=errors(401, 403, 404))
def delete_user(
    request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, user_id: str
) -> Response:
    return _delete(request, lambda s: service.delete_user(s, principal, tenant_id, group_id, user_id))


# -- tenants ---------------------------------------------------------------------------------------


@router.get(
    "/tenants/",
    response_model=TenantPage,
    responses=errors(400, 401, 403),
    openapi_extra=_documented(list_parameters(TENANTS)),
)
async def list_tenants(request: Request, principal: DirectoryCaller, paging: TenantFilters) -> Response:
    """Tenants, ordered by id; filter with idPrefix / namePrefix (name), APIO's criteria, type,
    externalId1..4 (exact)."""
    return await _list(request, principal, TenantPage, TENANTS, {}, paging)


@router.post("/tenants/", status_code=201, response_model=TenantOut, responses=errors(400, 401, 403, 409))
def create_tenant(request: Request, principal: DirectoryCaller, body: TenantCreate) -> Response:
    return _write(
        request,
        TENANTS,
        lambda s: service.create_tenant(s, principal, body),
        lambda t: {"key": t.tenant_key},
        201,
    )


@router.get("/tenants/{tenant_id}/", response_model=TenantOut, responses=READ)
async def get_tenant(request: Request, principal: DirectoryCaller, tenant_id: str) -> Response:
    return json_response(await _require(request, principal, TENANTS, {"key": tenant_id.lower()}))


@router.patch("/tenants/{tenant_id}/", response_model=TenantOut, responses=READ)  # nothing to conflict
def update_tenant(
    request: Request,
    principal: DirectoryCaller,
    tenant_id: str,
    body: TenantUpdate,
) -> Response:
    return _write(
        request,
        TENANTS,
        lambda s: service.update_tenant(s, principal, tenant_id, body),
        lambda t: {"key": t.tenant_key},
    )


@router.delete("/tenants/{tenant_id}/", status_code=204, responses=errors(400, 401, 403, 404, 409))
def delete_tenant(
    request: Request, principal: DirectoryCaller, tenant_id: str, non_empty: DeleteNonEmpty = False
) -> Response:
    """Deletes the tenant. One with groups or departments: 409, unless deleteNonEmpty=1 (then they,
    their users and service users go with it). Its domains, accounts, keys and contact-centre data
    go with it either way."""
    return _delete(request, lambda s: service.delete_tenant(s, principal, tenant_id, non_empty))


# -- domains ---------------------------------------------------------------------------------------


@router.get("/tenants/{tenant_id}/domains/", response_model=DomainPage, responses=READ)
def list_domains(
    request: Request,
    principal: DirectoryCaller,
    tenant_id: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """The tenant's domains by name."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        tenant, domains, total = service.domain_page(session, principal, tenant_id, page.after, limit)
        rows: list[dict[str, object]] = [
            {"domain": d.name, "tenantId": tenant.tenant_id, "_sort": d.name_key} for d in domains
        ]
    return json_response(page_body(DomainPage, rows, page, total))


@router.post("/tenants/{tenant_id}/domains/", status_code=201, response_model=DomainOut, responses=WRITE)
def add_domain(request: Request, principal: DirectoryCaller, tenant_id: str, body: DomainCreate) -> Response:
    """Assigns a domain to the tenant: its users' and service users' ids may then use it."""
    with database_of(request).transaction() as session:
        domain = service.add_domain(session, principal, tenant_id, body)
        tenant = service.find_tenant(session, principal, tenant_id)
        answer = {"domain": domain.name, "tenantId": tenant.tenant_id}
    audit_write(request, 201, f"domain:{domain.name}", tenant.pk)
    return json_response(answer, 201)


@router.delete(
    "/tenants/{tenant_id}/domains/{domain}/", status_code=204, responses=errors(401, 403, 404, 409)
)
def remove_domain(request: Request, principal: DirectoryCaller, tenant_id: str, domain: str) -> Response:
    return _delete(request, lambda s: service.remove_domain(s, principal, tenant_id, domain))


# -- APIO's searches in a tenant --------------------------------------------------------------------


def _search_route(path: str, listing: type[ListPage], shape: Shape, doc: str) -> None:
    """GET <path>: a search's criteria first (a 400 whatever the tenant), then, in a tenant, the
    tenant in the caller's view (outside it: the same 404 as a missing tenant)."""

    async def search(request: Request, principal: DirectoryCaller, tenant_id: str | None = None) -> Response:
        criteria = await search_request(request, shape)
        scope = {}
        if tenant_id is not None:
            scope["tenant"] = tenant_id.lower()
            await _require(request, principal, TENANTS, {"key": scope["tenant"]})
        return await _list(request, principal, listing, shape, scope, criteria)

    responses = READ
    if "{tenant_id}" not in path:  # nothing to miss: every tenant, narrowed to the caller's view
        _drop_param(search, "tenant_id")
        responses = errors(400, 401, 403)
    router.add_api_route(
        path,
        search,
        methods=["GET"],
        response_model=listing,
        responses=responses,
        openapi_extra=_documented(search_parameters(shape)),
        summary=f"Search {listing.key} (APIO)",
        description=doc,
        operation_id="search_" + path.strip("/").replace("/", "_").replace("{tenant_id}", "tenant"),
    )


_IN_TENANT = " of every group of the tenant"
for _path, _listing, _shape, _where in (
    ("/tenants/{tenant_id}/search/users/", UserPage, TENANT_USERS, _IN_TENANT),
    ("/tenants/{tenant_id}/search/groups/", GroupPage, GROUPS, " of the tenant"),
    ("/search/users/", UserPage, ANY_USERS, " of every tenant (criteria may name TenantId)"),
    ("/search/groups/", GroupPage, ANY_GROUPS, " of every tenant (criteria may name TenantId)"),
):
    _search_route(
        _path,
        _listing,
        _shape,
        f"APIO's {_listing.key} search: the {_listing.key}{_where} that the caller may see and every "
        "criterion matches.",
    )


# -- groups ----------------------------------------------------------------------------------------


@router.get(
    "/tenants/{tenant_id}/groups/",
    response_model=GroupPage,
    responses=READ,
    openapi_extra=_documented(list_parameters(GROUPS)),
)
async def list_groups(
    request: Request, principal: DirectoryCaller, tenant_id: str, paging: GroupFilters
) -> Response:
    """Groups of a tenant, ordered by id; filter with idPrefix / namePrefix, APIO's criteria,
    externalId1..4 (exact)."""
    await _require(request, principal, TENANTS, {"key": tenant_id.lower()})
    return await _list(request, principal, GroupPage, GROUPS, {"tenant": tenant_id.lower()}, paging)


@router.post("/tenants/{tenant_id}/groups/", status_code=201, response_model=GroupOut, responses=WRITE)
def create_group(request: Request, principal: DirectoryCaller, tenant_id: str, body: GroupCreate) -> Response:
    return _write(
        request,
        GROUPS,
        lambda s: service.create_group(s, principal, tenant_id, body),
        lambda g: {"tenant": tenant_id.lower(), "key": g.group_key},
        201,
    )


@router.get("/tenants/{tenant_id}/groups/{group_id}/", response_model=GroupOut, responses=READ)
async def get_group(request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str) -> Response:
    return json_response(
        await _require(request, principal, GROUPS, {"tenant": tenant_id.lower(), "key": group_id.lower()})
    )


@router.patch("/tenants/{tenant_id}/groups/{group_id}/", response_model=GroupOut, responses=WRITE)
def update_group(
    request: Request,
    principal: DirectoryCaller,
    tenant_id: str,
    group_id: str,
    body: GroupUpdate,
) -> Response:
    return _write(
        request,
        GROUPS,
        lambda s: service.update_group(s, principal, tenant_id, group_id, body),
        lambda g: {"tenant": tenant_id.lower(), "key": g.group_key},
    )


@router.delete(
    "/tenants/{tenant_id}/groups/{group_id}/", status_code=204, responses=errors(400, 401, 403, 404, 409)
)
def delete_group(
    request: Request,
    principal: DirectoryCaller,
    tenant_id: str,
    group_id: str,
    non_empty: DeleteNonEmpty = False,
) -> Response:
    """Deletes the group. One with end users, service users or departments: 409, unless
    deleteNonEmpty=1 (then they go with it). The accounts placed in it go with it either way."""
    return _delete(request, lambda s: service.delete_group(s, principal, tenant_id, group_id, non_empty))


# -- departments (tenant level and group level share one implementation) --------------------------


def _department_routes(prefix: str, level: str) -> None:
    group_level = level == "group"

    async def scope_of(
        request: Request, principal: Principal, tenant_id: str, group_id: str | None
    ) -> dict[str, Any]:
        if group_id is not None:
            await _require(request, principal, GROUPS, {"tenant": tenant_id.lower(), "key": group_id.lower()})
        else:
            await _require(request, principal, TENANTS, {"key": tenant_id.lower()})
        return {"tenant": tenant_id.lower(), "group": group_id.lower() if group_id else None}

    def key_of(tenant_id: str, group_id: str | None) -> Callable[[Any], dict[str, Any]]:
        return lambda d: {
            "tenant": tenant_id.lower(),
            "group": group_id.lower() if group_id else None,
            "key": d.name_key,
        }

    async def list_departments(
        request: Request,
        principal: DirectoryCaller,
        tenant_id: str,
        paging: Paging,
        group_id: str | None = None,
    ) -> Response:
        scope = await scope_of(request, principal, tenant_id, group_id)
        return await _list(request, principal, DepartmentPage, DEPARTMENTS, scope, paging)

    def create_department(
        request: Request,
        principal: DirectoryCaller,
        tenant_id: str,
        body: DepartmentCreate,
        group_id: str | None = None,
    ) -> Response:
        return _write(
            request,
            DEPARTMENTS,
            lambda s: service.create_department(s, principal, tenant_id, group_id, body),
            key_of(tenant_id, group_id),
            201,
        )

    async def get_department(
        request: Request, principal: DirectoryCaller, tenant_id: str, name: str, group_id: str | None = None
    ) -> Response:
        scope = {"tenant": tenant_id.lower(), "group": group_id.lower() if group_id else None}
        return json_response(await _require(request, principal, DEPARTMENTS, {**scope, "key": name.lower()}))

    def update_department(
        request: Request,
        principal: DirectoryCaller,
        tenant_id: str,
        name: str,
        body: DepartmentUpdate,
        group_id: str | None = None,
    ) -> Response:
        return _write(
            request,
            DEPARTMENTS,
            lambda s: service.update_department(s, principal, tenant_id, group_id, name, body),
            key_of(tenant_id, group_id),
        )

    def delete_department(
        request: Request, principal: DirectoryCaller, tenant_id: str, name: str, group_id: str | None = None
    ) -> Response:
        return _delete(request, lambda s: service.delete_department(s, principal, tenant_id, group_id, name))

    if not group_level:
        # Tenant-level routes have no group_id path parameter: hide the argument from FastAPI.
        for fn in (
            list_departments,
            create_department,
            get_department,
            update_department,
            delete_department,
        ):
            _drop_param(fn, "group_id")
    _register_crud(
        collection=f"{prefix}/",
        item=f"{prefix}/{{name}}/",
        handlers=(list_departments, create_department, get_department, update_department, delete_department),
        out_model=DepartmentOut,
        listing=DepartmentPage,
        noun=f"department ({level} level)",
        operation_id=f"{level}_department",
        delete_errors=errors(401, 403, 404, 409),
    )


_department_routes("/tenants/{tenant_id}/departments", "tenant")
_department_routes("/tenants/{tenant_id}/groups/{group_id}/departments", "group")


# -- service users ---------------------------------------------------------------------------------


def _service_routes(segment: str, kind: str) -> None:
    create_model, update_model, out_model = SERVICE_MODELS[kind]
    listing = page_of(out_model, to_camel(segment))  # the kind's plural, as its path names it
    base = f"/tenants/{{tenant_id}}/groups/{{group_id}}/services/{segment}"

    def key_of(tenant_id: str, group_id: str) -> Callable[[Any], dict[str, Any]]:
        return lambda u: {
            "tenant": tenant_id.lower(),
            "group": group_id.lower(),
            "kind": kind,
            "key": u.service_user_key,
        }

    async def list_services(
        request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, paging: Paging
    ) -> Response:
        scope = {"tenant": tenant_id.lower(), "group": group_id.lower(), "kind": kind}
        await _require(request, principal, GROUPS, {"tenant": scope["tenant"], "key": scope["group"]})
        return await _list(request, principal, listing, SERVICE_USERS, scope, paging)

    def create_service(
        request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, body: Any
    ) -> Response:
        return _write(
            request,
            SERVICE_USERS,
            lambda s: service.create_service_user(s, principal, tenant_id, group_id, kind, body),
            key_of(tenant_id, group_id),
            201,
        )

    async def get_service(
        request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, user_id: str
    ) -> Response:
        key = await _full_id(request, user_id)
        params = {"tenant": tenant_id.lower(), "group": group_id.lower(), "kind": kind, "key": key}
        return json_response(await _require(request, principal, SERVICE_USERS, params))

    def update_service(
        request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, user_id: str, body: Any
    ) -> Response:
        return _write(
            request,
            SERVICE_USERS,
            lambda s: service.update_service_user(s, principal, tenant_id, group_id, kind, user_id, body),
            key_of(tenant_id, group_id),
        )

    def delete_service(
        request: Request, principal: DirectoryCaller, tenant_id: str, group_id: str, user_id: str
    ) -> Response:
        return _delete(
            request, lambda s: service.delete_service_user(s, principal, tenant_id, group_id, kind, user_id)
        )

    create_service.__annotations__["body"] = create_model
    update_service.__annotations__["body"] = update_model
    _register_crud(
        collection=f"{base}/",
        item=f"{base}/{{user_id}}/",
        handlers=(list_services, create_service, get_service, update_service, delete_service),
        out_model=out_model,
        listing=listing,
        noun=kind.replace("_", " "),
        operation_id=kind,
        delete_errors=errors(401, 403, 404),
    )


for _segment, _kind in KIND_PATHS.items():
    _service_routes(_segment, _kind)
