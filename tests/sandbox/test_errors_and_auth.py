"""Authentication, version and zone discovery, path matching, error shapes, entity metadata
and ThresholdInformation (docs/sandbox.md "What it serves" and "Errors", AUTOTASK_API.md
§1, §2.5, §3.5, §4.3)."""

import json

import pytest
import requests

from tests.sandbox.helpers import (
    BAD_IMPERSONATION,
    EVERYTHING,
    UNKNOWN_USER,
    WRONG_INTEGRATION_CODE,
    WRONG_SECRET,
    ZONE_NOT_FOUND,
    contract_body,
    errors_of,
    new_company,
    not_allowed,
    ok,
    refused,
)

# ---------------------------------------------------------------- authentication


def test_valid_credentials(sandbox):
    assert ok(sandbox.post("/Companies/query", json=EVERYTHING))["items"] == []


def test_wrong_secret_is_401(sandbox):
    headers = {**sandbox.headers, "Secret": "not-the-secret"}
    response = requests.post(
        f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=headers, timeout=10
    )
    refused(response, 401, WRONG_SECRET)
    response = requests.get(f"{sandbox.api}/ThresholdInformation", headers=headers, timeout=10)
    refused(response, 401, WRONG_SECRET)


def test_unknown_user_is_500(sandbox):
    headers = {**sandbox.headers, "UserName": "nobody@example.com"}
    response = requests.post(
        f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=headers, timeout=10
    )
    refused(response, 500, UNKNOWN_USER)


def test_wrong_integration_code_is_500(sandbox):
    headers = {**sandbox.headers, "ApiIntegrationCode": "SOMEONE-ELSE-000000000000001"}
    response = requests.post(
        f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=headers, timeout=10
    )
    refused(response, 500, WRONG_INTEGRATION_CODE)


def test_refused_writes_change_nothing(sandbox):
    body = {"companyName": "Sneaky", "companyType": 1, "ownerResourceID": 4, "phone": "5"}
    for headers, status, message in (
        ({**sandbox.headers, "Secret": "wrong"}, 401, WRONG_SECRET),
        ({**sandbox.headers, "UserName": "nobody@example.com"}, 500, UNKNOWN_USER),
        ({**sandbox.headers, "ApiIntegrationCode": "WRONG"}, 500, WRONG_INTEGRATION_CODE),
    ):
        response = requests.post(f"{sandbox.api}/Companies", json=body, headers=headers, timeout=10)
        refused(response, status, message)
    assert ok(sandbox.post("/Companies/query", json=EVERYTHING))["items"] == []


def test_impersonation_header(sandbox):
    headers = {**sandbox.headers, "ImpersonationResourceId": "29682885"}
    response = requests.post(
        f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=headers, timeout=10
    )
    assert ok(response)["items"] == []
    headers = {**sandbox.headers, "ImpersonationResourceId": "somebody"}
    response = requests.post(
        f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=headers, timeout=10
    )
    refused(response, 500, BAD_IMPERSONATION)


def test_header_names_ignore_case(sandbox):
    headers = {name.lower(): value for name, value in sandbox.headers.items()}
    response = requests.post(
        f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=headers, timeout=10
    )
    assert ok(response)["items"] == []


# ---------------------------------------------------------------- version and zone


def test_version_information_needs_no_auth(sandbox):
    for path in ("/atservicesrest/versioninformation", "/ATServicesRest/VersionInformation"):
        response = requests.get(sandbox.root + path, timeout=10)
        assert ok(response) == {"apiVersions": ["V1.0"]}


def test_zone_information(sandbox):
    user = sandbox.headers["UserName"]
    response = requests.get(
        f"{sandbox.root}/atservicesrest/v1.0/zoneInformation", params={"user": user}, timeout=10
    )
    zone = ok(response)
    assert set(zone) >= {"zoneName", "url", "webUrl", "ci"}
    assert isinstance(zone["zoneName"], str)
    assert isinstance(zone["ci"], int)
    url = zone["url"]
    assert url.endswith("/"), url
    assert url.lower() == f"{sandbox.root}/atservicesrest/".lower(), url
    # a client appends v1.0/... to the zone url, as with a real zone
    found = requests.post(
        url + "v1.0/Companies/query", json=EVERYTHING, headers=sandbox.headers, timeout=10
    )
    assert ok(found)["items"] == []


def test_zone_information_path_ignores_case(sandbox):
    user = sandbox.headers["UserName"]
    response = requests.get(
        f"{sandbox.root}/ATServicesRest/V1.0/ZoneInformation", params={"user": user}, timeout=10
    )
    assert ok(response)["url"].endswith("/")


@pytest.mark.parametrize("user", ["nobody@example.com", ""])
def test_zone_information_unknown_user(sandbox, user):
    response = requests.get(
        f"{sandbox.root}/atservicesrest/v1.0/zoneInformation", params={"user": user}, timeout=10
    )
    refused(response, 500, ZONE_NOT_FOUND)


# ---------------------------------------------------------------- paths


def test_paths_ignore_case(sandbox):
    company_id = new_company(sandbox)
    search = {"search": json.dumps(EVERYTHING)}
    for prefix in ("/atservicesrest/v1.0", "/ATSERVICESREST/V1.0", "/ATServicesRest/v1.0"):
        for path in ("/companies/QUERY", "/COMPANIES/query", "/Companies/Query"):
            response = requests.get(
                sandbox.root + prefix + path, params=search, headers=sandbox.headers, timeout=10
            )
            assert [row["id"] for row in ok(response)["items"]] == [company_id], path
        response = requests.get(
            f"{sandbox.root}{prefix}/companies/{company_id}", headers=sandbox.headers, timeout=10
        )
        assert ok(response)["item"]["id"] == company_id
        response = requests.post(
            f"{sandbox.root}{prefix}/companies/query/COUNT",
            json=EVERYTHING,
            headers=sandbox.headers,
            timeout=10,
        )
        assert ok(response) == {"queryCount": 1}


def test_child_paths_ignore_case(sandbox):
    company_id = new_company(sandbox)
    body = contract_body(company_id, name="C", contract_type=1)
    contract_id = ok(sandbox.post("/contracts", json=body))["itemId"]
    note = ok(
        sandbox.post(f"/CONTRACTS/{contract_id}/notes", json={"title": "t", "description": "d"})
    )["itemId"]
    listed = ok(sandbox.get(f"/contracts/{contract_id}/NOTES"))
    assert [row["id"] for row in listed["items"]] == [note]


def test_unknown_paths_are_404(sandbox):
    for path in (
        "/Widgets/query",
        "/Widgets/1",
        "/Companies/query/sideways",
        "/Contracts/1/Gadgets",
        "/Resources/query",
        "/Contacts/query",
        "/Tickets/1",
        "/ContractServiceBundles/query",
        "/BillingItems/query",
    ):
        response = sandbox.get(path)
        errors_of(response, 404)
    errors_of(requests.get(f"{sandbox.root}/nothing/here", timeout=10), 404)


def test_method_not_allowed_bodies(sandbox):
    not_allowed(sandbox.get("/Companies"), "GET")
    not_allowed(sandbox.delete(f"/Companies/{new_company(sandbox)}"), "DELETE")
    not_allowed(sandbox.post("/BillingCodes", json={"name": "x"}), "POST")
    not_allowed(sandbox.put("/ContractServiceUnits", json={"id": 1}), "PUT")


def test_malformed_json_body(sandbox):
    response = sandbox.session.post(
        f"{sandbox.api}/Companies",
        data="{not json",
        headers={**sandbox.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code in (400, 500), response.text
    assert response.json()["errors"]


# ---------------------------------------------------------------- entity information

INFO_CASES = {
    "Companies": dict(canCreate=True, canUpdate=True, canDelete=False, canQuery=True),
    "Contracts": dict(canCreate=True, canUpdate=True, canDelete=False, canQuery=True),
    "BillingCodes": dict(canCreate=False, canUpdate=False, canDelete=False, canQuery=True),
    "ContractServiceAdjustments": dict(canCreate=True, canUpdate=False, canQuery=False),
    "ContractServiceUnits": dict(canCreate=False, canUpdate=False, canDelete=False, canQuery=True),
    "Services": dict(canCreate=True, canUpdate=True, canDelete=False, canQuery=True),
    "Products": dict(canCreate=True, canUpdate=True, canDelete=False, canQuery=True),
}


@pytest.mark.parametrize("entity", list(INFO_CASES))
def test_entity_information(sandbox, entity):
    info = ok(sandbox.get(f"/{entity}/entityInformation"))["info"]
    assert info["name"] == entity
    for key, value in INFO_CASES[entity].items():
        assert info[key] is value, (key, info)
    assert isinstance(info["hasUserDefinedFields"], bool)


def test_user_defined_fields_flags(sandbox):
    assert ok(sandbox.get("/Contracts/entityInformation"))["info"]["hasUserDefinedFields"] is True


def fields_by_name(sandbox, entity: str) -> dict[str, dict]:
    fields = ok(sandbox.get(f"/{entity}/entityInformation/fields"))["fields"]
    return {field["name"]: field for field in fields}


def test_entity_fields_shape(sandbox):
    fields = fields_by_name(sandbox, "Contracts")
    keys = {
        "name",
        "dataType",
        "length",
        "isRequired",
        "isReadOnly",
        "isQueryable",
        "isReference",
        "referenceEntityType",
        "isPickList",
        "picklistValues",
    }
    for field in fields.values():
        assert keys <= set(field), field
        assert field["dataType"] in {"string", "integer", "long", "decimal", "boolean", "datetime"}
    name = fields["contractName"]
    assert (name["dataType"], name["length"], name["isRequired"]) == ("string", 100, True)
    assert name["isPickList"] is False
    assert name["picklistValues"] is None
    assert fields["id"]["isReadOnly"] is True
    assert fields["id"]["isRequired"] is True
    assert fields["startDate"]["dataType"] == "datetime"
    assert fields["companyID"]["isReference"] is True
    assert fields["companyID"]["referenceEntityType"] == "Company"
    assert fields["companyID"]["isRequired"] is True
    assert fields["description"]["length"] == 2000
    assert fields["endDate"]["isRequired"] is True
    assert "Subscription ID" not in fields


def test_entity_fields_picklists(sandbox):
    contract_type = fields_by_name(sandbox, "Contracts")["contractType"]
    assert contract_type["isPickList"] is True
    values = contract_type["picklistValues"]
    assert all(isinstance(value["value"], str) for value in values), values
    for value in values:
        assert {"value", "label", "isDefaultValue", "sortOrder", "isActive"} <= set(value)
    assert "7" in {value["value"] for value in values}
    assert "1" in {value["value"] for value in values}

    period = fields_by_name(sandbox, "Services")["periodType"]
    assert {"2", "5"} <= {value["value"] for value in period["picklistValues"]}
    company_type = fields_by_name(sandbox, "Companies")["companyType"]
    assert "1" in {value["value"] for value in company_type["picklistValues"]}
    use_type = fields_by_name(sandbox, "BillingCodes")["useType"]
    assert {"4", "5"} <= {value["value"] for value in use_type["picklistValues"]}


def test_entity_fields_for_other_entities(sandbox):
    charges = fields_by_name(sandbox, "ContractCharges")
    assert charges["isBilled"]["isReadOnly"] is True
    assert charges["billableAmount"]["isReadOnly"] is True
    assert charges["name"]["isRequired"] is True
    units = fields_by_name(sandbox, "ContractServiceUnits")
    assert {"units", "price", "cost", "startDate", "endDate", "approveAndPostDate"} <= set(units)
    services = fields_by_name(sandbox, "Services")
    assert services["billingCodeID"]["isRequired"] is True
    assert services["unitPrice"]["isRequired"] is True
    adjustments = fields_by_name(sandbox, "ContractServiceAdjustments")
    assert adjustments["effectiveDate"]["isRequired"] is True
    assert {"unitChange", "serviceID", "contractServiceID"} <= set(adjustments)


def test_user_defined_field_definitions(sandbox):
    fields = ok(sandbox.get("/Contracts/entityInformation/userDefinedFields"))["fields"]
    by_name = {field["name"]: field for field in fields}
    assert "Subscription ID" in by_name
    assert {"name", "label", "type", "isPickList"} <= set(by_name["Subscription ID"])


def test_entity_information_paths_ignore_case(sandbox):
    info = ok(sandbox.get("/companies/ENTITYINFORMATION"))["info"]
    assert info["name"] == "Companies"
    assert ok(sandbox.get("/CONTRACTS/entityinformation/FIELDS"))["fields"]


# ---------------------------------------------------------------- ThresholdInformation


def test_threshold_information_shape(sandbox):
    info = ok(sandbox.get("/ThresholdInformation"))
    assert info["externalRequestThreshold"] == 10000
    assert info["requestThresholdTimeframe"] == 60
    assert isinstance(info["currentTimeframeRequestCount"], int)
    assert 0 <= info["currentTimeframeRequestCount"] <= 1


def test_threshold_information_counts_requests(sandbox):
    for _ in range(3):
        ok(sandbox.post("/Companies/query", json=EVERYTHING))
    info = ok(sandbox.get("/ThresholdInformation"))
    assert info["currentTimeframeRequestCount"] in (3, 4)  # with or without this request


def test_threshold_information_needs_auth(sandbox):
    response = requests.get(f"{sandbox.api}/ThresholdInformation", timeout=10)
    refused(response, 500, UNKNOWN_USER)  # no UserName header: no such API user
