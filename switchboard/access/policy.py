"""The access policy, in one place: pure functions over a principal.

- `require_area`: may this credential reach this group of endpoints at all (403 if not)?
- `visibility`: which rows of a kind the principal may see, as SQL clauses with bind
  parameters, applied in the same query that fetches (lists and lookups cannot disagree).
- `may_manage` / `require_manage`: may the principal change an object it can see (403 if not)?

Adding a kind is one entry in VISIBILITY and one in MANAGERS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, false, or_, true
from sqlalchemy.orm import Session

from switchboard.access.models import Account, ApiKey
from switchboard.access.principal import Principal, Role
from switchboard.directory.models import Department, Group, ServiceUser, Tenant, User
from switchboard.errors import Forbidden

T = TypeVar("T")


class Area(StrEnum):
    """Groups of endpoints, for function-level rules."""

    DIRECTORY = "directory"
    ACCOUNTS = "accounts"
    SETTINGS = "settings"
    AUDIT = "audit"
    CAMPAIGNS = "campaigns"
    CALLS = "calls"
    RECORDINGS = "recordings"
    EVENTS = "events"  # Noojee's subscribe
    WEBHOOKS = "webhooks"


# Seed 000: a user API key reaches the campaign-related endpoints only.
USER_KEY_AREAS = frozenset({Area.CAMPAIGNS, Area.CALLS, Area.RECORDINGS})
ADMIN_ROLES: frozenset[Role] = frozenset({"system", "tenant_admin"})


def require_area(principal: Principal, area: Area) -> None:
    if area is Area.EVENTS and principal.credential != "global_key":
        raise Forbidden("subscribe needs the global API key.")
    if principal.credential == "user_key" and area not in USER_KEY_AREAS:
        raise Forbidden(
            f"User API keys reach campaign-related endpoints only; {area.value} endpoints need a "
            "login token or the global key."
        )
    if principal.key_scopes is not None and area.value not in principal.key_scopes:
        raise Forbidden(f"This API key's scopes do not include {area.value}.")
    if area is Area.SETTINGS and principal.role != "system":
        raise Forbidden("Settings need system rights.")
    if area is Area.AUDIT and principal.role not in ADMIN_ROLES:
        raise Forbidden("The audit log needs system or tenant administrator rights.")
    if area is Area.WEBHOOKS and principal.role not in ADMIN_ROLES:
        raise Forbidden("Webhooks need system or tenant administrator rights.")


# -- visibility ------------------------------------------------------------------------------------

# Bind parameters carrying the principal's scope into compiled statements.
P_TENANT, P_GROUP, P_USER, P_ACCOUNT = "p_tenant", "p_group", "p_user", "p_account"


def scope_params(principal: Principal) -> dict[str, int | None]:
    return {
        P_TENANT: principal.tenant_pk,
        P_GROUP: principal.group_pk,
        P_USER: principal.user_pk,
        P_ACCOUNT: principal.account_pk,
    }


def _p(name: str) -> BindParameter[Any]:
    return bindparam(name)


Clause = Callable[[], ColumnElement[bool]]
NOTHING: Clause = false

# kind -> role -> clause (system sees everything: no entry needed)
VISIBILITY: dict[str, dict[Role, Clause]] = {
    "tenant": {
        "tenant_admin": lambda: Tenant.pk == _p(P_TENANT),
        "group_admin": lambda: Tenant.pk == _p(P_TENANT),
        "user": lambda: Tenant.pk == _p(P_TENANT),
    },
    "group": {
        "tenant_admin": lambda: Group.tenant_pk == _p(P_TENANT),
        "group_admin": lambda: Group.pk == _p(P_GROUP),
        "user": lambda: Group.pk == _p(P_GROUP),
    },
    "department": {
        "tenant_admin": lambda: Department.tenant_pk == _p(P_TENANT),
        # Its group's departments, and the tenant's (users of the group may be placed in them).
        "group_admin": lambda: and_(
            Department.tenant_pk == _p(P_TENANT),
            or_(Department.group_pk == _p(P_GROUP), Department.group_pk.is_(None)),
        ),
        "user": NOTHING,
    },
    "user": {
        "tenant_admin": lambda: User.tenant_pk == _p(P_TENANT),
        "group_admin": lambda: User.group_pk == _p(P_GROUP),
        "user": lambda: User.pk == _p(P_USER),
    },
    "service_user": {
        "tenant_admin": lambda: ServiceUser.tenant_pk == _p(P_TENANT),
        "group_admin": lambda: ServiceUser.group_pk == _p(P_GROUP),
        "user": NOTHING,  # seed 003: not the IVRs or hunt groups of one's own group
    },
    "account": {
        "tenant_admin": lambda: Account.tenant_pk == _p(P_TENANT),
        "group_admin": lambda: or_(Account.group_pk == _p(P_GROUP), Account.pk == _p(P_ACCOUNT)),
        "user": lambda: Account.pk == _p(P_ACCOUNT),
    },
    "api_key": {
        "tenant_admin": lambda: ApiKey.account_pk.in_(_account_pks_of_tenant()),
        "group_admin": lambda: ApiKey.account_pk.in_(_account_pks_of_group()),
        "user": lambda: ApiKey.account_pk == _p(P_ACCOUNT),
    },
}


def _member_template_pks() -> Any:
    """Seed 000: the pks of the templates whose team the account is in, and team-less ones only
    if the tenant opened them to everyone; one tenant's templates only, whatever the teams say.

    Written as a union of two index walks (memberships -> templates by team; team-less ones)
    rather than a filter over every template of the tenant: a user's campaign list costs what it
    returns, not what the tenant holds.
    """
    from sqlalchemy import select, union_all
    from sqlalchemy.orm import aliased

    from switchboard.contact_centre.models import CampaignTemplate, TeamMember

    template = aliased(CampaignTemplate)  # not the outer query's table
    my_teams = select(TeamMember.team_pk).where(TeamMember.account_pk == _p(P_ACCOUNT))
    of_my_teams = select(template.pk).where(
        template.team_pk.in_(my_teams), template.tenant_pk == _p(P_TENANT)
    )
    teamless_open = (
        select(Tenant.teamless_templates_visible_to).where(Tenant.pk == _p(P_TENANT)).scalar_subquery()
        == "everyone"
    )
    teamless = select(template.pk).where(
        template.team_pk.is_(None), template.tenant_pk == _p(P_TENANT), teamless_open
    )
    return union_all(of_my_teams, teamless)


def _template_visible_to_member() -> ColumnElement[bool]:
    from switchboard.contact_centre.models import CampaignTemplate

    return CampaignTemplate.pk.in_(_member_template_pks())


def _template_of_tenant() -> ColumnElement[bool]:
    from switchboard.contact_centre.models import CampaignTemplate

    return CampaignTemplate.tenant_pk == _p(P_TENANT)


def _campaign_of_tenant() -> ColumnElement[bool]:
    from switchboard.contact_centre.models import Campaign

    return Campaign.tenant_pk == _p(P_TENANT)


def _campaign_of_member() -> ColumnElement[bool]:
    """A campaign (and with it its leads and calls) follows its template."""
    from switchboard.contact_centre.models import Campaign

    return Campaign.template_pk.in_(_member_template_pks())


VISIBILITY["campaign_template"] = {
    "tenant_admin": _template_of_tenant,
    "group_admin": _template_visible_to_member,
    "user": _template_visible_to_member,
}
VISIBILITY["campaign"] = {
    "tenant_admin": _campaign_of_tenant,
    "group_admin": _campaign_of_member,
    "user": _campaign_of_member,
}


def _call_of_tenant() -> ColumnElement[bool]:
    from switchboard.calls.models import Call

    return Call.tenant_pk == _p(P_TENANT)


def _call_of_member() -> ColumnElement[bool]:
    """Calls on the account's own extension (its linked end user's), and calls dialled for a
    campaign it can see; never another tenant's."""
    from sqlalchemy import select

    from switchboard.calls.models import Call

    own_extension = select(User.extension).where(User.pk == _p(P_USER)).scalar_subquery()
    return and_(
        Call.tenant_pk == _p(P_TENANT),
        or_(Call.extension == own_extension, Call.campaign_pk.in_(_campaign_pks_of_member())),
    )


def _campaign_pks_of_member() -> Any:
    from sqlalchemy import select

    from switchboard.contact_centre.models import Campaign

    return select(Campaign.pk).where(_campaign_of_member())


def _recording_via_call(call_clause: Clause) -> Clause:
    """A recording follows its call."""

    def clause() -> ColumnElement[bool]:
        from sqlalchemy import select

        from switchboard.calls.models import Call, Recording

        return Recording.call_pk.in_(select(Call.pk).where(call_clause()))

    return clause


VISIBILITY["call"] = {
    "tenant_admin": _call_of_tenant,
    "group_admin": _call_of_member,
    "user": _call_of_member,
}
VISIBILITY["recording"] = {role: _recording_via_call(clause) for role, clause in VISIBILITY["call"].items()}
VISIBILITY["team"] = {
    "tenant_admin": lambda: _team_of_tenant(),
    "group_admin": NOTHING,
    "user": NOTHING,
}

# Webhook subscriptions: a tenant administrator's are its tenant's; the area rule keeps others out.
VISIBILITY["webhook"] = {
    "tenant_admin": lambda: _webhook_of_tenant(),
    "group_admin": NOTHING,
    "user": NOTHING,
}


def _webhook_of_tenant() -> ColumnElement[bool]:
    from switchboard.events.models import Webhook

    return Webhook.tenant_pk == _p(P_TENANT)


def _team_of_tenant() -> ColumnElement[bool]:
    from switchboard.contact_centre.models import Team

    return Team.tenant_pk == _p(P_TENANT)


def _account_pks_of_tenant() -> Any:
    from sqlalchemy import select

    return select(Account.pk).where(Account.tenant_pk == _p(P_TENANT)).scalar_subquery()


def _account_pks_of_group() -> Any:
    from sqlalchemy import select

    return (
        select(Account.pk)
        .where(or_(Account.group_pk == _p(P_GROUP), Account.pk == _p(P_ACCOUNT)))
        .scalar_subquery()
    )


def visibility(principal: Principal, kind: str) -> ColumnElement[bool]:
    """The SQL condition selecting the rows of `kind` the principal may see (bind parameters)."""
    clause = VISIBILITY[kind].get(principal.role)
    return true() if clause is None else clause()


def first_visible(session: Session, principal: Principal, kind: str, stmt: Select[T]) -> T | None:
    """The first row of `stmt` the principal may see, or None (callers answer 404): the policy's
    condition goes into the same query that fetches."""
    return session.scalar(stmt.where(visibility(principal, kind)), scope_params(principal))


def visibility_key(principal: Principal) -> str:
    """Principals with the same key get the same compiled statement (their values are parameters)."""
    return principal.role


# -- management (writes on objects the principal can see) ----------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """Where an object lives: what management rights are decided on."""

    kind: str
    tenant_pk: int | None = None
    group_pk: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str


def may_manage(principal: Principal, target: Target) -> Decision:
    """May the principal create, change or delete an object of this kind at this place?"""
    role = principal.role
    if role == "system":
        return Decision(True, "system manages everything")
    kind = target.kind
    in_tenant = target.tenant_pk is not None and target.tenant_pk == principal.tenant_pk
    in_group = target.group_pk is not None and target.group_pk == principal.group_pk
    if kind == "lead":
        # Leads follow their campaign: whoever sees it (checked by the lookup) may work its leads,
        # which is what seed 000's user keys are for.
        return Decision(True, "whoever sees a campaign may add and change its leads")
    if kind == "contact_centre":
        allowed = role == "tenant_admin" and in_tenant
        return Decision(allowed, "tenant admins manage their tenant's teams, templates and campaigns")
    if kind in ("tenant_lifecycle", "domain", "settings"):
        return Decision(False, f"{kind.replace('_', ' ')} needs system rights")
    if role == "tenant_admin":
        if in_tenant:
            return Decision(True, "tenant admin manages its tenant")
        return Decision(False, "outside the tenant admin's tenant")
    if role == "group_admin":
        if kind in ("department", "user", "service_user") and in_group:
            return Decision(True, "group admin manages its group's members and departments")
        return Decision(False, f"a group admin cannot change a {kind.replace('_', ' ')} here")
    return Decision(False, f"an end user cannot change a {kind.replace('_', ' ')}")


def require_manage(principal: Principal, target: Target) -> None:
    decision = may_manage(principal, target)
    if not decision.allowed:
        raise Forbidden(f"Not allowed: {decision.rule}.")
