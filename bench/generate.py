"""Bulk directory generator: N end users in groups of 100, inserted in large batches (not via the API)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, insert, select

from switchboard.contact_centre.models import Campaign, CampaignTemplate, Team
from switchboard.db.base import utcnow
from switchboard.db.engine import Database
from switchboard.directory.models import Domain, Group, Tenant, User

USERS_PER_GROUP = 100
GROUPS_PER_TENANT = 10  # 1M users: 10k groups in 1k tenants, the scale issue 9 names
BATCH = 20_000

FIRST = "Olivia Noah Amelia Jack Isla William Mia Oliver Ava Thomas Grace James Chloe Lucas".split()
LAST = "Smith Jones Williams Brown Wilson Taylor Nguyen Johnson Martin White Rossi Mueller".split()


def bench_user_id(tenant: int, group: int, index: int) -> str:
    return f"u{group:06d}x{index:03d}@bench{tenant}.example"


def _user_rows(n_users: int, tenant_pks: list[int], group_pks: list[int]) -> Iterator[dict[str, Any]]:
    rng = random.Random(7)
    now = utcnow()
    for n in range(n_users):
        group, index = divmod(n, USERS_PER_GROUP)
        tenant = group // GROUPS_PER_TENANT
        user_id = bench_user_id(tenant, group, index)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        yield {
            "tenant_pk": tenant_pks[tenant],
            "group_pk": group_pks[group],
            "user_id": user_id,
            "user_key": user_id,
            "last_name": last,
            "first_name": first,
            "cli_last_name": last,
            "cli_first_name": first,
            "phone_number": f"+3222{n:08d}",
            "extension": str(1000 + n % 100_000),
            "cli_phone_number": "",
            "department_pk": None,
            "language": "English",
            "time_zone": "Europe/Brussels",
            "title": "Agent",
            "pager_phone_number": "",
            "mobile_phone_number": f"+32470{n:07d}",
            "email_address": f"{first.lower()}.{n}@example.com",
            "yahoo_id": "",
            "address_location": "Floor 2",
            "address": {"addressLine1": f"{n} Main Street", "city": "Brussels", "country": "Belgium"},
            "network_class_of_service": "National",
            "devices": [],
            "trunk_addressing": None,
            "created_at": now,
            "updated_at": now,
        }


def generate(db: Database, n_users: int, progress: bool = True) -> float:
    """Fill an empty, migrated database; returns seconds taken. Idempotent for the same N."""
    with db.transaction() as session:
        existing = session.scalar(select(func.count()).select_from(User)) or 0
    if existing >= n_users:
        return 0.0
    if existing:
        raise SystemExit(f"database holds {existing} users, fewer than {n_users}: use a fresh one")
    started = time.perf_counter()
    n_groups = -(-n_users // USERS_PER_GROUP)
    n_tenants = -(-n_groups // GROUPS_PER_TENANT)
    now = utcnow()
    with db.transaction() as session:
        session.execute(
            insert(Tenant),
            [
                {
                    "tenant_id": f"bench{t}",
                    "tenant_key": f"bench{t}",
                    "type": "Enterprise",
                    "name": f"Bench {t}",
                    "default_domain": f"bench{t}.example",
                    "support_email": "",
                    "use_custom_routing_profile": False,
                    "use_tenant_languages": False,
                    "contact": {},
                    "address_information": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for t in range(n_tenants)
            ],
        )
        tenant_pks = list(session.scalars(select(Tenant.pk).order_by(Tenant.pk)))
        session.execute(
            insert(Domain),
            [
                {
                    "tenant_pk": pk,
                    "name": f"bench{t}.example",
                    "name_key": f"bench{t}.example",
                    "created_at": now,
                }
                for t, pk in enumerate(tenant_pks)
            ],
        )
        groups = []
        for g in range(n_groups):
            size = min(USERS_PER_GROUP, n_users - g * USERS_PER_GROUP)
            groups.append(
                {
                    "tenant_pk": tenant_pks[g // GROUPS_PER_TENANT],
                    "group_id": f"g{g:06d}",
                    "group_key": f"g{g:06d}",
                    "group_name": f"Group {g}",
                    "default_domain": "",
                    "user_limit": 1000,
                    "user_count": size,
                    "cli_name": "",
                    "cli_phone_number": "",
                    "time_zone": "Europe/Brussels",
                    "location_dialing_code": "",
                    "contact": {},
                    "address_information": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, len(groups), BATCH):
            session.execute(insert(Group), groups[start : start + BATCH])
        group_pks = list(session.scalars(select(Group.pk).order_by(Group.pk)))
    batch: list[dict[str, Any]] = []
    done = 0
    for row in _user_rows(n_users, tenant_pks, group_pks):
        batch.append(row)
        if len(batch) == BATCH:
            with db.transaction() as session:
                session.execute(insert(User), batch)
            done += len(batch)
            batch = []
            if progress:
                print(f"\r  users {done:,}/{n_users:,}", end="", flush=True)
    if batch:
        with db.transaction() as session:
            session.execute(insert(User), batch)
    if progress:
        print(f"\r  users {n_users:,}/{n_users:,} in {time.perf_counter() - started:.1f}s")
    return time.perf_counter() - started


TEMPLATES = 1000  # one team each
CAMPAIGNS_PER_TEMPLATE = 10  # so 10k campaigns in the tenant
LEAD_FIELDS = [
    {"name": "firstName", "type": "text", "required": True, "phone": False},
    {"name": "lastName", "type": "text", "required": False, "phone": False},
    {"name": "phone", "type": "phone", "required": False, "phone": True},
    {"name": "email", "type": "email", "required": False, "phone": False},
]


def generate_contact_centre(db: Database, tenant_id: str = "bench0") -> None:
    """Teams, templates and 10k campaigns in one tenant (idempotent): the campaign-list bench."""
    with db.transaction() as session:
        tenant_pk = session.scalar(select(Tenant.pk).where(Tenant.tenant_id == tenant_id))
        if session.scalar(select(func.count()).select_from(Campaign)):
            return
        now = utcnow()
        session.execute(
            insert(Team),
            [
                {
                    "tenant_pk": tenant_pk,
                    "name": f"team {n:04d}",
                    "name_key": f"team {n:04d}",
                    "created_at": now,
                }
                for n in range(TEMPLATES)
            ],
        )
        teams = list(session.scalars(select(Team.pk).where(Team.tenant_pk == tenant_pk).order_by(Team.pk)))
        session.execute(
            insert(CampaignTemplate),
            [
                {
                    "tenant_pk": tenant_pk,
                    "name": f"template {n:04d}",
                    "name_key": f"template {n:04d}",
                    "team_pk": team_pk,
                    "dial_mode": "progressive",
                    "dispositions": [{"name": "Sale", "final": True}, {"name": "No answer", "final": False}],
                    "lead_fields": LEAD_FIELDS,
                    "contact_hours": {
                        "timeZone": "Australia/Melbourne",
                        "start": "09:00",
                        "end": "17:00",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                    },
                    "created_at": now,
                }
                for n, team_pk in enumerate(teams)
            ],
        )
        templates = session.scalars(
            select(CampaignTemplate.pk)
            .where(CampaignTemplate.tenant_pk == tenant_pk)
            .order_by(CampaignTemplate.pk)
        ).all()
        session.execute(
            insert(Campaign),
            [
                {
                    "tenant_pk": tenant_pk,
                    "template_pk": template_pk,
                    "name": f"campaign {n:04d}-{c}",
                    "name_key": f"campaign {n:04d}-{c}",
                    "status": "active",
                    "created_at": now,
                }
                for n, template_pk in enumerate(templates)
                for c in range(CAMPAIGNS_PER_TEMPLATE)
            ],
        )
