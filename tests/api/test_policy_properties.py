"""Property: in random directories, no principal reads or changes anything outside its view.

The expected view is computed here from design section 2, independently of the policy module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.access_world import PASSWORD, login
from tests.support.clients import initialise_cheaply, make_client


@dataclass(frozen=True)
class Spec:
    groups: tuple[tuple[int, int], ...]  # (tenant index, users in group)
    accounts: tuple[tuple[str, int, int], ...]  # (role, group index, user index to link for "user")
    # Contact centre: teams "A" and "B" in every tenant; templates (tenant, team index or None),
    # one campaign each; the teams (indexes) each account is a member of, in its own tenant.
    templates: tuple[tuple[int, int | None], ...] = ()
    memberships: tuple[frozenset[int], ...] = ()


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    n_tenants = draw(st.integers(1, 3))
    groups = tuple(
        (tenant, draw(st.integers(1, 3)))
        for tenant in range(n_tenants)
        for _ in range(draw(st.integers(1, 2)))
    )
    roles = st.sampled_from(["tenant_admin", "group_admin", "user"])
    accounts = tuple(
        (draw(roles), draw(st.integers(0, len(groups) - 1)), draw(st.integers(0, 2)))
        for _ in range(draw(st.integers(1, 4)))
    )
    templates = tuple(
        (draw(st.integers(0, n_tenants - 1)), draw(st.sampled_from([None, 0, 1])))
        for _ in range(draw(st.integers(0, 4)))
    )
    memberships = tuple(draw(st.frozensets(st.integers(0, 1))) for _ in accounts)
    return Spec(groups, accounts, templates, memberships)


@dataclass(frozen=True)
class Obj:
    tenant: int
    group: int
    user: int

    @property
    def user_id(self) -> str:
        return f"u{self.group}x{self.user}@t{self.tenant}.example"

    def path(self) -> str:
        return f"/api/v1/tenants/t{self.tenant}/groups/g{self.group}/users/{self.user_id}/"


def _sees(role: str, me: Obj, user: Obj) -> bool:
    if role == "tenant_admin":
        return user.tenant == me.tenant
    if role == "group_admin":
        return user.group == me.group
    return user == me


def _manages(role: str, me: Obj, user: Obj) -> bool:
    return role != "user" and _sees(role, me, user)


def _run(client: TestClient, global_key: str, spec: Spec) -> None:
    system = {"Authorization": f"Bearer {global_key}"}
    users: list[Obj] = []
    for tenant in sorted({t for t, _ in spec.groups}):
        assert (
            client.post(
                "/api/v1/tenants/", json={"tenantId": f"t{tenant}", "type": "Enterprise"}, headers=system
            ).status_code
            == 201
        )
        assert (
            client.post(
                f"/api/v1/tenants/t{tenant}/domains/", json={"domain": f"t{tenant}.example"}, headers=system
            ).status_code
            == 201
        )
    for group, (tenant, n_users) in enumerate(spec.groups):
        assert (
            client.post(
                f"/api/v1/tenants/t{tenant}/groups/", json={"groupId": f"g{group}"}, headers=system
            ).status_code
            == 201
        )
        for index in range(n_users):
            obj = Obj(tenant, group, index)
            body = {"userId": f"u{group}x{index}@t{tenant}.example", "firstName": "F", "lastName": "L"}
            assert (
                client.post(
                    f"/api/v1/tenants/t{tenant}/groups/g{group}/users/", json=body, headers=system
                ).status_code
                == 201
            )
            users.append(obj)
    tenants = sorted({t for t, _ in spec.groups})
    for tenant in tenants:
        for team in ("A", "B"):
            assert (
                client.post(
                    f"/api/v1/tenants/t{tenant}/teams/", json={"name": team}, headers=system
                ).status_code
                == 201
            )
    campaigns: list[tuple[int, int | None, int]] = []  # (tenant, team index, campaign id)
    for n, (tenant, team) in enumerate(spec.templates):
        body = {"name": f"tpl{n}", "team": None if team is None else "AB"[team]}
        template = client.post(f"/api/v1/tenants/t{tenant}/campaign-templates/", json=body, headers=system)
        assert template.status_code == 201, template.text
        campaign = client.post(
            f"/api/v1/tenants/t{tenant}/campaigns/",
            json={"name": f"c{n}", "templateId": template.json()["id"]},
            headers=system,
        )
        assert campaign.status_code == 201, campaign.text
        campaigns.append((tenant, team, campaign.json()["id"]))
    for n, (role, group, link) in enumerate(spec.accounts):
        tenant, n_users = spec.groups[group]
        me = Obj(tenant, group, min(link, n_users - 1))
        body = {"username": f"a{n}", "password": PASSWORD, "role": role, "tenantId": f"t{tenant}"}
        if role != "tenant_admin":
            body["groupId"] = f"g{group}"
        if role == "user":
            body["linkedUserId"] = f"u{group}x{me.user}@t{tenant}.example"
        assert client.post("/api/v1/accounts/", json=body, headers=system).status_code == 201, body
        for team in spec.memberships[n]:
            member = client.post(
                f"/api/v1/tenants/t{tenant}/teams/{'AB'[team]}/members/",
                json={"username": f"a{n}"},
                headers=system,
            )
            assert member.status_code == 200, member.text
        token = {"Authorization": f"Bearer {login(client, f'a{n}')}"}
        # Seed 000: a tenant admin sees its tenant's campaigns; anyone else those of its teams.
        wanted_campaigns = {
            cid
            for t, team, cid in campaigns
            if t == me.tenant
            and (role == "tenant_admin" or (team is not None and team in spec.memberships[n]))
        }
        for t in tenants:
            seen = client.get(f"/api/v1/tenants/t{t}/campaigns/", params={"limit": 500}, headers=token)
            if t != me.tenant:
                assert seen.status_code == 404
            else:
                assert {c["id"] for c in seen.json()["campaigns"]} == wanted_campaigns, (
                    role,
                    spec.memberships[n],
                )
        noojee = client.post("/servicemanager/rest/CampaignAPI/getCampaignList", headers=token).json()
        assert {c["id"] for c in noojee["entities"]} == wanted_campaigns
        for _, _, cid in campaigns:
            direct = client.get(f"/api/v1/tenants/t{me.tenant}/campaigns/{cid}/", headers=token)
            assert direct.status_code == (200 if cid in wanted_campaigns else 404)
        missing = client.get("/api/v1/tenants/t0/groups/g0/users/nobody@t0.example/", headers=token)
        for user in users:
            read = client.get(user.path(), headers=token)
            if _sees(role, me, user):
                assert read.status_code == 200, (role, me, user)
            else:
                assert read.status_code == 404, (role, me, user)
                assert read.content == missing.content
            title = f"by a{n}"
            write = client.patch(user.path(), json={"title": title}, headers=token)
            expected = 200 if _manages(role, me, user) else (403 if _sees(role, me, user) else 404)
            assert write.status_code == expected, (role, me, user, write.text)
            stored = client.get(user.path(), headers=system).json()["title"]
            assert (stored == title) == (expected == 200)
        for group, (tenant, _) in enumerate(spec.groups):
            listing = client.get(f"/api/v1/tenants/t{tenant}/groups/g{group}/users/", headers=token)
            group_seen = (role == "tenant_admin" and tenant == me.tenant) or group == me.group
            if not group_seen:
                assert listing.status_code == 404
                continue
            listed = {item["userId"] for item in listing.json()["users"]}
            wanted = {
                f"u{u.group}x{u.user}@t{u.tenant}.example"
                for u in users
                if u.group == group and _sees(role, me, u)
            }
            assert listed == wanted, (role, me, group)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs())
def test_no_principal_reads_or_changes_outside_its_view(
    settings_fixture: Settings, fresh_database: Callable[[], str], spec: Spec
) -> None:
    url = fresh_database()  # a fresh database for every example
    example_settings = settings_fixture.model_copy(update={"database_url": url})
    from switchboard.db.engine import Database

    db = Database(url)
    created = initialise_cheaply(db)
    db.engine.dispose()
    with make_client(example_settings) as client:
        _run(client, created.global_api_key, spec)
