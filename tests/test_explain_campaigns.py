"""`access explain` on campaigns and templates: the API's verdict, worded with the template's team."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from switchboard.access import keys
from switchboard.access.explain import Explanation, explain, principal_for
from switchboard.access.principal import Principal
from switchboard.contact_centre import service
from switchboard.db.engine import Database
from switchboard.directory.service import find_tenant
from switchboard.errors import BadRequest, NotFound
from tests.support.access_world import build_world, login, make_account
from tests.support.factories import created

T1 = "/api/v1/tenants/t1"
TEMPLATE_TEAMS = {"TO": "Outbound", "TR": "Retention", "TN": None}


@dataclass
class Centre:
    """t1's templates and campaigns by name, and the credentials explain is asked about."""

    ids: dict[str, dict[str, int]]  # kind -> template name -> id
    global_key: str
    agent_key: str


@pytest.fixture
def centre(api: TestClient, global_key: str) -> Centre:
    """Teams Outbound and Retention; `agent` is in Outbound only; templates TO, TR and team-less TN
    with one campaign each; `spy` is an end user of t2."""
    build_world(api, global_key)
    for team in ("Outbound", "Retention"):
        created(api.post(f"{T1}/teams/", json={"name": team}))
    make_account(api, "agent", "user", "t1", "g1")
    make_account(api, "spy", "user", "t2", "g1")
    created(api.post(f"{T1}/teams/Outbound/members/", json={"username": "agent"}), 200)
    ids: dict[str, dict[str, int]] = {"campaign_template": {}, "campaign": {}}
    for name, team in TEMPLATE_TEAMS.items():
        template = created(api.post(f"{T1}/campaign-templates/", json={"name": name, "team": team}))["id"]
        ids["campaign_template"][name] = template
        ids["campaign"][name] = created(
            api.post(f"{T1}/campaigns/", json={"name": f"{name}-1", "templateId": template})
        )["id"]
    agent_key = created(api.post("/api/v1/accounts/agent/api-keys/", json={"name": "dialler"}))["key"]
    return Centre(ids, global_key, agent_key)


def _principal(session: Session, centre: Centre, who: str) -> Principal:
    """An account name (as with its login token), or 'global key' / 'agent key'."""
    if who == "global key":
        return principal_for(session, keys.display_prefix(centre.global_key), None)
    if who == "agent key":
        return principal_for(session, keys.display_prefix(centre.agent_key), None)
    return principal_for(session, None, who)


def _service_finds(session: Session, principal: Principal, kind: str, object_id: int) -> bool:
    """What the API's GET on the object decides: the route's own lookups."""
    find = service.find_campaign if kind == "campaign" else service.find_template
    try:
        find(session, principal, find_tenant(session, principal, "t1"), object_id)
    except NotFound:
        return False
    return True


def _explained(db: Database, centre: Centre, who: str, kind: str, template: str) -> Explanation:
    """Explain's answer, after checking it against the service's."""
    object_id = centre.ids[kind][template]
    with db.transaction() as session:
        principal = _principal(session, centre, who)
        verdict = explain(session, principal, f"{kind}:t1/{object_id}", "read")
        assert verdict.allowed == _service_finds(session, principal, kind, object_id), (who, kind, verdict)
    return verdict


# (who, template, allowed, words the reason must contain)
CASES = (
    ("agent", "TO", True, ("visible via team Outbound",)),
    ("agent key", "TO", True, ("visible via team Outbound",)),
    ("agent", "TR", False, ("template team Retention", "account not a member", "404")),
    ("agent key", "TR", False, ("template team Retention", "account not a member")),
    ("ga1", "TO", False, ("template team Outbound", "account not a member")),
    ("agent", "TN", False, ("team-less template", "visible to administrators only")),
    ("ta1", "TO", True, ("a tenant admin sees its tenant's campaign",)),
    ("ta1", "TN", True, ("a tenant admin sees its tenant's campaign",)),
    ("global key", "TR", True, ("system sees everything",)),
    ("ta2", "TO", False, ("a tenant admin sees its tenant's campaign", "outside that")),
    ("spy", "TO", False, ("belongs to another tenant",)),
)


def test_explain_agrees_with_the_api_and_names_the_team(
    api: TestClient, db: Database, centre: Centre
) -> None:
    for kind in ("campaign", "campaign_template"):
        for who, template, allowed, words in CASES:
            verdict = _explained(db, centre, who, kind, template)
            assert verdict.allowed is allowed, (who, kind, template, str(verdict))
            for word in words:
                assert word in verdict.rule, (who, kind, template, str(verdict))
            assert str(verdict).startswith("ALLOW: " if allowed else "DENY: ")

    # The tenant opens team-less templates to everyone: the same accounts now see TN, and only it.
    assert api.patch(f"{T1}/", json={"teamlessTemplatesVisibleTo": "everyone"}).status_code == 200
    for kind in ("campaign", "campaign_template"):
        opened = _explained(db, centre, "agent", kind, "TN")
        assert opened.allowed
        assert opened.rule == "visible: team-less template, tenant opens team-less templates to everyone"
        assert not _explained(db, centre, "agent", kind, "TR").allowed
        assert not _explained(db, centre, "spy", kind, "TN").allowed


def test_explain_manage_on_campaigns_matches_the_api(api: TestClient, db: Database, centre: Centre) -> None:
    campaign = centre.ids["campaign"]["TO"]
    # The API refuses a change before it looks the campaign up: 403 whether or not it is visible
    # (the agent sees it, ga1 does not); 404 only where the tenant itself is out of sight.
    for who, status in (("ta1", 200), ("agent", 403), ("ga1", 403), ("ta2", 404)):
        with db.transaction() as session:
            verdict = explain(session, _principal(session, centre, who), f"campaign:t1/{campaign}", "manage")
        headers = {"Authorization": f"Bearer {login(api, who)}"}
        response = api.patch(f"{T1}/campaigns/{campaign}/", json={"status": "paused"}, headers=headers)
        assert response.status_code == status, (who, response.text)
        assert verdict.allowed is (status == 200), (who, str(verdict))
        assert (f"answers {status}" in verdict.rule) is (status != 200), (who, str(verdict))


def test_explain_campaign_object_syntax(db: Database, global_key: str) -> None:
    with db.transaction() as session:
        system = principal_for(session, keys.display_prefix(global_key), None)
        assert "does not exist" in explain(session, system, "campaign:nope/1", "read").rule
        assert "does not exist" in explain(session, system, "campaign_template:nope/1", "read").rule
        for wrong in ("campaign:t1/first", "campaign:t1", "campaign_template:t1/1/2"):
            with pytest.raises(BadRequest, match="campaign:T/ID"):
                explain(session, system, wrong, "read")
