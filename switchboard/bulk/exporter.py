"""Export: everything the principal may see, as the records import takes, parents first, read a
page at a time (keyset), so a million users stream through in bounded memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from switchboard.access.policy import scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.bulk.formats import Writer
from switchboard.bulk.kinds import (
    DEPARTMENT,
    DOMAIN,
    GROUP,
    SERVICE_USER,
    TENANT,
    USER,
    Kind,
    Record,
    service_user_record,
    user_record,
)
from switchboard.db.engine import Database
from switchboard.directory import service
from switchboard.directory.queries import DEPARTMENTS, GROUPS, SERVICE_USERS, TENANTS, USERS, Shape
from switchboard.directory.schemas import SERVICE_MODELS

PAGE = 1000


def _pages(session: Session, principal: Principal, shape: Shape, scope: dict[str, Any]) -> Iterator[Record]:
    """Every visible row of `shape` in `scope`, in id order, a keyset page at a time."""
    first = shape.page((False, False, False, False, False, ())).where(visibility(principal, shape.kind))
    following = shape.page((True, False, False, False, False, ())).where(visibility(principal, shape.kind))
    params = {**scope, **scope_params(principal), "limit": PAGE}
    rows = [dict(row) for row in session.execute(first, params).mappings()]
    while rows:
        after = rows[-1]["_sort"]
        for row in rows:
            row.pop("_sort")
            yield shape.shape(row)
        if len(rows) < PAGE:
            return
        rows = [dict(row) for row in session.execute(following, {**params, "after": after}).mappings()]


def export(
    db: Database, principal: Principal, writer: Writer, progress: Callable[[int], None] | None = None
) -> int:
    """Writes every visible object; returns how many. One transaction: one consistent snapshot on
    PostgreSQL (REPEATABLE READ would be needed for it under concurrent writes; see docs)."""
    written = 0

    def out(kind: Kind, record: Record) -> None:
        nonlocal written
        writer.write(kind, record)
        written += 1
        if progress is not None:
            progress(1)

    with db.transaction() as session:
        for tenant in list(_pages(session, principal, TENANTS, {})):
            out(TENANT, tenant)
            tenant_id, tenant_key = tenant["tenantId"], tenant["tenantId"].lower()
            stored = service.find_tenant(session, principal, tenant_id)
            for domain in service.tenant_domains(session, stored):
                out(DOMAIN, {"tenantId": tenant_id, "domain": domain.name})
            groups = list(_pages(session, principal, GROUPS, {"tenant": tenant_key}))
            for group in groups:
                group.pop("userCount", None)
                out(GROUP, group)
            scopes = [None, *(group["groupId"].lower() for group in groups)]
            for group_key in scopes:
                found = _pages(session, principal, DEPARTMENTS, {"tenant": tenant_key, "group": group_key})
                # Parents first: a parent's path is a prefix of its children's.
                for department in sorted(found, key=lambda d: str(d["fullPathName"]).lower()):
                    out(
                        DEPARTMENT,
                        {key: department[key] for key in ("tenantId", "groupId", "name", "parent")},
                    )
            for group in groups:
                scope = {"tenant": tenant_key, "group": group["groupId"].lower()}
                for user in _pages(session, principal, USERS, scope):
                    out(USER, user_record(user))
                for kind in SERVICE_MODELS:
                    for service_user in _pages(session, principal, SERVICE_USERS, {**scope, "kind": kind}):
                        out(SERVICE_USER, service_user_record(service_user, kind))
    return written
