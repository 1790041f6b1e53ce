"""`switchboard access explain`: the decision for one principal and one object, and the rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.access import keys
from switchboard.access.models import Account, ApiKey
from switchboard.access.policy import Target, may_manage, scope_params, visibility
from switchboard.access.principal import Principal
from switchboard.directory.models import Department, Group, ServiceUser, Tenant, User
from switchboard.errors import BadRequest

VISIBILITY_RULES: dict[str, dict[str, str]] = {
    "tenant": {
        "tenant_admin": "a tenant admin sees its own tenant",
        "group_admin": "a group admin sees its tenant's profile",
        "user": "an end user sees its tenant's profile",
    },
    "group": {
        "tenant_admin": "a tenant admin sees its tenant's groups",
        "group_admin": "a group admin sees its own group",
        "user": "an end user sees its own group's profile",
    },
    "department": {
        "tenant_admin": "a tenant admin sees its tenant's departments",
        "group_admin": "a group admin sees its group's and its tenant's departments",
        "user": "an end user sees no departments",
    },
    "user": {
        "tenant_admin": "a tenant admin sees its tenant's users",
        "group_admin": "a group admin sees its group's users",
        "user": "an end user sees only itself",
    },
    "service_user": {
        "tenant_admin": "a tenant admin sees its tenant's service users",
        "group_admin": "a group admin sees its group's service users",
        "user": "an end user sees no service users (seed 003)",
    },
    "account": {
        "tenant_admin": "a tenant admin sees its tenant's accounts",
        "group_admin": "a group admin sees its group's accounts and itself",
        "user": "an account sees only itself",
    },
}


@dataclass(frozen=True)
class Explanation:
    allowed: bool
    rule: str

    def __str__(self) -> str:
        return f"{'ALLOW' if self.allowed else 'DENY'}: {self.rule}"


def principal_for(session: Session, key_prefix: str | None, account: str | None) -> Principal:
    if key_prefix:
        if key_prefix.startswith(keys.KeyKind.GLOBAL.value):
            return Principal("global_key", "system", key_prefix=key_prefix)
        row = session.execute(
            select(ApiKey, Account).join(Account).where(ApiKey.prefix == key_prefix)
        ).first()
        if row is None:
            raise BadRequest(f"no user API key with prefix {key_prefix!r}")
        key, owner = row
        return _of(owner, "user_key", key.pk, key.prefix)
    owner_row = session.scalar(select(Account).where(Account.username_key == (account or "").lower()))
    if owner_row is None:
        raise BadRequest(f"no account {account!r}")
    return _of(owner_row, "token", None, None)


def _of(account: Account, credential: Any, key_pk: int | None, prefix: str | None) -> Principal:
    return Principal(
        credential=credential,
        role=account.role,  # type: ignore[arg-type]
        account_pk=account.pk,
        username=account.username,
        tenant_pk=account.tenant_pk,
        group_pk=account.group_pk,
        user_pk=account.user_pk,
        key_pk=key_pk,
        key_prefix=prefix,
    )


def _locate(kind: str, ids: list[str]) -> tuple[Any, Any]:
    """(model, select statement) for KIND:ID, ids split on '/'."""
    t = ids[0].lower() if ids else ""
    tenant = select(Tenant.pk).where(Tenant.tenant_key == t).scalar_subquery()
    group = (
        select(Group.pk).where(Group.tenant_pk == tenant, Group.group_key == ids[1].lower()).scalar_subquery()
        if len(ids) > 1
        else None
    )
    if kind == "tenant" and len(ids) == 1:
        return Tenant, select(Tenant).where(Tenant.tenant_key == t)
    if kind == "group" and len(ids) == 2:
        return Group, select(Group).where(Group.pk == group)
    if kind == "user" and len(ids) == 3:
        return User, select(User).where(User.group_pk == group, User.user_key == ids[2].lower())
    if kind == "service_user" and len(ids) == 3:
        return ServiceUser, select(ServiceUser).where(
            ServiceUser.group_pk == group, ServiceUser.service_user_key == ids[2].lower()
        )
    if kind == "department" and len(ids) in (2, 3):
        scope = 0 if len(ids) == 2 else group
        return Department, select(Department).where(
            Department.tenant_pk == tenant,
            Department.scope_pk == scope,
            Department.name_key == ids[-1].lower(),
        )
    if kind == "account" and len(ids) == 1:
        return Account, select(Account).where(Account.username_key == ids[0].lower())
    raise BadRequest(
        "object must be tenant:T, group:T/G, user:T/G/U, service_user:T/G/U, department:T/NAME, "
        "department:T/G/NAME or account:NAME"
    )


def explain(session: Session, principal: Principal, obj: str, operation: str) -> Explanation:
    kind, _, raw_ids = obj.partition(":")
    model, stmt = _locate(kind, [part for part in raw_ids.split("/") if part])
    found = session.scalar(stmt)
    if found is None:
        return Explanation(False, f"{obj} does not exist (the API answers 404)")
    if principal.credential == "user_key":
        return Explanation(
            False, "user API keys reach campaign-related endpoints only (seed 000); answer 403"
        )
    visible = session.scalar(stmt.where(visibility(principal, kind)), scope_params(principal)) is not None
    rule = "system sees everything" if principal.role == "system" else VISIBILITY_RULES[kind][principal.role]
    if not visible:
        return Explanation(False, f"not visible: {rule}, and {obj} is outside that (the API answers 404)")
    if operation == "read":
        return Explanation(True, f"visible: {rule}")
    if model is Account:
        from switchboard.access.accounts import Placement, may_manage_account

        allowed = may_manage_account(principal, Placement(found.role, found.tenant_pk, found.group_pk))
        return Explanation(
            allowed, "within the escalation guard" if allowed else "outside the escalation guard (403)"
        )
    tenant_pk = found.pk if model is Tenant else getattr(found, "tenant_pk", None)
    group_pk = found.pk if model is Group else getattr(found, "group_pk", None)
    decision = may_manage(principal, Target(kind, tenant_pk, group_pk))
    return Explanation(
        decision.allowed, f"{decision.rule}{'' if decision.allowed else ' (the API answers 403)'}"
    )
