"""The console's sections and which of them the signed-in principal may open: the navigation
offers a section exactly when its page would not refuse the principal, by the same policy."""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.access.policy import Area, Kind, Target, may_manage, may_reach
from switchboard.access.principal import Principal


@dataclass(frozen=True, slots=True)
class Section:
    """A page of the navigation. `area`: the API area its page enforces (console_page's). `manages`:
    a page for managing this kind in the principal's tenant (its services refuse everyone else)."""

    path: str
    label: str
    area: Area | None = None
    manages: Kind | None = None


HOME = Section("/console/", "Home")
ACCOUNTS = Section("/console/accounts/", "Users | Accounts", Area.ACCOUNTS)
TEAMS = Section("/console/teams/", "Team Management", Area.ACCOUNTS)
TEMPLATES = Section("/console/templates/", "Campaign templates", Area.CAMPAIGNS)
CAMPAIGNS = Section("/console/campaigns/", "Campaigns", Area.CAMPAIGNS)
DIRECTORY = Section("/console/directory/", "Directory", Area.DIRECTORY)
CALLS = Section("/console/calls/", "Live calls", Area.CALLS)
AUDIT = Section("/console/audit/", "Audit log", Area.AUDIT)
SETTINGS = Section("/console/settings/", "Settings", Area.SETTINGS)
TENANT_KEYS = Section("/console/settings/tenant-keys/", "Tenant keys", Area.ACCOUNTS, Kind.TENANT_KEY)
SECTIONS = (HOME, ACCOUNTS, TEAMS, TEMPLATES, CAMPAIGNS, DIRECTORY, CALLS, AUDIT, SETTINGS, TENANT_KEYS)


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
    Users | Accounts, a tenant key's under Tenant keys rather than Settings); Home is itself only."""
    under = [s for s in sections if path == s.path or (s is not HOME and path.startswith(s.path))]
    return max(under, key=lambda section: len(section.path), default=None)
