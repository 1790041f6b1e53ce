"""What README's "Using an APIO client" promises of the gateway as a whole: both spellings of a
URL answered without a redirect, and BroadWorks' own objects (not Switchboard's) answered as
missing, never a 5xx or a redirect."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.support.access_world import build_world

NOT_OURS = [
    "/api/v1/local/users/",
    "/api/v1/tenants/t1/licenses/",
    "/api/v1/tenants/t1/numbers/",
    "/api/v1/tenants/t1/groups/g1/access_devices/",
    "/api/v1/tenants/t1/groups/g1/users/eu1@t1.example/services/",
]


def test_a_gateway_url_answers_with_or_without_its_final_slash(api: TestClient, global_key: str) -> None:
    build_world(api, global_key)
    for path in ("/api/v1/tenants/", "/api/v1/tenants/t1/groups/", "/api/v1/local/resellers/"):
        with_slash = api.get(path, follow_redirects=False)
        without = api.get(path.rstrip("/"), follow_redirects=False)
        assert (with_slash.status_code, without.status_code) == (200, 200), path
        assert with_slash.json() == without.json()


@pytest.mark.parametrize("path", NOT_OURS)
def test_broadworks_objects_are_not_ours_and_read_as_missing(
    api: TestClient, global_key: str, path: str
) -> None:
    build_world(api, global_key)
    answer = api.get(path, follow_redirects=False)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
