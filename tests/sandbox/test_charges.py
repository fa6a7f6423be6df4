"""Contract charges, billable amounts, and what posting a period locks
(docs/sandbox.md "Rules it enforces" and post_period, AUTOTASK_API.md §5.5, §6.5)."""

import pytest

from tests.sandbox.helpers import (
    adjust,
    errors_of,
    fails_naming,
    fails_with,
    item,
    new_billing_code,
    new_contract,
    not_allowed,
    ok,
    product_body,
    service_body,
)

POSTED_MESSAGE = (
    "Unable to make changes as it would result in the deletion/modification of an already "
    "approved and posted contract period"
)

# ---------------------------------------------------------------- helpers


def material_code(sandbox, *, price: float = 4, cost: float = 1.5) -> int:
    return new_billing_code(sandbox, name="Hardware", use_type=4, cost=cost, price=price)


def charge_body(code: int, **extra) -> dict:
    return {
        "name": "Cables",
        "datePurchased": "2026-01-10",
        "unitQuantity": 3,
        "unitPrice": 7.5,
        "unitCost": 2,
        "chargeType": 1,
        "billingCodeID": code,
        **extra,
    }


def add_charge(sandbox, contract_id: int, body: dict) -> int:
    return ok(sandbox.post(f"/Contracts/{contract_id}/Charges", json=body))["itemId"]


# ---------------------------------------------------------------- charges


def test_charge_amounts(sandbox):
    contract_id = new_contract(sandbox)
    charge_id = add_charge(sandbox, contract_id, charge_body(material_code(sandbox)))
    charge = item(sandbox, f"/ContractCharges/{charge_id}")
    assert charge["contractID"] == contract_id
    assert charge["name"] == "Cables"
    assert charge["unitQuantity"] == pytest.approx(3)
    assert charge["billableAmount"] == pytest.approx(22.5)
    assert charge["extendedCost"] == pytest.approx(6)
    assert charge["isBilled"] is False
    assert charge["datePurchased"].startswith("2026-01-10T00:00:00")
    assert item(sandbox, f"/Contracts/{contract_id}/Charges/{charge_id}")["id"] == charge_id

    listed = ok(sandbox.get(f"/Contracts/{contract_id}/Charges"))
    assert [row["id"] for row in listed["items"]] == [charge_id]
    found = ok(
        sandbox.post(
            "/ContractCharges/query",
            json={"filter": [{"op": "eq", "field": "contractID", "value": contract_id}]},
        )
    )
    assert [row["id"] for row in found["items"]] == [charge_id]


def test_charge_without_unit_price_uses_billing_code_price(sandbox):
    contract_id = new_contract(sandbox)
    body = charge_body(material_code(sandbox, price=4))
    del body["unitPrice"]
    charge_id = add_charge(sandbox, contract_id, body)
    assert item(sandbox, f"/ContractCharges/{charge_id}")["billableAmount"] == pytest.approx(12)


def test_charge_with_product(sandbox):
    contract_id = new_contract(sandbox)
    product_id = ok(sandbox.post("/Products", json=product_body(material_code(sandbox))))["itemId"]
    body = charge_body(0, productID=product_id, unitQuantity=2, unitPrice=50)
    del body["billingCodeID"]
    charge_id = add_charge(sandbox, contract_id, body)
    charge = item(sandbox, f"/ContractCharges/{charge_id}")
    assert charge["productID"] == product_id
    assert charge["billableAmount"] == pytest.approx(100)


def test_charge_needs_product_or_billing_code(sandbox):
    contract_id = new_contract(sandbox)
    body = charge_body(0)
    del body["billingCodeID"]
    errors = errors_of(sandbox.post(f"/Contracts/{contract_id}/Charges", json=body))
    text = " ".join(errors).lower()
    assert "productid" in text or "billingcodeid" in text, errors
    assert ok(sandbox.get(f"/Contracts/{contract_id}/Charges"))["items"] == []


@pytest.mark.parametrize("missing", ["name", "datePurchased", "unitQuantity", "chargeType"])
def test_charge_required_fields(sandbox, missing):
    contract_id = new_contract(sandbox)
    body = {k: v for k, v in charge_body(material_code(sandbox)).items() if k != missing}
    fails_naming(sandbox.post(f"/Contracts/{contract_id}/Charges", json=body), missing)


def test_charge_validation(sandbox):
    contract_id = new_contract(sandbox)
    code = material_code(sandbox)
    fails_with(
        sandbox.post(f"/Contracts/{contract_id}/Charges", json=charge_body(code, size=1)),
        "Unable to find size in the ContractCharge Entity.",
    )
    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Charges", json=charge_body(code, chargeType=9)),
        "chargeType",
    )
    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Charges", json=charge_body(987654)), "billingCodeID"
    )
    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Charges", json=charge_body(code, name="n" * 101)),
        "name",
    )


def test_charges_on_time_and_materials_contract(sandbox):
    contract_id = new_contract(sandbox, contract_type=1)
    charge_id = add_charge(sandbox, contract_id, charge_body(material_code(sandbox)))
    assert item(sandbox, f"/ContractCharges/{charge_id}")["billableAmount"] == pytest.approx(22.5)


def test_is_billed_is_read_only(sandbox):
    contract_id = new_contract(sandbox)
    charge_id = add_charge(sandbox, contract_id, charge_body(material_code(sandbox), isBilled=True))
    assert item(sandbox, f"/ContractCharges/{charge_id}")["isBilled"] is False
    ok(sandbox.patch(f"/Contracts/{contract_id}/Charges", json={"id": charge_id, "isBilled": True}))
    assert item(sandbox, f"/ContractCharges/{charge_id}")["isBilled"] is False


def test_update_charge_recomputes_amounts(sandbox):
    contract_id = new_contract(sandbox)
    charge_id = add_charge(sandbox, contract_id, charge_body(material_code(sandbox)))
    body = ok(
        sandbox.patch(
            f"/Contracts/{contract_id}/Charges", json={"id": charge_id, "unitQuantity": 5}
        )
    )
    assert body == {"itemId": charge_id}
    charge = item(sandbox, f"/ContractCharges/{charge_id}")
    assert charge["billableAmount"] == pytest.approx(37.5)
    assert charge["extendedCost"] == pytest.approx(10)
    assert charge["name"] == "Cables"
    ok(
        sandbox.put(
            f"/Contracts/{contract_id}/Charges",
            json={**charge_body(material_code(sandbox)), "id": charge_id, "unitPrice": 1},
        )
    )
    assert item(sandbox, f"/ContractCharges/{charge_id}")["billableAmount"] == pytest.approx(3)


def test_delete_charge(sandbox):
    contract_id = new_contract(sandbox)
    charge_id = add_charge(sandbox, contract_id, charge_body(material_code(sandbox)))
    assert ok(sandbox.delete(f"/Contracts/{contract_id}/Charges/{charge_id}")) == {
        "itemId": charge_id
    }
    assert ok(sandbox.get(f"/ContractCharges/{charge_id}")) == {"item": None}
    assert ok(sandbox.get(f"/Contracts/{contract_id}/Charges"))["items"] == []


def test_charges_root_is_read_only(sandbox):
    contract_id = new_contract(sandbox)
    code = material_code(sandbox)
    charge_id = add_charge(sandbox, contract_id, charge_body(code))
    not_allowed(
        sandbox.post("/ContractCharges", json={**charge_body(code), "contractID": contract_id}),
        "POST",
    )
    not_allowed(sandbox.patch("/ContractCharges", json={"id": charge_id, "name": "x"}), "PATCH")
    not_allowed(sandbox.delete(f"/ContractCharges/{charge_id}"), "DELETE")
    assert item(sandbox, f"/ContractCharges/{charge_id}")["name"] == "Cables"


# ---------------------------------------------------------------- posting


@pytest.fixture
def posted(sandbox) -> dict:
    """A monthly contract for 2026 with units and two charges, January posted."""
    contract_id = new_contract(sandbox)
    code = new_billing_code(sandbox, name="Recurring")
    service_id = ok(sandbox.post("/Services", json=service_body(code)))["itemId"]
    for effective, change in (("2026-01-01", 5), ("2026-01-15", 3), ("2026-01-20", -2)):
        adjust(sandbox, contract_id, service_id, effective, change)
    material = material_code(sandbox)
    january = add_charge(sandbox, contract_id, charge_body(material, datePurchased="2026-01-10"))
    february = add_charge(sandbox, contract_id, charge_body(material, datePurchased="2026-02-10"))
    last_day = add_charge(sandbox, contract_id, charge_body(material, datePurchased="2026-01-31"))
    response = sandbox.admin(
        "POST", "/post_period", json={"contractID": contract_id, "through": "2026-01-31"}
    )
    assert response.status_code == 200, response.text
    return {
        "contract": contract_id,
        "service": service_id,
        "january": january,
        "february": february,
        "last_day": last_day,
        "material": material,
    }


def test_posting_bills_charges_up_to_the_date(sandbox, posted):
    assert item(sandbox, f"/ContractCharges/{posted['january']}")["isBilled"] is True
    assert item(sandbox, f"/ContractCharges/{posted['last_day']}")["isBilled"] is True
    assert item(sandbox, f"/ContractCharges/{posted['february']}")["isBilled"] is False


def test_billed_charge_cannot_change_or_be_deleted(sandbox, posted):
    contract_id, charge_id = posted["contract"], posted["january"]
    errors_of(
        sandbox.patch(
            f"/Contracts/{contract_id}/Charges", json={"id": charge_id, "unitQuantity": 9}
        )
    )
    errors_of(
        sandbox.put(
            f"/Contracts/{contract_id}/Charges",
            json={**charge_body(posted["material"]), "id": charge_id},
        )
    )
    errors_of(sandbox.delete(f"/Contracts/{contract_id}/Charges/{charge_id}"))
    charge = item(sandbox, f"/ContractCharges/{charge_id}")
    assert charge["unitQuantity"] == pytest.approx(3)
    assert charge["billableAmount"] == pytest.approx(22.5)
    assert charge["isBilled"] is True


def test_unbilled_charge_still_changes_and_deletes(sandbox, posted):
    contract_id, charge_id = posted["contract"], posted["february"]
    ok(
        sandbox.patch(
            f"/Contracts/{contract_id}/Charges", json={"id": charge_id, "unitQuantity": 4}
        )
    )
    assert item(sandbox, f"/ContractCharges/{charge_id}")["billableAmount"] == pytest.approx(30)
    assert ok(sandbox.delete(f"/Contracts/{contract_id}/Charges/{charge_id}")) == {
        "itemId": charge_id
    }
    assert ok(sandbox.get(f"/ContractCharges/{charge_id}")) == {"item": None}


def test_posted_unit_rows_get_approve_and_post_date(sandbox, posted):
    rows = ok(
        sandbox.post(
            "/ContractServiceUnits/query",
            json={"filter": [{"op": "eq", "field": "contractID", "value": posted["contract"]}]},
        )
    )["items"]
    rows.sort(key=lambda row: row["startDate"])
    assert [row["units"] for row in rows[:4]] == [5, 8, 6, 6]
    assert len(rows) == 14
    assert [row["approveAndPostDate"] is not None for row in rows] == [True] * 3 + [False] * 11


def test_end_date_cannot_move_into_posted_period(sandbox, posted):
    contract_id = posted["contract"]
    fails_with(
        sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-01-15"}),
        POSTED_MESSAGE,
    )
    contract = item(sandbox, f"/Contracts/{contract_id}")
    assert contract["endDate"].startswith("2026-12-31T00:00:00")
    ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-06-30"}))
    assert item(sandbox, f"/Contracts/{contract_id}")["endDate"].startswith("2026-06-30T00:00:00")


def test_adjustment_cannot_take_effect_in_posted_period(sandbox, posted):
    body = {
        "contractID": posted["contract"],
        "serviceID": posted["service"],
        "effectiveDate": "2026-01-10",
        "unitChange": 1,
    }
    fails_with(sandbox.post("/ContractServiceAdjustments", json=body), POSTED_MESSAGE)
    ok(sandbox.post("/ContractServiceAdjustments", json={**body, "effectiveDate": "2026-02-10"}))
