"""Resellers (APIO's reseller level): the system's to manage; each owns tenants and has admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from switchboard.access.models import Account
from switchboard.access.policy import Kind, Target, first_visible, require_manage, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.db.keyset import keyset_page
from switchboard.directory.models import Reseller, Tenant
from switchboard.directory.schemas import ResellerCreate, ResellerUpdate
from switchboard.errors import Conflict, NotFound
from switchboard.signals.feed import bump

SYSTEM_ONLY = Target(Kind.RESELLER)


def find_reseller(session: Session, principal: Principal, name: str) -> Reseller:
    """The reseller, if the principal may see it (the system: all; a reseller admin: its own)."""
    reseller = first_visible(
        session, principal, Kind.RESELLER, select(Reseller).where(Reseller.name_key == name.lower())
    )
    if reseller is None:
        raise NotFound(f"reseller {name!r} does not exist")
    return reseller


def reseller_view(reseller: Reseller) -> dict[str, Any]:
    return {"name": reseller.name, "externalName": reseller.external_name}


def list_resellers(
    session: Session, principal: Principal, after: str | None, limit: int
) -> tuple[list[Reseller], int]:
    """A page of the resellers the principal sees, by name (see keyset_page), and how many."""
    stmt = select(Reseller).where(visibility(principal, Kind.RESELLER))
    return keyset_page(session, stmt, Reseller.name_key, after, limit, scope_params(principal))


def create_reseller(session: Session, principal: Principal, data: ResellerCreate) -> Reseller:
    require_manage(principal, SYSTEM_ONLY)
    if session.scalar(select(Reseller.pk).where(Reseller.name_key == data.name.lower())):
        raise Conflict(f"reseller {data.name!r} already exists")
    reseller = Reseller(name=data.name, name_key=data.name.lower(), external_name=data.external_name)
    session.add(reseller)
    session.flush()
    return reseller


def update_reseller(session: Session, principal: Principal, name: str, data: ResellerUpdate) -> Reseller:
    reseller = find_reseller(session, principal, name)
    require_manage(principal, SYSTEM_ONLY)
    if data.external_name is not None:
        reseller.external_name = data.external_name
    session.flush()
    return reseller


def delete_reseller(session: Session, principal: Principal, name: str, delete_non_empty: bool) -> None:
    """Deletes the reseller; one owning tenants or having admins only with `delete_non_empty`: its
    tenants then stay, owned by no reseller, and its admins (nothing without it) are deleted."""
    reseller = find_reseller(session, principal, name)
    require_manage(principal, SYSTEM_ONLY)
    owns = select(Tenant.pk).where(Tenant.reseller_pk == reseller.pk).exists()
    admins = select(Account.pk).where(Account.reseller_pk == reseller.pk).exists()
    if not delete_non_empty and session.scalar(select(owns | admins)):
        raise Conflict(
            f"reseller {reseller.name!r} owns tenants or has admins; send deleteNonEmpty=1 to delete it "
            "(its tenants stay, owned by no reseller; its admins are deleted)"
        )
    # Explicit rather than left to the foreign keys' ON DELETE: the same on both engines.
    session.execute(update(Tenant).where(Tenant.reseller_pk == reseller.pk).values(reseller_pk=None))
    session.query(Account).filter(Account.reseller_pk == reseller.pk).delete()
    session.delete(reseller)
    session.flush()
    bump(session, "credentials")  # its admins' keys and tokens went with them: forget them everywhere


def reseller_admins(session: Session, principal: Principal, name: str) -> list[Account]:
    """The reseller's admins: for the system, and for the reseller's own admins."""
    reseller = find_reseller(session, principal, name)
    stmt = (
        select(Account)
        .where(Account.reseller_pk == reseller.pk, Account.role == "reseller_admin")
        .where(visibility(principal, Kind.ACCOUNT))
        .order_by(Account.username_key)
    )
    return list(session.scalars(stmt, scope_params(principal)))


def tenant_reseller_pk(session: Session, principal: Principal, name: str | None) -> int | None:
    """The reseller a tenant is given by its resellerId (None: none)."""
    return find_reseller(session, principal, name).pk if name else None
