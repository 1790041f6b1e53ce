"""Keyset pagination under concurrent inserts: accounts, a group's users, the audit log, a campaign's leads.

A reader walks every page with a small limit while another client (a second app on the same
database, as another worker process would be) inserts rows between the reader's page requests:
before the reader's position, just after it and at the far end. Every row that existed when the
walk began (read from the database itself, not through the list) must be seen exactly once, no
row may be seen twice, nothing that never existed may appear, and the pages keep the list's order.
An offset-paged list fails this: a row inserted before the position shifts the rest by one, so a
row is repeated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from switchboard.access.models import Account
from switchboard.audit.models import AuditEntry
from switchboard.contact_centre.models import Lead
from switchboard.db.engine import Database
from switchboard.directory.models import Group, Tenant, User
from switchboard.settings import Settings
from tests.support.clients import make_client
from tests.support.factories import created, make_group, make_tree, make_user
from tests.support.pages import items_of

PASSWORD = "a long enough password"
LIMIT = 4


@pytest.fixture
def writer(settings: Settings, global_key: str) -> Iterator[TestClient]:
    """The other client: a second app instance on the same database (another worker process)."""
    with make_client(settings, client=("127.0.0.1", 50001)) as client:
        client.headers["Authorization"] = f"Bearer {global_key}"
        yield client


def walk(
    reader: TestClient,
    path: str,
    key: Callable[[dict[str, Any]], Hashable],
    between_pages: Callable[[int, Hashable], None],
) -> list[Hashable]:
    """Every page of `path`, `LIMIT` at a time; `between_pages(page, last key seen)` runs after
    each page that has a next one. The keys seen, in the order the pages gave them."""
    seen: list[Hashable] = []
    cursor: str | None = None
    for page in range(200):
        params: dict[str, str | int] = {"limit": LIMIT}
        if cursor is not None:
            params["cursor"] = cursor
        response = reader.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items = items_of(body, path)
        assert len(items) <= LIMIT
        keys = [key(item) for item in items]
        again = set(keys) & set(seen)
        assert not again, f"page {page} repeats rows already seen: {sorted(map(str, again))}"
        seen += keys
        cursor = body["nextCursor"]
        if cursor is None:
            return seen
        assert items, "a page with a next cursor but no rows"
        between_pages(page, seen[-1])
    raise AssertionError("the walk did not end")


def assert_each_once(seen: list[Hashable], existing: set[Hashable], inserted: set[Hashable]) -> None:
    repeated = sorted(str(k) for k, n in Counter(seen).items() if n > 1)
    assert not repeated, f"seen more than once: {repeated}"
    skipped = sorted(str(k) for k in existing - set(seen))
    assert not skipped, f"rows that existed throughout were skipped: {skipped}"
    unknown = sorted(str(k) for k in set(seen) - existing - inserted)
    assert not unknown, f"rows that were never inserted: {unknown}"


def test_accounts(api: TestClient, writer: TestClient, db: Database) -> None:
    for n in range(0, 40, 2):
        created(
            api.post(
                "/api/v1/accounts/", json={"username": f"m{n:02d}", "password": PASSWORD, "role": "system"}
            )
        )
    with db.transaction() as session:
        existing: set[Hashable] = set(session.scalars(select(Account.username_key)))
    assert len(existing) == 21  # admin and the twenty above
    assert api.get("/api/v1/accounts/", params={"limit": 1}).json()["total"] == len(existing)
    inserted: set[Hashable] = set()
    ahead: set[Hashable] = set()  # inserted after the reader's position: the walk must reach them

    def insert(page: int, last: Hashable) -> None:
        # Before the reader's position, right after it (still to come), and at both ends.
        number = int(str(last)[1:3]) if str(last).startswith("m") else 0
        for name in (
            f"a{page:02d}",
            f"m{max(number - 1, 0):02d}x{page}",
            f"m{number:02d}a{page}",
            f"z{page:02d}",
        ):
            account = {"username": name, "password": PASSWORD, "role": "system"}
            created(writer.post("/api/v1/accounts/", json=account))
            inserted.add(name)
            if name > str(last):
                ahead.add(name)

    seen = walk(api, "/api/v1/accounts/", lambda item: item["username"].lower(), insert)
    assert_each_once(seen, existing, inserted)
    assert seen == sorted(seen, key=str)
    assert len(inserted) >= 16  # the walk really ran under inserts
    assert set(seen) == existing | ahead  # keyset: what lands behind the position is not seen, the rest is


def test_a_groups_users(api: TestClient, writer: TestClient, db: Database) -> None:
    make_tree(api)
    make_group(api, "t1", "g2")
    for n in range(0, 40, 2):
        make_user(api, "t1", "g1", f"m{n:02d}@t1.example")
    make_user(api, "t1", "g2", "m05@t1.example")  # another group's: never listed
    with db.transaction() as session:
        existing: set[Hashable] = set(
            session.scalars(
                select(User.user_key)
                .join(Group, Group.pk == User.group_pk)
                .join(Tenant, Tenant.pk == Group.tenant_pk)
                .where(Tenant.tenant_id == "t1", Group.group_id == "g1")
            )
        )
    assert len(existing) == 20
    path = "/api/v1/tenants/t1/groups/g1/users/"
    assert api.get(path, params={"limit": 1}).json()["total"] == len(existing)
    inserted: set[Hashable] = set()
    ahead: set[Hashable] = set()

    def insert(page: int, last: Hashable) -> None:
        number = int(str(last)[1:3]) if str(last).startswith("m") else 0
        # Mixed case: the list is ordered by the lower-cased id.
        for user_id in (
            f"A{page:02d}",
            f"m{max(number - 1, 0):02d}x{page}",
            f"M{number:02d}a{page}",
            f"z{page:02d}",
        ):
            full = f"{user_id}@t1.example"
            make_user(writer, "t1", "g1", full)
            make_user(writer, "t1", "g2", f"{user_id}.other@t1.example")
            inserted.add(full.lower())
            if full.lower() > str(last):
                ahead.add(full.lower())

    seen = walk(api, path, lambda item: item["userId"].lower(), insert)
    assert_each_once(seen, existing, inserted)
    assert seen == sorted(seen, key=str)
    assert len(inserted) >= 16
    assert set(seen) == existing | ahead


def _flush_audit(client: TestClient) -> None:
    """Each app buffers its audit entries; reading the log writes the reader's own first."""
    assert client.get("/api/v1/audit/", params={"limit": 1}).status_code == 200


def test_the_audit_log(api: TestClient, writer: TestClient, db: Database) -> None:
    for n in range(24):
        created(api.post("/api/v1/tenants/", json={"tenantId": f"pre{n:02d}", "type": "Enterprise"}))
    _flush_audit(api)
    _flush_audit(writer)
    with db.transaction() as session:
        existing: set[Hashable] = set(session.scalars(select(AuditEntry.pk)))
    assert len(existing) >= 24
    inserted_tenants = 0

    def insert(page: int, last: Hashable) -> None:
        # Newest first: every new entry lands before the reader's position.
        nonlocal inserted_tenants
        for n in range(3):
            created(
                writer.post("/api/v1/tenants/", json={"tenantId": f"new{page:02d}{n}", "type": "Enterprise"})
            )
            inserted_tenants += 1
        assert writer.get("/api/v1/tenants/nothing-here/").status_code == 404  # a refusal, audited too
        _flush_audit(writer)

    seen = walk(api, "/api/v1/audit/", lambda item: int(item["id"]), insert)
    with db.transaction() as session:
        now: set[Hashable] = set(session.scalars(select(AuditEntry.pk)))
    assert_each_once(seen, existing, now - existing)
    assert seen == sorted(seen, key=lambda pk: -int(str(pk)))
    assert len(now - existing) >= inserted_tenants >= 15
    # The walk began at the newest entry: nothing written during it is in the pages.
    assert set(seen) == existing


def test_a_campaigns_leads(api: TestClient, writer: TestClient, db: Database) -> None:
    make_tree(api)
    template = created(
        api.post(
            "/api/v1/tenants/t1/campaign-templates/",
            json={"name": "T", "leadFields": [{"name": "phone", "type": "phone"}]},
        )
    )["id"]
    campaigns = [
        created(api.post("/api/v1/tenants/t1/campaigns/", json={"name": name, "templateId": template}))["id"]
        for name in ("C", "other")
    ]
    path = f"/api/v1/tenants/t1/campaigns/{campaigns[0]}/leads/"

    def leads(client: TestClient, campaign: int, names: list[str]) -> set[Hashable]:
        body = {
            "leads": [
                {"externalId": name, "fields": {"phone": f"03 9000 {n:04d}"}} for n, name in enumerate(names)
            ],
            "allowDuplicates": True,
        }
        answer = created(
            client.post(f"/api/v1/tenants/t1/campaigns/{campaign}/leads/", json=body), status=200
        )
        assert answer["written"] == len(names), answer
        return {row["id"] for row in answer["results"]}

    leads(api, campaigns[0], [f"pre-{n}" for n in range(22)])
    leads(api, campaigns[1], [f"other-pre-{n}" for n in range(5)])
    with db.transaction() as session:
        existing: set[Hashable] = set(
            session.scalars(select(Lead.pk).where(Lead.campaign_pk == campaigns[0]))
        )
    assert len(existing) == 22
    assert api.get(path, params={"limit": 1}).json()["total"] == len(existing)
    inserted: set[Hashable] = set()

    def insert(page: int, last: Hashable) -> None:
        inserted.update(leads(writer, campaigns[0], [f"new-{page}-a", f"new-{page}-b"]))
        leads(writer, campaigns[1], [f"other-new-{page}"])  # interleaved ids of another campaign

    seen = walk(api, path, lambda item: int(item["id"]), insert)
    assert_each_once(seen, existing, inserted)
    assert seen == sorted(seen, key=lambda pk: int(str(pk)))
    assert len(inserted) >= 10
    # Ids only grow, so rows inserted while walking are after the position: all of them are seen.
    assert set(seen) == existing | inserted
