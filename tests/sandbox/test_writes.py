"""Creates and updates: envelopes, validation, read-only and create-only fields, PATCH/PUT,
UDFs, entities that cannot be deleted or written (docs/sandbox.md "Rules it enforces",
AUTOTASK_API.md §3, §5)."""

import pytest

from tests.sandbox.helpers import (
    COMPANY,
    EVERYTHING,
    contract_body,
    errors_of,
    fails_naming,
    fails_with,
    item,
    new_billing_code,
    new_company,
    new_contract,
    not_allowed,
    ok,
    product_body,
    service_body,
)

# ---------------------------------------------------------------- helpers


def day(value: str, expected: str) -> None:
    assert isinstance(value, str), value
    assert value.startswith(f"{expected}T00:00:00"), value


# ---------------------------------------------------------------- companies


def test_create_company_and_read_it_back(sandbox):
    response = sandbox.post("/Companies", json={**COMPANY, "city": "Leeds"})
    body = ok(response)
    assert set(body) == {"itemId"}
    assert isinstance(body["itemId"], int)
    company = item(sandbox, f"/Companies/{body['itemId']}")
    assert company["id"] == body["itemId"]
    assert company["companyName"] == "Acme Ltd"
    assert company["companyType"] == 1
    assert company["ownerResourceID"] == 4
    assert company["phone"] == "555-0100"
    assert company["city"] == "Leeds"
    assert company["webAddress"] is None
    assert isinstance(company["userDefinedFields"], list)


def test_field_names_in_bodies_ignore_case(sandbox):
    body = {"CompanyName": "Case Co", "COMPANYTYPE": 1, "ownerresourceid": 4, "Phone": "1"}
    company_id = ok(sandbox.post("/Companies", json=body))["itemId"]
    company = item(sandbox, f"/Companies/{company_id}")
    assert company["companyName"] == "Case Co"
    assert company["companyType"] == 1
    ok(sandbox.patch("/Companies", json={"ID": company_id, "CITY": "York"}))
    assert item(sandbox, f"/Companies/{company_id}")["city"] == "York"


def test_get_missing_item_is_200_null(sandbox):
    for path in ("/Companies/987654", "/Contracts/987654", "/Services/987654", "/Products/987654"):
        response = sandbox.get(path)
        assert response.status_code == 200, path
        assert response.json() == {"item": None}


def test_unknown_field_on_create(sandbox):
    fails_with(
        sandbox.post("/Companies", json={**COMPANY, "bogusField": 1}),
        "Unable to find bogusField in the Company Entity.",
    )
    company_id = new_company(sandbox)
    fails_with(
        sandbox.post("/Contracts", json=contract_body(company_id, colour="red")),
        "Unable to find colour in the Contract Entity.",
    )
    code = new_billing_code(sandbox)
    fails_with(
        sandbox.post("/Services", json=service_body(code, flavour="x")),
        "Unable to find flavour in the Service Entity.",
    )
    material = new_billing_code(sandbox, use_type=4)
    fails_with(
        sandbox.post("/Products", json=product_body(material, weight=3)),
        "Unable to find weight in the Product Entity.",
    )
    # nothing was created by the refused requests
    companies = ok(sandbox.post("/Companies/query", json=EVERYTHING))
    assert [c["id"] for c in companies["items"]] == [company_id]


def test_unknown_field_on_update(sandbox):
    company_id = new_company(sandbox)
    fails_with(
        sandbox.patch("/Companies", json={"id": company_id, "bogusField": 1}),
        "Unable to find bogusField in the Company Entity.",
    )
    fails_with(
        sandbox.put("/Companies", json={**COMPANY, "id": company_id, "bogusField": 1}),
        "Unable to find bogusField in the Company Entity.",
    )


@pytest.mark.parametrize("missing", ["companyName", "companyType", "ownerResourceID", "phone"])
def test_company_required_fields(sandbox, missing):
    body = {key: value for key, value in COMPANY.items() if key != missing}
    fails_naming(sandbox.post("/Companies", json=body), missing)


@pytest.mark.parametrize(
    "missing",
    [
        "companyID",
        "contractName",
        "contractType",
        "startDate",
        "endDate",
        "status",
        "timeReportingRequiresStartAndStopTimes",
        "contractPeriodType",
    ],
)
def test_contract_required_fields(sandbox, missing):
    company_id = new_company(sandbox)
    body = {k: v for k, v in contract_body(company_id).items() if k != missing}
    fails_naming(sandbox.post("/Contracts", json=body), missing)


def test_time_and_materials_contract_needs_no_period_type(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(sandbox, company_id, contract_type=1)
    contract = item(sandbox, f"/Contracts/{contract_id}")
    assert contract["contractType"] == 1
    assert contract["contractPeriodType"] is None
    day(contract["startDate"], "2026-01-01")
    day(contract["endDate"], "2026-12-31")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("companyType", "customer"),
        ("ownerResourceID", "four"),
        ("isActive", "perhaps"),
        ("assetValue", "a lot"),
    ],
)
def test_company_wrong_types(sandbox, field, value):
    fails_naming(sandbox.post("/Companies", json={**COMPANY, field: value}), field)


def test_contract_wrong_types(sandbox):
    company_id = new_company(sandbox)
    fails_naming(
        sandbox.post("/Contracts", json=contract_body(company_id, startDate="not a date")),
        "startDate",
    )
    fails_naming(
        sandbox.post("/Contracts", json=contract_body(company_id, companyID="abc")), "companyID"
    )


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/Companies", "companyType", 999),
        ("/Contracts", "contractType", 99),
        ("/Contracts", "contractPeriodType", 42),
        ("/Contracts", "status", 7),
    ],
)
def test_unknown_picklist_values(sandbox, path, field, value):
    company_id = new_company(sandbox)
    body = COMPANY if path == "/Companies" else contract_body(company_id)
    fails_naming(sandbox.post(path, json={**body, field: value}), field)


def test_strings_over_their_length(sandbox):
    fails_naming(sandbox.post("/Companies", json={**COMPANY, "phone": "1" * 26}), "phone")
    fails_naming(
        sandbox.post("/Companies", json={**COMPANY, "companyName": "x" * 101}), "companyName"
    )
    company_id = ok(sandbox.post("/Companies", json={**COMPANY, "phone": "1" * 25}))["itemId"]
    assert item(sandbox, f"/Companies/{company_id}")["phone"] == "1" * 25
    fails_naming(sandbox.patch("/Companies", json={"id": company_id, "city": "c" * 31}), "city")
    fails_naming(
        sandbox.post("/Contracts", json=contract_body(company_id, contractName="n" * 101)),
        "contractName",
    )


def test_references_to_missing_rows(sandbox):
    fails_naming(sandbox.post("/Contracts", json=contract_body(987654)), "companyID")
    fails_naming(
        sandbox.post("/Companies", json={**COMPANY, "parentCompanyID": 987654}), "parentCompanyID"
    )
    fails_naming(sandbox.post("/Services", json=service_body(987654)), "billingCodeID")
    fails_naming(sandbox.post("/Products", json=product_body(987654)), "productBillingCodeID")


def test_read_only_fields_are_ignored(sandbox):
    company_id = ok(
        sandbox.post(
            "/Companies",
            json={**COMPANY, "createDate": "2001-02-03T00:00:00", "lastActivityDate": "2001-02-03"},
        )
    )["itemId"]
    company = item(sandbox, f"/Companies/{company_id}")
    assert not str(company["createDate"]).startswith("2001-02-03")
    assert not str(company["lastActivityDate"]).startswith("2001-02-03")
    ok(sandbox.patch("/Companies", json={"id": company_id, "createDate": "2001-02-03"}))
    assert not str(item(sandbox, f"/Companies/{company_id}")["createDate"]).startswith("2001")


def test_patch_changes_only_given_fields(sandbox):
    company_id = new_company(sandbox, city="Leeds", webAddress="acme.example")
    body = ok(sandbox.patch("/Companies", json={"id": company_id, "phone": "555-0199"}))
    assert body == {"itemId": company_id}
    company = item(sandbox, f"/Companies/{company_id}")
    assert company["phone"] == "555-0199"
    assert company["city"] == "Leeds"
    assert company["webAddress"] == "acme.example"
    assert company["companyName"] == "Acme Ltd"


def test_put_nulls_omitted_writable_fields(sandbox):
    company_id = new_company(sandbox, city="Leeds", webAddress="acme.example")
    body = ok(sandbox.put("/Companies", json={**COMPANY, "id": company_id, "companyName": "New"}))
    assert body == {"itemId": company_id}
    company = item(sandbox, f"/Companies/{company_id}")
    assert company["companyName"] == "New"
    assert company["phone"] == "555-0100"
    assert company["city"] is None
    assert company["webAddress"] is None


def test_update_of_missing_row_or_without_id(sandbox):
    errors_of(sandbox.patch("/Companies", json={"id": 987654, "city": "York"}))
    errors_of(sandbox.patch("/Companies", json={"city": "York"}))
    errors_of(sandbox.put("/Companies", json={**COMPANY, "id": 987654}))


def test_patch_with_id_in_url_is_405(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(sandbox, company_id)
    not_allowed(
        sandbox.patch(f"/Contracts/{contract_id}", json={"id": contract_id, "status": 0}), "PATCH"
    )
    assert item(sandbox, f"/Contracts/{contract_id}")["status"] == 1


def test_bare_entity_get_is_405(sandbox):
    not_allowed(sandbox.get("/Companies"), "GET")
    not_allowed(sandbox.get("/Contracts"), "GET")


def test_patch_contract(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(sandbox, company_id)
    body = ok(
        sandbox.patch(
            "/Contracts", json={"id": contract_id, "endDate": "2027-06-30", "description": "ext"}
        )
    )
    assert body == {"itemId": contract_id}
    contract = item(sandbox, f"/Contracts/{contract_id}")
    day(contract["endDate"], "2027-06-30")
    day(contract["startDate"], "2026-01-01")
    assert contract["description"] == "ext"
    assert contract["contractName"] == "Managed services"


def test_create_only_contract_fields_do_not_change(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(sandbox, company_id)
    response = sandbox.patch(
        "/Contracts", json={"id": contract_id, "contractType": 1, "contractPeriodType": 5}
    )
    assert response.status_code in (200, 500), response.text
    contract = item(sandbox, f"/Contracts/{contract_id}")
    assert contract["contractType"] == 7
    assert contract["contractPeriodType"] == 2


def test_contract_udfs_write_and_read(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(
        sandbox, company_id, userDefinedFields=[{"name": "Subscription ID", "value": "SUB-9"}]
    )
    udfs = item(sandbox, f"/Contracts/{contract_id}")["userDefinedFields"]
    assert {"name": "Subscription ID", "value": "SUB-9"} in udfs
    ok(
        sandbox.patch(
            "/Contracts",
            json={
                "id": contract_id,
                "userDefinedFields": [{"name": "Subscription ID", "value": "SUB-10"}],
            },
        )
    )
    udfs = item(sandbox, f"/Contracts/{contract_id}")["userDefinedFields"]
    assert {"name": "Subscription ID", "value": "SUB-10"} in udfs
    # a PATCH without userDefinedFields leaves them alone
    ok(sandbox.patch("/Contracts", json={"id": contract_id, "description": "d"}))
    udfs = item(sandbox, f"/Contracts/{contract_id}")["userDefinedFields"]
    assert {"name": "Subscription ID", "value": "SUB-10"} in udfs


def test_contracts_cannot_be_deleted(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(sandbox, company_id)
    not_allowed(sandbox.delete(f"/Contracts/{contract_id}"), "DELETE")
    assert item(sandbox, f"/Contracts/{contract_id}")["id"] == contract_id


def test_companies_cannot_be_deleted(sandbox):
    company_id = new_company(sandbox)
    not_allowed(sandbox.delete(f"/Companies/{company_id}"), "DELETE")
    assert item(sandbox, f"/Companies/{company_id}")["id"] == company_id


# ---------------------------------------------------------------- services and products


def test_create_service(sandbox):
    code = new_billing_code(sandbox)
    service_id = ok(
        sandbox.post("/Services", json=service_body(code, unitCost=4, invoiceDescription="Inv"))
    )["itemId"]
    service = item(sandbox, f"/Services/{service_id}")
    assert service["billingCodeID"] == code
    assert service["name"] == "Backup"
    assert service["periodType"] == 2
    assert service["unitPrice"] == pytest.approx(10)
    assert service["unitCost"] == pytest.approx(4)
    assert service["invoiceDescription"] == "Inv"
    assert service["isActive"] is True  # active by default


def test_service_unit_price_may_be_negative(sandbox):
    code = new_billing_code(sandbox)
    service_id = ok(sandbox.post("/Services", json=service_body(code, unitPrice=-5)))["itemId"]
    assert item(sandbox, f"/Services/{service_id}")["unitPrice"] == pytest.approx(-5)


@pytest.mark.parametrize("missing", ["billingCodeID", "name", "periodType", "unitPrice"])
def test_service_required_fields(sandbox, missing):
    code = new_billing_code(sandbox)
    body = {k: v for k, v in service_body(code).items() if k != missing}
    fails_naming(sandbox.post("/Services", json=body), missing)


def test_service_needs_active_recurring_billing_code(sandbox):
    inactive = new_billing_code(sandbox, use_type=5, active=False)
    material = new_billing_code(sandbox, use_type=4)
    fails_naming(sandbox.post("/Services", json=service_body(inactive)), "billingCodeID")
    fails_naming(sandbox.post("/Services", json=service_body(material)), "billingCodeID")
    fails_naming(
        sandbox.post("/Services", json=service_body(new_billing_code(sandbox), periodType=9)),
        "periodType",
    )
    service_id = ok(sandbox.post("/Services", json=service_body(new_billing_code(sandbox))))[
        "itemId"
    ]
    fails_naming(
        sandbox.patch("/Services", json={"id": service_id, "billingCodeID": material}),
        "billingCodeID",
    )


def test_update_service(sandbox):
    code = new_billing_code(sandbox)
    service_id = ok(sandbox.post("/Services", json=service_body(code)))["itemId"]
    ok(sandbox.patch("/Services", json={"id": service_id, "unitPrice": 12.5, "isActive": False}))
    service = item(sandbox, f"/Services/{service_id}")
    assert service["unitPrice"] == pytest.approx(12.5)
    assert service["isActive"] is False
    assert service["name"] == "Backup"


def test_services_and_products_cannot_be_deleted(sandbox):
    service_id = ok(sandbox.post("/Services", json=service_body(new_billing_code(sandbox))))[
        "itemId"
    ]
    product_id = ok(
        sandbox.post("/Products", json=product_body(new_billing_code(sandbox, use_type=4)))
    )["itemId"]
    not_allowed(sandbox.delete(f"/Services/{service_id}"), "DELETE")
    not_allowed(sandbox.delete(f"/Products/{product_id}"), "DELETE")
    assert item(sandbox, f"/Services/{service_id}")["id"] == service_id
    assert item(sandbox, f"/Products/{product_id}")["id"] == product_id


def test_create_and_update_product(sandbox):
    code = new_billing_code(sandbox, use_type=4)
    product_id = ok(sandbox.post("/Products", json=product_body(code, unitPrice=99, sku="R-1")))[
        "itemId"
    ]
    product = item(sandbox, f"/Products/{product_id}")
    assert product["name"] == "Router"
    assert product["productBillingCodeID"] == code
    assert product["isActive"] is True
    assert product["isSerialized"] is False
    assert product["unitPrice"] == pytest.approx(99)
    assert product["sku"] == "R-1"
    ok(sandbox.patch("/Products", json={"id": product_id, "unitPrice": 101}))
    assert item(sandbox, f"/Products/{product_id}")["unitPrice"] == pytest.approx(101)
    ok(sandbox.put("/Products", json={**product_body(code), "id": product_id}))
    product = item(sandbox, f"/Products/{product_id}")
    assert product["sku"] is None
    assert product["unitPrice"] is None


@pytest.mark.parametrize("missing", ["name", "productBillingCodeID", "isActive", "isSerialized"])
def test_product_required_fields(sandbox, missing):
    code = new_billing_code(sandbox, use_type=4)
    body = {k: v for k, v in product_body(code).items() if k != missing}
    fails_naming(sandbox.post("/Products", json=body), missing)


# ---------------------------------------------------------------- billing codes (read-only)


def test_billing_codes_are_read_only(sandbox):
    code = new_billing_code(sandbox, use_type=4, price=3)
    bc = item(sandbox, f"/BillingCodes/{code}")
    assert bc["useType"] == 4
    assert bc["isActive"] is True
    assert bc["unitPrice"] == pytest.approx(3)
    body = {"name": "New", "useType": 5, "isActive": True, "unitCost": 0, "unitPrice": 0}
    not_allowed(sandbox.post("/BillingCodes", json=body), "POST")
    not_allowed(sandbox.patch("/BillingCodes", json={"id": code, "name": "x"}), "PATCH")
    not_allowed(sandbox.delete(f"/BillingCodes/{code}"), "DELETE")
    items = ok(sandbox.post("/BillingCodes/query", json=EVERYTHING))
    assert [row["id"] for row in items["items"]] == [code]


# ---------------------------------------------------------------- contract notes


def test_contract_notes(sandbox):
    company_id = new_company(sandbox)
    contract_id = new_contract(sandbox, company_id, contract_type=1)
    note_id = ok(
        sandbox.post(
            f"/Contracts/{contract_id}/Notes", json={"title": "Kick-off", "description": "Signed"}
        )
    )["itemId"]
    note = item(sandbox, f"/Contracts/{contract_id}/Notes/{note_id}")
    assert note["contractID"] == contract_id
    assert note["title"] == "Kick-off"
    assert note["description"] == "Signed"

    listed = ok(sandbox.get(f"/Contracts/{contract_id}/Notes"))
    assert [row["id"] for row in listed["items"]] == [note_id]
    assert listed["pageDetails"]["count"] == 1

    ok(sandbox.patch(f"/Contracts/{contract_id}/Notes", json={"id": note_id, "title": "Start"}))
    note = item(sandbox, f"/Contracts/{contract_id}/Notes/{note_id}")
    assert note["title"] == "Start"
    assert note["description"] == "Signed"

    ok(
        sandbox.put(
            f"/Contracts/{contract_id}/Notes",
            json={"id": note_id, "title": "Put", "description": "Replaced"},
        )
    )
    note = item(sandbox, f"/Contracts/{contract_id}/Notes/{note_id}")
    assert (note["title"], note["description"]) == ("Put", "Replaced")

    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Notes", json={"title": "x"}), "description"
    )
    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Notes", json={"description": "x"}), "title"
    )
    fails_with(
        sandbox.post(
            f"/Contracts/{contract_id}/Notes",
            json={"title": "x", "description": "y", "mood": "happy"},
        ),
        "Unable to find mood in the ContractNote Entity.",
    )
