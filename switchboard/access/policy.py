"""The access policy, in one place: pure functions over a principal.

- `require_area`: may this credential reach this group of endpoints at all (403 if not)?
- `visibility`: which rows of a kind the principal may see, as SQL clauses with bind
  parameters, applied in the same query that fetches (lists and lookups cannot disagree).
- `may_manage` / `require_manage`: may the principal change an object it can see (403 if not)?
- `may_manage_account` (the escalation guard) and the other named `may_...` predicates: the rules
  that are decided on the principal alone, or on one field of the object.

Every rule carries its own words (`Rule.explanation`, `Decision.rule`): `switchboard access explain`
reads them from here. Adding a kind is one member of Kind, one entry in VISIBILITY and, if it may
be changed, its case in `may_manage`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    false,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from switchboard.access.models import Account, ApiKey, TenantKey
from switchboard.access.principal import Principal, Role
from switchboard.audit.models import AuditEntry
from switchboard.bulk.models import ImportJob
from switchboard.calls.models import Call, Recording
from switchboard.contact_centre.models import (
    Allocation,
    Campaign,
    CampaignTemplate,
    LeadImportRun,
    Team,
    TeamMember,
)
from switchboard.directory.models import Department, Group, Reseller, ServiceUser, Tenant, User
from switchboard.errors import Forbidden
from switchboard.events.models import Webhook

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
    HEALTH = "health"  # Noojee's systemHealth/test


# Noojee's API-key rules: a user API key reaches the campaign-related endpoints only.
USER_KEY_AREAS = frozenset({Area.CAMPAIGNS, Area.CALLS, Area.RECORDINGS})
ADMIN_ROLES: frozenset[Role] = frozenset({"system", "tenant_admin"})
# A reseller admin administers the directory and accounts of its reseller's tenants (APIO's
# reseller admins); campaigns, calls, webhooks, audit and import stay with each tenant's admins.
RESELLER_AREAS = frozenset({Area.DIRECTORY, Area.ACCOUNTS})


# Credentials that act as a global key: the system's, and a tenant's own (inside its tenant).
GLOBAL_CREDENTIALS = frozenset({"global_key", "tenant_key"})


def require_area(principal: Principal, area: Area) -> None:
    if area is Area.EVENTS and principal.credential not in GLOBAL_CREDENTIALS:
        raise Forbidden("subscribe needs the global API key or a tenant key.")
    if principal.credential == "user_key" and area not in USER_KEY_AREAS:
        raise Forbidden(
            f"User API keys reach campaign-related endpoints only; {area.value} endpoints need a "
            "login token or the global key."
        )
    if principal.role == "reseller_admin" and area not in RESELLER_AREAS:
        raise Forbidden(
            f"Reseller administrators reach the directory and accounts of their reseller's tenants; "
            f"{area.value} endpoints need a tenant administrator's login or a tenant key."
        )
    if principal.key_scopes is not None and area.value not in principal.key_scopes:
        raise Forbidden(f"This API key's scopes do not include {area.value}.")
    if area is Area.SETTINGS and principal.role != "system":
        raise Forbidden("Settings need system rights.")
    if area is Area.AUDIT and principal.role not in ADMIN_ROLES:
        raise Forbidden("The audit log needs system or tenant administrator rights.")
    if area is Area.WEBHOOKS and principal.role not in ADMIN_ROLES:
        raise Forbidden("Webhooks need system or tenant administrator rights.")
    if area is Area.HEALTH and not may_read_system_health(principal):
        raise Forbidden("System health needs the global API key or a tenant key.")


def may_reach(principal: Principal, area: Area) -> bool:
    """require_area as a question (the console's navigation asks it before offering a page)."""
    try:
        require_area(principal, area)
    except Forbidden:
        return False
    return True


class Kind(StrEnum):
    """The kinds of object the policy decides on (the API's names for them)."""

    RESELLER = "reseller"
    TENANT = "tenant"
    GROUP = "group"
    DEPARTMENT = "department"
    USER = "user"
    SERVICE_USER = "service_user"
    ACCOUNT = "account"
    API_KEY = "api_key"
    TENANT_KEY = "tenant_key"
    TEAM = "team"
    ROSTER = "roster"  # a team, as seen by who is on its shifts (Noojee's getActiveRosters)
    CAMPAIGN_TEMPLATE = "campaign_template"
    CAMPAIGN = "campaign"
    ALLOCATION = "allocation"
    LEAD_IMPORT = "lead_import"  # a console CSV import run, with its progress and outcome
    CALL = "call"
    RECORDING = "recording"
    WEBHOOK = "webhook"
    IMPORT_JOB = "import_job"
    AUDIT_ENTRY = "audit_entry"
    # Decided on for changes only (no VISIBILITY entry).
    LEAD = "lead"
    CONTACT_CENTRE = "contact_centre"
    DIALLING_POLICY = "dialling_policy"
    TENANT_LIFECYCLE = "tenant_lifecycle"
    DOMAIN = "domain"
    SETTINGS = "settings"


# -- visibility ------------------------------------------------------------------------------------

# Bind parameters carrying the principal's scope into compiled statements.
P_TENANT, P_GROUP, P_USER, P_ACCOUNT = "p_tenant", "p_group", "p_user", "p_account"
P_RESELLER = "p_reseller"


def scope_params(principal: Principal) -> dict[str, int | None]:
    return {
        P_RESELLER: principal.reseller_pk,
        P_TENANT: principal.tenant_pk,
        P_GROUP: principal.group_pk,
        P_USER: principal.user_pk,
        P_ACCOUNT: principal.account_pk,
    }


def _p(name: str) -> BindParameter[Any]:
    return bindparam(name)


Clause = Callable[[], ColumnElement[bool]]
NOTHING: Clause = false


@dataclass(frozen=True, slots=True)
class Rule:
    """One role's view of one kind: the SQL clause, and the same rule in words (for explain)."""

    clause: Clause
    explanation: str


def _member_template_pks() -> Any:
    """Noojee's API-key rule: the pks of the templates whose team the account is in, and team-less ones only
    if the tenant opened them to everyone; one tenant's templates only, whatever the teams say.

    Written as a union of two index walks (memberships -> templates by team; team-less ones)
    rather than a filter over every template of the tenant: a user's campaign list costs what it
    returns, not what the tenant holds.
    """
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
    return CampaignTemplate.pk.in_(_member_template_pks())


def _campaign_of_member() -> ColumnElement[bool]:
    """A campaign (and with it its leads and calls) follows its template."""
    return Campaign.template_pk.in_(_member_template_pks())


def _campaign_pks_of_member() -> Any:
    return select(Campaign.pk).where(_campaign_of_member())


def own_extension() -> Any:
    """The principal's own extension (its linked end user's; NULL without one), as a SQL value."""
    return select(User.extension).where(User.pk == _p(P_USER)).scalar_subquery()


def _call_of_member() -> ColumnElement[bool]:
    """Calls on the account's own extension (its linked end user's), and calls dialled for a
    campaign it can see; never another tenant's."""
    return and_(
        Call.tenant_pk == _p(P_TENANT),
        or_(Call.extension == own_extension(), Call.campaign_pk.in_(_campaign_pks_of_member())),
    )


def _recording_via_call(call_clause: Clause) -> Clause:
    """A recording follows its call."""

    def clause() -> ColumnElement[bool]:
        return Recording.call_pk.in_(select(Call.pk).where(call_clause()))

    return clause


def _via_campaign(campaign_pk: QueryableAttribute[int], campaign_clause: Clause) -> Clause:
    """An object of a campaign (an allocation, a lead import run) follows its campaign."""

    def clause() -> ColumnElement[bool]:
        return campaign_pk.in_(select(Campaign.pk).where(campaign_clause()))

    return clause


def _team_of_member() -> ColumnElement[bool]:
    return and_(
        Team.tenant_pk == _p(P_TENANT),
        Team.pk.in_(select(TeamMember.team_pk).where(TeamMember.account_pk == _p(P_ACCOUNT))),
    )


def _account_pks_of_tenant() -> Any:
    return select(Account.pk).where(Account.tenant_pk == _p(P_TENANT)).scalar_subquery()


def _account_pks_of_group() -> Any:
    return (
        select(Account.pk)
        .where(or_(Account.group_pk == _p(P_GROUP), Account.pk == _p(P_ACCOUNT)))
        .scalar_subquery()
    )


def _audit_entry_of_tenant() -> ColumnElement[bool]:
    return or_(AuditEntry.tenant_pk == _p(P_TENANT), AuditEntry.principal_tenant_pk == _p(P_TENANT))


_AUDIT_OF_TENANT = "entries about its tenant's objects or made by its tenant's accounts"


def _reseller_tenant_pks() -> Any:
    """The pks of the tenants the principal's reseller owns (a reseller admin's view)."""
    tenant = aliased(Tenant)  # not the outer query's table
    return select(tenant.pk).where(tenant.reseller_pk == _p(P_RESELLER))


def _in_reseller_tenants(column: QueryableAttribute[Any]) -> Clause:
    return lambda: column.in_(_reseller_tenant_pks())


def _of_tenant(column: QueryableAttribute[Any], things: str) -> dict[Role, Rule]:
    """An administrator's view of most kinds: the rows of its tenant (a tenant admin), or of the
    tenants its reseller owns (a reseller admin)."""
    return {
        "reseller_admin": Rule(
            _in_reseller_tenants(column), f"a reseller admin sees the {things} of its reseller's tenants"
        ),
        "tenant_admin": Rule(lambda: column == _p(P_TENANT), f"a tenant admin sees its tenant's {things}"),
    }


def _audit_entry_of_reseller() -> ColumnElement[bool]:
    tenants = _reseller_tenant_pks()
    return or_(AuditEntry.tenant_pk.in_(tenants), AuditEntry.principal_tenant_pk.in_(tenants))


def _of_group(column: QueryableAttribute[Any], things: str) -> Rule:
    return Rule(lambda: column == _p(P_GROUP), f"a group admin sees its group's {things}")


def _members_see_none(things: str) -> dict[Role, Rule]:
    return {
        "group_admin": Rule(NOTHING, f"a group admin sees no {things}"),
        "user": Rule(NOTHING, f"an end user sees no {things}"),
    }


def _members_see(clause: Clause, what: str) -> dict[Role, Rule]:
    return {
        "group_admin": Rule(clause, f"a group admin sees {what}"),
        "user": Rule(clause, f"an end user sees {what}"),
    }


# kind -> role -> rule (system sees everything: no entry needed)
VISIBILITY: dict[Kind, dict[Role, Rule]] = {
    Kind.RESELLER: {
        "reseller_admin": Rule(
            lambda: Reseller.pk == _p(P_RESELLER), "a reseller admin sees its own reseller"
        ),
        "tenant_admin": Rule(NOTHING, "a tenant admin sees no resellers"),
        **_members_see_none("resellers"),
    },
    Kind.TENANT: {
        "reseller_admin": Rule(
            lambda: Tenant.reseller_pk == _p(P_RESELLER),
            "a reseller admin sees the tenants its reseller owns",
        ),
        "tenant_admin": Rule(lambda: Tenant.pk == _p(P_TENANT), "a tenant admin sees its own tenant"),
        **_members_see(lambda: Tenant.pk == _p(P_TENANT), "its tenant's profile"),
    },
    Kind.GROUP: {
        **_of_tenant(Group.tenant_pk, "groups"),
        "group_admin": Rule(lambda: Group.pk == _p(P_GROUP), "a group admin sees its own group"),
        "user": Rule(lambda: Group.pk == _p(P_GROUP), "an end user sees its own group's profile"),
    },
    Kind.DEPARTMENT: {
        **_of_tenant(Department.tenant_pk, "departments"),
        # Its group's departments, and the tenant's (users of the group may be placed in them).
        "group_admin": Rule(
            lambda: and_(
                Department.tenant_pk == _p(P_TENANT),
                or_(Department.group_pk == _p(P_GROUP), Department.group_pk.is_(None)),
            ),
            "a group admin sees its group's and its tenant's departments",
        ),
        "user": Rule(NOTHING, "an end user sees no departments"),
    },
    Kind.USER: {
        **_of_tenant(User.tenant_pk, "users"),
        "group_admin": _of_group(User.group_pk, "users"),
        "user": Rule(lambda: User.pk == _p(P_USER), "an end user sees only itself"),
    },
    Kind.SERVICE_USER: {
        **_of_tenant(ServiceUser.tenant_pk, "service users"),
        "group_admin": _of_group(ServiceUser.group_pk, "service users"),
        # APIO's search objects: not the IVRs or hunt groups of one's own group.
        "user": Rule(NOTHING, "an end user sees no service users"),
    },
    Kind.ACCOUNT: {
        "reseller_admin": Rule(
            lambda: or_(Account.tenant_pk.in_(_reseller_tenant_pks()), Account.reseller_pk == _p(P_RESELLER)),
            "a reseller admin sees the accounts of its reseller's tenants and its reseller's admins",
        ),
        "tenant_admin": _of_tenant(Account.tenant_pk, "accounts")["tenant_admin"],
        "group_admin": Rule(
            lambda: or_(Account.group_pk == _p(P_GROUP), Account.pk == _p(P_ACCOUNT)),
            "a group admin sees its group's accounts and itself",
        ),
        "user": Rule(lambda: Account.pk == _p(P_ACCOUNT), "an account sees only itself"),
    },
    Kind.API_KEY: {
        "reseller_admin": Rule(
            lambda: or_(
                ApiKey.account_pk == _p(P_ACCOUNT),
                ApiKey.account_pk.in_(
                    select(Account.pk).where(Account.tenant_pk.in_(_reseller_tenant_pks()))
                ),
            ),
            "a reseller admin sees its own API keys and those of its reseller's tenants' accounts",
        ),
        "tenant_admin": Rule(
            lambda: ApiKey.account_pk.in_(_account_pks_of_tenant()),
            "a tenant admin sees the API keys of its tenant's accounts",
        ),
        "group_admin": Rule(
            lambda: ApiKey.account_pk.in_(_account_pks_of_group()),
            "a group admin sees the API keys of its group's accounts and its own",
        ),
        "user": Rule(lambda: ApiKey.account_pk == _p(P_ACCOUNT), "an account sees only its own API keys"),
    },
    Kind.TENANT_KEY: {
        **_of_tenant(TenantKey.tenant_pk, "tenant keys"),
        **_members_see_none("tenant keys"),
    },
    # Other accounts see templates and campaigns by the template's team (explain names the team).
    Kind.CAMPAIGN_TEMPLATE: {
        **_of_tenant(CampaignTemplate.tenant_pk, "campaign templates"),
        **_members_see(
            _template_visible_to_member,
            "the templates of its teams, and team-less ones if the tenant opens them to everyone",
        ),
    },
    Kind.CAMPAIGN: {
        **_of_tenant(Campaign.tenant_pk, "campaigns"),
        **_members_see(_campaign_of_member, "the campaigns of the templates it sees"),
    },
    Kind.CALL: {
        **_of_tenant(Call.tenant_pk, "calls"),
        **_members_see(_call_of_member, "calls on its own extension and calls of the campaigns it sees"),
    },
    Kind.TEAM: {**_of_tenant(Team.tenant_pk, "teams"), **_members_see_none("teams")},
    # Noojee's API-key rule for teams, as getCampaignList applies it: members see the teams they are in.
    Kind.ROSTER: {
        **_of_tenant(Team.tenant_pk, "teams' rosters"),
        **_members_see(_team_of_member, "the rosters of the teams it is in"),
    },
    # Webhook subscriptions: a tenant administrator's are its tenant's; the area rule keeps others out.
    Kind.WEBHOOK: {
        **_of_tenant(Webhook.tenant_pk, "webhooks"),
        **_members_see_none("webhooks"),
    },
    # Others are refused before any read (may_import); they see nothing, should one slip through.
    Kind.IMPORT_JOB: {
        **_of_tenant(ImportJob.tenant_pk, "import jobs"),
        **_members_see_none("import jobs"),
    },
    # The area rule keeps all but administrators out; the clause holds for every non-system role.
    Kind.AUDIT_ENTRY: {
        "reseller_admin": Rule(
            _audit_entry_of_reseller, "a reseller admin sees the entries of its reseller's tenants"
        ),
        "tenant_admin": Rule(_audit_entry_of_tenant, f"a tenant admin sees {_AUDIT_OF_TENANT}"),
        **_members_see(_audit_entry_of_tenant, _AUDIT_OF_TENANT),
    },
}


def _follows_campaign(campaign_pk: QueryableAttribute[int], things: str) -> dict[Role, Rule]:
    return {
        role: Rule(_via_campaign(campaign_pk, rule.clause), f"{rule.explanation}, and their {things}")
        for role, rule in VISIBILITY[Kind.CAMPAIGN].items()
    }


VISIBILITY[Kind.ALLOCATION] = _follows_campaign(Allocation.campaign_pk, "allocations")
# Whoever sees a campaign may add its leads (Noojee's rules), so sees its imports too, whoever ran them.
VISIBILITY[Kind.LEAD_IMPORT] = _follows_campaign(LeadImportRun.campaign_pk, "lead imports")
VISIBILITY[Kind.RECORDING] = {
    role: Rule(_recording_via_call(rule.clause), f"{rule.explanation}, and their recordings")
    for role, rule in VISIBILITY[Kind.CALL].items()
}


def visibility(principal: Principal, kind: Kind) -> ColumnElement[bool]:
    """The SQL condition selecting the rows of `kind` the principal may see (bind parameters)."""
    rule = VISIBILITY[kind].get(principal.role)
    return true() if rule is None else rule.clause()


def first_visible(session: Session, principal: Principal, kind: Kind, stmt: Select[T]) -> T | None:
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

    kind: Kind
    tenant_pk: int | None = None
    group_pk: int | None = None
    reseller_pk: int | None = None  # the tenant's reseller (for a tenant being made: the one it gets)


def target_in(kind: Kind, tenant: Tenant, group_pk: int | None = None) -> Target:
    """An object of `tenant` (and of a group of it), its tenant's reseller included."""
    return Target(kind, tenant.pk, group_pk, tenant.reseller_pk)


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
    in_reseller = target.reseller_pk is not None and target.reseller_pk == principal.reseller_pk
    if kind is Kind.LEAD:
        # Leads follow their campaign: whoever sees it (checked by the lookup) may work its leads,
        # which is what Noojee's user keys are for.
        return Decision(True, "whoever sees a campaign may add and change its leads")
    if kind is Kind.CONTACT_CENTRE:
        allowed = (role == "tenant_admin" and in_tenant) or (role == "reseller_admin" and in_reseller)
        return Decision(allowed, "tenant admins manage their tenant's teams, templates and campaigns")
    if kind is Kind.TENANT_LIFECYCLE and role == "reseller_admin":
        # Tenants made by a reseller admin are its reseller's (create_tenant sets it).
        return Decision(in_reseller, "a reseller admin creates and deletes its reseller's tenants only")
    if role == "reseller_admin" and kind not in (Kind.DOMAIN, Kind.SETTINGS, Kind.RESELLER):
        if in_reseller:
            return Decision(True, "reseller admin manages its reseller's tenants")
        return Decision(False, "outside the reseller admin's reseller's tenants")
    if kind in (Kind.TENANT_LIFECYCLE, Kind.DOMAIN, Kind.SETTINGS, Kind.RESELLER):
        return Decision(False, f"{kind.replace('_', ' ')} needs system rights")
    if role == "tenant_admin":
        if in_tenant:
            return Decision(True, "tenant admin manages its tenant")
        return Decision(False, "outside the tenant admin's tenant")
    if role == "group_admin":
        if kind in (Kind.DEPARTMENT, Kind.USER, Kind.SERVICE_USER) and in_group:
            return Decision(True, "group admin manages its group's members and departments")
        return Decision(False, f"a group admin cannot change a {kind.replace('_', ' ')} here")
    return Decision(False, f"an end user cannot change a {kind.replace('_', ' ')}")


def require_manage(principal: Principal, target: Target) -> None:
    decision = may_manage(principal, target)
    if not decision.allowed:
        raise Forbidden(f"Not allowed: {decision.rule}.")


# -- the escalation guard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """An account's role and scope, as stored."""

    role: Role
    tenant_pk: int | None
    group_pk: int | None
    # A reseller admin's reseller; for an account of a tenant, its tenant's reseller (if any).
    reseller_pk: int | None = None


def may_manage_account(principal: Principal, placement: Placement) -> bool:
    """May the principal create, change or delete an account placed like this? Nobody grants a
    role or scope wider than their own."""
    if principal.role == "system":
        return True
    if principal.role == "reseller_admin":
        # Its reseller's other admins are the system's to make and change (APIO: system level).
        return (
            placement.role in ("tenant_admin", "group_admin", "user")
            and placement.tenant_pk is not None
            and placement.reseller_pk == principal.reseller_pk
        )
    if principal.role == "tenant_admin":
        return (
            placement.role not in ("system", "reseller_admin") and placement.tenant_pk == principal.tenant_pk
        )
    if principal.role == "group_admin":
        return placement.role == "user" and placement.group_pk == principal.group_pk
    return False


@dataclass(frozen=True)
class Reach:
    """What an account's credentials reach, as the policy's views decide it: its placement (the
    directory and accounts), the teams whose templates' campaigns it sees, and the extension whose
    calls it sees (its linked end user's). The principal's own reach is the same for its account."""

    placement: Placement
    team_pks: frozenset[int] = frozenset()
    extension: str | None = None


def may_take_over_account(principal: Principal, own: Reach, target: Reach) -> Decision:
    """May the principal create an account reaching `target`, set its password, link or place
    it, or create or change one of its API keys? Only when everything that account's credentials
    could reach is within the principal's own reach: else making a credential for it (and using
    it) would widen the principal's reach. Administrators see every campaign and call of their
    tenant (VISIBILITY), so their placement rule is the whole answer; everyone else sees the
    campaigns of their teams' templates and the calls of their own extension (and of those
    campaigns), so the account's teams must be among theirs and its extension theirs."""
    if not may_manage_account(principal, target.placement):
        return Decision(False, "the account's role or scope is wider than yours")
    if principal.role in ADMIN_ROLES or principal.role == "reseller_admin":
        return Decision(True, "administrators see every campaign and call of the accounts they manage")
    if not target.team_pks <= own.team_pks:
        return Decision(False, "the account works campaigns of teams you are not in")
    if target.extension and target.extension != own.extension:
        return Decision(False, "the account sees the calls of an extension that is not yours")
    return Decision(True, "the account reaches nothing you do not")


@dataclass(frozen=True, slots=True)
class Naming:
    """A name about to be given (an account's username, or the local part of an end user's or
    service user's id in the default domain), as the namespace rule sees it."""

    namespace: str | None  # lower-cased part before the name's last "." (None: no ".")
    local: str  # the part after it
    namespace_tenant_pk: int | None  # the existing tenant whose id the namespace is, if any
    owner_tenant_pk: int | None  # the tenant of the object named (None: a system account)
    suffix: str = ""  # what completes an id: "@<default domain>"


def may_give_name(principal: Principal, own_tenant_id: str | None, naming: Naming) -> Decision:
    """Usernames and default-domain ids are unique system-wide, so a 409 for a name taken in
    another tenant would tell that tenant's objects exist. Each tenant therefore owns a namespace,
    `<tenantId>.<name>`: a principal bound to a tenant names only inside its own (refused by the
    form of the name alone, whether or not it is taken anywhere), and a name in tenant T's
    namespace is given, by anyone, to T's objects only. A 409 then tells a tenant only about its
    own objects."""
    if principal.role == "reseller_admin" and (
        naming.namespace_tenant_pk is None or naming.namespace_tenant_pk != naming.owner_tenant_pk
    ):
        # Bound to its reseller's tenants: it names inside the namespace of the tenant it names for.
        return Decision(
            False, f"names made by a reseller admin take the form <tenantId>.<name>{naming.suffix}"
        )
    if principal.tenant_pk is not None:
        form = f"{own_tenant_id}.<name>{naming.suffix}"
        if naming.namespace != (own_tenant_id or "").lower() or not naming.local:
            return Decision(False, f"names made inside a tenant take the form {form}, no '.' in <name>")
    if naming.namespace_tenant_pk is not None and naming.namespace_tenant_pk != naming.owner_tenant_pk:
        return Decision(
            False,
            f"names of the form {naming.namespace}.<name>{naming.suffix} are given to tenant "
            f"{naming.namespace}'s objects only",
        )
    return Decision(True, "the name is outside every other tenant's namespace")


# Who is above whom, for restrictions set on another account's key.
ROLE_RANK: dict[str, int] = {"user": 0, "group_admin": 1, "tenant_admin": 2, "reseller_admin": 3, "system": 4}


def may_widen_key_restrictions(
    principal: Principal, owner_pk: int, restricted_by_role: str | None
) -> Decision:
    """A key's scopes, allowlist and expiry, when set by someone other than its owner, bind the
    owner: it may narrow them, never widen them (else an administrator's restriction is undone by
    the very account it restricts). They are widened by whoever may change the key (the owner's
    managers, may_take_over_account) and ranks at least as high as whoever set them."""
    if restricted_by_role is None:
        return Decision(True, "the key's owner set its restrictions")
    setter = restricted_by_role.replace("_", " ")
    if principal.account_pk == owner_pk:
        return Decision(False, f"this key's restrictions were set by a {setter} and bind its owner")
    if ROLE_RANK[principal.role] >= ROLE_RANK.get(restricted_by_role, len(ROLE_RANK)):
        return Decision(True, f"a {principal.role.replace('_', ' ')} may widen what a {setter} set")
    return Decision(False, f"this key's restrictions were set by a {setter}, above you")


# -- rules decided on the principal (and one field of the object) ----------------------------------


def may_dial_from_any_extension(principal: Principal) -> bool:
    """Administrators dial from any extension of their tenant; others from their own only."""
    return principal.role in ADMIN_ROLES


def may_use_any_caller_id(principal: Principal) -> bool:
    """System may present any caller id; others only a number of their tenant."""
    return principal.role == "system"


def may_control_call(
    principal: Principal, call_tenant_pk: int | None, call_extension: str, principal_extension: str | None
) -> bool:
    """A call is acted on (hung up, answered, its recordings started, paused, resumed, stopped)
    by its agent, the account on whose extension it is, and by administrators (system, the
    tenant's admins and its keys). Team-mates who see a campaign's calls may watch them, not act
    on them: else one could record another agent's call and its agent could not stop it. Whoever
    controls a call controls every recording on it, whoever started it."""
    if principal.role in ADMIN_ROLES:
        return True
    return (
        bool(principal_extension)  # an account without an extension is no call's agent
        and call_tenant_pk == principal.tenant_pk
        and call_extension == principal_extension
    )


def may_record_for_others(principal: Principal) -> bool:
    """Administrators may name another account as a recording's owner; others only themselves."""
    return principal.role in ADMIN_ROLES


def may_drive_simulator(principal: Principal) -> bool:
    """The simulated PBX's controls are for administrators."""
    return principal.role in ADMIN_ROLES


def may_import(principal: Principal) -> bool:
    """Bulk import (and its jobs) needs system or tenant administrator rights."""
    return principal.role in ADMIN_ROLES


# A tenant key (the tenant's "global key" for its Noojee integrations) is named by its credential kind.
_TENANT_KEY = "tenant_key"


def may_import_system_sized(principal: Principal) -> bool:
    """Only the system imports files past a tenant's upload cap (SWITCHBOARD_IMPORT_TENANT_MAX_BYTES):
    the server and its database are shared by every tenant."""
    return principal.role == "system"


def may_read_system_health(principal: Principal) -> bool:
    """The host's and the PBX link's figures are for the system (global key, system logins) and
    for a tenant's own global key; not for a user key or a tenant administrator's login."""
    credential: str = principal.credential
    return principal.role == "system" or credential == _TENANT_KEY


def may_read_not_found_reasons(principal: Principal) -> bool:
    """A 404's audited reason may be about another tenant's objects: system administrators only."""
    return principal.role == "system"
