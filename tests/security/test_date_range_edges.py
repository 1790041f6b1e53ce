"""Date-range edges: a callback time at the ends of what datetime can hold is a clear 400 naming its
field (on Noojee's surface the row's code), never an overflow; the edges of the range are kept."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support.contact_centre import lead_campaigns
from tests.support.factories import created

N = "/servicemanager/rest/CampaignAPI"

# Each overflows when moved between its zone and UTC, or when shown in the template's zone.
NATIVE_OUTSIDE = [
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59",
    "9999-12-31T23:00:00Z",
    "1969-12-31T23:59:59",
]
NATIVE_EDGES = ["1970-01-01T00:00:00+14:00", "1970-01-01T00:00:00", "9998-12-31T23:59:59-14:00"]
NOOJEE_OUTSIDE = ["0001/01/01 00:00", "9999/12/31 23:59", "1969/12/31 23:59"]
NOOJEE_EDGES = ["1970/01/01 00:00", "9998/12/31 23:59"]


def _lead(n: int, **extra: Any) -> dict[str, Any]:
    return {"fields": {"firstName": f"L{n}", "phone": f"+6139000{n:04d}"}, **extra}


def test_native_callback_times_outside_the_range_are_refused(api: TestClient, global_key: str) -> None:
    s = lead_campaigns(api, global_key)
    rows = [_lead(n, callbackAt=when) for n, when in enumerate(NATIVE_OUTSIDE + NATIVE_EDGES)]
    body = created(api.post(s["path"], json={"leads": rows}), 200)
    results = body["results"]
    assert [r["code"] for r in results] == [150] * len(NATIVE_OUTSIDE) + [0] * len(NATIVE_EDGES)
    for result in results[: len(NATIVE_OUTSIDE)]:
        assert result["detail"].startswith("callbackAt: ")
        assert "1970-01-01" in result["detail"]
    for result in results[len(NATIVE_OUTSIDE) :]:  # kept, and shown in the template's zone
        lead = created(api.get(f"{s['path']}{result['id']}/"), 200)
        assert lead["callbackLocal"] is not None
    lead_id = results[-1]["id"]
    for when in NATIVE_OUTSIDE:
        refused = api.patch(f"{s['path']}{lead_id}/", json={"callbackAt": when})
        assert refused.status_code == 400, (when, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == "callbackAt"
    assert api.patch(f"{s['path']}{lead_id}/", json={"callbackAt": NATIVE_EDGES[0]}).status_code == 200


@pytest.mark.parametrize("method", ["insertLeadFast", "updateLeadFast"])
def test_noojee_callback_dates_outside_the_range_are_the_rows_code(
    anonymous: TestClient, api: TestClient, global_key: str, method: str
) -> None:
    s = lead_campaigns(api, global_key)
    template = s["templates"]["TA"]
    query = f"apiKey={s['apikey']}&fTemplateId={template}&fCampaignId={s['campaign']}"
    dates = NOOJEE_OUTSIDE + NOOJEE_EDGES
    rows = [
        {"firstName": f"L{n}", "phone": f"03 9000 {n:04d}", "njExternalLeadId": f"x{n}"}
        for n in range(len(dates))
    ]
    if method == "updateLeadFast":
        inserted = anonymous.post(f"{N}/insertLeadFast?{query}", json=rows)
        assert [e["Code"] for e in inserted.json()["entities"]] == [0] * len(rows)
    for row, when in zip(rows, dates, strict=True):
        row["njCallBackDate"] = when
    answer = anonymous.post(f"{N}/{method}?{query}", json=rows)
    assert answer.status_code == 200, answer.text
    entities = answer.json()["entities"]
    assert [e["Code"] for e in entities] == [150] * len(NOOJEE_OUTSIDE) + [0] * len(NOOJEE_EDGES)
    for entity in entities[: len(NOOJEE_OUTSIDE)]:
        assert entity["Detail"].startswith("njCallBackDate: ")
        assert "1970/01/01" in entity["Detail"]
    for entity in entities[len(NOOJEE_OUTSIDE) :]:
        assert created(api.get(f"{s['path']}{entity['leadId']}/"), 200)["callbackLocal"]
