"""Accounts, their API keys, and login/logout: thin adapters over the access services."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from switchboard.access import accounts, api_keys, api_session, tenant_keys
from switchboard.access.dependencies import AccountsCaller
from switchboard.access.login import Issued
from switchboard.access.schemas import (
    AccountCreate,
    AccountOut,
    AccountUpdate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ApiKeyUpdate,
    ApioLoginBody,
    ApioLoginOut,
    LoginBody,
    LoginOut,
    ResellerAdminCreate,
    TenantKeyCreate,
    TenantKeyCreated,
    TenantKeyOut,
    TenantKeyRotate,
    TenantKeyUpdate,
)
from switchboard.audit.recording import audit_write
from switchboard.db.base import utcnow
from switchboard.directory import resellers
from switchboard.directory.schemas import ResellerCreate, ResellerOut, ResellerUpdate
from switchboard.kit.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    DeleteNonEmpty,
    Limit,
    decode_cursor,
    decode_pk_cursor,
    encode_cursor,
    number_after,
    page_body,
    page_request,
)
from switchboard.kit.schemas import RowId, page_of
from switchboard.web.responses import errors, json_response, no_content
from switchboard.web.state import database_of, services_of

router = APIRouter(prefix="/api/v1", tags=["accounts"])

AccountPage = page_of(AccountOut, "accounts")
ApiKeyPage = page_of(ApiKeyOut, "apiKeys")
TenantKeyPage = page_of(TenantKeyOut, "tenantKeys")
ResellerPage = page_of(ResellerOut, "resellers")
ResellerAdminPage = page_of(AccountOut, "admins")


def _key_issued(request: Request, view: dict[str, object], obj: str, tenant_pk: int | None) -> Response:
    """A new key's answer (created or rotated), once its transaction is committed: audited, and,
    the key being in it, kept by no cache."""
    audit_write(request, 201, obj, tenant_pk)
    response = json_response(view, 201)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/accounts/", response_model=AccountPage, responses=errors(400, 401, 403))
def list_accounts(
    request: Request,
    principal: AccountsCaller,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    username_prefix: Annotated[str | None, Query(alias="usernamePrefix", max_length=64)] = None,
) -> Response:
    """The accounts the caller may see, by username."""
    after = decode_cursor(cursor) if cursor else None
    with database_of(request).transaction() as session:
        rows, total = accounts.list_accounts(
            session, principal, after, limit, username_prefix.lower() if username_prefix else None
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [accounts.account_view(session, row) for row in rows]
    next_cursor = encode_cursor(rows[-1].username_key) if more and rows else None
    return json_response(AccountPage.body(items, total, next_cursor))


@router.post(
    "/accounts/", status_code=201, response_model=AccountOut, responses=errors(400, 401, 403, 404, 409)
)
def create_account(request: Request, principal: AccountsCaller, body: AccountCreate) -> Response:
    """Creates an account within the caller's own reach (no wider role or scope than its own)."""
    with database_of(request).transaction() as session:
        account = accounts.create_account(session, principal, body)
        view = accounts.account_view(session, account)
    audit_write(request, 201, f"account:{account.username}", account.tenant_pk)
    return json_response(view, 201)


@router.get("/accounts/{username}/", response_model=AccountOut, responses=errors(401, 403, 404))
def get_account(request: Request, principal: AccountsCaller, username: str) -> Response:
    with database_of(request).transaction() as session:
        return json_response(
            accounts.account_view(session, accounts.find_account(session, principal, username))
        )


@router.patch("/accounts/{username}/", response_model=AccountOut, responses=errors(400, 401, 403, 404))
def update_account(
    request: Request,
    principal: AccountsCaller,
    username: str,
    body: AccountUpdate,
) -> Response:
    """Changes an account; takes effect at once for every key and token of the account."""
    with database_of(request).transaction() as session:
        account = accounts.update_account(session, principal, username, body)
        view = accounts.account_view(session, account)
    audit_write(request, 200, f"account:{account.username}", account.tenant_pk)
    return json_response(view)


@router.delete("/accounts/{username}/", status_code=204, responses=errors(401, 403, 404, 409))
def delete_account(request: Request, principal: AccountsCaller, username: str) -> Response:
    with database_of(request).transaction() as session:
        accounts.delete_account(session, principal, username)
    audit_write(request, 204, f"account:{username}", principal.tenant_pk)
    return no_content()


@router.get("/accounts/{username}/api-keys/", response_model=ApiKeyPage, responses=errors(400, 401, 403, 404))
def list_api_keys(
    request: Request,
    principal: AccountsCaller,
    username: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The account's keys by id, never the keys themselves."""
    page = page_request(limit, cursor, None, None)
    with database_of(request).transaction() as session:
        rows, total = api_keys.api_key_page(session, principal, username, number_after(page), limit)
        items = [{**api_keys.key_view(row), "_sort": row.pk} for row in rows]
    return json_response(page_body(ApiKeyPage, items, page, total))


@router.post(
    "/accounts/{username}/api-keys/",
    status_code=201,
    response_model=ApiKeyCreated,
    responses=errors(400, 401, 403, 404),
)
def create_api_key(
    request: Request, principal: AccountsCaller, username: str, body: ApiKeyCreate
) -> Response:
    """Creates a user API key for the account. The key is in this answer only: store it now."""
    with database_of(request).transaction() as session:
        row, key = api_keys.create_api_key(session, principal, username, body)
        view = api_keys.key_view(row, key)
    return _key_issued(request, view, f"api_key:{row.prefix}", principal.tenant_pk)


@router.patch(
    "/accounts/{username}/api-keys/{key_id}/",
    response_model=ApiKeyOut,
    responses=errors(400, 401, 403, 404, 409),
)
def update_api_key(
    request: Request, principal: AccountsCaller, username: str, key_id: RowId, body: ApiKeyUpdate
) -> Response:
    """Changes the key's name, expiry (`null`: never), IP allowlist or scopes, on every worker at once."""
    with database_of(request).transaction() as session:
        row = api_keys.update_api_key(session, principal, username, key_id, body)
        view = api_keys.key_view(row)
    audit_write(request, 200, f"api_key:{row.prefix}", principal.tenant_pk)
    return json_response(view)


@router.delete(
    "/accounts/{username}/api-keys/{key_id}/", status_code=204, responses=errors(400, 401, 403, 404)
)
def revoke_api_key(request: Request, principal: AccountsCaller, username: str, key_id: RowId) -> Response:
    """Revokes the key on every worker at once."""
    with database_of(request).transaction() as session:
        row = api_keys.revoke_api_key(session, principal, username, key_id)
    audit_write(request, 204, f"api_key:{row.prefix}", principal.tenant_pk)
    return no_content()


TENANT_KEYS = "/tenants/{tenant_id}/tenant-keys"


@router.get(f"{TENANT_KEYS}/", response_model=TenantKeyPage, responses=errors(400, 401, 403, 404))
def list_tenant_keys(
    request: Request,
    principal: AccountsCaller,
    tenant_id: str,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The tenant's keys (never the keys themselves), by id; for the system and the tenant's admins."""
    with database_of(request).transaction() as session:
        rows, total = tenant_keys.list_tenant_keys(
            session, principal, tenant_id, decode_pk_cursor(cursor), limit
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [tenant_keys.tenant_key_view(session, row) for row in rows]
    next_cursor = encode_cursor(str(rows[-1].pk)) if more and rows else None
    return json_response(TenantKeyPage.body(items, total, next_cursor))


@router.post(
    f"{TENANT_KEYS}/",
    status_code=201,
    response_model=TenantKeyCreated,
    responses=errors(400, 401, 403, 404),
)
def create_tenant_key(
    request: Request, principal: AccountsCaller, tenant_id: str, body: TenantKeyCreate
) -> Response:
    """A tenant key: the tenant's own global key (every Noojee method and the native API, with a
    tenant admin's rights, in this tenant only). The key is in this answer only: store it now."""
    with database_of(request).transaction() as session:
        row, key = tenant_keys.create_tenant_key(session, principal, tenant_id, body)
        view = tenant_keys.tenant_key_view(session, row, key)
    return _key_issued(request, view, f"tenant_key:{row.prefix}", row.tenant_pk)


@router.get(f"{TENANT_KEYS}/{{key_id}}/", response_model=TenantKeyOut, responses=errors(401, 403, 404))
def get_tenant_key(request: Request, principal: AccountsCaller, tenant_id: str, key_id: RowId) -> Response:
    with database_of(request).transaction() as session:
        row = tenant_keys.find_tenant_key(session, principal, tenant_id, key_id)
        return json_response(tenant_keys.tenant_key_view(session, row))


@router.patch(
    f"{TENANT_KEYS}/{{key_id}}/", response_model=TenantKeyOut, responses=errors(400, 401, 403, 404, 409)
)
def update_tenant_key(
    request: Request, principal: AccountsCaller, tenant_id: str, key_id: RowId, body: TenantKeyUpdate
) -> Response:
    """Changes the key's name, expiry (`null`: never) or IP allowlist, on every worker at once."""
    with database_of(request).transaction() as session:
        row = tenant_keys.update_tenant_key(session, principal, tenant_id, key_id, body)
        view = tenant_keys.tenant_key_view(session, row)
    audit_write(request, 200, f"tenant_key:{row.prefix}", row.tenant_pk)
    return json_response(view)


@router.delete(f"{TENANT_KEYS}/{{key_id}}/", status_code=204, responses=errors(401, 403, 404))
def revoke_tenant_key(request: Request, principal: AccountsCaller, tenant_id: str, key_id: RowId) -> Response:
    """Revokes the key on every worker at once."""
    with database_of(request).transaction() as session:
        row = tenant_keys.revoke_tenant_key(session, principal, tenant_id, key_id)
    audit_write(request, 204, f"tenant_key:{row.prefix}", row.tenant_pk)
    return no_content()


@router.post(
    f"{TENANT_KEYS}/{{key_id}}/rotate/",
    status_code=201,
    response_model=TenantKeyCreated,
    responses=errors(400, 401, 403, 404, 409),
)
def rotate_tenant_key(
    request: Request,
    principal: AccountsCaller,
    tenant_id: str,
    key_id: RowId,
    body: TenantKeyRotate | None = None,
) -> Response:
    """A new key, shown once, with the old one's name, expiry and allowlist; the old key keeps
    working for `graceSeconds` (default 1 hour; 0 stops it at once), then stops on every worker."""
    grace = timedelta(seconds=(body or TenantKeyRotate()).grace_seconds)
    with database_of(request).transaction() as session:
        row, key = tenant_keys.rotate_tenant_key(session, principal, tenant_id, key_id, grace)
        view = tenant_keys.tenant_key_view(session, row, key)
    return _key_issued(request, view, f"tenant_key:{row.prefix} rotated from #{key_id}", row.tenant_pk)


auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@auth_router.post("/login/", response_model=LoginOut, responses=errors(400, 401, 403, 429))
async def login(request: Request, body: LoginBody) -> Response:
    """Exchanges a username and password for a short-lived bearer token."""
    issued = await _sign_in(request, body)
    return _not_stored(
        json_response(
            {"accessToken": issued.token, "tokenType": "Bearer", "expiresAt": issued.expires_at.isoformat()}
        )
    )


async def _sign_in(request: Request, body: LoginBody | ApioLoginBody) -> Issued:
    client = request.client.host if request.client else "-"
    return await services_of(request).login.login(client, body.username, body.password.get_secret_value())


def _not_stored(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # it holds a credential
    return response


@auth_router.post("/logout/", status_code=204, responses=errors(400, 401, 403))
def logout(request: Request, principal: AccountsCaller) -> Response:
    """Revokes the login token this request carries."""
    with database_of(request).transaction() as session:
        api_keys.revoke_token(session, principal)
    return no_content()


# APIO's gateway: a session cookie instead of a bearer token (see access.api_session).
session_router = APIRouter(prefix="/api/v1", tags=["auth"])


SESSION_SET: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Signed in: the session cookie, and the CSRF token unsafe requests send back",
        "headers": {
            "Set-Cookie": {
                "description": "sessionid (Secure; HttpOnly; SameSite=Strict; Path=/api/v1/) and "
                "csrftoken (Secure; SameSite=Strict; Path=/)",
                "schema": {"type": "string"},
            },
            api_session.CSRF_HEADER: {
                "description": "The csrftoken cookie's value: send it as X-CSRFToken on unsafe requests",
                "schema": {"type": "string"},
            },
        },
    }
}


@session_router.post(
    "/login/", response_model=ApioLoginOut, responses={**SESSION_SET, **errors(400, 401, 429)}
)
async def apio_login(request: Request, body: ApioLoginBody) -> Response:
    """APIO's login: the session cookie `sessionid` (a login token: the same lifetime, failure
    budget and revocation) and the CSRF cookie `csrftoken`, whose value unsafe requests on the
    cookie send back in X-CSRFToken (it is also in this answer's X-CSRFToken header)."""
    issued = await _sign_in(request, body)
    response = json_response(api_session.login_answer(issued.account))
    seconds = int((issued.expires_at - utcnow()).total_seconds())
    api_session.set_session_cookies(response, issued.token, seconds)
    response.headers[api_session.CSRF_HEADER] = api_session.csrf_token(issued.token)
    return _not_stored(response)


@session_router.post("/logout/", status_code=204, responses=errors(400, 401, 403))
def apio_logout(request: Request, principal: AccountsCaller) -> Response:
    """Ends the session (the login token) this request is signed in with, and clears its cookies."""
    response = logout(request, principal)
    api_session.clear_session_cookies(response)
    return response


# -- resellers (APIO's /local/resellers/) ----------------------------------------------------------


@router.get("/local/resellers/", response_model=ResellerPage, responses=errors(400, 401, 403))
def list_resellers(
    request: Request, principal: AccountsCaller, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """The resellers the caller sees: every one for the system, its own for a reseller admin."""
    after = decode_cursor(cursor) if cursor else None
    with database_of(request).transaction() as session:
        rows, total = resellers.list_resellers(session, principal, after, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].name_key) if more and rows else None
    return json_response(ResellerPage.body([resellers.reseller_view(r) for r in rows], total, next_cursor))


@router.post(
    "/local/resellers/", status_code=201, response_model=ResellerOut, responses=errors(400, 401, 403, 409)
)
def create_reseller(request: Request, principal: AccountsCaller, body: ResellerCreate) -> Response:
    """System only. A name already taken answers 409 (APIO's ALREADY_EXISTS)."""
    with database_of(request).transaction() as session:
        view = resellers.reseller_view(resellers.create_reseller(session, principal, body))
    audit_write(request, 201, f"reseller:{body.name}", None)
    return json_response(view, 201)


@router.get("/local/resellers/{name}/", response_model=ResellerOut, responses=errors(401, 403, 404))
def get_reseller(request: Request, principal: AccountsCaller, name: str) -> Response:
    with database_of(request).transaction() as session:
        return json_response(resellers.reseller_view(resellers.find_reseller(session, principal, name)))


@router.put("/local/resellers/{name}/", response_model=ResellerOut, responses=errors(400, 401, 403, 404))
def update_reseller(request: Request, principal: AccountsCaller, name: str, body: ResellerUpdate) -> Response:
    with database_of(request).transaction() as session:
        view = resellers.reseller_view(resellers.update_reseller(session, principal, name, body))
    audit_write(request, 200, f"reseller:{name}", None)
    return json_response(view)


@router.delete("/local/resellers/{name}/", status_code=204, responses=errors(401, 403, 404, 409))
def delete_reseller(
    request: Request, principal: AccountsCaller, name: str, non_empty: DeleteNonEmpty = False
) -> Response:
    """Deletes the reseller. One owning tenants or having admins: 409, unless deleteNonEmpty=1
    (then its tenants stay, owned by no reseller, and its admins are deleted)."""
    with database_of(request).transaction() as session:
        resellers.delete_reseller(session, principal, name, non_empty)
    audit_write(request, 204, f"reseller:{name}", None)
    return no_content()


@router.get(
    "/local/resellers/{name}/admins/", response_model=ResellerAdminPage, responses=errors(401, 403, 404)
)
def list_reseller_admins(request: Request, principal: AccountsCaller, name: str) -> Response:
    """The reseller's admins: for the system and the reseller's own admins."""
    with database_of(request).transaction() as session:
        items = [
            accounts.account_view(session, row) for row in resellers.reseller_admins(session, principal, name)
        ]
    return json_response(ResellerAdminPage.body(items, len(items), None))


@router.post(
    "/local/resellers/{name}/admins/",
    status_code=201,
    response_model=AccountOut,
    responses=errors(400, 401, 403, 404, 409),
)
def create_reseller_admin(
    request: Request, principal: AccountsCaller, name: str, body: ResellerAdminCreate
) -> Response:
    """An account of role reseller_admin for this reseller (system only, as every reseller admin)."""
    with database_of(request).transaction() as session:
        account = accounts.create_reseller_admin(session, principal, name, body)
        view = accounts.account_view(session, account)
    audit_write(request, 201, f"account:{account.username}", None)
    return json_response(view, 201)
