"""The sandbox against Autotask's own Swagger (../shared/autotask): every path and method it
serves for our entities exists there, and every field it returns exists in the matching
model (case-insensitively), apart from the exceptions listed here with their reason.

The sandbox is probed over HTTP: any answer but 404 (no such path) or 405 (no such method)
means it serves that path and method.
"""

import json
import os
import re
from pathlib import Path

import pytest

SWAGGER = Path(
    os.environ.get(
        "AUTOTASK_SWAGGER",
        Path(__file__).resolve().parents[3] / "shared/autotask/autotask-rest-swagger-subset.json",
    )
)

# Served although the Swagger does not list it, and why.
EXTRA_PATHS = {
    ("/V1.0/{Entity}/query/next", "GET"): "paging cursors are URLs the API hands out "
    "(nextPageUrl), not operations in the Swagger (AUTOTASK_API.md §2.4)",
    ("/V1.0/{Entity}/query/next", "POST"): "a cursor from a POST query is POSTed (§2.4)",
    ("/atservicesrest/v1.0/zoneInformation", "GET"): "the Swagger's /V1.0/ZoneInformation, "
    "called on the API root as clients do (§1.2)",
    ("/atservicesrest/versioninformation", "GET"): "the Swagger's /VersionInformation, "
    "which lives above /V1.0 (§1.1)",
}
EXTRA_FIELDS = {
    ("Contracts", "lastmodifieddatetime"): "added to Autotask after the 2020 Swagger "
    "(AUTOTASK_API.md §5.1); the reference-data refresh uses it as a watermark",
}
MODELS = {
    "Companies": "CompanyModel",
    "Contracts": "ContractModel",
    "ContractServices": "ContractServiceModel",
    "ContractServiceUnits": "ContractServiceUnitModel",
    "ContractCharges": "ContractChargeModel",
    "ContractNotes": "ContractNoteModel",
    "Services": "ServiceModel",
    "Products": "ProductModel",
    "BillingCodes": "BillingCodeModel",
}
ROOTS = [
    "Companies",
    "Contracts",
    "ContractServices",
    "ContractServiceAdjustments",
    "ContractServiceUnits",
    "ContractCharges",
    "ContractNotes",
    "Services",
    "Products",
    "BillingCodes",
]
CHILDREN = ["Services", "ServiceAdjustments", "ServiceUnits", "Charges", "Notes"]
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


@pytest.fixture(scope="module")
def swagger():
    if not SWAGGER.exists():
        message = f"Autotask's Swagger subset not found at {SWAGGER} (set AUTOTASK_SWAGGER)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(reason=message)
    return json.loads(SWAGGER.read_text(encoding="utf-8-sig"))


def swagger_operations(swagger) -> set[tuple[str, str]]:
    return {
        (path.lower(), method.upper())
        for path, operations in swagger["paths"].items()
        for method in operations
    }


def candidate_paths() -> list[tuple[str, str]]:
    """(template, concrete suffix after /ATServicesRest) for everything worth probing."""
    found = []
    for root in ROOTS:
        for tail in [
            "",
            "/query",
            "/query/count",
            "/query/next",
            "/{id}",
            "/entityInformation",
            "/entityInformation/fields",
            "/entityInformation/userDefinedFields",
        ]:
            found.append((f"/V1.0/{root}{tail}", root, tail))
    for child in CHILDREN:
        for tail in [
            "",
            "/{id}",
            "/query",
            "/entityInformation",
            "/entityInformation/fields",
            "/entityInformation/userDefinedFields",
        ]:
            found.append((f"/V1.0/Contracts/{{parentId}}/{child}{tail}", child, tail))
    found.append(("/V1.0/ThresholdInformation", None, ""))
    return found


def concrete(template: str, contract_id: int) -> str:
    path = template.replace("{parentId}", str(contract_id)).replace("{id}", "1")
    if path.endswith("/query/next"):
        paging = json.dumps({"pageSize": 500, "previousIds": [-1], "nextIds": [0]})
        search = json.dumps({"filter": [{"op": "exist", "field": "id"}]})
        path += f"?paging={paging}&search={search}"
    return path


def test_every_served_path_and_method_is_in_the_swagger(sandbox, swagger):
    contract_id = sandbox.insert(
        "Contracts",
        [{"contractName": "probe", "contractType": 7, "companyID": 1, "status": 1}],
    )[0]
    known = swagger_operations(swagger)
    served, unexpected = [], []
    for template, _, _ in candidate_paths():
        for method in METHODS:
            url = f"{sandbox.root}/ATServicesRest{concrete(template, contract_id)}"
            response = sandbox.session.request(
                method, url, headers=sandbox.headers, json={}, timeout=30
            )
            if response.status_code in (404, 405):
                continue
            served.append((template, method))
            generic = re.sub(r"/V1\.0/[A-Za-z]+/query/next$", "/V1.0/{Entity}/query/next", template)
            if (template.lower(), method) not in known and (generic, method) not in EXTRA_PATHS:
                unexpected.append(f"{method} {template} answered {response.status_code}")
    assert not unexpected, "served but not in Autotask's Swagger:\n" + "\n".join(unexpected)
    # And the probe really reached the sandbox's surface.
    assert ("/V1.0/Contracts/{parentId}/Charges/{id}", "DELETE") in served
    assert ("/V1.0/ContractServiceAdjustments", "POST") in served
    assert ("/V1.0/Companies/query", "GET") in served


def test_swagger_operations_we_need_are_served(sandbox, swagger):
    """The other direction, for the operations syncadmin uses."""
    contract_id = sandbox.insert(
        "Contracts",
        [{"contractName": "probe", "contractType": 7, "companyID": 1, "status": 1}],
    )[0]
    missing = []
    for path, method in sorted(swagger_operations(swagger)):
        if "zoneinformation" in path or "versioninformation" in path:
            continue
        template = next(
            (
                candidate
                for candidate, _, _ in candidate_paths()
                if candidate.lower() == path and not candidate.endswith("/query/next")
            ),
            None,
        )
        if template is None:
            missing.append(f"{method} {path} (not probed)")
            continue
        url = f"{sandbox.root}/ATServicesRest{concrete(template, contract_id)}"
        response = sandbox.session.request(
            method, url, headers=sandbox.headers, json={}, timeout=30
        )
        if response.status_code in (404, 405):
            missing.append(f"{method} {path}: {response.status_code}")
    assert not missing, "\n".join(missing)


def model_fields(swagger, model: str) -> set[str]:
    return {name.lower() for name in swagger["definitions"][model]["properties"]}


def seed_one_of_everything(sandbox) -> None:
    sandbox.insert("Companies", [{"companyName": "Swagger Check Ltd", "companyType": 1}])
    code = sandbox.insert("BillingCodes", [{"name": "RS", "useType": 5, "isActive": True}])[0]
    service = sandbox.insert(
        "Services", [{"name": "Seat", "billingCodeID": code, "periodType": 2, "unitPrice": 1}]
    )[0]
    sandbox.insert("Products", [{"name": "Box", "productBillingCodeID": code}])
    contract = sandbox.insert(
        "Contracts",
        [
            {
                "contractName": "c",
                "contractType": 7,
                "contractPeriodType": 2,
                "companyID": 1,
                "status": 1,
                "startDate": "2026-01-01",
                "endDate": "2026-03-31",
            }
        ],
    )[0]
    created = sandbox.post(
        f"/Contracts/{contract}/ServiceAdjustments",
        {"serviceID": service, "effectiveDate": "2026-01-01", "unitChange": 2},
    )
    assert created.status_code == 200, created.text
    sandbox.insert("ContractCharges", [{"contractID": contract, "name": "x", "unitQuantity": 1}])
    sandbox.insert("ContractNotes", [{"contractID": contract, "title": "t", "description": "d"}])


def test_every_returned_field_is_in_the_swagger_model(sandbox, swagger):
    seed_one_of_everything(sandbox)
    unexpected = []
    for entity, model in MODELS.items():
        expected = model_fields(swagger, model)
        items = sandbox.admin("GET", f"/records/{entity}").json()["items"]
        assert items, f"no {entity} to check"
        contract_id = items[0].get("contractID")
        if entity == "ContractNotes":
            answer = sandbox.get(f"/Contracts/{contract_id}/Notes").json()
        else:
            answer = sandbox.post(
                f"/{entity}/query", {"filter": [{"op": "exist", "field": "id"}]}
            ).json()
        returned = {name.lower() for item in answer["items"] for name in item}
        fields = sandbox.get(f"/{entity}/entityInformation/fields").json()
        if entity == "ContractNotes":
            fields = sandbox.get(f"/Contracts/{contract_id}/Notes/entityInformation/fields").json()
        described = {field["name"].lower() for field in fields["fields"]}
        for name in sorted(returned | described):
            if name not in expected and (entity, name) not in EXTRA_FIELDS:
                unexpected.append(f"{entity}.{name}")
    assert not unexpected, "fields not in Autotask's Swagger models: " + ", ".join(unexpected)


def test_every_swagger_field_is_returned(sandbox, swagger):
    """Every model field (but internal ones) is on the wire, nulls included."""
    seed_one_of_everything(sandbox)
    internal = {"soapparentpropertyid"}
    missing = []
    for entity, model in MODELS.items():
        if entity == "ContractNotes":
            continue
        item = sandbox.post(
            f"/{entity}/query", {"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 1}
        ).json()["items"][0]
        returned = {name.lower() for name in item}
        missing += [
            f"{entity}.{name}" for name in model_fields(swagger, model) - returned - internal
        ]
    assert not missing, ", ".join(sorted(missing))
