"""The inspection API under /_sandbox: reset, records, the request log and the counters
(docs/sandbox.md "Inspection and faults")."""

import json

from tests.sandbox.helpers import (
    COMPANY,
    EVERYTHING,
    contract_body,
    new_billing_code,
    new_company,
    ok,
    peak,
)


def api_log(sandbox) -> list[dict]:
    """The request log without any inspection requests it may hold."""
    items = ok(sandbox.admin("GET", "/requests"))["items"]
    return [row for row in items if "/_sandbox" not in row["path"]]


def test_insert_and_read_records(sandbox):
    ids = sandbox.insert(
        "Companies", [{**COMPANY, "companyName": "One"}, {**COMPANY, "companyName": "Two"}]
    )
    assert len(ids) == 2
    assert ids[0] < ids[1]
    rows = ok(sandbox.admin("GET", "/records/Companies"))["items"]
    assert sorted((row["id"], row["companyName"]) for row in rows) == [
        (ids[0], "One"),
        (ids[1], "Two"),
    ]
    assert ok(sandbox.get(f"/Companies/{ids[1]}"))["item"]["companyName"] == "Two"


def test_records_show_api_writes(sandbox):
    company_id = new_company(sandbox)
    rows = ok(sandbox.admin("GET", "/records/Companies"))["items"]
    assert [row["id"] for row in rows] == [company_id]
    assert ok(sandbox.admin("GET", "/records/Contracts"))["items"] == []


def test_inserts_are_not_counted(sandbox):
    sandbox.insert("Companies", [COMPANY] * 3)
    numbers = ok(sandbox.admin("GET", "/counters"))
    assert numbers["requests"] == 0
    assert numbers["hourly_count"] == 0
    assert api_log(sandbox) == []


def test_reset_empty_and_demo(sandbox):
    company_id = new_company(sandbox)
    ok(sandbox.admin("POST", "/reset", json={"seed": "empty"}))
    assert ok(sandbox.admin("GET", "/records/Companies"))["items"] == []
    assert ok(sandbox.get(f"/Companies/{company_id}")) == {"item": None}
    assert ok(sandbox.post("/Companies/query/count", json=EVERYTHING)) == {"queryCount": 0}

    ok(sandbox.admin("POST", "/reset", json={"seed": "demo"}))
    demo = ok(sandbox.admin("GET", "/records/Companies"))["items"]
    assert demo
    count = ok(sandbox.post("/Companies/query/count", json=EVERYTHING))["queryCount"]
    assert count == len(demo)

    ok(sandbox.admin("POST", "/reset", json={"seed": "empty"}))
    assert ok(sandbox.admin("GET", "/records/Companies"))["items"] == []


def test_request_log(sandbox):
    ok(sandbox.post("/Companies/query", json=EVERYTHING))
    assert sandbox.get("/Widgets/query").status_code == 404
    assert sandbox.post("/Companies", json={"companyName": "x"}).status_code == 500
    search = {"search": json.dumps(EVERYTHING)}
    ok(sandbox.get("/Contracts/query", params=search))

    log = api_log(sandbox)
    assert [(row["method"], row["status"]) for row in log] == [
        ("POST", 200),
        ("GET", 404),
        ("POST", 500),
        ("GET", 200),
    ]
    for row in log:
        assert {"method", "path", "status", "latency_ms", "entity", "time"} <= set(row)
        assert isinstance(row["latency_ms"], int | float)
        assert row["latency_ms"] >= 0
    assert "companies/query" in log[0]["path"].lower()
    assert log[0]["entity"] == "Companies"
    assert log[2]["entity"] == "Companies"
    assert log[3]["entity"] == "Contracts"

    assert sandbox.admin("DELETE", "/requests").status_code in (200, 204)
    assert api_log(sandbox) == []
    ok(sandbox.post("/Companies/query", json=EVERYTHING))
    assert [(row["method"], row["status"]) for row in api_log(sandbox)] == [("POST", 200)]


def test_request_log_records_latency(sandbox):
    ok(sandbox.admin("POST", "/faults", json={"latency_ms": 200}))
    ok(sandbox.post("/Companies/query", json=EVERYTHING))
    log = api_log(sandbox)
    assert len(log) == 1
    assert log[0]["latency_ms"] >= 190


def test_counters(sandbox):
    fresh = ok(sandbox.admin("GET", "/counters"))
    assert {
        "requests",
        "hourly_count",
        "by_entity",
        "max_concurrent",
        "rejected_thread_limit",
        "rejected_threshold",
    } <= set(fresh)
    assert fresh["requests"] == 0
    assert fresh["rejected_thread_limit"] == 0
    assert fresh["rejected_threshold"] == 0

    for _ in range(3):
        ok(sandbox.post("/Companies/query", json=EVERYTHING))
    for _ in range(2):
        ok(sandbox.post("/Contracts/query", json=EVERYTHING))
    numbers = ok(sandbox.admin("GET", "/counters"))
    assert numbers["requests"] == 5
    assert numbers["hourly_count"] == 5
    assert numbers["by_entity"]["Companies"] == 3
    assert numbers["by_entity"]["Contracts"] == 2
    assert peak(numbers["max_concurrent"]) == 1
    assert numbers["rejected_thread_limit"] == 0
    assert numbers["rejected_threshold"] == 0


def test_post_period_marks_only_that_contract(sandbox):
    company_id = new_company(sandbox)
    code = new_billing_code(sandbox, name="M", use_type=4, cost=1, price=2)
    contracts, charges = [], []
    for name in ("A", "B"):
        body = contract_body(company_id, name=name, contract_type=1)
        contract_id = ok(sandbox.post("/Contracts", json=body))["itemId"]
        contracts.append(contract_id)
        charge = {
            "name": "Cable",
            "datePurchased": "2026-01-05",
            "unitQuantity": 1,
            "chargeType": 1,
            "billingCodeID": code,
        }
        charges.append(ok(sandbox.post(f"/Contracts/{contract_id}/Charges", json=charge))["itemId"])
    response = sandbox.admin(
        "POST", "/post_period", json={"contractID": contracts[0], "through": "2026-01-31"}
    )
    assert response.status_code == 200, response.text
    assert ok(sandbox.get(f"/ContractCharges/{charges[0]}"))["item"]["isBilled"] is True
    assert ok(sandbox.get(f"/ContractCharges/{charges[1]}"))["item"]["isBilled"] is False
