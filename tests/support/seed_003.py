"""Seed 003's example response, verbatim: the one copy the tests derive their data from."""

from __future__ import annotations

from typing import Any

SEED_RESPONSE: dict[str, Any] = {
    "tenant": {
        "type": "ServiceProvider",
        "useCustomRoutingProfile": True,
        "defaultDomain": "",
        "tenantId": "foo",
        "id": "foo",
        "name": "",
        "supportEmail": "",
        "useTenantLanguages": False,
    },
    "group": {
        "groupId": "fooGroup",
        "id": "fooGroup",
        "groupName": "APIO Group Test",
        "defaultDomain": "",
        "userLimit": 25,
        "userCount": 8,
        "cliName": "",
        "cliPhoneNumber": "+3225126777",
        "timeZone": "Europe/Berlin",
        "locationDialingCode": "",
        "addressInformation": {
            "addressLine1": "via Bruxelles, 33",
            "addressLine2": "",
            "city": "Milano",
            "state": "",
            "stateDisplayName": "",
            "postalCode": "20124",
            "country": "Italy",
        },
    },
    "user": {
        "userId": "",
        "id": "",
        "userType": "user",
        "name": "Test Test",
        "lastName": "Test",
        "firstName": "Test",
        "cliLastName": "Test",
        "cliFirstName": "Test",
        "phoneNumber": "",
        "extension": "4000",
        "cliPhoneNumber": "",
        "department": {
            "tenantId": "foo",
            "groupId": "fooGroup",
            "departmentName": "test_department_initial",
            "fullPathName": "test_department_parent_1 \\ test_department_initial",
        },
        "language": "English",
        "timeZone": "Europe/Berlin",
        "title": "Title Test",
        "pagerPhoneNumber": "+321234567789",
        "mobilePhoneNumber": "+32498765431",
        "emailAddress": "",
        "yahooId": "",
        "addressLocation": "Location Test",
        "address": {
            "addressLine1": "Add Test 1",
            "addressLine2": "Add Test 2",
            "city": "City Test",
            "state": "Utah",
            "stateDisplayName": "",
            "postalCode": "10211",
            "country": "CC Test",
        },
        "networkClassOfService": "4",
    },
}


# The end user's profile fields as a client sends them (the seed's user less what search derives).
SEED_USER: dict[str, Any] = {
    key: value
    for key, value in SEED_RESPONSE["user"].items()
    if key not in ("userId", "id", "userType", "name", "department")
}
SEED_ADDRESS: dict[str, str] = SEED_RESPONSE["group"]["addressInformation"]
