"""Contract services, adjustments and the derived contract service units
(docs/sandbox.md "Rules it enforces", AUTOTASK_API.md §5.2-§5.4, §6.2)."""

import pytest

from tests.sandbox.helpers import (
    EVERYTHING,
    adjust,
    errors_of,
    fails_naming,
    fails_with,
    item,
    new_billing_code,
    new_contract,
    not_allowed,
    ok,
    service_body,
)

MONTH_ENDS_2026 = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

# ---------------------------------------------------------------- helpers


def query(sandbox, entity: str, filters: list[dict]) -> list[dict]:
    return ok(sandbox.post(f"/{entity}/query", json={"filter": filters}))["items"]


def eq(field: str, value) -> dict:
    return {"op": "eq", "field": field, "value": value}


def new_service(sandbox, *, unit_price: float = 10, unit_cost: float = 4, name="Backup") -> int:
    body = service_body(
        new_billing_code(sandbox, name="Recurring"),
        name=name,
        unitPrice=unit_price,
        unitCost=unit_cost,
        invoiceDescription=f"{name} per user",
    )
    return ok(sandbox.post("/Services", json=body))["itemId"]


def units(sandbox, contract_id: int, service_id: int | None = None) -> list[dict]:
    filters = [eq("contractID", contract_id)]
    if service_id is not None:
        filters.append(eq("serviceID", service_id))
    rows = query(sandbox, "ContractServiceUnits", filters)
    return sorted(rows, key=lambda row: row["startDate"])


def summary(rows: list[dict]) -> list[tuple]:
    """(start day, end day, units) per row; the times must be midnight."""
    out = []
    for row in rows:
        for key in ("startDate", "endDate"):
            assert row[key][10:19] == "T00:00:00", row[key]
        out.append((row["startDate"][:10], row["endDate"][:10], row["units"]))
    return out


def whole_months(first: int, last: int, count: int, year: int = 2026) -> list[tuple]:
    return [
        (f"{year}-{m:02d}-01", f"{year}-{m:02d}-{MONTH_ENDS_2026[m - 1]}", count)
        for m in range(first, last + 1)
    ]


# ---------------------------------------------------------------- contract services


def test_add_service_to_recurring_contract(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    body = ok(
        sandbox.post(
            f"/Contracts/{contract_id}/Services", json={"serviceID": service_id, "unitPrice": 12}
        )
    )
    cs_id = body["itemId"]
    cs = item(sandbox, f"/ContractServices/{cs_id}")
    assert cs["contractID"] == contract_id
    assert cs["serviceID"] == service_id
    assert cs["unitPrice"] == pytest.approx(12)
    assert item(sandbox, f"/Contracts/{contract_id}/Services/{cs_id}")["id"] == cs_id

    listed = ok(sandbox.get(f"/Contracts/{contract_id}/Services"))
    assert [row["id"] for row in listed["items"]] == [cs_id]
    assert [
        row["id"] for row in query(sandbox, "ContractServices", [eq("contractID", contract_id)])
    ] == [cs_id]


def test_add_service_without_unit_price(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    cs_id = ok(sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id}))[
        "itemId"
    ]
    assert item(sandbox, f"/ContractServices/{cs_id}")["serviceID"] == service_id


def test_contract_services_only_on_recurring_contracts(sandbox):
    contract_id = new_contract(sandbox, contract_type=1)
    service_id = new_service(sandbox)
    errors = errors_of(
        sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id})
    )
    text = " ".join(errors).lower()
    assert "contracttype" in text or "contractid" in text or "recurring" in text, errors
    assert query(sandbox, "ContractServices", [eq("contractID", contract_id)]) == []
    # an adjustment would create the contract service: refused as well
    errors_of(
        sandbox.post(
            "/ContractServiceAdjustments",
            json={
                "contractID": contract_id,
                "serviceID": service_id,
                "effectiveDate": "2026-01-01",
                "unitChange": 1,
            },
        )
    )
    assert query(sandbox, "ContractServices", [eq("contractID", contract_id)]) == []


def test_contract_service_needs_existing_service(sandbox):
    contract_id = new_contract(sandbox)
    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": 987654}), "serviceID"
    )
    fails_naming(sandbox.post(f"/Contracts/{contract_id}/Services", json={}), "serviceID")


def test_only_unit_price_and_invoice_description_change(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    other_service = new_service(sandbox, name="Other")
    cs_id = ok(
        sandbox.post(
            f"/Contracts/{contract_id}/Services",
            json={"serviceID": service_id, "unitPrice": 12, "internalDescription": "before"},
        )
    )["itemId"]
    before = item(sandbox, f"/ContractServices/{cs_id}")
    response = sandbox.patch(
        f"/Contracts/{contract_id}/Services",
        json={
            "id": cs_id,
            "unitPrice": 15,
            "invoiceDescription": "Backup, per seat",
            "internalDescription": "after",
            "serviceID": other_service,
            "unitCost": 99,
        },
    )
    assert ok(response) == {"itemId": cs_id}
    after = item(sandbox, f"/ContractServices/{cs_id}")
    assert after["unitPrice"] == pytest.approx(15)
    assert after["invoiceDescription"] == "Backup, per seat"
    assert after["serviceID"] == service_id
    assert after["contractID"] == contract_id
    assert after["internalDescription"] == before["internalDescription"]
    assert after["unitCost"] == before["unitCost"]

    ok(
        sandbox.put(
            f"/Contracts/{contract_id}/Services",
            json={"id": cs_id, "serviceID": service_id, "unitPrice": 16},
        )
    )
    after_put = item(sandbox, f"/ContractServices/{cs_id}")
    assert after_put["unitPrice"] == pytest.approx(16)
    assert after_put["serviceID"] == service_id


def test_service_appears_once_per_contract(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    ok(sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id}))
    # a business rule, not a field error: the message need only mention the service
    fails_naming(
        sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id}),
        "service",
    )
    assert len(query(sandbox, "ContractServices", [eq("contractID", contract_id)])) == 1
    # the same service on another contract is fine
    other = new_contract(sandbox)
    ok(sandbox.post(f"/Contracts/{other}/Services", json={"serviceID": service_id}))


def test_contract_services_root_is_read_only(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    cs_id = ok(sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id}))[
        "itemId"
    ]
    not_allowed(
        sandbox.post(
            "/ContractServices", json={"contractID": contract_id, "serviceID": service_id}
        ),
        "POST",
    )
    not_allowed(sandbox.patch("/ContractServices", json={"id": cs_id, "unitPrice": 1}), "PATCH")
    not_allowed(sandbox.delete(f"/ContractServices/{cs_id}"), "DELETE")
    assert len(query(sandbox, "ContractServices", [eq("contractID", contract_id)])) == 1


# ---------------------------------------------------------------- adjustments


def test_adjustment_creates_missing_contract_service(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    assert query(sandbox, "ContractServices", [eq("contractID", contract_id)]) == []
    adjustment_id = adjust(sandbox, contract_id, service_id, "2026-01-01", 3)
    assert isinstance(adjustment_id, int)
    services = query(sandbox, "ContractServices", [eq("contractID", contract_id)])
    assert [(cs["contractID"], cs["serviceID"]) for cs in services] == [(contract_id, service_id)]
    # a second adjustment reuses it
    adjust(sandbox, contract_id, service_id, "2026-02-01", 1)
    assert len(query(sandbox, "ContractServices", [eq("contractID", contract_id)])) == 1


def test_adjustment_through_child_url_and_contract_service_id(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    cs_id = ok(sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id}))[
        "itemId"
    ]
    ok(
        sandbox.post(
            f"/Contracts/{contract_id}/ServiceAdjustments",
            json={"contractServiceID": cs_id, "effectiveDate": "2026-01-01", "unitChange": 4},
        )
    )
    assert len(query(sandbox, "ContractServices", [eq("contractID", contract_id)])) == 1
    rows = units(sandbox, contract_id)
    assert {row["units"] for row in rows} == {4}
    assert {row["contractServiceID"] for row in rows} == {cs_id}


def test_adjustment_validation(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    base = {"contractID": contract_id, "serviceID": service_id, "unitChange": 1}
    fails_naming(sandbox.post("/ContractServiceAdjustments", json=base), "effectiveDate")
    fails_naming(
        sandbox.post(
            "/ContractServiceAdjustments",
            json={**base, "effectiveDate": "2026-01-01", "serviceID": 987654},
        ),
        "serviceID",
    )
    fails_naming(
        sandbox.post(
            "/ContractServiceAdjustments",
            json={**base, "effectiveDate": "2026-01-01", "contractID": 987654},
        ),
        "contractID",
    )
    fails_with(
        sandbox.post(
            "/ContractServiceAdjustments",
            json={**base, "effectiveDate": "2026-01-01", "colour": "red"},
        ),
        "Unable to find colour in the ContractServiceAdjustment Entity.",
    )
    assert query(sandbox, "ContractServices", [eq("contractID", contract_id)]) == []


def test_adjustment_unit_change_of_wrong_type(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    body = {
        "contractID": contract_id,
        "serviceID": service_id,
        "effectiveDate": "2026-01-01",
        "unitChange": "x",
    }
    fails_naming(sandbox.post("/ContractServiceAdjustments", json=body), "unitChange")
    assert query(sandbox, "ContractServices", [eq("contractID", contract_id)]) == []


def test_adjustments_are_create_only(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjustment_id = adjust(sandbox, contract_id, service_id, "2026-01-01", 1)
    for response in (
        sandbox.post("/ContractServiceAdjustments/query", json=EVERYTHING),
        sandbox.get(f"/ContractServiceAdjustments/{adjustment_id}"),
    ):
        assert response.status_code in (404, 405), response.text
    not_allowed(
        sandbox.patch("/ContractServiceAdjustments", json={"id": adjustment_id, "unitChange": 2}),
        "PATCH",
    )
    response = sandbox.delete(f"/ContractServiceAdjustments/{adjustment_id}")
    assert response.status_code in (404, 405), response.text


# ---------------------------------------------------------------- service units


def test_units_across_three_adjustments_in_one_month(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox, unit_price=10, unit_cost=4)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    adjust(sandbox, contract_id, service_id, "2026-01-15", 3)
    adjust(sandbox, contract_id, service_id, "2026-01-20", -2)

    rows = units(sandbox, contract_id)
    assert summary(rows) == [
        ("2026-01-01", "2026-01-14", 5),
        ("2026-01-15", "2026-01-19", 8),
        ("2026-01-20", "2026-01-31", 6),
        ("2026-02-01", "2026-02-28", 6),
        *whole_months(3, 12, 6),
    ]
    assert [row["price"] for row in rows[:4]] == pytest.approx([50, 80, 60, 60])
    assert [row["cost"] for row in rows[:4]] == pytest.approx([20, 32, 24, 24])
    for row in rows:
        assert row["contractID"] == contract_id
        assert row["serviceID"] == service_id
        assert row["approveAndPostDate"] is None
    assert len({row["id"] for row in rows}) == len(rows)


def test_units_through_child_url_and_get(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    adjust(sandbox, contract_id, service_id, "2026-01-15", 3)
    listed = ok(sandbox.get(f"/Contracts/{contract_id}/ServiceUnits"))
    rows = sorted(listed["items"], key=lambda row: row["startDate"])
    assert summary(rows)[:3] == [
        ("2026-01-01", "2026-01-14", 5),
        ("2026-01-15", "2026-01-31", 8),
        ("2026-02-01", "2026-02-28", 8),
    ]
    assert len(rows) == 13
    one = item(sandbox, f"/ContractServiceUnits/{rows[1]['id']}")
    assert one["units"] == 8
    assert one["price"] == pytest.approx(80)
    child = item(sandbox, f"/Contracts/{contract_id}/ServiceUnits/{rows[1]['id']}")
    assert child["units"] == 8


def test_units_across_months(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox, unit_price=10)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 4)
    adjust(sandbox, contract_id, service_id, "2026-03-10", 2)
    adjust(sandbox, contract_id, service_id, "2026-06-01", -5)
    rows = units(sandbox, contract_id)
    assert summary(rows) == [
        *whole_months(1, 2, 4),
        ("2026-03-01", "2026-03-09", 4),
        ("2026-03-10", "2026-03-31", 6),
        *whole_months(4, 5, 6),
        *whole_months(6, 12, 1),
    ]
    assert [row["price"] for row in rows] == pytest.approx([40, 40, 40, 60, 60, 60] + [10] * 7)


def test_units_for_two_services(sandbox):
    contract_id = new_contract(sandbox)
    backup = new_service(sandbox, unit_price=10, name="Backup")
    mail = new_service(sandbox, unit_price=3, name="Mail")
    adjust(sandbox, contract_id, backup, "2026-01-01", 2)
    adjust(sandbox, contract_id, mail, "2026-01-01", 20)
    adjust(sandbox, contract_id, mail, "2026-04-01", 5)
    assert summary(units(sandbox, contract_id, backup)) == whole_months(1, 12, 2)
    mail_rows = units(sandbox, contract_id, mail)
    assert summary(mail_rows) == [*whole_months(1, 3, 20), *whole_months(4, 12, 25)]
    assert mail_rows[0]["price"] == pytest.approx(60)
    assert mail_rows[3]["price"] == pytest.approx(75)
    assert len(units(sandbox, contract_id)) == 24


def test_units_use_contract_unit_price(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox, unit_price=10)
    ok(
        sandbox.post(
            f"/Contracts/{contract_id}/Services", json={"serviceID": service_id, "unitPrice": 12}
        )
    )
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    rows = units(sandbox, contract_id)
    assert rows[0]["units"] == 5
    assert rows[0]["price"] == pytest.approx(60)


def test_units_without_adjustments_exist_for_every_month(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    ok(sandbox.post(f"/Contracts/{contract_id}/Services", json={"serviceID": service_id}))
    rows = units(sandbox, contract_id)
    assert summary(rows) == whole_months(1, 12, 0)
    assert [row["price"] for row in rows] == pytest.approx([0] * 12)


def test_adjusted_unit_price_applies_from_its_date(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox, unit_price=10, unit_cost=4)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    adjust(
        sandbox, contract_id, service_id, "2026-03-01", 1, adjustedUnitPrice=20, adjustedUnitCost=7
    )
    rows = units(sandbox, contract_id)
    assert summary(rows) == [*whole_months(1, 2, 5), *whole_months(3, 12, 6)]
    assert [row["price"] for row in rows[:4]] == pytest.approx([50, 50, 120, 120])
    assert [row["cost"] for row in rows[:4]] == pytest.approx([20, 20, 42, 42])


def test_yearly_contract_units(sandbox):
    contract_id = new_contract(sandbox, period_type=5, start="2026-01-01", end="2027-12-31")
    service_id = new_service(sandbox, unit_price=10)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 3)
    adjust(sandbox, contract_id, service_id, "2026-07-01", 1)
    rows = units(sandbox, contract_id)
    assert summary(rows) == [
        ("2026-01-01", "2026-06-30", 3),
        ("2026-07-01", "2026-12-31", 4),
        ("2027-01-01", "2027-12-31", 4),
    ]
    assert [row["price"] for row in rows] == pytest.approx([30, 40, 40])


def test_active_units_on_a_day(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    adjust(sandbox, contract_id, service_id, "2026-01-15", 3)
    adjust(sandbox, contract_id, service_id, "2026-01-20", -2)
    filters = [
        eq("contractID", contract_id),
        eq("serviceID", service_id),
        {"op": "lte", "field": "startDate", "value": "2026-01-16T23:59:59"},
        {"op": "gte", "field": "endDate", "value": "2026-01-16T00:00:00"},
    ]
    rows = query(sandbox, "ContractServiceUnits", filters)
    assert [row["units"] for row in rows] == [8]


def test_units_follow_a_shortened_end_date(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 2)
    ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-06-30"}))
    assert summary(units(sandbox, contract_id)) == whole_months(1, 6, 2)


def test_service_units_are_read_only(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 2)
    row = units(sandbox, contract_id)[0]
    body = {"contractID": contract_id, "serviceID": service_id, "units": 9}
    not_allowed(sandbox.post("/ContractServiceUnits", json=body), "POST")
    not_allowed(sandbox.patch("/ContractServiceUnits", json={"id": row["id"], "units": 9}), "PATCH")
    not_allowed(sandbox.post(f"/Contracts/{contract_id}/ServiceUnits", json=body), "POST")
    not_allowed(sandbox.delete(f"/ContractServiceUnits/{row['id']}"), "DELETE")
    assert units(sandbox, contract_id)[0]["units"] == 2


def test_quarterly_contract_units(sandbox):
    contract_id = new_contract(sandbox, period_type=3)
    service_id = new_service(sandbox, unit_price=10)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 2)
    adjust(sandbox, contract_id, service_id, "2026-05-15", 1)
    rows = units(sandbox, contract_id)
    assert summary(rows) == [
        ("2026-01-01", "2026-03-31", 2),
        ("2026-04-01", "2026-05-14", 2),
        ("2026-05-15", "2026-06-30", 3),
        ("2026-07-01", "2026-09-30", 3),
        ("2026-10-01", "2026-12-31", 3),
    ]
    assert [row["price"] for row in rows] == pytest.approx([20, 20, 30, 30, 30])


def test_unit_rows_stop_after_120_periods(sandbox):
    # 2026-01 .. 2036-12 is 132 months; rows stop after 120 (2026-01 .. 2035-12).
    contract_id = new_contract(sandbox, start="2026-01-01", end="2036-12-31")
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 1)
    rows = units(sandbox, contract_id)
    assert len(rows) == 120
    assert rows[0]["startDate"].startswith("2026-01-01T00:00:00")
    assert rows[-1]["startDate"].startswith("2035-12-01T00:00:00")
    assert rows[-1]["endDate"].startswith("2035-12-31T00:00:00")
