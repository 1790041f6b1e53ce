"""Accounts: who may manage whom, and the escalation guard. Services never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from switchboard.access.models import AccessToken, Account, ConsoleSession
from switchboard.access.names import Namespaces
from switchboard.access.passwords import hash_password
from switchboard.access.policy import (
    Decision,
    Kind,
    Placement,
    Reach,
    may_manage_account,
    may_take_over_account,
    scope_params,
    visibility,
)
from switchboard.access.principal import Principal, Role
from switchboard.access.schemas import AccountCreate, AccountUpdate, ResellerAdminCreate
from switchboard.contact_centre.models import TeamMember
from switchboard.db.base import utcnow
from switchboard.directory.models import Group, Reseller, Tenant, User
from switchboard.directory.resellers import find_reseller
from switchboard.directory.service import find_tenant, full_user_id
from switchboard.errors import BadRequest, Conflict, Forbidden, NotFound
from switchboard.events.log import record_event
from switchboard.kit.writes import changed_fields
from switchboard.signals.feed import bump
from switchboard.system.store import DEFAULT_DOMAIN, read_setting

CREDENTIALS = "credentials"
SELF_EDITABLE = frozenset({"display_name", "email", "password"})
# In an account PATCH, null clears these (a scope or a link); for other fields null means "unchanged".
CLEARABLE = frozenset({"tenant_id", "group_id", "linked_user_id"})


def find_account(session: Session, principal: Principal, username: str) -> Account:
    account = session.scalar(
        select(Account)
        .where(Account.username_key == username.lower())
        .where(visibility(principal, Kind.ACCOUNT)),
        scope_params(principal),
    )
    if account is None:
        raise NotFound(f"account {username!r} not found or not visible")
    return account


def _require_grant(principal: Principal, placement: Placement) -> None:
    """The escalation guard: nobody grants a role or scope wider than their own."""
    if not may_manage_account(principal, placement):
        raise Forbidden(
            f"Not allowed: a {principal.role.replace('_', ' ')} cannot create or change a "
            f"{placement.role.replace('_', ' ')} account in that scope."
        )


# Fields of an account PATCH that hand whoever sends them its credentials, or widen what they reach.
TAKE_OVER_FIELDS = frozenset({"password", "linked_user_id", "role", "tenant_id", "group_id"})


def _reach(session: Session, placement: Placement, account_pk: int | None, user_pk: int | None) -> Reach:
    """What an account's credentials reach beyond its placement: its teams and its extension."""
    teams = (
        frozenset(session.scalars(select(TeamMember.team_pk).where(TeamMember.account_pk == account_pk)))
        if account_pk is not None
        else frozenset()
    )
    extension = session.scalar(select(User.extension).where(User.pk == user_pk)) if user_pk else None
    return Reach(placement, teams, extension or None)


def placement_of(session: Session, account: Account) -> Placement:
    """An account's placement as stored, with its reseller: a reseller admin's own, or its tenant's."""
    reseller_pk = account.reseller_pk
    if account.tenant_pk is not None:
        reseller_pk = session.scalar(select(Tenant.reseller_pk).where(Tenant.pk == account.tenant_pk))
    return Placement(account.role, account.tenant_pk, account.group_pk, reseller_pk)  # type: ignore[arg-type]


def account_reach(session: Session, account: Account) -> Reach:
    return _reach(session, placement_of(session, account), account.pk, account.user_pk)


def take_over_decision(session: Session, principal: Principal, target: Reach) -> Decision:
    """policy.may_take_over_account, with the principal's own reach read as its account's."""
    placement = Placement(principal.role, principal.tenant_pk, principal.group_pk, principal.reseller_pk)
    own = _reach(session, placement, principal.account_pk, principal.user_pk)
    return may_take_over_account(principal, own, target)


def require_take_over(session: Session, principal: Principal, target: Reach) -> None:
    """403 unless everything an account reaching `target` reaches is within the principal's own
    reach: for creating it, setting its password, linking or placing it, and creating or
    changing its keys."""
    decision = take_over_decision(session, principal, target)
    if not decision.allowed:
        raise Forbidden(f"Not allowed: {decision.rule}.")


def _placement(
    session: Session,
    principal: Principal,
    role: Role,
    tenant_id: str | None,
    group_id: str | None,
    reseller_id: str | None = None,
) -> Placement:
    """Resolve ids to a placement consistent with the role (400 otherwise)."""
    if role == "reseller_admin" or reseller_id:
        if role != "reseller_admin":
            raise BadRequest.field("resellerId", "only a reseller admin belongs to a reseller")
        if tenant_id or group_id:
            raise BadRequest.field("tenantId", "a reseller admin belongs to no single tenant")
        if not reseller_id:
            raise BadRequest.field("resellerId", "a reseller admin needs a reseller")
        return Placement(role, None, None, find_reseller(session, principal, reseller_id).pk)
    tenant = find_tenant(session, principal, tenant_id) if tenant_id else None
    group = None
    if group_id:
        if tenant is None:
            raise BadRequest.field("groupId", "needs tenantId")
        group = session.scalar(
            select(Group).where(Group.tenant_pk == tenant.pk, Group.group_key == group_id.lower())
        )
        if group is None:
            raise BadRequest.field("groupId", "no such group in that tenant")
    if role == "system" and (tenant or group):
        raise BadRequest.field("tenantId", "a system account belongs to no tenant")
    if role != "system" and tenant is None:
        raise BadRequest.field("tenantId", f"a {role} account needs a tenant")
    if role == "tenant_admin" and group is not None:
        raise BadRequest.field("groupId", "a tenant admin belongs to no single group")
    if role == "group_admin" and group is None:
        raise BadRequest.field("groupId", "a group admin needs a group")
    return Placement(
        role,
        tenant.pk if tenant else None,
        group.pk if group else None,
        tenant.reseller_pk if tenant else None,
    )


def _link(
    session: Session, principal: Principal, placement: Placement, linked_user_id: str | None
) -> int | None:
    """The linked end user must be in the account's tenant (and group, for group-scoped accounts)."""
    if linked_user_id is None:
        return None
    key = full_user_id(linked_user_id, read_setting(session, DEFAULT_DOMAIN)).lower()
    user = session.scalar(
        select(User).where(User.user_key == key).where(visibility(principal, Kind.USER)),
        scope_params(principal),
    )
    if user is None or user.tenant_pk != placement.tenant_pk:
        raise BadRequest.field("linkedUserId", "no such end user in the account's tenant")
    if placement.group_pk is not None and user.group_pk != placement.group_pk:
        raise BadRequest.field("linkedUserId", "the end user is not in the account's group")
    return user.pk


def create_account(session: Session, principal: Principal, data: AccountCreate) -> Account:
    placement = _placement(session, principal, data.role, data.tenant_id, data.group_id, data.reseller_id)
    _require_grant(principal, placement)
    user_pk = _link(session, principal, placement, data.linked_user_id)
    require_take_over(session, principal, _reach(session, placement, None, user_pk))
    # Before the uniqueness check: a name outside the creator's namespace is refused by its form.
    Namespaces(session, principal).check("username", data.username, placement.tenant_pk)
    key = data.username.lower()
    if session.scalar(select(Account.pk).where(Account.username_key == key)):
        raise Conflict(f"username {data.username!r} is taken")
    account = Account(
        username=data.username,
        username_key=key,
        display_name=data.display_name,
        email=data.email,
        role=placement.role,
        tenant_pk=placement.tenant_pk,
        group_pk=placement.group_pk,
        reseller_pk=placement.reseller_pk if placement.role == "reseller_admin" else None,
        user_pk=user_pk,
        enabled=data.enabled,
        password_hash=hash_password(data.password.get_secret_value()),
    )
    session.add(account)
    session.flush()
    _account_event(session, "account.created", account)
    return account


def create_reseller_admin(
    session: Session, principal: Principal, reseller_name: str, data: ResellerAdminCreate
) -> Account:
    """An account of role reseller_admin for the reseller (404 unless the principal sees it)."""
    reseller = find_reseller(session, principal, reseller_name)
    given = data.model_dump(by_alias=True)
    placed = {**given, "role": "reseller_admin", "resellerId": reseller.name}
    return create_account(session, principal, AccountCreate.model_validate(placed))


def _account_event(session: Session, kind: str, account: Account) -> None:
    """Who the account is and what it may do; never its password or keys."""
    data = {"username": account.username, "role": account.role, "enabled": account.enabled}
    record_event(session, kind, account.tenant_pk, data)


def update_account(session: Session, principal: Principal, username: str, changes: AccountUpdate) -> Account:
    account = find_account(session, principal, username)
    fields = changed_fields(changes, CLEARABLE)
    current = placement_of(session, account)
    is_self = account.pk == principal.account_pk
    if is_self and not fields <= SELF_EDITABLE:
        raise Forbidden(
            "Not allowed: your own role, scope, link and enabled flag are changed by an administrator."
        )
    if not is_self:
        _require_grant(principal, current)
    if fields & {"role", "tenant_id", "group_id"}:
        role: Role = getattr(changes, "role", None) or account.role  # type: ignore[assignment]
        tenant_id = _tenant_id_of(session, account) if "tenant_id" not in fields else changes.tenant_id
        group_id = _group_id_of(session, account) if "group_id" not in fields else changes.group_id
        reseller_id = _reseller_id_of(session, account) if role == "reseller_admin" else None
        placement = _placement(session, principal, role, tenant_id, group_id, reseller_id)
        _require_grant(principal, placement)
        account.role, account.tenant_pk, account.group_pk = (
            placement.role,
            placement.tenant_pk,
            placement.group_pk,
        )
        account.reseller_pk = placement.reseller_pk if placement.role == "reseller_admin" else None
        if placement.tenant_pk != current.tenant_pk:
            # A name in a tenant's namespace stays with that tenant's objects (policy.may_give_name).
            Namespaces(session, principal).check("username", account.username, placement.tenant_pk)
            # A team's members are accounts of its tenant: a move ends the old tenant's memberships
            # (else its admins still list the account, and a move back restores its campaigns).
            session.execute(delete(TeamMember).where(TeamMember.account_pk == account.pk))
        if "linked_user_id" not in fields and account.user_pk is not None:
            account.user_pk = _link(session, principal, placement, _linked_id_of(session, account))
    if "linked_user_id" in fields:
        account.user_pk = _link(session, principal, placement_of(session, account), changes.linked_user_id)
    for name in fields & {"display_name", "email", "enabled"}:
        setattr(account, name, getattr(changes, name))
    session.flush()
    if not is_self and fields & TAKE_OVER_FIELDS:
        # Decided on the account as changed: a new link or placement is what it will reach.
        require_take_over(session, principal, account_reach(session, account))
    if changes.password is not None:  # after the decision: a refused reset costs no hash
        account.password_hash = hash_password(changes.password.get_secret_value())
        end_other_sign_ins(session, account, principal)
        session.flush()
    bump(session, CREDENTIALS)  # role, scope or enabled may have changed: every worker re-reads
    _account_event(session, "account.updated", account)
    return account


def end_other_sign_ins(session: Session, account: Account, principal: Principal) -> None:
    """A new password ends the account's login tokens and console sessions, except the one making
    the change (whoever learnt the old password is signed out); its API keys keep working. The
    caller bumps the credentials channel: every worker drops the tokens from its cache at once
    (console sessions are read from the database on every request)."""
    now = utcnow()
    for model, credential in ((AccessToken, "token"), (ConsoleSession, "session")):
        ended = update(model).where(model.account_pk == account.pk, model.revoked_at.is_(None))
        if principal.credential == credential and principal.key_pk is not None:
            ended = ended.where(model.pk != principal.key_pk)
        session.execute(ended.values(revoked_at=now))


def delete_account(session: Session, principal: Principal, username: str) -> None:
    account = find_account(session, principal, username)
    if account.pk == principal.account_pk:
        raise Conflict("An account cannot delete itself.")
    _require_grant(principal, placement_of(session, account))
    _account_event(session, "account.deleted", account)
    session.delete(account)
    session.flush()
    bump(session, CREDENTIALS)


def _tenant_id_of(session: Session, account: Account) -> str | None:
    return (
        session.scalar(select(Tenant.tenant_id).where(Tenant.pk == account.tenant_pk))
        if account.tenant_pk
        else None
    )


def _group_id_of(session: Session, account: Account) -> str | None:
    return (
        session.scalar(select(Group.group_id).where(Group.pk == account.group_pk))
        if account.group_pk
        else None
    )


def _reseller_id_of(session: Session, account: Account) -> str | None:
    return (
        session.scalar(select(Reseller.name).where(Reseller.pk == account.reseller_pk))
        if account.reseller_pk
        else None
    )


def _linked_id_of(session: Session, account: Account) -> str | None:
    return session.scalar(select(User.user_id).where(User.pk == account.user_pk)) if account.user_pk else None


def account_view(session: Session, account: Account) -> dict[str, Any]:
    user = session.get(User, account.user_pk) if account.user_pk else None
    return {
        "username": account.username,
        "displayName": account.display_name,
        "email": account.email,
        "role": account.role,
        "tenantId": _tenant_id_of(session, account),
        "groupId": _group_id_of(session, account),
        "resellerId": _reseller_id_of(session, account),
        "linkedUserId": user.user_id if user else None,
        "extension": (user.extension or None) if user else None,
        "enabled": account.enabled,
        "createdAt": account.created_at.isoformat(),
    }


def list_accounts(
    session: Session, principal: Principal, after: str | None, limit: int, prefix: str | None
) -> tuple[list[Account], int]:
    from sqlalchemy import func

    from switchboard.kit.pagination import PREFIX_END

    stmt = select(Account).where(visibility(principal, Kind.ACCOUNT))
    if prefix:
        stmt = stmt.where(Account.username_key >= prefix, Account.username_key < prefix + PREFIX_END)
    params = scope_params(principal)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()), params) or 0
    if after is not None:
        stmt = stmt.where(Account.username_key > after)
    rows = list(session.scalars(stmt.order_by(Account.username_key).limit(limit + 1), params))
    return rows, total
