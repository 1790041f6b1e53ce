"""The console's sections and which of them the signed-in principal may open: the navigation
offers a section exactly when its page would not refuse the principal, by the same policy."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.access.policy import Area, Kind, Target, may_manage, may_reach
from switchboard.access.principal import Principal


@dataclass(frozen=True, slots=True)
class Section:
    """A page of the navigation, and what it is for (the home page lists them). `area`: the API
    area its page enforces (console_page's). `manages`: a page for managing this kind in the
    principal's tenant (its services refuse everyone else)."""

    path: str
    label: str
    about: str
    area: Area | None = None
    manages: Kind | None = None


ACCOUNTS = Section(
    "/console/accounts/", "Users | Accounts", "Who signs in, and their API keys.", Area.ACCOUNTS
)
TEAMS = Section("/console/teams/", "Team Management", "Teams, their members and rosters.", Area.ACCOUNTS)
TEMPLATES = Section(
    "/console/templates/",
    "Campaign templates",
    "Templates, and the team that sees each one's campaigns.",
    Area.CAMPAIGNS,
)
CAMPAIGNS = Section(
    "/console/campaigns/", "Campaigns", "Campaigns, their leads and lead imports.", Area.CAMPAIGNS
)
DIRECTORY = Section(
    "/console/directory/", "Directory", "Tenants, groups, end users and service users.", Area.DIRECTORY
)
CALLS = Section("/console/calls/", "Live calls", "Calls in progress: record them, hang them up.", Area.CALLS)
AUDIT = Section("/console/audit/", "Audit log", "Who did what, and what was refused.", Area.AUDIT)
SETTINGS = Section(
    "/console/settings/",
    "Settings",
    "System settings, the IP allowlist and the global API key.",
    Area.SETTINGS,
)
TENANT_KEYS = Section(
    "/console/settings/tenant-keys/",
    "Tenant keys",
    "Keys that act as a tenant's administrator (for Noojee and integrations).",
    Area.ACCOUNTS,
    Kind.TENANT_KEY,
)
# Home is the header's brand link, for everyone; the navigation lists the others.
SECTIONS = (ACCOUNTS, TEAMS, TEMPLATES, CAMPAIGNS, DIRECTORY, CALLS, AUDIT, SETTINGS, TENANT_KEYS)


def may_open(principal: Principal, section: Section) -> bool:
    if section.area is not None and not may_reach(principal, section.area):
        return False
    if section.manages is None or principal.tenant_pk is None:
        return True  # an account above tenants picks one first; the page then decides on it
    own = Target(section.manages, principal.tenant_pk, principal.group_pk, principal.reseller_pk)
    return may_manage(principal, own).allowed


def sections_for(principal: Principal) -> list[Section]:
    return [section for section in SECTIONS if may_open(principal, section)]


def shown_section(sections: list[Section], path: str) -> Section | None:
    """The section a page belongs to: the longest path it is under (an account's page is under
    Users | Accounts, a tenant key's under Tenant keys rather than Settings)."""
    under = [section for section in sections if path.startswith(section.path)]
    return max(under, key=lambda section: len(section.path), default=None)
