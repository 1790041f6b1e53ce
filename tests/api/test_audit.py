"""The audit log: writes, refusals and failures; no secrets; a tenant admin sees its tenant only."""

from __future__ import annotations

from sqlalchemy import text
from starlette.testclient import TestClient

from switchboard.db.engine import Database
from tests.support.access_world import PASSWORD, build_world, login


def _entries(api: TestClient, headers: dict[str, str], **params: str) -> list[dict[str, object]]:
    response = api.get("/api/v1/audit/", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["auditEntries"]
    return items


def test_writes_refusals_and_failures_are_audited(api: TestClient, global_key: str, db: Database) -> None:
    w = build_world(api, global_key)
    api.patch("/api/v1/tenants/t1/", json={"name": "Renamed"}, headers=w.headers["tenant_admin"])
    api.get("/api/v1/tenants/t2/", headers=w.headers["tenant_admin"])  # invisible: 404
    api.post(
        "/api/v1/tenants/", json={"tenantId": "x", "type": "Enterprise"}, headers=w.headers["tenant_admin"]
    )  # 403
    api.get("/api/v1/tenants/", headers={"Authorization": "Bearer sbu_" + "A" * 38})  # malformed: 401
    api.post("/api/v1/auth/login", json={"username": "ta1", "password": "wrong password"})
    entries = _entries(api, w.headers["system"])
    by_status = {(e["status"], e["operation"]) for e in entries}
    assert (200, "PATCH /api/v1/tenants/{tenant_id}/") in by_status
    assert (404, "GET /api/v1/tenants/{tenant_id}/") in by_status
    assert (403, "POST /api/v1/tenants/") in by_status
    assert (401, "GET /api/v1/tenants/") in by_status
    assert (401, "POST /api/v1/auth/login/") in by_status
    denied = next(e for e in entries if e["status"] == 404)
    assert denied["principal"] == "account:ta1 via token:sbt_#" + denied["principal"].split("#")[1]  # type: ignore[union-attr]
    assert denied["decision"] == "deny"
    assert denied["reason"]  # the system administrator sees why
    assert _entries(api, w.headers["system"], decision="fail")
    assert all(e["decision"] == "fail" for e in _entries(api, w.headers["system"], decision="fail"))
    # No secret anywhere in the audit table.
    with db.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.execute(text("SELECT * FROM audit_log")))
    assert global_key not in dump
    assert PASSWORD not in dump
    for header in w.headers.values():
        assert header["Authorization"].split()[1] not in dump


def test_tenant_admin_sees_its_own_tenant_only_and_no_404_reasons(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    ta2 = {"Authorization": "Bearer " + login(api, "ta2")}
    api.patch("/api/v1/tenants/t2/", json={"name": "Other"}, headers=ta2)
    api.get("/api/v1/tenants/t2/", headers=w.headers["tenant_admin"])  # a probe of t2 by t1's admin
    mine = _entries(api, w.headers["tenant_admin"])
    assert mine
    assert not any("t2" in str(e["object"]) and e["decision"] == "allow" for e in mine)
    assert all(e["reason"] == "" for e in mine if e["status"] == 404)
    theirs = _entries(api, ta2)
    assert any(e["operation"] == "PATCH /api/v1/tenants/{tenant_id}/" for e in theirs)
    assert not any(str(e["principal"]).startswith("account:ta1") for e in theirs)


def test_audit_filters_and_pagination(api: TestClient, global_key: str) -> None:
    w = build_world(api, global_key)
    api.get("/api/v1/tenants/t1/", headers=w.headers["tenant_admin"])
    api.patch("/api/v1/tenants/t1/", json={"name": "x"}, headers=w.headers["tenant_admin"])
    first = api.get("/api/v1/audit/", params={"limit": 3}, headers=w.headers["system"]).json()
    assert len(first["auditEntries"]) == 3
    second = api.get(
        "/api/v1/audit/", params={"limit": 3, "cursor": first["nextCursor"]}, headers=w.headers["system"]
    ).json()
    assert {e["id"] for e in first["auditEntries"]}.isdisjoint(e["id"] for e in second["auditEntries"])
    assert api.get("/api/v1/audit/", params={"cursor": "x"}, headers=w.headers["system"]).status_code == 400
    assert (
        api.get("/api/v1/audit/", params={"decision": "maybe"}, headers=w.headers["system"]).status_code
        == 400
    )
    by_principal = _entries(api, w.headers["system"], principal="account:ta1")
    assert by_principal
    assert all(str(e["principal"]).startswith("account:ta1") for e in by_principal)
    future = _entries(api, w.headers["system"], since="2999-01-01T00:00:00Z")
    assert future == []


def test_retention_bounds_the_audit_table(db: Database) -> None:
    from datetime import timedelta

    from sqlalchemy import func, insert, select

    from switchboard.audit.log import AuditLog
    from switchboard.audit.models import AuditEntry
    from switchboard.db.base import utcnow

    log = AuditLog(db, retention_days=1, max_rows=1000)
    old = {"principal": "-", "client": "-", "operation": "GET /", "decision": "deny", "status": 404}
    with db.transaction() as session:
        session.execute(insert(AuditEntry), [{**old, "at": utcnow() - timedelta(days=2)}] * 10)
        session.execute(insert(AuditEntry), [{**old, "at": utcnow()}] * 1200)
    log.enforce_retention()
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1000
        oldest = session.scalar(select(func.min(AuditEntry.at)))
    assert oldest is not None
    assert oldest > utcnow() - timedelta(days=1)
