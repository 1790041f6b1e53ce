"""Stateful property: after every step, every live credential sees exactly what the model says."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from starlette.testclient import TestClient

from switchboard.settings import Settings
from tests.support.authz_model import (
    FORBIDDEN,
    NOT_FOUND,
    Account,
    Call,
    Campaign,
    Credential,
    EndUser,
    Group,
    Model,
    Role,
    Team,
    Template,
    Tenant,
)
from tests.support.clients import initialise_cheaply, make_client
from tests.support.intensity import scaled
from tests.support.pages import items_of

PASSWORD = "correct horse battery staple"
Response = Any  # the test client's response (its HTTP library is the test client's business)
NOOJEE = "/servicemanager/rest/CampaignAPI"
PHONE_FIELD = [{"name": "phone", "type": "phone", "phone": True}]
MAX_TENANTS, MAX_GROUPS, MAX_USERS, MAX_ACCOUNTS = 3, 5, 10, 7
RESELLERS = ("R1", "R2")
MAX_TEAMS, MAX_TEMPLATES, MAX_CAMPAIGNS, MAX_CALLS = 5, 8, 10, 12
# Every tenant may have this many live API calls (the default dialling policy allows 10).
MAX_LIVE_API_CALLS = 8
# One list re-read every ROTATION steps although the model says it did not change: every list
# is re-read in turn, so a change that leaks into an unrelated view is still caught.
ROTATION = 2
# The end-of-run sweep skips lists read in the last few steps (their answer is that recent).
FRESH_STEPS = 3


class AuthorizationMachine(RuleBasedStateMachine):
    """Random creates, membership changes, revocations, reads and writes through the HTTP API.

    After every step the invariant re-reads, for every live credential, each list whose expected
    content is new or changed, or that a refused write must have left alone, and one more list in
    turn; it tries every newly refused credential (and again when its account changes). At the
    end of a run it re-reads every list and tries every refused credential. The rules probe
    single objects with every kind of credential.
    """

    def __init__(self, base: Settings, fresh_database: Callable[[], str]) -> None:
        super().__init__()
        from switchboard.db.engine import Database

        url = fresh_database()
        # The rate limits would answer 429 to the many deliberate 401s: they are tested elsewhere.
        self.settings = base.model_copy(
            update={"database_url": url, "auth_failures_per_minute": 10**9, "requests_per_minute": 10**9}
        )
        database = Database(url)
        created = initialise_cheaply(database)
        database.engine.dispose()
        self.model = Model()
        self.model.accounts["admin"] = Account("admin", "system", None, None)
        self.global_key = Credential(created.global_api_key, "global", None)
        self.model.credentials.append(self.global_key)
        self.admin_password = created.admin_password
        self.counter = itertools.count(1)
        self.verified: dict[tuple[str, tuple[str, ...]], frozenset[object] | int] = {}
        self.cursor = 0
        self.step = 0
        self.read_at: dict[tuple[str, tuple[str, ...]], int] = {}
        # Lists to re-read after this step although the model says they did not change: a
        # refused write must have changed nothing.
        self.recheck: set[tuple[str, tuple[str, ...]]] = set()
        self.refused: dict[str, tuple[object, ...] | None] = {}  # secret -> its account when refused
        self.client = make_client(self.settings)
        self.client.__enter__()
        self.missing = self.send("GET", "/api/v1/tenants/no-such-tenant/", self.global_key)
        if self.missing.status_code != 404:
            self.client.__exit__(None, None, None)
            raise AssertionError(self.missing.text)

    def teardown(self) -> None:
        try:
            # A final sweep re-reads every list; not after a failed step, whose report it would bury.
            if sys.exc_info()[0] is None:
                self.check_views(everything=True)
        finally:
            self.client.__exit__(None, None, None)

    # -- plumbing ----------------------------------------------------------------------------------

    def send(self, method: str, path: str, cred: Credential, **kwargs: Any) -> Response:
        headers = {"Authorization": f"Bearer {cred.secret}"}
        return self.client.request(method, path, headers=headers, **kwargs)

    def admin(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        """A change made with the global key, which must succeed."""
        response = self.send(method, path, self.global_key, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def assert_refused(self, response: Response, expected: int, what: str) -> None:
        """403 names a missing right; 404 is byte for byte the answer for a missing object."""
        assert response.status_code == expected, (what, expected, response.status_code, response.text)
        if expected == NOT_FOUND:
            assert response.content == self.missing.content, (what, response.text)
            assert response.headers["content-type"] == self.missing.headers["content-type"]
        if expected == FORBIDDEN:
            assert response.json()["detail"] != self.missing.json()["detail"], what

    def live_key_holders(self) -> list[Credential]:
        return [c for c in self.model.live_credentials() if c.kind != "global"]

    def accounts_of(self, *roles: Role) -> list[Account]:
        return [a for a in self.model.accounts.values() if a.role in roles and a.username != "admin"]

    # -- what each principal sees ------------------------------------------------------------------

    def fetch(self, cred: Credential, view: tuple[str, ...]) -> tuple[Response, frozenset[object] | None]:
        kind = view[0]
        rows: set[object]
        if kind in ("campaigns", "templates"):
            method = "getCampaignList" if kind == "campaigns" else "getCampaignTemplateList"
            response = self.send("POST", f"{NOOJEE}/{method}", cred)
            if response.status_code != 200:
                return response, None
            if kind == "campaigns":
                rows = {
                    (e["id"], e["name"], e["templateId"], e["status"], e["tenantId"])
                    for e in response.json()["entities"]
                }
            else:
                rows = {(e["id"], e["name"], e["team"], e["tenantId"]) for e in response.json()["entities"]}
            assert len(rows) == len(response.json()["entities"]), "an entity listed twice"
            return response, frozenset(rows)
        path, key = {
            "calls": ("/api/v1/calls/", None),
            "accounts": ("/api/v1/accounts/", None),
            "tenants": ("/api/v1/tenants/", "tenantId"),
            "groups": (f"/api/v1/tenants/{view[-1]}/groups/", "groupId"),
            "teams": (f"/api/v1/tenants/{view[-1]}/teams/", None),
            "users": ("", "userId"),
        }[kind]
        if kind == "users":
            group = self.model.groups[view[1]]
            path = f"/api/v1/tenants/{group.tenant}/groups/{group.group_id}/users/"
        response = self.send("GET", path, cred, params={"limit": 500})
        if response.status_code != 200:
            return response, None
        body = response.json()
        items = items_of(body, path)
        assert body["total"] == len(items), (view, body["total"], len(items))
        if kind == "teams":
            return response, frozenset(
                (t["name"], frozenset(m["username"] for m in t["members"])) for t in items
            )
        if kind == "calls":
            rows = {(c["uniqueId"], c["tenantId"], c["extension"], c["campaignId"]) for c in items}
        elif kind == "accounts":
            rows = {
                (
                    a["username"],
                    a["role"],
                    a["tenantId"],
                    a["groupId"],
                    a["linkedUserId"],
                    a["extension"],
                    a["enabled"],
                    a["resellerId"],
                )
                for a in items
            }
        else:
            rows = {item[key] for item in items}
        assert len(rows) == len(items), (view, "an object listed twice")
        return response, frozenset(rows)

    def check_view(self, cred: Credential, view: tuple[str, ...], expected: frozenset[object] | int) -> None:
        response, seen = self.fetch(cred, view)
        if isinstance(expected, int):
            self.assert_refused(response, expected, f"{cred.label} lists {view}")
            return
        assert response.status_code == 200, (cred.label, view, response.text)
        assert seen is not None
        assert seen == expected, (
            f"{cred.label} lists {view}: unexpected {sorted(map(str, seen - expected))}"
            f" missing {sorted(map(str, expected - seen))}"
        )

    def check_views(self, everything: bool = False) -> None:
        """Every list whose expected content is new or changed, those a refused write must have
        left alone, and the next ones in turn; at the end of a run, every list not read in the
        last few steps."""
        pairs = {(c.secret, view): c for c in self.model.live_credentials() for view in self.model.views(c)}
        expected = {pair: self.model.expected(cred, pair[1]) for pair, cred in pairs.items()}
        # A credential refused for a while (its account disabled) is checked afresh when back.
        self.verified = {pair: seen for pair, seen in self.verified.items() if pair in expected}
        due = [
            pair
            for pair in pairs
            if (everything and self.read_at.get(pair, -1) < self.step - FRESH_STEPS)
            or pair in self.recheck
            or self.verified.get(pair) != expected[pair]
        ]
        if not everything and pairs and self.step % ROTATION == 0:
            pair = list(pairs)[self.cursor % len(pairs)]
            self.cursor += 1
            if pair not in due:
                due.append(pair)
        self.recheck.clear()
        self.step += 1
        for pair in due:
            self.check_view(pairs[pair], pair[1], expected[pair])
            self.verified[pair] = expected[pair]
            self.read_at[pair] = self.step
        # Refused credentials: again whenever their account changed (a re-enabled account must
        # not revive a revoked key or a logged-out token).
        dead = {cred.secret: (cred, self.account_state(cred)) for cred in self.model.dead_credentials()}
        self.refused = {secret: state for secret, state in self.refused.items() if secret in dead}
        for secret, (cred, state) in dead.items():
            if everything or secret not in self.refused or self.refused[secret] != state:
                self.check_revoked(cred)
                self.refused[secret] = state

    def account_state(self, cred: Credential) -> tuple[object, ...] | None:
        account = self.model.account_of(cred)
        return None if account is None else self.model.account_row(account)

    def check_revoked(self, cred: Credential) -> None:
        response = self.send("GET", "/api/v1/calls/", cred)
        assert response.status_code == 401, (cred.label, "is refused", response.status_code, response.text)

    @invariant()
    def every_principal_sees_what_the_model_says(self) -> None:
        self.check_views()

    # -- directory ---------------------------------------------------------------------------------

    @initialize(data=st.data())
    def base_world(self, data: st.DataObject) -> None:
        """Resellers R1 and R2; two tenants of drawn resellers (or none), each with a group of two
        end users, a team, a template of that team and a team-less one with a campaign each; three
        accounts of drawn roles with a login token, some with a key and some in their tenant's
        team."""
        for reseller in RESELLERS:
            self.admin("POST", "/api/v1/local/resellers/", 201, json={"name": reseller})
        for _ in range(2):
            self.create_tenant(data)
        for tenant in list(self.model.tenants):
            group = self.create_group_in(tenant)
            for _ in range(2):
                self.add_user(group)
            team = self.add_team(tenant)
            for template_team in (team, None):
                self.add_campaign(self.add_template(tenant, template_team))
        for _ in range(3):
            username = self.add_account(*self.placement(data))
            self.log_in(username)
            if data.draw(st.booleans(), label="key"):
                self.issue_key(username)
            home = self.model.accounts[username].tenant
            if home is not None and data.draw(st.booleans(), label="member"):
                joined = next(t for t in self.model.teams.values() if t.tenant == home)
                self.admin(
                    "POST",
                    f"/api/v1/tenants/{home}/teams/{joined.name}/members/",
                    200,
                    json={"username": username},
                )
                joined.members.add(username)

    @precondition(lambda self: len(self.model.tenants) < MAX_TENANTS)
    @rule(data=st.data())
    def create_tenant(self, data: st.DataObject) -> None:
        """By the global key, for a drawn reseller or none; or by a reseller admin, whose new
        tenant is its reseller's."""
        tenant = f"t{len(self.model.tenants)}"
        makers = [self.global_key, *self.reseller_admin_tokens()]
        by = data.draw(st.sampled_from(makers), label="tenant maker")
        account = self.model.account_of(by)
        if account is None:
            reseller = data.draw(st.sampled_from([None, *RESELLERS]), label="reseller")
        else:
            reseller = account.reseller
        body = {"tenantId": tenant, "type": "Enterprise", "resellerId": reseller if account is None else None}
        response = self.send("POST", "/api/v1/tenants/", by, json=body)
        assert response.status_code == 201, response.text
        assert response.json()["resellerId"] == reseller, response.text
        self.admin("POST", f"/api/v1/tenants/{tenant}/domains/", 201, json={"domain": f"{tenant}.example"})
        self.model.tenants[tenant] = Tenant(tenant, reseller=reseller)

    def reseller_admin_tokens(self) -> list[Credential]:
        return [
            c
            for c in self.model.live_credentials()
            if c.kind == "token" and self.model.role(c) == "reseller_admin"
        ]

    @rule(data=st.data())
    def set_tenant_reseller(self, data: st.DataObject) -> None:
        """The system moves a tenant to another reseller (or none): its old reseller's admins lose
        it and all in it at once, the new one's gain it; a reseller admin may not (403)."""
        tenant = self.model.tenants[data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant")]
        reseller = data.draw(st.sampled_from([None, *RESELLERS]), label="reseller")
        if self.reseller_admin_tokens():
            event("a tenant changed reseller while a reseller admin was signed in")
        for by in self.reseller_admin_tokens()[:1]:
            response = self.send(
                "PATCH", f"/api/v1/tenants/{tenant.tenant_id}/", by, json={"resellerId": reseller}
            )
            account = self.model.account_of(by)
            assert account is not None
            expected = FORBIDDEN if self.model.in_reseller(account, tenant.tenant_id) else NOT_FOUND
            self.assert_refused(response, expected, f"{by.label} moves {tenant.tenant_id}")
        self.admin("PATCH", f"/api/v1/tenants/{tenant.tenant_id}/", 200, json={"resellerId": reseller})
        tenant.reseller = reseller

    @precondition(lambda self: len(self.model.accounts) > 1)
    @rule(data=st.data())
    def probe_reseller(self, data: st.DataObject) -> None:
        """A reseller and its admins: the system's, and its own admins'; 404 for everyone else
        (a user key: 403, accounts are not campaign-related)."""
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        reseller = data.draw(st.sampled_from(RESELLERS), label="reseller")
        account = self.model.account_of(by)
        own = self.model.role(by) == "system" or (
            account is not None and account.role == "reseller_admin" and account.reseller == reseller
        )
        expected = FORBIDDEN if not self.model.reaches(by, "accounts") else 200 if own else NOT_FOUND
        for path in (f"/api/v1/local/resellers/{reseller}/", f"/api/v1/local/resellers/{reseller}/admins/"):
            self.assert_status(self.send("GET", path, by), expected, f"{by.label} reads {path}")

    def create_group_in(self, tenant: str) -> str:
        group = self.name("g")
        self.admin("POST", f"/api/v1/tenants/{tenant}/groups/", 201, json={"groupId": group})
        self.model.groups[group] = Group(group, tenant)
        return group

    @precondition(lambda self: len(self.model.groups) < MAX_GROUPS)
    @rule(data=st.data())
    def create_group(self, data: st.DataObject) -> None:
        self.create_group_in(data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant"))

    @precondition(lambda self: self.model.groups and len(self.model.users) < MAX_USERS)
    @rule(data=st.data())
    def create_user(self, data: st.DataObject) -> None:
        self.add_user(data.draw(st.sampled_from(sorted(self.model.groups)), label="group"))

    def add_user(self, group_id: str) -> str:
        group = self.model.groups[group_id]
        tenant = self.model.tenants[group.tenant]
        user_id = f"{self.name('u')}@{tenant.tenant_id}.example"
        extension = str(tenant.next_extension)
        tenant.next_extension += 1
        body = {"userId": user_id, "firstName": "F", "lastName": "L", "extension": extension}
        self.admin(
            "POST", f"/api/v1/tenants/{tenant.tenant_id}/groups/{group.group_id}/users/", 201, json=body
        )
        self.model.users[user_id] = EndUser(user_id, tenant.tenant_id, group.group_id, extension)
        return user_id

    @precondition(lambda self: self.model.users)
    @rule(data=st.data(), replace=st.booleans())
    def delete_user(self, data: st.DataObject, replace: bool) -> None:
        """An account linked to the user loses its link; a user created next in the group may get
        the freed row id (SQLite reuses the highest), which nothing cached may still point at."""
        user = self.model.users[data.draw(st.sampled_from(sorted(self.model.users)), label="user")]
        self.admin("DELETE", f"/api/v1/tenants/{user.tenant}/groups/{user.group}/users/{user.user_id}/", 204)
        self.model.delete_user(user.user_id)
        if replace:
            self.add_user(user.group)

    @precondition(lambda self: len(self.model.groups) > 1)
    @rule(data=st.data(), non_empty=st.booleans())
    def delete_group(self, data: st.DataObject, non_empty: bool) -> None:
        """Refused (409, nothing changed) while it holds users, unless deleteNonEmpty=1."""
        group = self.model.groups[data.draw(st.sampled_from(sorted(self.model.groups)), label="group")]
        path = f"/api/v1/tenants/{group.tenant}/groups/{group.group_id}/?deleteNonEmpty={int(non_empty)}"
        if self.model.holds_users(group.group_id) and not non_empty:
            self.admin("DELETE", path, 409)
            return
        self.admin("DELETE", path, 204)
        self.model.delete_group(group.group_id)

    # -- accounts and credentials ------------------------------------------------------------------

    def placement(
        self, data: st.DataObject, system: bool = True
    ) -> tuple[Role, str | None, str | None, str | None, str | None]:
        """A role with a consistent tenant, group and (optional) linked end user; a reseller
        admin's reseller (accounts made by the system: system and reseller admins among them)."""
        roles: list[Role] = ["tenant_admin", "group_admin", "user", "user"]
        role: Role = data.draw(
            st.sampled_from([*roles, "system", "reseller_admin"] if system else roles), label="role"
        )
        if role == "system":
            return role, None, None, None, None
        if role == "reseller_admin":
            return role, None, None, None, data.draw(st.sampled_from(RESELLERS), label="reseller")
        if role == "tenant_admin":
            tenant = data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant")
            group = None
            candidates = [u for u in sorted(self.model.users) if self.model.users[u].tenant == tenant]
        else:
            group = data.draw(st.sampled_from(sorted(self.model.groups)), label="group")
            tenant = self.model.groups[group].tenant
            candidates = [u for u in sorted(self.model.users) if self.model.users[u].group == group]
        linked = data.draw(st.sampled_from([None, *candidates]), label="linked")
        return role, tenant, group, linked, None

    @precondition(lambda self: self.model.groups and len(self.model.accounts) < MAX_ACCOUNTS)
    @rule(data=st.data(), log_in=st.booleans(), with_key=st.booleans())
    def create_account(self, data: st.DataObject, log_in: bool, with_key: bool) -> None:
        username = self.add_account(*self.placement(data))
        if log_in:
            self.log_in(username)
        if with_key:
            self.issue_key(username)

    def add_account(
        self, role: Role, tenant: str | None, group: str | None, linked: str | None, reseller: str | None
    ) -> str:
        username = self.name("a")
        body = {
            "username": username,
            "password": PASSWORD,
            "role": role,
            "tenantId": tenant,
            "groupId": group,
            "linkedUserId": linked,
            "resellerId": reseller,
        }
        self.admin("POST", "/api/v1/accounts/", 201, json=body)
        self.model.accounts[username] = Account(username, role, tenant, group, linked, reseller=reseller)
        return username

    def log_in(self, username: str) -> None:
        password = self.admin_password if username == "admin" else PASSWORD
        response = self.client.post("/api/v1/auth/login/", json={"username": username, "password": password})
        if not self.model.accounts[username].enabled:
            assert response.status_code == 401, response.text
            return
        assert response.status_code == 200, response.text
        self.model.credentials.append(Credential(response.json()["accessToken"], "token", username))

    def issue_key(self, username: str) -> None:
        created = self.admin("POST", f"/api/v1/accounts/{username}/api-keys/", 201, json={"name": "k"})
        self.model.credentials.append(Credential(created["key"], "key", username, created["id"]))

    def without(self, kind: str) -> list[str]:
        """Accounts holding no unrevoked credential of this kind (one of each is enough to
        check an account's view; more would only repeat the same lists)."""
        held = {c.account for c in self.model.credentials if c.kind == kind and not c.revoked}
        return sorted(set(self.model.accounts) - held)

    @precondition(lambda self: self.without("token"))
    @rule(data=st.data())
    def log_in_again(self, data: st.DataObject) -> None:
        self.log_in(data.draw(st.sampled_from(self.without("token")), label="account"))

    @precondition(lambda self: self.without("key"))
    @rule(data=st.data())
    def create_key(self, data: st.DataObject) -> None:
        self.issue_key(data.draw(st.sampled_from(self.without("key")), label="account"))

    @precondition(lambda self: any(c.kind == "token" and not c.revoked for c in self.model.credentials))
    @rule(data=st.data())
    def log_out(self, data: st.DataObject) -> None:
        tokens = [c for c in self.model.credentials if c.kind == "token" and not c.revoked]
        token = data.draw(st.sampled_from(tokens), label="token")
        response = self.send("POST", "/api/v1/auth/logout/", token)
        if self.model.is_live(token):
            assert response.status_code == 204, response.text
            token.revoked = True
        else:
            assert response.status_code == 401, response.text
        self.check_revoked(token)

    @precondition(lambda self: len(self.accounts_of("tenant_admin", "group_admin", "user")) > 0)
    @rule(data=st.data())
    def move_account(self, data: st.DataObject) -> None:
        """A new role, tenant, group and link at once (the global key may place anyone)."""
        account = data.draw(st.sampled_from(self.accounts_of("tenant_admin", "group_admin", "user")))
        role, tenant, group, linked, _ = self.placement(data, system=False)
        body = {"role": role, "tenantId": tenant, "groupId": group, "linkedUserId": linked}
        self.admin("PATCH", f"/api/v1/accounts/{account.username}/", 200, json=body)
        account.role, account.tenant, account.group, account.linked = role, tenant, group, linked
        if self.model.leave_other_tenants_teams(account):
            event("an account left its teams by moving to another tenant")

    def group_scoped(self) -> list[Credential]:
        return [c for c in self.live_key_holders() if self.model.role(c) in ("group_admin", "user")]

    @precondition(
        lambda self: (
            self.group_scoped() and len(self.model.calls) < MAX_CALLS and len(self.model.users) < MAX_USERS
        )
    )
    @rule(data=st.data())
    def replace_linked_user(self, data: st.DataObject) -> None:
        """A credential acts for an account linked to a new end user; the user is deleted and
        another created in its group, taking the freed row id where the database reuses ids
        (SQLite): what the credential sees must follow the account, not a remembered id."""
        cred = data.draw(st.sampled_from(self.group_scoped()), label="by")
        account = self.model.account_of(cred)
        assert account is not None
        assert account.group is not None
        first = self.add_user(account.group)
        self.admin("PATCH", f"/api/v1/accounts/{account.username}/", 200, json={"linkedUserId": first})
        account.linked = first
        assert self.send("GET", "/api/v1/calls/", cred).status_code == 200
        user = self.model.users[first]
        self.admin("DELETE", f"/api/v1/tenants/{user.tenant}/groups/{user.group}/users/{first}/", 204)
        self.model.delete_user(first)
        second = self.model.users[self.add_user(account.group)]
        body = {"to": second.extension, "from": "0390009999", "tenantId": second.tenant}
        created = self.admin("POST", "/api/v1/simulator/calls/", 201, json=body)
        call = Call(created["uniqueId"], second.tenant, second.extension, None, api=False)
        self.model.calls[call.unique_id] = call
        # Neither list changes in the model (the account has no link now): read them anyway.
        self.recheck |= {(cred.secret, ("calls",)), (cred.secret, ("users", second.group))}

    @precondition(lambda self: len(self.accounts_of("tenant_admin", "group_admin", "user")) > 0)
    @rule(data=st.data())
    def link_account(self, data: st.DataObject) -> None:
        """Any end user, or none: one of another tenant or group is refused (400), nothing changes."""
        account = data.draw(st.sampled_from(self.accounts_of("tenant_admin", "group_admin", "user")))
        user_id = data.draw(st.sampled_from([None, *sorted(self.model.users)]), label="user")
        user = self.model.users.get(user_id) if user_id else None
        fits = user is None or (
            user.tenant == account.tenant and (account.group is None or user.group == account.group)
        )
        response = self.send(
            "PATCH", f"/api/v1/accounts/{account.username}/", self.global_key, json={"linkedUserId": user_id}
        )
        assert response.status_code == (200 if fits else 400), response.text
        if fits:
            account.linked = user_id

    @precondition(lambda self: len(self.model.accounts) > 1)
    @rule(data=st.data(), enabled=st.booleans())
    def enable_account(self, data: st.DataObject, enabled: bool) -> None:
        account = data.draw(
            st.sampled_from(
                self.accounts_of("system", "reseller_admin", "tenant_admin", "group_admin", "user")
            )
        )
        self.admin("PATCH", f"/api/v1/accounts/{account.username}/", 200, json={"enabled": enabled})
        account.enabled = enabled

    @precondition(lambda self: len(self.model.accounts) > 1)
    @rule(data=st.data())
    def delete_account(self, data: st.DataObject) -> None:
        account = data.draw(
            st.sampled_from(
                self.accounts_of("system", "reseller_admin", "tenant_admin", "group_admin", "user")
            )
        )
        self.admin("DELETE", f"/api/v1/accounts/{account.username}/", 204)
        self.model.delete_account(account.username)

    @precondition(lambda self: any(c.kind == "key" and not c.revoked for c in self.model.credentials))
    @rule(data=st.data())
    def revoke_key(self, data: st.DataObject) -> None:
        """By the global key, the key itself (the account manages its keys), or another credential."""
        key = data.draw(
            st.sampled_from([c for c in self.model.credentials if c.kind == "key" and not c.revoked])
        )
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        owner = self.model.accounts.get(key.account or "")
        path = f"/api/v1/accounts/{key.account}/api-keys/{key.key_id}/"
        response = self.send("DELETE", path, by)
        if owner is None:
            # The account is gone: for the global key "not found", like any missing account.
            expected = 404 if self.model.reaches(by, "accounts") else 403
        else:
            expected = self.account_write_code(by, owner, 204)
        self.assert_status(response, expected, f"{by.label} revokes {key.label}")
        if expected == 204:
            key.revoked = True
            self.check_revoked(key)
        else:
            self.recheck.add((key.secret, ("campaigns",)))  # still works (if its account does)

    def account_write_code(
        self, by: Credential, target: Account, ok: int, makes_credential: bool = False
    ) -> int:
        if not self.model.is_live(by):
            return 401
        if not self.model.reaches(by, "accounts"):
            return FORBIDDEN
        if not self.model.sees_account(by, target):
            return NOT_FOUND
        allowed = self.model.makes_credentials_of if makes_credential else self.model.manages_account
        return ok if allowed(by, target) else FORBIDDEN

    def assert_status(self, response: Response, expected: int, what: str) -> None:
        if expected in (FORBIDDEN, NOT_FOUND):
            self.assert_refused(response, expected, what)
        else:
            assert response.status_code == expected, (what, expected, response.status_code, response.text)

    @precondition(lambda self: len(self.model.accounts) > 1)
    @rule(data=st.data())
    def create_key_as(self, data: st.DataObject) -> None:
        """Any credential asks for a key of any account: its own, and those it manages whose reach
        is within its own (a key never reaches further than its maker)."""
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        target = data.draw(st.sampled_from(sorted(self.model.accounts)), label="account")
        response = self.send("POST", f"/api/v1/accounts/{target}/api-keys/", by, json={"name": "x"})
        expected = self.account_write_code(by, self.model.accounts[target], 201, makes_credential=True)
        self.assert_status(response, expected, f"{by.label} creates a key for {target}")
        if expected == 201:
            self.model.credentials.append(
                Credential(response.json()["key"], "key", target, response.json()["id"])
            )
        held = [c.key_id or 0 for c in self.model.credentials if c.kind == "key" and c.account == target]
        path = f"/api/v1/accounts/{target}/api-keys/"
        listed = items_of(self.admin("GET", path, 200, params={"limit": 500}), path)
        assert sorted(k["id"] for k in listed) == sorted(held), (target, listed)

    # -- teams, templates, campaigns ---------------------------------------------------------------

    @precondition(lambda self: len(self.model.teams) < MAX_TEAMS)
    @rule(data=st.data())
    def create_team(self, data: st.DataObject) -> None:
        self.add_team(data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant"))

    def add_team(self, tenant: str) -> int:
        name = self.name("team")
        created = self.admin("POST", f"/api/v1/tenants/{tenant}/teams/", 201, json={"name": name})
        self.model.teams[created["id"]] = Team(created["id"], name, tenant)
        return int(created["id"])

    @precondition(lambda self: self.model.teams)
    @rule(data=st.data())
    def delete_team(self, data: st.DataObject) -> None:
        team = self.model.teams[data.draw(st.sampled_from(sorted(self.model.teams)), label="team")]
        self.admin("DELETE", f"/api/v1/tenants/{team.tenant}/teams/{team.name}/", 204)
        self.model.delete_team(team.pk)

    @precondition(lambda self: self.model.teams and len(self.model.accounts) > 1)
    @rule(data=st.data())
    def add_member(self, data: st.DataObject) -> None:
        """By any credential; an account of another tenant is refused (400) and nothing changes."""
        team = self.model.teams[data.draw(st.sampled_from(sorted(self.model.teams)), label="team")]
        username = data.draw(st.sampled_from(sorted(self.model.accounts)), label="account")
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        response = self.send(
            "POST",
            f"/api/v1/tenants/{team.tenant}/teams/{team.name}/members/",
            by,
            json={"username": username},
        )
        if not self.model.reaches(by, "accounts"):
            expected = FORBIDDEN  # teams are administration, never a user key's
        else:
            expected = self.contact_centre_write_code(by, team.tenant, 200, area="accounts")
            if expected == 200 and self.model.accounts[username].tenant != team.tenant:
                expected = 400
        self.assert_status(response, expected, f"{by.label} adds {username} to {team.name}")
        if expected == 200:
            team.members.add(username)
        else:
            self.recheck.add((self.global_key.secret, ("teams", team.tenant)))

    def contact_centre_write_code(self, by: Credential, tenant: str, ok: int, area: str = "campaigns") -> int:
        """Changing a tenant's teams, templates and campaigns: its administrators (403 before any
        lookup for the other roles); another tenant's is "not found". A reseller admin reaches
        its tenants' teams, not their templates and campaigns (403)."""
        if not self.model.reaches(by, area):
            return FORBIDDEN
        if not self.model.sees_tenant(by, tenant):
            return NOT_FOUND
        return ok if self.model.manages_contact_centre(by, tenant) else FORBIDDEN

    @precondition(lambda self: any(t.members for t in self.model.teams.values()))
    @rule(data=st.data())
    def remove_member(self, data: st.DataObject) -> None:
        team = data.draw(st.sampled_from([t for t in self.model.teams.values() if t.members]), label="team")
        username = data.draw(st.sampled_from(sorted(team.members)), label="member")
        self.admin("DELETE", f"/api/v1/tenants/{team.tenant}/teams/{team.name}/members/{username}/", 204)
        team.members.discard(username)

    def team_choice(self, data: st.DataObject, tenant: str) -> int | None:
        teams = [pk for pk, team in sorted(self.model.teams.items()) if team.tenant == tenant]
        choice: int | None = data.draw(st.sampled_from([None, *teams]), label="team")
        return choice

    @precondition(lambda self: len(self.model.templates) < MAX_TEMPLATES)
    @rule(data=st.data())
    def create_template(self, data: st.DataObject) -> None:
        tenant = data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant")
        self.add_template(tenant, self.team_choice(data, tenant))

    def add_template(self, tenant: str, team: int | None) -> int:
        name = self.name("tpl")
        body = {
            "name": name,
            "team": self.model.teams[team].name if team is not None else None,
            "leadFields": PHONE_FIELD,
        }
        created = self.admin("POST", f"/api/v1/tenants/{tenant}/campaign-templates/", 201, json=body)
        self.model.templates[created["id"]] = Template(created["id"], name, tenant, team)
        return int(created["id"])

    @precondition(lambda self: self.model.templates)
    @rule(data=st.data())
    def set_template_team(self, data: st.DataObject) -> None:
        """The Details tab's Team, set by any credential (administrators only)."""
        template = self.model.templates[
            data.draw(st.sampled_from(sorted(self.model.templates)), label="template")
        ]
        team = self.team_choice(data, template.tenant)
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        body = {"team": self.model.teams[team].name if team is not None else None}
        path = f"/api/v1/tenants/{template.tenant}/campaign-templates/{template.pk}/"
        response = self.send("PATCH", path, by, json=body)
        expected = self.contact_centre_write_code(by, template.tenant, 200)
        self.assert_status(response, expected, f"{by.label} sets the team of {template.name}")
        if expected == 200:
            template.team = team
        else:
            self.recheck.add((self.global_key.secret, ("templates",)))

    @precondition(lambda self: self.model.templates and len(self.model.campaigns) < MAX_CAMPAIGNS)
    @rule(data=st.data())
    def create_campaign(self, data: st.DataObject) -> None:
        self.add_campaign(data.draw(st.sampled_from(sorted(self.model.templates)), label="template"))

    def add_campaign(self, template_pk: int) -> None:
        template = self.model.templates[template_pk]
        name = self.name("c")
        body = {"name": name, "templateId": template.pk}
        created = self.admin("POST", f"/api/v1/tenants/{template.tenant}/campaigns/", 201, json=body)
        self.model.campaigns[created["id"]] = Campaign(created["id"], name, template.pk, template.tenant)

    @precondition(lambda self: self.model.campaigns)
    @rule(data=st.data(), status=st.sampled_from(["active", "paused", "finished"]))
    def set_campaign_status(self, data: st.DataObject, status: str) -> None:
        campaign = self.model.campaigns[
            data.draw(st.sampled_from(sorted(self.model.campaigns)), label="campaign")
        ]
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        path = f"/api/v1/tenants/{campaign.tenant}/campaigns/{campaign.pk}/"
        response = self.send("PATCH", path, by, json={"status": status})
        expected = self.contact_centre_write_code(by, campaign.tenant, 200)
        self.assert_status(response, expected, f"{by.label} sets the status of {campaign.name}")
        if expected == 200:
            campaign.status = status
        else:
            self.recheck.add((self.global_key.secret, ("campaigns",)))

    @rule(data=st.data(), everyone=st.booleans())
    def open_teamless_templates(self, data: st.DataObject, everyone: bool) -> None:
        tenant = self.model.tenants[data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant")]
        body = {"teamlessTemplatesVisibleTo": "everyone" if everyone else "admins"}
        self.admin("PATCH", f"/api/v1/tenants/{tenant.tenant_id}/", 200, json=body)
        tenant.teamless_open = everyone

    @precondition(lambda self: self.model.campaigns)
    @rule(data=st.data())
    def insert_lead(self, data: st.DataObject) -> None:
        """Whoever sees a campaign works its leads; anyone else gets "not found" and adds nothing."""
        campaign = self.model.campaigns[
            data.draw(st.sampled_from(sorted(self.model.campaigns)), label="campaign")
        ]
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        path = f"/api/v1/tenants/{campaign.tenant}/campaigns/{campaign.pk}/leads/"
        lead = {"externalId": self.name("lead"), "fields": {"phone": "0390001234"}}
        response = self.send("POST", path, by, json={"leads": [lead], "allowDuplicates": True})
        visible = self.model.sees_campaign(by, campaign) and self.model.reaches(by, "campaigns")
        expected = 200 if visible else NOT_FOUND if self.model.reaches(by, "campaigns") else FORBIDDEN
        self.assert_status(response, expected, f"{by.label} adds a lead to {campaign.name}")
        if visible:
            assert response.json()["written"] == 1, response.text
            campaign.leads += 1
        total = self.admin("GET", path, 200, params={"limit": 1})["total"]
        assert total == campaign.leads, (campaign.name, total, campaign.leads)

    # -- calls -------------------------------------------------------------------------------------

    def can_dial(self, tenant: str) -> bool:
        return len(self.model.calls) < MAX_CALLS and self.model.live_api_calls(tenant) < MAX_LIVE_API_CALLS

    @precondition(lambda self: self.model.users and len(self.model.calls) < MAX_CALLS)
    @rule(data=st.data(), inbound=st.booleans())
    def dial(self, data: st.DataObject, inbound: bool) -> None:
        """The global key dials from an end user's extension, for a campaign of its tenant or
        none; or the simulated PBX rings the extension from outside."""
        user = self.model.users[data.draw(st.sampled_from(sorted(self.model.users)), label="user")]
        if inbound:
            body = {"to": user.extension, "from": "0390009999", "tenantId": user.tenant}
            created = self.admin("POST", "/api/v1/simulator/calls/", 201, json=body)
            call = Call(created["uniqueId"], user.tenant, user.extension, None, api=False)
            self.model.calls[call.unique_id] = call
            return
        if not self.can_dial(user.tenant):
            return
        campaigns = [pk for pk, c in sorted(self.model.campaigns.items()) if c.tenant == user.tenant]
        campaign = data.draw(st.sampled_from([None, *campaigns]), label="campaign")
        dialled = {
            "extension": user.extension,
            "number": "0390001234",
            "tenantId": user.tenant,
            "campaignId": campaign,
        }
        created = self.admin("POST", "/api/v1/calls/", 201, json=dialled)
        self.model.calls[created["uniqueId"]] = Call(
            created["uniqueId"], user.tenant, user.extension, campaign
        )

    @precondition(lambda self: any(c.live for c in self.model.calls.values()))
    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        call = data.draw(st.sampled_from([c for c in self.model.calls.values() if c.live]), label="call")
        self.admin("POST", f"/api/v1/calls/{call.unique_id}/hangup/", 200)
        call.live = False

    @precondition(lambda self: self.model.users and len(self.model.accounts) > 1)
    @rule(data=st.data())
    def dial_as(self, data: st.DataObject) -> None:
        """A tenant's credential dials a bare extension: it resolves in its own tenant, and only
        administrators dial from an extension not their own."""
        by = data.draw(st.sampled_from(self.live_key_holders() or [self.global_key]), label="by")
        account = self.model.account_of(by)
        if account is None or account.tenant is None or not self.can_dial(account.tenant):
            return
        extension = data.draw(
            st.sampled_from(sorted({u.extension for u in self.model.users.values()})), label="extension"
        )
        response = self.send(
            "POST", "/api/v1/calls/", by, json={"extension": extension, "number": "0390001234"}
        )
        mine = [
            u for u in self.model.users.values() if u.tenant == account.tenant and u.extension == extension
        ]
        if not mine:
            expected = NOT_FOUND
        elif account.role == "tenant_admin" or self.model.own_extension(account) == extension:
            expected = 201
        else:
            expected = FORBIDDEN
        self.assert_status(response, expected, f"{by.label} dials from {extension}")
        if expected == 201:
            body = response.json()
            assert (body["tenantId"], body["extension"]) == (account.tenant, extension)
            self.model.calls[body["uniqueId"]] = Call(body["uniqueId"], account.tenant, extension, None)
        else:
            self.recheck.add((self.global_key.secret, ("calls",)))

    # -- single objects, by any credential ---------------------------------------------------------

    @precondition(lambda self: self.model.calls)
    @rule(data=st.data())
    def probe_call(self, data: st.DataObject) -> None:
        """Read, and try to pause the recording of, a call: 404 unless visible (the same answer
        as for a call that does not exist); 403 unless its agent or an admin; then 409 (nothing
        is being recorded)."""
        call = data.draw(st.sampled_from(sorted(self.model.calls)), label="call")
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        visible = self.model.sees_call(by, self.model.calls[call])
        refused = not self.model.reaches(by, "calls")
        read = self.send("GET", f"/api/v1/calls/{call}/", by)
        expected = FORBIDDEN if refused else 200 if visible else NOT_FOUND
        self.assert_status(read, expected, f"{by.label} reads call {call}")
        pause = self.send("POST", f"/api/v1/calls/{call}/recording/pause/", by)
        controls = self.model.controls_call(by, self.model.calls[call])
        expected = FORBIDDEN if refused else NOT_FOUND if not visible else 409 if controls else FORBIDDEN
        self.assert_status(pause, expected, f"{by.label} pauses call {call}")

    @precondition(lambda self: self.model.campaigns or self.model.templates)
    @rule(data=st.data())
    def probe_campaign(self, data: st.DataObject) -> None:
        """A campaign and a template by id, and one tenant's campaign list."""
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        if not self.model.reaches(by, "campaigns"):
            path = "/api/v1/tenants/t0/campaigns/"
            self.assert_refused(self.send("GET", path, by), FORBIDDEN, f"{by.label} lists campaigns")
            return
        if self.model.campaigns:
            campaign = self.model.campaigns[data.draw(st.sampled_from(sorted(self.model.campaigns)))]
            read = self.send("GET", f"/api/v1/tenants/{campaign.tenant}/campaigns/{campaign.pk}/", by)
            visible = self.model.sees_campaign(by, campaign)
            self.assert_status(read, 200 if visible else NOT_FOUND, f"{by.label} reads {campaign.name}")
        if self.model.templates:
            template = self.model.templates[data.draw(st.sampled_from(sorted(self.model.templates)))]
            read = self.send(
                "GET", f"/api/v1/tenants/{template.tenant}/campaign-templates/{template.pk}/", by
            )
            visible = self.model.sees_template(by, template)
            self.assert_status(read, 200 if visible else NOT_FOUND, f"{by.label} reads {template.name}")
        tenant = data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant")
        path = f"/api/v1/tenants/{tenant}/campaigns/"
        listing = self.send("GET", path, by, params={"limit": 500})
        if not self.model.sees_tenant(by, tenant):
            self.assert_refused(listing, NOT_FOUND, f"{by.label} lists {tenant}'s campaigns")
        else:
            assert listing.status_code == 200, listing.text
            wanted = {
                c.pk
                for c in self.model.campaigns.values()
                if c.tenant == tenant and self.model.sees_campaign(by, c)
            }
            assert {c["id"] for c in items_of(listing.json(), path)} == wanted, (by.label, tenant)

    @precondition(lambda self: self.model.users)
    @rule(data=st.data())
    def probe_user(self, data: st.DataObject) -> None:
        """Read and change an end user: 200 if managed, 403 if only seen, 404 if not seen."""
        user = self.model.users[data.draw(st.sampled_from(sorted(self.model.users)), label="user")]
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        path = f"/api/v1/tenants/{user.tenant}/groups/{user.group}/users/{user.user_id}/"
        directory = self.model.reaches(by, "directory")
        seen = self.model.sees_user(by, user)
        read = self.send("GET", path, by)
        self.assert_status(
            read,
            FORBIDDEN if not directory else 200 if seen else NOT_FOUND,
            f"{by.label} reads {user.user_id}",
        )
        title = self.name("title")
        write = self.send("PATCH", path, by, json={"title": title})
        if not directory:
            expected = FORBIDDEN
        elif not seen:
            expected = NOT_FOUND
        else:
            expected = 200 if self.model.manages_user(by, user) else FORBIDDEN
        self.assert_status(write, expected, f"{by.label} changes {user.user_id}")
        stored = self.admin("GET", path, 200)["title"]
        assert (stored == title) == (expected == 200), (by.label, user.user_id, stored)

    @precondition(lambda self: len(self.model.accounts) > 1)
    @rule(data=st.data())
    def probe_account(self, data: st.DataObject) -> None:
        """An account, its group and its tenant by id: 200 if visible, else the same 404 as
        a missing one; never for a user key (403: not campaign-related)."""
        by = data.draw(st.sampled_from(self.model.live_credentials()), label="by")
        account = self.model.accounts[
            data.draw(st.sampled_from(sorted(self.model.accounts)), label="account")
        ]
        directory = self.model.reaches(by, "accounts")
        read = self.send("GET", f"/api/v1/accounts/{account.username}/", by)
        seen = self.model.sees_account(by, account)
        self.assert_status(
            read,
            FORBIDDEN if not directory else 200 if seen else NOT_FOUND,
            f"{by.label} reads {account.username}",
        )
        group = self.model.groups[data.draw(st.sampled_from(sorted(self.model.groups)), label="group")]
        read = self.send("GET", f"/api/v1/tenants/{group.tenant}/groups/{group.group_id}/", by)
        seen = self.model.sees_group(by, group)
        self.assert_status(
            read,
            FORBIDDEN if not directory else 200 if seen else NOT_FOUND,
            f"{by.label} reads {group.group_id}",
        )
        tenant = data.draw(st.sampled_from(sorted(self.model.tenants)), label="tenant")
        read = self.send("GET", f"/api/v1/tenants/{tenant}/", by)
        seen = self.model.sees_tenant(by, tenant)
        self.assert_status(
            read, FORBIDDEN if not directory else 200 if seen else NOT_FOUND, f"{by.label} reads {tenant}"
        )


def test_every_principal_sees_exactly_what_the_model_says(
    settings_fixture: Settings, fresh_database: Callable[[], str]
) -> None:
    """Random runs of AuthorizationMachine, each on a fresh database, until the steps they made
    reach the target: CI about 1,000 per database; soak 50,000 per database, 100,000 in all."""
    steps_per_run: list[int] = []

    class Machine(AuthorizationMachine):
        def __init__(self) -> None:
            super().__init__(settings_fixture, fresh_database)

        def teardown(self) -> None:
            # The invariant runs once after every step (not before the initialize rule).
            steps_per_run.append(self.step)
            super().teardown()

    target, steps = scaled(1_000, 50_000), scaled(100, 200)
    # Hypothesis ends a run early when its choice buffer fills (soak runs averaged ~140 of 200
    # steps), so runs are asked for in batches until the steps made reach the target.
    while (done := sum(steps_per_run)) < target:
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=-(-(target - done) // steps),
                stateful_step_count=steps,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
        assert sum(steps_per_run) > done, "a batch of runs made no step"
    print(f"authorization model: {len(steps_per_run)} runs, {sum(steps_per_run)} steps")


def test_moving_an_account_to_another_tenant_ends_its_team_memberships(api: TestClient) -> None:
    """A team's members are accounts of its tenant: after a move the old tenant's admins no
    longer list the account, and a move back does not restore its old teams' campaigns."""
    for tenant in ("t1", "t2"):
        api.post("/api/v1/tenants/", json={"tenantId": tenant, "type": "Enterprise"})
        api.post(f"/api/v1/tenants/{tenant}/groups/", json={"groupId": "g"})
    assert api.post("/api/v1/tenants/t1/teams/", json={"name": "A"}).status_code == 201
    template = api.post("/api/v1/tenants/t1/campaign-templates/", json={"name": "T", "team": "A"}).json()
    api.post("/api/v1/tenants/t1/campaigns/", json={"name": "C", "templateId": template["id"]})
    body = {"username": "mover", "password": PASSWORD, "role": "user", "tenantId": "t1", "groupId": "g"}
    assert api.post("/api/v1/accounts/", json=body).status_code == 201
    assert api.post("/api/v1/tenants/t1/teams/A/members/", json={"username": "mover"}).status_code == 200
    created = api.post("/api/v1/accounts/mover/api-keys/", json={"name": "k"}).json()
    key = {"Authorization": f"Bearer {created['key']}"}
    assert len(api.post(f"{NOOJEE}/getCampaignList", headers=key).json()["entities"]) == 1
    for tenant in ("t2", "t1"):
        moved = api.patch("/api/v1/accounts/mover/", json={"tenantId": tenant, "groupId": "g"})
        assert moved.status_code == 200, moved.text
        assert api.get("/api/v1/tenants/t1/teams/").json()["teams"][0]["members"] == []
        assert api.post(f"{NOOJEE}/getCampaignList", headers=key).json()["entities"] == []
