"""A realistic, idempotent demo directory: two tenants, groups, departments, users and services."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from switchboard.access.principal import CLI_PRINCIPAL
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


@dataclass(frozen=True)
class DemoGroup:
    group_id: str
    name: str
    city: str
    country: str
    time_zone: str
    dial: str  # country code for numbers
    users: int
    first_extension: int


@dataclass(frozen=True)
class DemoTenant:
    tenant_id: str
    type: str
    name: str
    domain: str
    groups: tuple[DemoGroup, ...]


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
    ),
    DemoTenant(
        "globex",
        "Enterprise",
        "Globex Corporation",
        "globex.example",
        (
            DemoGroup(
                "globex-syd", "Globex Sydney", "Sydney", "Australia", "Australia/Sydney", "+612", 50, 400
            ),
            DemoGroup(
                "globex-mel",
                "Globex Melbourne",
                "Melbourne",
                "Australia",
                "Australia/Melbourne",
                "+613",
                40,
                500,
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


def _exists(session: Session, stmt: Any) -> bool:
    return session.scalar(stmt) is not None


def load_demo(session: Session) -> DemoSummary:
    """Create whatever part of the demo is missing; running it again creates nothing."""
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
    return made


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
