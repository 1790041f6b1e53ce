"""Nesting depth: JSON nested deeper than a limit is refused cleanly wherever it enters. An import
line or CSV cell past 32 levels is that row's problem, named, while the other rows are checked (never
a RecursionError ending the job); an API body at any depth is a 4xx, never a 500."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from switchboard.bulk import jobs
from switchboard.bulk.formats import MAX_DEPTH, TOO_DEEP
from switchboard.settings import Settings
from tests.support.bulk import IMPORT, bulk_user, finished, start
from tests.support.clients import make_client
from tests.support.factories import make_tree

JSON = {"Content-Type": "application/json"}


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


def mixed(depth: int) -> str:
    half = depth // 2
    return '[{"a":' * half + "1" + "}]" * half


def strings_with_brackets(depth: int) -> str:
    """Deep-looking text that is not deep: brackets inside a string."""
    return json.dumps("[{" * depth)


# (JSON text of an address, its depth): in a JSON Lines record one more level (the record's).
VALUES = [
    (arrays(100_000), 100_000),  # the json module's RecursionError without the limit
    (objects(1_100), 1_100),
    (mixed(2_000), 2_000),
    (arrays(MAX_DEPTH + 1), MAX_DEPTH + 1),
    (arrays(MAX_DEPTH), MAX_DEPTH),  # deeper than the limit in a record, at it in a CSV cell
    (arrays(MAX_DEPTH - 1), MAX_DEPTH - 1),  # parsed, then refused as not an address
    (strings_with_brackets(5_000), 1),
]
# A CSV cell holds at most 128 KiB (the csv module's limit: past it the file is refused as not CSV).
CSV_VALUES = [(value, depth) for value, depth in VALUES if len(value) < 128 * 1024]


@pytest.fixture
def client(settings: Settings, global_key: str) -> Iterator[TestClient]:
    with make_client(settings) as test_client:
        test_client.headers["Authorization"] = f"Bearer {global_key}"
        make_tree(test_client)
        yield test_client
        assert jobs.join_running(20), "an import job was still running"


def _problems(job: dict[str, object]) -> dict[int, tuple[str, str]]:
    return {p["line"]: (p["field"], p["reason"]) for p in job["problems"]}  # type: ignore[attr-defined]


def test_a_deep_json_lines_record_is_its_rows_problem(client: TestClient) -> None:
    lines = [json.dumps(bulk_user("ok@t1.example", "t1", "g1"))]
    for n, (value, _) in enumerate(VALUES):
        record = json.dumps(bulk_user(f"u{n}@t1.example", "t1", "g1"))
        lines.append(record[:-1] + f', "address": {value}}}')
    lines.append(arrays(50_000))  # a whole line that is only depth
    body = ("\n".join(lines) + "\n").encode()
    job = finished(client, start(client, body, params={"checkOnly": "true"})["id"])
    assert (job["status"], job["rowsTotal"], job["rowsChecked"]) == ("refused", len(lines), len(lines)), job
    problems = _problems(job)
    for n, (_, depth) in enumerate(VALUES):
        line = n + 2
        assert line in problems, (line, problems)  # every one refused: too deep, or not an address
        assert (problems[line] == ("", TOO_DEEP)) is (depth + 1 > MAX_DEPTH), (line, problems[line])
    assert problems[len(lines)] == ("", TOO_DEEP)
    assert 1 not in problems  # the plain user is fine
    assert str(MAX_DEPTH) in TOO_DEEP


def test_a_deep_csv_cell_is_its_rows_problem_naming_the_column(client: TestClient) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["tenantId", "groupId", "userId", "lastName", "firstName", "address"])
    writer.writerow(["t1", "g1", "fine@t1.example", "L", "F", ""])
    for n, (value, _) in enumerate(CSV_VALUES):
        writer.writerow(["t1", "g1", f"c{n}@t1.example", "L", "F", value])
    params = {"kind": "users", "checkOnly": "true"}
    job = finished(client, start(client, out.getvalue().encode(), {"Content-Type": "text/csv"}, params)["id"])
    assert (job["status"], job["rowsChecked"]) == ("refused", len(CSV_VALUES) + 1), job
    problems = _problems(job)
    for n, (_, depth) in enumerate(CSV_VALUES):
        line = n + 3
        assert line in problems, (line, problems)
        assert (problems[line] == ("address", TOO_DEEP)) is (depth > MAX_DEPTH), (line, problems[line])
    assert 2 not in problems


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 990, 1_100, 100_000])
def test_a_deep_api_body_is_a_4xx_never_a_500(client: TestClient, depth: int) -> None:
    user = "/api/v1/tenants/t1/groups/g1/users/"
    assert (
        client.post(user, json={"userId": "d@t1.example", "lastName": "L", "firstName": "F"}).status_code
        == 201
    )
    before = client.get(f"{user}d@t1.example/").json()
    for deep in (arrays(depth), objects(depth), mixed(depth)):
        for method, path, body in (
            ("POST", "/api/v1/tenants/", deep),
            ("POST", user, '{"userId": "e@t1.example", "lastName": "L", "firstName": ' + deep + "}"),
            ("PATCH", f"{user}d@t1.example/", '{"address": ' + deep + "}"),
            ("POST", "/api/v1/search/objects/", deep),
        ):
            answer = client.request(method, path, content=body, headers=JSON)
            assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text[:200])
    assert client.get(f"{user}d@t1.example/").json() == before  # nothing was changed
    assert client.get(IMPORT).status_code == 200  # and the server carries on
