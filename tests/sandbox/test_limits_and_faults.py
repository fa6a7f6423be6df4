"""The thread limit, the hourly threshold and its latency steps, and every fault mode
(docs/sandbox.md "Limits" and "Inspection and faults", AUTOTASK_API.md §4)."""

import json
import threading
import time

import pytest
import requests

from tests.sandbox.helpers import EVERYTHING, contract_body, new_company, ok, peak

THREAD_MESSAGE = "API thread threshold of 3 threads has been exceeded"


def set_faults(sandbox, **settings) -> None:
    response = sandbox.admin("POST", "/faults", json=settings)
    assert response.status_code == 200, response.text


def counters(sandbox) -> dict:
    return ok(sandbox.admin("GET", "/counters"))


def contracts_named(sandbox, name: str) -> list[int]:
    """Looks contracts up with a GET query (a POST query would match POST scripts)."""
    search = {"filter": [{"op": "eq", "field": "contractName", "value": name}]}
    response = sandbox.get("/Contracts/query", params={"search": json.dumps(search)})
    return [row["id"] for row in ok(response)["items"]]


def stored_contract_names(sandbox) -> list[str]:
    items = ok(sandbox.admin("GET", "/records/Contracts"))["items"]
    return sorted(row["contractName"] for row in items)


def run_together(calls) -> list:
    """Starts every call at the same moment on its own thread; returns results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def query_call(sandbox, entity: str = "Companies"):
    def call():
        return requests.post(
            f"{sandbox.api}/{entity}/query", json=EVERYTHING, headers=sandbox.headers, timeout=20
        )

    return call


def get_call(sandbox, path: str, headers=None):
    def call():
        return requests.get(
            sandbox.api + path,
            headers=sandbox.headers if headers is None else headers,
            timeout=20,
        )

    return call


def statuses(results) -> list[int]:
    for result in results:
        assert isinstance(result, requests.Response), result
    return sorted(result.status_code for result in results)


# ---------------------------------------------------------------- thread limit


def test_fourth_concurrent_request_gets_429(sandbox):
    set_faults(sandbox, latency_ms=700)
    results = run_together([query_call(sandbox) for _ in range(4)])
    assert statuses(results) == [200, 200, 200, 429]
    rejected = next(r for r in results if r.status_code == 429)
    errors = rejected.json()["errors"]
    assert any(THREAD_MESSAGE in error for error in errors), errors
    numbers = counters(sandbox)
    assert numbers["rejected_thread_limit"] == 1
    assert peak(numbers["max_concurrent"]) == 3
    # once they are done the entity is free again
    set_faults(sandbox, latency_ms=0)
    ok(sandbox.post("/Companies/query", json=EVERYTHING))


def test_five_concurrent_requests_two_rejected(sandbox):
    set_faults(sandbox, latency_ms=700)
    results = run_together([query_call(sandbox) for _ in range(5)])
    assert statuses(results) == [200, 200, 200, 429, 429]
    assert counters(sandbox)["rejected_thread_limit"] == 2


def test_thread_limit_is_per_entity(sandbox):
    set_faults(sandbox, latency_ms=700)
    calls = [query_call(sandbox, "Companies") for _ in range(3)]
    calls += [query_call(sandbox, "Contracts") for _ in range(3)]
    assert statuses(run_together(calls)) == [200] * 6


def test_entity_metadata_shares_the_entity_bucket(sandbox):
    set_faults(sandbox, latency_ms=700)
    calls = [query_call(sandbox, "Companies") for _ in range(3)]

    def late_fields():
        time.sleep(0.25)
        return get_call(sandbox, "/Companies/entityInformation/fields")()

    results = run_together([*calls, late_fields])
    assert [r.status_code for r in results] == [200, 200, 200, 429]
    assert any(THREAD_MESSAGE in e for e in results[3].json()["errors"])


def test_threshold_information_is_its_own_bucket(sandbox):
    set_faults(sandbox, latency_ms=700)
    calls = [query_call(sandbox) for _ in range(3)]
    calls.append(get_call(sandbox, "/ThresholdInformation"))
    assert statuses(run_together(calls)) == [200] * 4


def test_threshold_information_is_thread_limited(sandbox):
    set_faults(sandbox, latency_ms=700)
    calls = [get_call(sandbox, "/ThresholdInformation") for _ in range(4)]
    assert statuses(run_together(calls)) == [200, 200, 200, 429]


def test_zone_information_is_exempt(sandbox):
    set_faults(sandbox, latency_ms=700)
    user = sandbox.headers["UserName"]

    def zone():
        return requests.get(
            f"{sandbox.root}/atservicesrest/v1.0/zoneInformation", params={"user": user}, timeout=20
        )

    assert statuses(run_together([zone for _ in range(6)])) == [200] * 6


# ---------------------------------------------------------------- hourly threshold


def test_hourly_threshold_passed_gives_429(sandbox):
    set_faults(sandbox, requests_per_hour=10, threshold_latency_scale=0.001)
    for n in range(10):
        response = sandbox.post("/Companies/query", json=EVERYTHING)
        assert response.status_code == 200, (n, response.text)
    refused = sandbox.post("/Companies/query", json=EVERYTHING)
    assert refused.status_code == 429, refused.text
    assert refused.json()["errors"]
    # the threshold is per database, not per entity
    other = sandbox.post("/Contracts/query", json=EVERYTHING)
    assert other.status_code == 429, other.text
    numbers = counters(sandbox)
    assert numbers["rejected_threshold"] == 2
    assert numbers["hourly_count"] == 10  # refused requests are not counted


def test_threshold_information_reports_the_setting(sandbox):
    set_faults(sandbox, requests_per_hour=50)
    info = ok(sandbox.get("/ThresholdInformation"))
    assert info["externalRequestThreshold"] == 50
    assert info["requestThresholdTimeframe"] == 60
    for _ in range(4):
        ok(sandbox.post("/Companies/query", json=EVERYTHING))
    info = ok(sandbox.get("/ThresholdInformation"))
    assert info["currentTimeframeRequestCount"] in (5, 6)  # with or without this request


def test_latency_steps_at_50_and_75_percent(sandbox):
    # threshold 20, scale 0.6: from 10 requests each waits 0.3 s, from 15 each waits 0.6 s.
    # The steps are wide, so a request slowed by a busy machine still lands in its own.
    set_faults(sandbox, requests_per_hour=20, threshold_latency_scale=0.6)
    durations = []
    for _ in range(19):
        started = time.monotonic()
        ok(sandbox.post("/Companies/query", json=EVERYTHING))
        durations.append(time.monotonic() - started)
    # request numbers 1..19 -> index 0..18; stay clear of the step boundaries
    assert max(durations[0:8]) < 0.29, durations
    assert all(0.29 <= d < 0.59 for d in durations[11:13]), durations
    assert all(d >= 0.59 for d in durations[16:19]), durations


# ---------------------------------------------------------------- fault settings


def test_fault_settings_defaults_and_update(sandbox):
    defaults = ok(sandbox.admin("GET", "/faults"))
    assert defaults["latency_ms"] == 0
    assert defaults["fail_rate"] == 0
    assert sorted(defaults["fail_kinds"]) == sorted(["500", "503", "timeout", "drop"])
    assert defaults["timeout_seconds"] == 30
    assert defaults["requests_per_hour"] == 10000
    assert defaults["threshold_latency_scale"] == 1
    assert defaults["scripts"] == []
    set_faults(sandbox, latency_ms=5, timeout_seconds=2)
    changed = ok(sandbox.admin("GET", "/faults"))
    assert changed["latency_ms"] == 5
    assert changed["timeout_seconds"] == 2
    assert changed["requests_per_hour"] == 10000  # a subset leaves the rest alone


def test_latency_ms(sandbox):
    set_faults(sandbox, latency_ms=600)
    started = time.monotonic()
    ok(sandbox.post("/Companies/query", json=EVERYTHING))
    assert time.monotonic() - started >= 0.59
    set_faults(sandbox, latency_ms=0)
    started = time.monotonic()
    ok(sandbox.post("/Companies/query", json=EVERYTHING))
    assert time.monotonic() - started < 0.5  # without the wait (a busy machine aside)


@pytest.mark.parametrize("kind", ["500", "503"])
def test_fail_rate_status(sandbox, kind):
    set_faults(sandbox, fail_rate=1.0, fail_kinds=[kind])
    for _ in range(3):
        response = requests.post(
            f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=sandbox.headers, timeout=10
        )
        assert response.status_code == int(kind)
    set_faults(sandbox, fail_rate=0.0)
    ok(sandbox.post("/Companies/query", json=EVERYTHING))


def test_fail_rate_drop(sandbox):
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["drop"])
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=sandbox.headers, timeout=10
        )
    set_faults(sandbox, fail_rate=0.0)
    ok(sandbox.post("/Companies/query", json=EVERYTHING))


def test_fail_rate_timeout(sandbox):
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["timeout"], timeout_seconds=1)
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(
            f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=sandbox.headers, timeout=0.4
        )
    set_faults(sandbox, fail_rate=0.0)
    ok(sandbox.post("/Companies/query", json=EVERYTHING))


def test_fail_rate_does_not_touch_inspection_api(sandbox):
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["500"])
    assert ok(sandbox.admin("GET", "/faults"))["fail_rate"] == 1
    assert ok(sandbox.admin("GET", "/records/Companies"))["items"] == []


def test_fail_rate_half_mixes_failures(sandbox):
    set_faults(sandbox, fail_rate=0.5, fail_kinds=["500"])
    codes = [
        requests.post(
            f"{sandbox.api}/Companies/query", json=EVERYTHING, headers=sandbox.headers, timeout=10
        ).status_code
        for _ in range(60)
    ]
    assert set(codes) == {200, 500}
    assert 10 <= codes.count(500) <= 50


# ---------------------------------------------------------------- scripts


def script(nth: int, when: str, fault: str, method: str = "POST", entity: str = "Contracts"):
    return {"method": method, "entity": entity, "nth": nth, "when": when, "fault": fault}


def post_contract(company_id: int, sandbox, name: str, timeout: float = 10) -> requests.Response:
    return requests.post(
        f"{sandbox.api}/Contracts",
        json=contract_body(company_id, name=name, contract_type=1),
        headers=sandbox.headers,
        timeout=timeout,
    )


def test_script_500_after_commit(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, scripts=[script(2, "after", "500")])
    assert post_contract(company_id, sandbox, "First").status_code == 200
    assert post_contract(company_id, sandbox, "Second").status_code == 500
    assert post_contract(company_id, sandbox, "Third").status_code == 200
    assert len(contracts_named(sandbox, "Second")) == 1  # committed, the answer was lost
    assert stored_contract_names(sandbox) == ["First", "Second", "Third"]


def test_script_500_before_commit(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, scripts=[script(2, "before", "500")])
    assert post_contract(company_id, sandbox, "First").status_code == 200
    assert post_contract(company_id, sandbox, "Second").status_code == 500
    assert post_contract(company_id, sandbox, "Third").status_code == 200
    assert contracts_named(sandbox, "Second") == []
    assert stored_contract_names(sandbox) == ["First", "Third"]


def test_script_drop_after_commit(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, scripts=[script(1, "after", "drop")])
    with pytest.raises(requests.exceptions.ConnectionError):
        post_contract(company_id, sandbox, "Dropped")
    assert len(contracts_named(sandbox, "Dropped")) == 1


def test_script_drop_before_commit(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, scripts=[script(1, "before", "drop")])
    with pytest.raises(requests.exceptions.ConnectionError):
        post_contract(company_id, sandbox, "Dropped")
    assert contracts_named(sandbox, "Dropped") == []


def test_script_503(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, scripts=[script(1, "before", "503")])
    assert post_contract(company_id, sandbox, "Busy").status_code == 503
    assert contracts_named(sandbox, "Busy") == []


def test_script_timeout_holds_then_closes(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, timeout_seconds=1, scripts=[script(1, "after", "timeout")])
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        post_contract(company_id, sandbox, "Slow", timeout=5)
    assert time.monotonic() - started >= 0.9
    assert len(contracts_named(sandbox, "Slow")) == 1


def test_script_timeout_client_gives_up(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, timeout_seconds=1, scripts=[script(1, "before", "timeout")])
    with pytest.raises(requests.exceptions.Timeout):
        post_contract(company_id, sandbox, "Never", timeout=0.4)
    time.sleep(0.8)
    assert contracts_named(sandbox, "Never") == []


def test_script_counts_only_matching_requests(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, scripts=[script(2, "before", "500")])
    # GETs and other entities do not count toward the nth POST to Contracts
    contracts_named(sandbox, "x")
    new_company(sandbox, companyName="B", phone="1")
    assert post_contract(company_id, sandbox, "First").status_code == 200
    assert post_contract(company_id, sandbox, "Second").status_code == 500
    assert stored_contract_names(sandbox) == ["First"]


def test_script_on_get(sandbox):
    set_faults(sandbox, scripts=[script(2, "before", "500", method="GET", entity="Companies")])
    search = {"search": json.dumps(EVERYTHING)}
    assert sandbox.get("/Companies/query", params=search).status_code == 200
    assert sandbox.get("/Companies/query", params=search).status_code == 500
    assert sandbox.get("/Companies/query", params=search).status_code == 200


# ---------------------------------------------------------------- timestamps


def test_timestamp_suffix(sandbox):
    body = contract_body(new_company(sandbox), name="Dates", contract_type=1)
    contract_id = ok(sandbox.post("/Contracts", json=body))["itemId"]
    contract = ok(sandbox.get(f"/Contracts/{contract_id}"))["item"]
    assert contract["startDate"] == "2026-01-01T00:00:00Z"
    assert contract["endDate"] == "2026-12-31T00:00:00Z"
    set_faults(sandbox, date_suffix="")
    contract = ok(sandbox.get(f"/Contracts/{contract_id}"))["item"]
    assert contract["startDate"] == "2026-01-01T00:00:00"
    assert contract["endDate"] == "2026-12-31T00:00:00"
