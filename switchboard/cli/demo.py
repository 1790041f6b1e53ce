"""A realistic, idempotent demo: two tenants' directories (groups, users, services) and contact centres."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.access.accounts import create_account
from switchboard.access.models import Account
from switchboard.access.passwords import generate_password
from switchboard.access.principal import CLI_PRINCIPAL
from switchboard.access.schemas import AccountCreate
from switchboard.contact_centre import service as contact_centre
from switchboard.contact_centre.models import Campaign, CampaignTemplate, Team, TeamMember
from switchboard.contact_centre.schemas import CampaignCreate, MemberBody, TeamCreate, TemplateCreate
from switchboard.directory import service
from switchboard.directory.models import Department, Domain, Group, ServiceUser, Tenant, User
from switchboard.directory.schemas import (
    SERVICE_MODELS,
    DepartmentCreate,
    DomainCreate,
    GroupCreate,
    TenantCreate,
    UserCreate,
)
from switchboard.errors import Conflict

FIRST_NAMES = (
    "Olivia Noah Amelia Jack Isla William Mia Oliver Ava Thomas Grace James Chloe Lucas Emily "
    "Henry Sophie Leo Zoe Charlie Ruby Ethan Lily Liam Harper Mason Ella Max Evie Samuel Matteo "
    "Giulia Lorenzo Sofia Luca Chiara Marco Anna Hannah Lukas Lena Felix Marie Jonas Emma Paul"
).split()
LAST_NAMES = (
    "Smith Jones Williams Brown Wilson Taylor Nguyen Johnson Martin White Anderson Walker Harris "
    "Thompson Ryan Kelly Lee King Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci "
    "Mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Schulz Dubois Laurent"
).split()
TITLES = ("Agent", "Senior Agent", "Team Leader", "Supervisor", "Account Manager", "Engineer")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
# Every demo template's outcomes and lead fields: what a typical outbound campaign records.
DISPOSITIONS = [
    {"name": "Sale", "final": True},
    {"name": "Callback", "final": False},
    {"name": "No answer", "final": False},
    {"name": "Not interested", "final": True},
]
LEAD_FIELDS = [
    {"name": "firstName", "type": "text", "required": True},
    {"name": "lastName", "type": "text"},
    {"name": "phone", "type": "phone", "phone": True},
    {"name": "mobile", "type": "phone", "phone": True},
    {"name": "email", "type": "email"},
]


@dataclass(frozen=True)
class DemoGroup:
    group_id: str
    name: str
    city: str
    country: str
    time_zone: str
    dial: str  # country code for numbers
    users: int
    # Users from here, services from here + 90: every group has its own hundred, across tenants too,
    # so a global-key call naming an extension (Noojee's stop, dial, subscribe) finds one end user.
    first_extension: int


@dataclass(frozen=True)
class DemoAgent:
    """An agent account, linked to the demo end user at this extension (it dials from there)."""

    group_id: str
    extension: int
    teams: tuple[str, ...]
    team_role: Literal["agent", "supervisor"] = "agent"


@dataclass(frozen=True)
class DemoTemplate:
    name: str
    team: str | None  # None: team-less, seen by whom the tenant's setting says
    dial_mode: str
    campaigns: tuple[tuple[str, str], ...]  # (name, status)


@dataclass(frozen=True)
class DemoContactCentre:
    # Set when the tenant is created: one demo tenant of each kind, so both answers can be explored.
    teamless_templates_visible_to: str
    contact_hours: dict[str, Any]
    agents: tuple[DemoAgent, ...]
    templates: tuple[DemoTemplate, ...]

    @property
    def teams(self) -> tuple[str, ...]:
        """The templates' teams, in order (the agents' teams are among them)."""
        return tuple(dict.fromkeys(team for template in self.templates if (team := template.team)))


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    type: str
    name: str
    domain: str
    groups: tuple[DemoGroup, ...]
    contact_centre: DemoContactCentre


DEMO = (
    DemoTenant(
        "acme",
        "ServiceProvider",
        "Acme Telecom",
        "acme.example",
        (
            DemoGroup("acme-sales", "Acme Sales", "Berlin", "Germany", "Europe/Berlin", "+4930", 60, 400),
            DemoGroup("acme-support", "Acme Support", "Milano", "Italy", "Europe/Rome", "+3902", 50, 500),
            DemoGroup(
                "acme-hq", "Acme Head Office", "Brussels", "Belgium", "Europe/Brussels", "+322", 20, 600
            ),
        ),
        DemoContactCentre(
            "admins",
            {"timeZone": "Europe/Berlin", "start": "09:00", "end": "18:00", "days": WEEKDAYS},
            (
                DemoAgent("acme-sales", 400, ("Outbound Sales",), "supervisor"),
                DemoAgent("acme-sales", 401, ("Outbound Sales", "Customer Retention")),
                DemoAgent("acme-support", 500, ("Customer Retention",)),
            ),
            (
                DemoTemplate(
                    "Spring Sale",
                    "Outbound Sales",
                    "progressive",
                    (("Spring Sale Germany", "active"), ("Spring Sale Italy", "paused")),
                ),
                DemoTemplate(
                    "Win-back", "Customer Retention", "preview", (("Win-back Lapsed Customers", "active"),)
                ),
                DemoTemplate(
                    "Customer Survey", None, "predictive", (("Annual Satisfaction Survey", "active"),)
                ),
            ),
        ),
    ),
    DemoTenant(
        "globex",
        "Enterprise",
        "Globex Corporation",
        "globex.example",
        (
            DemoGroup(
                "globex-syd", "Globex Sydney", "Sydney", "Australia", "Australia/Sydney", "+612", 50, 700
            ),
            DemoGroup(
                "globex-mel",
                "Globex Melbourne",
                "Melbourne",
                "Australia",
                "Australia/Melbourne",
                "+613",
                40,
                800,
            ),
        ),
        DemoContactCentre(
            "everyone",
            {"timeZone": "Australia/Melbourne", "start": "08:30", "end": "20:00", "days": [*WEEKDAYS, "sat"]},
            (
                DemoAgent("globex-syd", 700, ("Sydney Outbound",), "supervisor"),
                DemoAgent("globex-syd", 701, ("Sydney Outbound",)),
                DemoAgent("globex-mel", 800, ("Melbourne Renewals",)),
            ),
            (
                DemoTemplate(
                    "New Connections",
                    "Sydney Outbound",
                    "predictive",
                    (("NSW New Connections", "active"), ("NSW Broadband Upgrades", "active")),
                ),
                DemoTemplate(
                    "Contract Renewals", "Melbourne Renewals", "progressive", (("VIC Renewals", "active"),)
                ),
                DemoTemplate(
                    "Service Follow-up",
                    None,
                    "preview",
                    (("Installation Follow-up", "active"), ("Fault Follow-up", "finished")),
                ),
            ),
        ),
    ),
)

# (name, parent) at tenant level, then per group.
TENANT_DEPARTMENTS = (("Operations", None), ("Customer Care", "Operations"), ("Finance", None))
GROUP_DEPARTMENTS = (("Tier 1", "Customer Care"), ("Tier 2", "Tier 1"), ("Sales Desk", None))

SERVICES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("ivr", "main-menu", "Main Menu", {"type": "Standard"}),
    ("call_center", "queue-basic", "Callback Queue", {"type": "Basic"}),
    ("call_center", "queue-standard", "Customer Service", {"type": "Standard", "policy": "Uniform"}),
    ("call_center", "queue-premium", "Priority Support", {"type": "Premium", "policy": "Weighted"}),
    ("hunt_group", "hunt-reception", "Reception", {"policy": "Simultaneous"}),
    ("route_point", "route-overflow", "Overflow", {"queueLength": 25}),
)


@dataclass
class DemoSummary:
    tenants: int = 0
    groups: int = 0
    departments: int = 0
    users: int = 0
    service_users: int = 0
    accounts: int = 0
    teams: int = 0
    team_members: int = 0
    campaign_templates: int = 0
    campaigns: int = 0


def _exists(session: Session, stmt: Any) -> bool:
    return session.scalar(stmt) is not None


# The demo's tenant administrator (the agents' accounts are named after their extensions).
TENANT_ADMIN = ("acme", "acme.admin")
# An account only a demo from before globex moved to the 700s has: its extensions overlap acme's.
OVERLAPPING_DEMO = "globex.agent400"


def load_demo(session: Session) -> DemoSummary:
    """Create whatever part of the demo is missing; running it again creates nothing."""
    if _exists(session, select(Account.pk).where(Account.username_key == OVERLAPPING_DEMO)):
        raise Conflict(
            "this data directory holds an older demo whose globex extensions are acme's too, so it "
            "cannot be completed; remove the data directory and load the demo again"
        )
    made = DemoSummary()
    rng = random.Random(20261122)  # fixed seed: the same demo every time
    for tenant in DEMO:
        if not _exists(session, select(Tenant.pk).where(Tenant.tenant_key == tenant.tenant_id)):
            service.create_tenant(
                session,
                CLI_PRINCIPAL,
                TenantCreate.model_validate(
                    {
                        "tenantId": tenant.tenant_id,
                        "type": tenant.type,
                        "name": tenant.name,
                        "defaultDomain": tenant.domain,
                        "supportEmail": f"support@{tenant.domain}",
                        "useCustomRoutingProfile": tenant.type == "ServiceProvider",
                        "contact": {"contactName": "Operations Desk", "contactEmail": f"ops@{tenant.domain}"},
                        "teamlessTemplatesVisibleTo": tenant.contact_centre.teamless_templates_visible_to,
                    }
                ),
            )
            made.tenants += 1
        if not _exists(session, select(Domain.pk).where(Domain.name_key == tenant.domain)):
            service.add_domain(session, CLI_PRINCIPAL, tenant.tenant_id, DomainCreate(domain=tenant.domain))
        made.departments += _departments(session, tenant.tenant_id, None, TENANT_DEPARTMENTS)
        for group in tenant.groups:
            made.groups += _group(session, tenant, group)
            made.departments += _departments(session, tenant.tenant_id, group.group_id, GROUP_DEPARTMENTS)
            made.users += _users(session, tenant, group, rng)
            made.service_users += _services(session, tenant, group)
        _contact_centre(session, tenant, made)
    made.accounts += _tenant_admin(session)
    return made


def _tenant_admin(session: Session) -> int:
    tenant_id, username = TENANT_ADMIN
    if _exists(session, select(Account.pk).where(Account.username_key == username)):
        return 0
    body = {
        "username": username,
        "password": generate_password(),  # never shown: demo_env sets the one it writes down
        "displayName": "Acme Administrator",
        "email": f"admin@{tenant_id}.example",
        "role": "tenant_admin",
        "tenantId": tenant_id,
    }
    create_account(session, CLI_PRINCIPAL, AccountCreate.model_validate(body))
    return 1


def _group(session: Session, tenant: DemoTenant, group: DemoGroup) -> int:
    tenant_pk = select(Tenant.pk).where(Tenant.tenant_key == tenant.tenant_id).scalar_subquery()
    if _exists(
        session, select(Group.pk).where(Group.tenant_pk == tenant_pk, Group.group_key == group.group_id)
    ):
        return 0
    service.create_group(
        session,
        CLI_PRINCIPAL,
        tenant.tenant_id,
        GroupCreate.model_validate(
            {
                "groupId": group.group_id,
                "groupName": group.name,
                "defaultDomain": tenant.domain,
                "userLimit": group.users + 25,
                "cliName": group.name,
                "cliPhoneNumber": f"{group.dial}5550000",
                "timeZone": group.time_zone,
                "addressInformation": {
                    "addressLine1": "1 Main Street",
                    "city": group.city,
                    "country": group.country,
                },
            }
        ),
    )
    return 1


def _departments(
    session: Session, tenant_id: str, group_id: str | None, wanted: tuple[tuple[str, str | None], ...]
) -> int:
    tenant = service.find_tenant(session, CLI_PRINCIPAL, tenant_id)
    group_pk = service.find_group(session, CLI_PRINCIPAL, tenant_id, group_id).pk if group_id else None
    made = 0
    for name, parent in wanted:
        found = select(Department.pk).where(
            Department.tenant_pk == tenant.pk,
            Department.scope_pk == (group_pk or 0),
            Department.name_key == name.lower(),
        )
        if not _exists(session, found):
            service.create_department(
                session, CLI_PRINCIPAL, tenant_id, group_id, DepartmentCreate(name=name, parent=parent)
            )
            made += 1
    return made


def _users(session: Session, tenant: DemoTenant, group: DemoGroup, rng: random.Random) -> int:
    made = 0
    for index in range(group.users):
        # Draw before the existence check so each user's data is the same on every run.
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        title, department = rng.choice(TITLES), rng.choice(("Tier 1", "Tier 2", "Sales Desk", None))
        mobile = f"{group.dial[:3]}4{rng.randrange(10**7, 10**8)}"
        extension = str(group.first_extension + index)
        user_id = f"{first.lower()}.{last.lower()}.{extension}@{tenant.domain}"
        if _exists(session, select(User.pk).where(User.user_key == user_id)):
            continue
        number = f"{group.dial}555{extension.zfill(4)}"
        service.create_user(
            session,
            CLI_PRINCIPAL,
            tenant.tenant_id,
            group.group_id,
            UserCreate.model_validate(
                {
                    "userId": user_id,
                    "firstName": first,
                    "lastName": last,
                    "cliFirstName": first,
                    "cliLastName": last,
                    "phoneNumber": number,
                    "extension": extension,
                    "cliPhoneNumber": number,
                    "title": title,
                    "language": "English",
                    "timeZone": group.time_zone,
                    "emailAddress": f"{first.lower()}.{last.lower()}@{tenant.domain}",
                    "mobilePhoneNumber": mobile,
                    "addressLocation": f"{group.city} floor {1 + index % 4}",
                    "address": {
                        "addressLine1": f"{1 + index} Main Street",
                        "city": group.city,
                        "country": group.country,
                    },
                    "networkClassOfService": "National",
                    "department": {"departmentName": department, "groupId": group.group_id}
                    if department
                    else None,
                    "devices": [
                        {
                            "deviceName": f"{group.group_id}-desk-{extension}",
                            "deviceType": "Polycom VVX 450",
                            "linePort": f"{extension}@{tenant.domain}",
                        }
                    ],
                }
            ),
        )
        made += 1
    return made


def _services(session: Session, tenant: DemoTenant, group: DemoGroup) -> int:
    made = 0
    for offset, (kind, local, name, settings) in enumerate(SERVICES):
        user_id = f"{group.group_id}-{local}@{tenant.domain}"
        if _exists(session, select(ServiceUser.pk).where(ServiceUser.service_user_key == user_id)):
            continue
        extension = str(group.first_extension + 90 + offset)
        create_model = SERVICE_MODELS[kind][0]
        body = create_model.model_validate(
            {
                "serviceUserId": user_id,
                "serviceInstanceProfile": {
                    "name": f"{group.name} {name}",
                    "callingLineIdLastName": name,
                    "callingLineIdFirstName": group.name,
                    "extension": extension,
                    "phoneNumber": f"{group.dial}555{extension.zfill(4)}",
                    "language": "English",
                    "timeZone": group.time_zone,
                },
                **settings,
            }
        )
        service.create_service_user(session, CLI_PRINCIPAL, tenant.tenant_id, group.group_id, kind, body)
        made += 1
    return made


def _contact_centre(session: Session, tenant: DemoTenant, made: DemoSummary) -> None:
    """Teams and their agents, one template per team and a team-less one, and their campaigns."""
    tenant_pk = service.find_tenant(session, CLI_PRINCIPAL, tenant.tenant_id).pk
    centre = tenant.contact_centre
    teams = {name: _team(session, tenant.tenant_id, tenant_pk, name, made) for name in centre.teams}
    for agent in centre.agents:
        account = _agent(session, tenant, agent, made)
        for team in agent.teams:
            if session.get(TeamMember, (teams[team], account.pk)) is None:
                body = MemberBody(username=account.username, role=agent.team_role)
                contact_centre.add_member(session, CLI_PRINCIPAL, tenant.tenant_id, team, body)
                made.team_members += 1
    for template in centre.templates:
        template_pk = _template(session, tenant, tenant_pk, template, made)
        for name, status in template.campaigns:
            found = select(Campaign.pk).where(
                Campaign.tenant_pk == tenant_pk, Campaign.name_key == name.lower()
            )
            if not _exists(session, found):
                campaign = CampaignCreate.model_validate(
                    {"name": name, "templateId": template_pk, "status": status}
                )
                contact_centre.create_campaign(session, CLI_PRINCIPAL, tenant.tenant_id, campaign)
                made.campaigns += 1


def _team(session: Session, tenant_id: str, tenant_pk: int, name: str, made: DemoSummary) -> int:
    team_pk = session.scalar(
        select(Team.pk).where(Team.tenant_pk == tenant_pk, Team.name_key == name.lower())
    )
    if team_pk is None:
        team_pk = contact_centre.create_team(session, CLI_PRINCIPAL, tenant_id, TeamCreate(name=name))[1].pk
        made.teams += 1
    return team_pk


def _agent(session: Session, tenant: DemoTenant, agent: DemoAgent, made: DemoSummary) -> Account:
    """The agent's account, named after its tenant and extension, linked to the end user there."""
    username = f"{tenant.tenant_id}.agent{agent.extension}"
    account = session.scalar(select(Account).where(Account.username_key == username))
    if account is not None:
        return account
    group = service.find_group(session, CLI_PRINCIPAL, tenant.tenant_id, agent.group_id)
    user = session.scalars(
        select(User).where(User.group_pk == group.pk, User.extension == str(agent.extension))
    ).one()
    body = AccountCreate.model_validate(
        {
            "username": username,
            # Never shown: demo.env's agents get theirs from demo_env (written there); the others'
            # are set with `switchboard accounts set-password`. Access explain needs none.
            "password": generate_password(),
            "displayName": f"{user.first_name} {user.last_name}",
            "email": user.email_address,
            "role": "user",
            "tenantId": tenant.tenant_id,
            "groupId": agent.group_id,
            "linkedUserId": user.user_id,
        }
    )
    made.accounts += 1
    return create_account(session, CLI_PRINCIPAL, body)


def _template(
    session: Session, tenant: DemoTenant, tenant_pk: int, template: DemoTemplate, made: DemoSummary
) -> int:
    template_pk = session.scalar(
        select(CampaignTemplate.pk).where(
            CampaignTemplate.tenant_pk == tenant_pk, CampaignTemplate.name_key == template.name.lower()
        )
    )
    if template_pk is not None:
        return template_pk
    body = TemplateCreate.model_validate(
        {
            "name": template.name,
            "team": template.team,
            "dialMode": template.dial_mode,
            "dispositions": DISPOSITIONS,
            "leadFields": LEAD_FIELDS,
            "contactHours": tenant.contact_centre.contact_hours,
        }
    )
    made.campaign_templates += 1
    return contact_centre.create_template(session, CLI_PRINCIPAL, tenant.tenant_id, body).pk
