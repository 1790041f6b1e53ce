"""`switchboard access explain`: the decision for one principal and one object, and the rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.access import keys
from switchboard.access.accounts import account_reach, placement_of, take_over_decision
from switchboard.access.models import Account, ApiKey, TenantKey
from switchboard.access.policy import (
    ADMIN_ROLES,
    VISIBILITY,
    Area,
    Decision,
    Kind,
    Target,
    first_visible,
    may_manage,
    may_manage_account,
    require_area,
    scope_params,
    visibility,
)
from switchboard.access.principal import Principal
from switchboard.contact_centre.models import Campaign, CampaignTemplate, Team
from switchboard.directory.models import Department, Group, Reseller, ServiceUser, Tenant, User
from switchboard.errors import BadRequest, Forbidden

# Kinds a non-admin sees through a campaign template's team (Noojee's API-key rule).
TEAM_SCOPED = frozenset({Kind.CAMPAIGN_TEMPLATE, Kind.CAMPAIGN})
# The endpoints an object is reached through (what a user API key may reach is decided on these).
AREAS: dict[Kind, Area] = {
    Kind.ACCOUNT: Area.ACCOUNTS,
    Kind.RESELLER: Area.ACCOUNTS,
    Kind.CAMPAIGN_TEMPLATE: Area.CAMPAIGNS,
    Kind.CAMPAIGN: Area.CAMPAIGNS,
}
# The API decides changes to these on their tenant's contact centre, not on the object's kind.
OBJECT_FORMS = (
    "object must be tenant:T, group:T/G, user:T/G/U, service_user:T/G/U, department:T/NAME, "
    "department:T/G/NAME, account:NAME, reseller:NAME, campaign_template:T/ID or campaign:T/ID"
)
MANAGED_AS: dict[Kind, Kind] = {
    Kind.CAMPAIGN_TEMPLATE: Kind.CONTACT_CENTRE,
    Kind.CAMPAIGN: Kind.CONTACT_CENTRE,
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
        if key_prefix.startswith(keys.KeyKind.TENANT.value):
            tenant_key = session.scalar(select(TenantKey).where(TenantKey.prefix == key_prefix))
            if tenant_key is None:
                raise BadRequest(f"no tenant key with prefix {key_prefix!r}")
            return Principal(
                "tenant_key",
                "tenant_admin",
                tenant_pk=tenant_key.tenant_pk,
                key_pk=tenant_key.pk,
                key_prefix=tenant_key.prefix,
            )
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
        reseller_pk=account.reseller_pk,
        key_pk=key_pk,
        key_prefix=prefix,
    )


def _locate(kind: Kind, ids: list[str]) -> tuple[Any, Any]:
    """(model, select statement) for KIND:ID, ids split on '/'."""
    t = ids[0].lower() if ids else ""
    tenant = select(Tenant.pk).where(Tenant.tenant_key == t).scalar_subquery()
    group = (
        select(Group.pk).where(Group.tenant_pk == tenant, Group.group_key == ids[1].lower()).scalar_subquery()
        if len(ids) > 1
        else None
    )
    if kind is Kind.TENANT and len(ids) == 1:
        return Tenant, select(Tenant).where(Tenant.tenant_key == t)
    if kind is Kind.GROUP and len(ids) == 2:
        return Group, select(Group).where(Group.pk == group)
    if kind is Kind.USER and len(ids) == 3:
        return User, select(User).where(User.group_pk == group, User.user_key == ids[2].lower())
    if kind is Kind.SERVICE_USER and len(ids) == 3:
        return ServiceUser, select(ServiceUser).where(
            ServiceUser.group_pk == group, ServiceUser.service_user_key == ids[2].lower()
        )
    if kind is Kind.DEPARTMENT and len(ids) in (2, 3):
        scope = 0 if len(ids) == 2 else group
        return Department, select(Department).where(
            Department.tenant_pk == tenant,
            Department.scope_pk == scope,
            Department.name_key == ids[-1].lower(),
        )
    if kind is Kind.RESELLER and len(ids) == 1:
        return Reseller, select(Reseller).where(Reseller.name_key == ids[0].lower())
    if kind is Kind.ACCOUNT and len(ids) == 1:
        return Account, select(Account).where(Account.username_key == ids[0].lower())
    if kind in TEAM_SCOPED and len(ids) == 2 and ids[1].isdigit():
        # By tenant and id, as the API's /tenants/T/campaign-templates/ID/ and /campaigns/ID/.
        model = CampaignTemplate if kind is Kind.CAMPAIGN_TEMPLATE else Campaign
        return model, select(model).where(model.tenant_pk == tenant, model.pk == int(ids[1]))
    raise BadRequest(OBJECT_FORMS)


def _kind_named(name: str) -> Kind:
    try:
        return Kind(name)
    except ValueError:
        raise BadRequest(OBJECT_FORMS) from None


def _read_reason(
    session: Session, principal: Principal, kind: Kind, obj: str, found: Any, visible: bool
) -> str:
    """Why the object is (not) visible. The verdict is the policy's; this only words it."""
    if principal.role == "system":
        return "visible: system sees everything"
    if kind in TEAM_SCOPED and principal.role not in (*ADMIN_ROLES, "reseller_admin"):
        return _team_reason(session, principal, obj, found, visible)
    rule = VISIBILITY[kind][principal.role].explanation
    return f"visible: {rule}" if visible else f"not visible: {rule}, and {obj} is outside that"


def _team_reason(session: Session, principal: Principal, obj: str, found: Any, visible: bool) -> str:
    """Names the template's team. Membership and the tenant's setting are not looked up again:
    given the policy's verdict, the template's team alone says which of its clauses decided."""
    template = (
        found if isinstance(found, CampaignTemplate) else session.get_one(CampaignTemplate, found.template_pk)
    )
    if template.tenant_pk != principal.tenant_pk:
        return f"not visible: {obj} belongs to another tenant"
    team = session.get(Team, template.team_pk) if template.team_pk is not None else None
    if team is None:
        if visible:
            return "visible: team-less template, tenant opens team-less templates to everyone"
        return "not visible: team-less template, visible to administrators only"
    if visible:
        return f"visible via team {team.name} (the account is a member of the template's team)"
    return f"not visible: template team {team.name}, account not a member"


def explain(session: Session, principal: Principal, obj: str, operation: str) -> Explanation:
    name, _, raw_ids = obj.partition(":")
    kind = _kind_named(name)
    model, stmt = _locate(kind, [part for part in raw_ids.split("/") if part])
    found = session.scalar(stmt)
    if found is None:
        return Explanation(False, f"{obj} does not exist (the API answers 404)")
    try:
        require_area(principal, AREAS.get(kind, Area.DIRECTORY))
    except Forbidden as exc:
        return Explanation(False, f"{exc.detail.rstrip('.')} (the API answers 403)")
    if operation == "manage" and kind in MANAGED_AS and _sees_tenant(session, principal, found.tenant_pk):
        # The API refuses a change to a tenant's contact centre before it looks the object up:
        # its 403 is the same for every object of that tenant, visible or not.
        decision = may_manage(principal, _target(session, kind, model, found))
        if not decision.allowed:
            return _decided(decision)
    visible = session.scalar(stmt.where(visibility(principal, kind)), scope_params(principal)) is not None
    reason = _read_reason(session, principal, kind, obj, found, visible)
    if not visible:
        return Explanation(False, f"{reason} (the API answers 404)")
    if operation == "read":
        return Explanation(True, reason)
    if model is Account:
        if not may_manage_account(principal, placement_of(session, found)):
            return Explanation(False, "outside the escalation guard (403)")
        take_over = take_over_decision(session, principal, account_reach(session, found))
        refused = "" if take_over.allowed else " (the API answers 403)"
        return Explanation(
            True, f"within the escalation guard; its password, link and keys: {take_over.rule}{refused}"
        )
    return _decided(may_manage(principal, _target(session, kind, model, found)))


def _sees_tenant(session: Session, principal: Principal, tenant_pk: int) -> bool:
    return (
        first_visible(session, principal, Kind.TENANT, select(Tenant.pk).where(Tenant.pk == tenant_pk))
        is not None
    )


def _target(session: Session, kind: Kind, model: Any, found: Any) -> Target:
    tenant_pk = found.pk if model is Tenant else getattr(found, "tenant_pk", None)
    group_pk = found.pk if model is Group else getattr(found, "group_pk", None)
    reseller_pk = (
        session.scalar(select(Tenant.reseller_pk).where(Tenant.pk == tenant_pk)) if tenant_pk else None
    )
    return Target(MANAGED_AS.get(kind, kind), tenant_pk, group_pk, reseller_pk)


def _decided(decision: Decision) -> Explanation:
    return Explanation(
        decision.allowed, f"{decision.rule}{'' if decision.allowed else ' (the API answers 403)'}"
    )
