"""What a contract change does to its approved and posted periods and to what came after
(docs/sandbox.md "Rules it enforces", AUTOTASK_API.md §3.5, §5.2, §6.2, §6.5): nothing that
would delete or modify a posted period is accepted, a shortened end date removes what was
added after it, and a new price applies to the periods not yet posted."""

import pytest
import requests

from apps.sandbox.server import DEFAULT_CREDENTIALS, start_sandbox
from tests.conftest import Sandbox
from tests.sandbox.helpers import (
    adjust,
    errors_of,
    fails_with,
    item,
    new_billing_code,
    new_contract,
    ok,
    service_body,
)

POSTED_MESSAGE = (
    "Unable to make changes as it would result in the deletion/modification of an already "
    "approved and posted contract period"
)

# ---------------------------------------------------------------- helpers


def new_service(sandbox, *, unit_price: float = 10, unit_cost: float = 4) -> int:
    code = new_billing_code(sandbox, name="Recurring")
    body = service_body(code, unitPrice=unit_price, unitCost=unit_cost)
    return ok(sandbox.post("/Services", json=body))["itemId"]


def unit_rows(sandbox, contract_id: int) -> list[dict]:
    body = {"filter": [{"op": "eq", "field": "contractID", "value": contract_id}]}
    rows = ok(sandbox.post("/ContractServiceUnits/query", json=body))["items"]
    return sorted(rows, key=lambda row: row["startDate"])


def child_rows(sandbox, contract_id: int) -> list[dict]:
    rows = ok(sandbox.get(f"/Contracts/{contract_id}/ServiceUnits"))["items"]
    return sorted(rows, key=lambda row: row["startDate"])


def rows_of(rows: list[dict]) -> list[tuple]:
    """(start day, end day, units, price, posted) per row."""
    return [
        (
            row["startDate"][:10],
            row["endDate"][:10],
            row["units"],
            round(row["price"], 4),
            row["approveAndPostDate"] is not None,
        )
        for row in rows
    ]


def post_through(sandbox, contract_id: int, day: str) -> None:
    response = sandbox.admin(
        "POST", "/post_period", json={"contractID": contract_id, "through": day}
    )
    assert response.status_code == 200, response.text


def contract_service(sandbox, contract_id: int) -> dict:
    items = ok(sandbox.get(f"/Contracts/{contract_id}/Services"))["items"]
    assert len(items) == 1, items
    return items[0]


@pytest.fixture
def january_posted(sandbox) -> dict:
    """A monthly 2026 contract, 5 units at 10 from January 1st, January approved and posted."""
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    post_through(sandbox, contract_id, "2026-01-31")
    return {"contract": contract_id, "service": service_id}


# ---------------------------------------------------------------- start date


@pytest.mark.parametrize("start", ["2026-03-01", "2026-02-01", "2026-01-15", "2025-12-01"])
def test_start_date_change_over_a_posted_period_is_refused(sandbox, january_posted, start):
    contract_id = january_posted["contract"]
    before = unit_rows(sandbox, contract_id)
    assert rows_of(before)[0] == ("2026-01-01", "2026-01-31", 5, 50, True)
    fails_with(
        sandbox.patch("/Contracts", json={"id": contract_id, "startDate": start}), POSTED_MESSAGE
    )
    assert item(sandbox, f"/Contracts/{contract_id}")["startDate"].startswith("2026-01-01T00:00")
    assert unit_rows(sandbox, contract_id) == before
    assert child_rows(sandbox, contract_id) == before


def test_start_date_change_by_put_over_a_posted_period_is_refused(sandbox, january_posted):
    contract_id = january_posted["contract"]
    contract = item(sandbox, f"/Contracts/{contract_id}")
    before = unit_rows(sandbox, contract_id)
    body = {
        key: contract[key]
        for key in (
            "companyID",
            "contractName",
            "contractType",
            "contractPeriodType",
            "endDate",
            "status",
            "timeReportingRequiresStartAndStopTimes",
        )
    }
    response = sandbox.put(
        "/Contracts", json={**body, "id": contract_id, "startDate": "2026-03-01"}
    )
    fails_with(response, POSTED_MESSAGE)
    assert item(sandbox, f"/Contracts/{contract_id}") == contract
    assert unit_rows(sandbox, contract_id) == before


def test_other_changes_to_a_posted_contract_still_apply(sandbox, january_posted):
    contract_id = january_posted["contract"]
    body = {"id": contract_id, "startDate": "2026-01-01T00:00:00Z", "contractName": "Renamed"}
    ok(sandbox.patch("/Contracts", json=body))
    assert item(sandbox, f"/Contracts/{contract_id}")["contractName"] == "Renamed"


def test_start_date_moves_freely_before_anything_is_posted(sandbox):
    contract_id = new_contract(sandbox)
    adjust(sandbox, contract_id, new_service(sandbox), "2026-03-01", 5)
    ok(sandbox.patch("/Contracts", json={"id": contract_id, "startDate": "2026-03-01"}))
    rows = rows_of(unit_rows(sandbox, contract_id))
    assert rows[0] == ("2026-03-01", "2026-03-31", 5, 50, False)
    assert len(rows) == 10


# ---------------------------------------------------------------- end date


def test_shortened_end_date_removes_what_was_added_after_it(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
    adjust(sandbox, contract_id, service_id, "2026-03-15", 1)  # on the new end date: kept
    adjust(sandbox, contract_id, service_id, "2026-04-01", 3)
    adjust(sandbox, contract_id, service_id, "2026-07-01", 2, adjustedUnitPrice=12)
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(12)
    dropped_ids = {row["id"] for row in unit_rows(sandbox, contract_id)[4:]}

    ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-03-15"}))
    assert rows_of(unit_rows(sandbox, contract_id)) == [
        ("2026-01-01", "2026-01-31", 5, 50, False),
        ("2026-02-01", "2026-02-28", 5, 50, False),
        ("2026-03-01", "2026-03-14", 5, 50, False),
        ("2026-03-15", "2026-03-15", 6, 60, False),
    ]
    # The price came from a removed adjustment: the line is back at the price before it.
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(10)

    ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-12-31"}))
    rows = unit_rows(sandbox, contract_id)
    assert rows_of(rows[:5]) == [
        ("2026-01-01", "2026-01-31", 5, 50, False),
        ("2026-02-01", "2026-02-28", 5, 50, False),
        ("2026-03-01", "2026-03-14", 5, 50, False),
        ("2026-03-15", "2026-03-31", 6, 60, False),
        ("2026-04-01", "2026-04-30", 6, 60, False),
    ]
    assert {(row["units"], row["price"]) for row in rows[4:]} == {(6, 60)}
    assert len(rows) == 13
    assert dropped_ids.isdisjoint({row["id"] for row in rows})  # rows made anew
    assert child_rows(sandbox, contract_id) == rows


def test_shortened_end_date_of_a_posted_contract_keeps_its_posted_periods(sandbox, january_posted):
    contract_id, service_id = january_posted["contract"], january_posted["service"]
    adjust(sandbox, contract_id, service_id, "2026-02-10", 2)
    adjust(sandbox, contract_id, service_id, "2026-05-01", 4)
    ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-02-28"}))
    ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-06-30"}))
    assert rows_of(unit_rows(sandbox, contract_id)) == [
        ("2026-01-01", "2026-01-31", 5, 50, True),
        ("2026-02-01", "2026-02-09", 5, 50, False),
        ("2026-02-10", "2026-02-28", 7, 70, False),
        ("2026-03-01", "2026-03-31", 7, 70, False),
        ("2026-04-01", "2026-04-30", 7, 70, False),
        ("2026-05-01", "2026-05-31", 7, 70, False),
        ("2026-06-01", "2026-06-30", 7, 70, False),
    ]


def test_refused_end_date_removes_nothing(sandbox, january_posted):
    contract_id, service_id = january_posted["contract"], january_posted["service"]
    adjust(sandbox, contract_id, service_id, "2026-04-01", 3)
    before = unit_rows(sandbox, contract_id)
    fails_with(
        sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-01-20"}),
        POSTED_MESSAGE,
    )
    assert unit_rows(sandbox, contract_id) == before
    assert rows_of(before)[3] == ("2026-04-01", "2026-04-30", 8, 80, False)


def test_end_date_refused_for_another_reason_removes_nothing(sandbox):
    contract_id = new_contract(sandbox, start="2026-03-01")
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-03-01", 5)
    adjust(sandbox, contract_id, service_id, "2026-06-01", 3)
    before = unit_rows(sandbox, contract_id)
    errors_of(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-02-01"}))
    assert unit_rows(sandbox, contract_id) == before


# ---------------------------------------------------------------- price


def test_price_change_leaves_posted_rows_alone(sandbox, january_posted):
    contract_id = january_posted["contract"]
    cs_id = contract_service(sandbox, contract_id)["id"]
    ok(sandbox.patch(f"/Contracts/{contract_id}/Services", json={"id": cs_id, "unitPrice": 15}))
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(15)
    assert item(sandbox, f"/ContractServices/{cs_id}")["unitPrice"] == pytest.approx(15)
    rows = rows_of(unit_rows(sandbox, contract_id))
    assert rows[0] == ("2026-01-01", "2026-01-31", 5, 50, True)
    assert {row[3] for row in rows[1:]} == {75}
    assert rows_of(child_rows(sandbox, contract_id)) == rows


def test_price_change_after_a_priced_adjustment_applies_to_unposted_rows(sandbox, january_posted):
    contract_id, service_id = january_posted["contract"], january_posted["service"]
    adjust(sandbox, contract_id, service_id, "2026-03-01", 1, adjustedUnitPrice=12)
    cs_id = contract_service(sandbox, contract_id)["id"]
    ok(sandbox.patch(f"/Contracts/{contract_id}/Services", json={"id": cs_id, "unitPrice": 15}))
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(15)
    rows = rows_of(unit_rows(sandbox, contract_id))
    assert rows[:4] == [
        ("2026-01-01", "2026-01-31", 5, 50, True),
        ("2026-02-01", "2026-02-28", 5, 75, False),
        ("2026-03-01", "2026-03-31", 6, 90, False),
        ("2026-04-01", "2026-04-30", 6, 90, False),
    ]
    assert {row[3] for row in rows[2:]} == {90}


def test_later_priced_adjustment_wins_from_its_date(sandbox, january_posted):
    contract_id, service_id = january_posted["contract"], january_posted["service"]
    cs_id = contract_service(sandbox, contract_id)["id"]
    ok(sandbox.patch(f"/Contracts/{contract_id}/Services", json={"id": cs_id, "unitPrice": 15}))
    adjust(sandbox, contract_id, service_id, "2026-05-01", 0, adjustedUnitPrice=20)
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(20)
    prices = [row[3] for row in rows_of(unit_rows(sandbox, contract_id))]
    assert prices == [50, 75, 75, 75, *[100] * 8]


def test_price_changed_then_posted_then_changed_again(sandbox):
    contract_id = new_contract(sandbox)
    service_id = new_service(sandbox)
    adjust(sandbox, contract_id, service_id, "2026-01-01", 2)
    cs_id = contract_service(sandbox, contract_id)["id"]
    ok(sandbox.patch(f"/Contracts/{contract_id}/Services", json={"id": cs_id, "unitPrice": 11}))
    post_through(sandbox, contract_id, "2026-02-28")
    ok(sandbox.put(f"/Contracts/{contract_id}/Services", json={"id": cs_id, "unitPrice": 13}))
    prices = [row[3] for row in rows_of(unit_rows(sandbox, contract_id))]
    assert prices == [22, 22, *[26] * 10]
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(13)


def test_adjusted_price_is_not_a_field_of_the_rest_entity(sandbox, january_posted):
    # AUTOTASK_API.md §5.2: the docs call the updatable price "adjustedPrice", but the REST
    # model has no such field; unitPrice is the writable one.
    contract_id = january_posted["contract"]
    cs_id = contract_service(sandbox, contract_id)["id"]
    response = sandbox.patch(
        f"/Contracts/{contract_id}/Services", json={"id": cs_id, "adjustedPrice": 15}
    )
    fails_with(response, "Unable to find adjustedPrice in the ContractService Entity.")
    assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(10)


# ---------------------------------------------------------------- persistence


def client(server) -> Sandbox:
    headers = {
        "UserName": DEFAULT_CREDENTIALS.username,
        "Secret": DEFAULT_CREDENTIALS.secret,
        "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
    }
    api = f"{server.url}/ATServicesRest/V1.0"
    return Sandbox(root=server.url, api=api, headers=headers, session=requests.Session())


def test_price_changes_and_removals_survive_a_restart(tmp_path):
    path = tmp_path / "sandbox.sqlite3"
    server = start_sandbox(db=str(path), seed="empty")
    try:
        sandbox = client(server)
        contract_id = new_contract(sandbox)
        service_id = new_service(sandbox)
        adjust(sandbox, contract_id, service_id, "2026-01-01", 5)
        adjust(sandbox, contract_id, service_id, "2026-08-01", 5, adjustedUnitPrice=30)
        post_through(sandbox, contract_id, "2026-01-31")
        cs_id = contract_service(sandbox, contract_id)["id"]
        ok(sandbox.patch(f"/Contracts/{contract_id}/Services", json={"id": cs_id, "unitPrice": 15}))
        ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-06-30"}))
        before = unit_rows(sandbox, contract_id)
    finally:
        server.shutdown()

    again = start_sandbox(db=str(path), seed="empty")
    try:
        sandbox = client(again)
        assert unit_rows(sandbox, contract_id) == before
        ok(sandbox.patch("/Contracts", json={"id": contract_id, "endDate": "2026-12-31"}))
        prices = [row[3] for row in rows_of(unit_rows(sandbox, contract_id))]
        assert prices == [50, *[75] * 11]
        assert contract_service(sandbox, contract_id)["unitPrice"] == pytest.approx(15)
    finally:
        again.shutdown()
