"""An independent model of who may see and change what, from DESIGN.md section 2 and seed 000."""

# Written from the design, never from switchboard.access.policy: a model derived from the code
# would agree with its bugs. Objects are keyed by their public ids (tenantId, groupId, userId,
# username) or by the ids the API returned (teams, templates, campaigns, keys).

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "reseller_admin", "tenant_admin", "group_admin", "user"]
Kind = Literal["global", "token", "key"]
# Seed 000: a user API key reaches the campaign-related endpoints only.
KEY_AREAS: frozenset[str] = frozenset({"campaigns", "calls", "recordings"})
# APIO's reseller admins administer their reseller's tenants: the directory and accounts only.
RESELLER_AREAS: frozenset[str] = frozenset({"directory", "accounts"})

# What a list or a read answers when it is refused rather than filtered.
FORBIDDEN = 403
NOT_FOUND = 404


@dataclass
class Tenant:
    tenant_id: str
    teamless_open: bool = False  # the tenant shows team-less templates to everyone
    reseller: str | None = None  # the reseller owning the tenant
    next_extension: int = 100  # extensions repeat across tenants on purpose


@dataclass
class Group:
    group_id: str
    tenant: str


@dataclass
class EndUser:
    user_id: str
    tenant: str
    group: str
    extension: str


@dataclass
class Account:
    username: str
    role: Role
    tenant: str | None
    group: str | None
    linked: str | None = None  # a directory end user (gives the account an extension)
    enabled: bool = True
    reseller: str | None = None  # a reseller admin's reseller


@dataclass
class Team:
    pk: int
    name: str
    tenant: str
    members: set[str] = field(default_factory=set)  # usernames


@dataclass
class Template:
    pk: int
    name: str
    tenant: str
    team: int | None  # the "Details tab" team


@dataclass
class Campaign:
    pk: int
    name: str
    template: int
    tenant: str
    status: str = "active"
    leads: int = 0


@dataclass
class Call:
    unique_id: str
    tenant: str
    extension: str
    campaign: int | None
    live: bool = True
    api: bool = True  # dialled through the API: counts towards the tenant's concurrent calls


@dataclass
class Credential:
    secret: str
    kind: Kind
    account: str | None  # None for the global key
    key_id: int | None = None
    revoked: bool = False

    @property
    def label(self) -> str:
        """How a failure names the credential (never the secret)."""
        return "global key" if self.account is None else f"{self.kind} of {self.account}"


@dataclass
class Model:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    users: dict[str, EndUser] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    templates: dict[int, Template] = field(default_factory=dict)
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    credentials: list[Credential] = field(default_factory=list)

    # -- credentials -------------------------------------------------------------------------------

    def account_of(self, cred: Credential) -> Account | None:
        return None if cred.account is None else self.accounts.get(cred.account)

    def is_live(self, cred: Credential) -> bool:
        """Revoked keys, logged-out tokens, and every credential of a disabled or deleted account
        are refused (401); usernames are never reused, so a deleted account stays deleted."""
        if cred.kind == "global":
            return True
        account = self.account_of(cred)
        return account is not None and account.enabled and not cred.revoked

    def live_credentials(self) -> list[Credential]:
        return [cred for cred in self.credentials if self.is_live(cred)]

    def dead_credentials(self) -> list[Credential]:
        return [cred for cred in self.credentials if not self.is_live(cred)]

    def role(self, cred: Credential) -> Role:
        account = self.account_of(cred)
        return "system" if account is None else account.role

    def tenant(self, cred: Credential) -> str | None:
        account = self.account_of(cred)
        return None if account is None else account.tenant

    def reaches(self, cred: Credential, area: str) -> bool:
        if self.role(cred) == "reseller_admin" and area not in RESELLER_AREAS:
            return False
        return cred.kind != "key" or area in KEY_AREAS

    def in_reseller(self, account: Account, tenant: str | None) -> bool:
        """A reseller admin's tenants: those its reseller owns now (never a tenant of none)."""
        owner = self.tenants[tenant].reseller if tenant in self.tenants else None
        return owner is not None and owner == account.reseller

    def own_extension(self, account: Account) -> str | None:
        user = self.users.get(account.linked) if account.linked else None
        return user.extension if user else None

    # -- directory ---------------------------------------------------------------------------------

    def sees_tenant(self, cred: Credential, tenant: str) -> bool:
        account = self.account_of(cred)
        if account is not None and account.role == "reseller_admin":
            return self.in_reseller(account, tenant)
        return self.role(cred) == "system" or self.tenant(cred) == tenant

    def sees_group(self, cred: Credential, group: Group) -> bool:
        """tenant admin: its tenant's groups; group admin and end user: their own group."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if role == "reseller_admin":
            return self.in_reseller(account, group.tenant)
        if role == "tenant_admin":
            return group.tenant == account.tenant
        return group.group_id == account.group

    def sees_user(self, cred: Credential, user: EndUser) -> bool:
        """An end user sees itself only, not the other end users of its group."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if role == "reseller_admin":
            return self.in_reseller(account, user.tenant)
        if role == "tenant_admin":
            return user.tenant == account.tenant
        if role == "group_admin":
            return user.group == account.group
        return user.user_id == account.linked

    def manages_user(self, cred: Credential, user: EndUser) -> bool:
        return self.role(cred) != "user" and self.sees_user(cred, user)

    def sees_account(self, cred: Credential, other: Account) -> bool:
        """Accounts are placed like directory objects: a tenant's, a group's, or one's own."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if role == "reseller_admin":
            # its reseller's tenants' accounts, and its reseller's admins (itself among them)
            return self.in_reseller(account, other.tenant) or other.reseller == account.reseller
        if role == "tenant_admin":
            return other.tenant == account.tenant
        if role == "group_admin":
            return other.group == account.group
        return other.username == account.username

    def manages_account(self, cred: Credential, other: Account) -> bool:
        """Nobody manages an account of a wider role or scope than their own (escalation guard);
        an account manages its own API keys."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if other.username == account.username:
            return True
        if role == "reseller_admin":
            # never another reseller admin (the system makes them), nor a system account
            return other.tenant is not None and self.in_reseller(account, other.tenant)
        if role == "tenant_admin":
            return other.role not in ("system", "reseller_admin") and other.tenant == account.tenant
        if role == "group_admin":
            return other.role == "user" and other.group == account.group
        return False

    def teams_of(self, username: str) -> set[int]:
        return {team.pk for team in self.teams.values() if username in team.members}

    def makes_credentials_of(self, cred: Credential, other: Account) -> bool:
        """A key (or password, or link) for another account is made only by one who manages it and
        already sees all it would see: a tenant's admins see all of it; anyone else sees only its
        teams' campaigns and its own extension's calls, so the account's teams must be among
        its own and its extension (if any) its own."""
        account = self.account_of(cred)
        if not self.manages_account(cred, other):
            return False
        if (
            account is None
            or account.username == other.username
            or account.role in ("system", "reseller_admin", "tenant_admin")
        ):
            return True
        if not self.teams_of(other.username) <= self.teams_of(account.username):
            return False
        extension = self.own_extension(other)
        return extension is None or extension == self.own_extension(account)

    # -- contact centre (seed 000) -------------------------------------------------------------------

    def manages_contact_centre(self, cred: Credential, tenant: str) -> bool:
        role, account = self.role(cred), self.account_of(cred)
        if role == "reseller_admin":
            assert account is not None
            return self.in_reseller(account, tenant)
        return role == "system" or (role == "tenant_admin" and self.tenant(cred) == tenant)

    def sees_template(self, cred: Credential, template: Template) -> bool:
        """Admins see their tenant's templates; anyone else those whose team it is in "but no
        others", and team-less ones only where the tenant opened them to everyone."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if template.tenant != account.tenant:
            return False
        if role == "tenant_admin":
            return True
        if template.team is None:
            return self.tenants[template.tenant].teamless_open
        return account.username in self.teams[template.team].members

    def sees_campaign(self, cred: Credential, campaign: Campaign) -> bool:
        return self.sees_template(cred, self.templates[campaign.template])

    def sees_call(self, cred: Credential, call: Call) -> bool:
        """Admins: their tenant's calls. Others: calls on their own extension and calls dialled
        for a campaign they can see, in their tenant."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if call.tenant != account.tenant:
            return False
        if role == "tenant_admin":
            return True
        own = self.own_extension(account)
        if own is not None and call.extension == own:
            return True
        return call.campaign is not None and self.sees_campaign(cred, self.campaigns[call.campaign])

    def controls_call(self, cred: Credential, call: Call) -> bool:
        """A call is hung up, answered and recorded by its agent (the account on its extension)
        and by the tenant's admins; a team-mate who sees it through a campaign may not."""
        role, account = self.role(cred), self.account_of(cred)
        if role == "system":
            return True
        assert account is not None
        if call.tenant != account.tenant:
            return False
        return role == "tenant_admin" or self.own_extension(account) == call.extension

    # -- what each list answers ----------------------------------------------------------------------

    def views(self, cred: Credential) -> list[tuple[str, ...]]:
        """The lists checked for a credential: the campaign-related ones; for login tokens and
        the global key also the directory and accounts, under every visible tenant (a user key's
        refusal there is probed object by object)."""
        views: list[tuple[str, ...]] = [("campaigns",), ("templates",), ("calls",)]
        if self.role(cred) == "reseller_admin":
            # Refused (403) outside the directory and accounts: the native calls list says so
            # (Noojee's campaign lists answer in their own envelope; probe_campaign covers them).
            views = [("calls",)]
        if cred.kind == "key":
            return views
        views += [("accounts",), ("tenants",)]
        for tenant in sorted(self.tenants):
            if not self.sees_tenant(cred, tenant):
                continue
            views += [("groups", tenant), ("teams", tenant)]
            views += [("users", g.group_id) for g in self.groups.values() if g.tenant == tenant]
        return views

    def expected(self, cred: Credential, view: tuple[str, ...]) -> frozenset[object] | int:
        kind = view[0]
        area = {"campaigns": "campaigns", "templates": "campaigns", "calls": "calls"}.get(kind, "directory")
        if not self.reaches(cred, area):
            return FORBIDDEN
        if kind == "campaigns":
            return frozenset(
                (c.pk, c.name, c.template, c.status, c.tenant)
                for c in self.campaigns.values()
                if self.sees_campaign(cred, c)
            )
        if kind == "templates":
            return frozenset(
                (t.pk, t.name, self.teams[t.team].name if t.team is not None else None, t.tenant)
                for t in self.templates.values()
                if self.sees_template(cred, t)
            )
        if kind == "calls":
            return frozenset(
                (c.unique_id, c.tenant, c.extension, c.campaign)
                for c in self.calls.values()
                if self.sees_call(cred, c)
            )
        if kind == "accounts":
            return frozenset(
                self.account_row(a) for a in self.accounts.values() if self.sees_account(cred, a)
            )
        if kind == "tenants":
            return frozenset(t for t in self.tenants if self.sees_tenant(cred, t))
        if kind == "groups":
            tenant = view[1]
            return frozenset(
                g.group_id for g in self.groups.values() if g.tenant == tenant and self.sees_group(cred, g)
            )
        if kind == "teams":
            # Teams are administration: other roles of the tenant get an empty list.
            tenant = view[1]
            if not self.manages_contact_centre(cred, tenant):
                return frozenset()
            return frozenset(
                (team.name, frozenset(team.members)) for team in self.teams.values() if team.tenant == tenant
            )
        if kind == "users":
            group = self.groups[view[1]]
            if not self.sees_group(cred, group):
                return NOT_FOUND
            return frozenset(
                u.user_id
                for u in self.users.values()
                if u.group == group.group_id and self.sees_user(cred, u)
            )
        raise AssertionError(f"unknown view {view}")

    def account_row(self, account: Account) -> tuple[object, ...]:
        return (
            account.username,
            account.role,
            account.tenant,
            account.group,
            account.linked,
            self.own_extension(account),
            account.enabled,
            account.reseller,
        )

    # -- changes that ripple -------------------------------------------------------------------------

    def leave_other_tenants_teams(self, account: Account) -> int:
        """A team's members are accounts of its tenant: moving an account ends the others'
        memberships (how many)."""
        left = [
            t for t in self.teams.values() if t.tenant != account.tenant and account.username in t.members
        ]
        for team in left:
            team.members.discard(account.username)
        return len(left)

    def delete_account(self, username: str) -> None:
        del self.accounts[username]
        for team in self.teams.values():
            team.members.discard(username)

    def delete_user(self, user_id: str) -> None:
        del self.users[user_id]
        for account in self.accounts.values():
            if account.linked == user_id:
                account.linked = None

    def holds_users(self, group_id: str) -> bool:
        """A group with end users is deleted only with deleteNonEmpty=1 (409 without it)."""
        return any(u.group == group_id for u in self.users.values())

    def delete_group(self, group_id: str) -> None:
        """A group takes its end users and the accounts placed in it (and their credentials)."""
        for user in [u for u in self.users.values() if u.group == group_id]:
            self.delete_user(user.user_id)
        for account in [a for a in self.accounts.values() if a.group == group_id]:
            self.delete_account(account.username)
        del self.groups[group_id]

    def delete_team(self, pk: int) -> None:
        """Its templates lose their team (visible to admins only, unless the tenant opened them)."""
        del self.teams[pk]
        for template in self.templates.values():
            if template.team == pk:
                template.team = None

    def live_api_calls(self, tenant: str) -> int:
        return sum(1 for c in self.calls.values() if c.tenant == tenant and c.live and c.api)
