"""Reproducible random faults (`fault_seed`), the `lost` fault kind (the answer is lost after
the work was done) and a short hourly window (`window_seconds`) (docs/sandbox.md "Inspection
and faults" and "Limits")."""

import json
import time

import pytest
import requests

from apps.sandbox.server import DEFAULT_CREDENTIALS, start_sandbox
from tests.conftest import Sandbox
from tests.sandbox.helpers import EVERYTHING, contract_body, new_company, ok

MIXED = ["500", "503", "429", "drop", "lost"]


def set_faults(sandbox, **settings) -> dict:
    return ok(sandbox.admin("POST", "/faults", json=settings))


def outcome(sandbox) -> int | str:
    """One GET query: its status, or "dropped" when the connection closed without an answer.
    A new connection each time, so a drop never leaves a dead one in a pool."""
    try:
        response = requests.get(
            f"{sandbox.api}/Companies/query",
            params={"search": json.dumps(EVERYTHING)},
            headers=sandbox.headers,
            timeout=10,
        )
    except requests.exceptions.ConnectionError:
        return "dropped"
    return response.status_code


def outcomes(sandbox, count: int = 50) -> list:
    return [outcome(sandbox) for _ in range(count)]


def logged_faults(sandbox) -> list:
    return [(row["status"], row["fault"]) for row in ok(sandbox.admin("GET", "/requests"))["items"]]


@pytest.fixture
def other_sandbox():
    """A second sandbox, started with its fault settings."""
    servers = []

    def start(**options) -> Sandbox:
        server = start_sandbox(port=0, seed="empty", **options)
        servers.append(server)
        return Sandbox(
            root=server.url,
            api=f"{server.url}/ATServicesRest/V1.0",
            headers={
                "UserName": DEFAULT_CREDENTIALS.username,
                "Secret": DEFAULT_CREDENTIALS.secret,
                "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
            },
            session=requests.Session(),
        )

    yield start
    for server in servers:
        server.shutdown()


# ---------------------------------------------------------------- fault_seed


def test_same_seed_gives_the_same_faults(sandbox):
    set_faults(sandbox, fail_rate=0.4, fail_kinds=MIXED, fault_seed=1234)
    first = outcomes(sandbox)
    first_log = logged_faults(sandbox)
    assert {200, 500, 503, 429, "dropped"} <= set(first), first
    # setting the same seed again, at run time, starts the same sequence over
    sandbox.admin("DELETE", "/requests")
    set_faults(sandbox, fault_seed=1234)
    assert outcomes(sandbox) == first
    assert logged_faults(sandbox) == first_log
    assert {fault for _, fault in first_log} == {None, "drop", "lost"}


def test_another_seed_gives_other_faults(sandbox):
    set_faults(sandbox, fail_rate=0.4, fail_kinds=MIXED, fault_seed=1)
    first = outcomes(sandbox)
    set_faults(sandbox, fault_seed=2)
    assert outcomes(sandbox) != first


def test_seed_given_at_start_and_kept_on_reset(other_sandbox):
    options = {"fail_rate": 0.5, "fail_kinds": ["500", "503"], "fault_seed": 99}
    one, two = other_sandbox(**options), other_sandbox(**options)
    first = outcomes(one, 30)
    assert first == outcomes(two, 30)
    assert set(first) == {200, 500, 503}
    ok(one.admin("POST", "/reset", json={"seed": "empty"}))
    assert outcomes(one, 30) == first


def test_unseeded_by_default(sandbox):
    settings = ok(sandbox.admin("GET", "/faults"))
    assert settings["fault_seed"] is None
    assert settings["window_seconds"] == 3600
    assert sorted(settings["fail_kinds"]) == sorted(["500", "503", "timeout", "drop"])
    assert set_faults(sandbox, fault_seed=5)["fault_seed"] == 5
    assert set_faults(sandbox, fault_seed=None)["fault_seed"] is None


# ---------------------------------------------------------------- lost


def post_contract(sandbox, company_id: int, name: str, **fields) -> requests.Response:
    return requests.post(
        f"{sandbox.api}/Contracts",
        json=contract_body(company_id, name=name, contract_type=1, **fields),
        headers=sandbox.headers,
        timeout=10,
    )


def stored_contract_names(sandbox) -> list[str]:
    items = ok(sandbox.admin("GET", "/records/Contracts"))["items"]
    return sorted(row["contractName"] for row in items)


def test_lost_write_is_committed_but_not_answered(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["lost"])
    with pytest.raises(requests.exceptions.ConnectionError):
        post_contract(sandbox, company_id, "Lost")
    assert stored_contract_names(sandbox) == ["Lost"]
    last = ok(sandbox.admin("GET", "/requests"))["items"][-1]
    assert (last["method"], last["status"], last["fault"]) == ("POST", None, "lost")
    set_faults(sandbox, fail_rate=0.0)
    assert post_contract(sandbox, company_id, "Answered").status_code == 200
    assert stored_contract_names(sandbox) == ["Answered", "Lost"]


def test_lost_refused_write_changes_nothing(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["lost"])
    with pytest.raises(requests.exceptions.ConnectionError):
        post_contract(sandbox, company_id, "Bad", companyID=987654)  # no such company
    assert stored_contract_names(sandbox) == []


def test_lost_read_drops_the_answer(sandbox):
    new_company(sandbox)
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["lost"])
    assert outcome(sandbox) == "dropped"
    assert logged_faults(sandbox)[-1] == (None, "lost")


def test_other_random_faults_still_come_before_the_write(sandbox):
    company_id = new_company(sandbox)
    set_faults(sandbox, fail_rate=1.0, fail_kinds=["drop"])
    with pytest.raises(requests.exceptions.ConnectionError):
        post_contract(sandbox, company_id, "Dropped")
    set_faults(sandbox, fail_kinds=["500"])
    assert post_contract(sandbox, company_id, "Failed").status_code == 500
    assert stored_contract_names(sandbox) == []


# ---------------------------------------------------------------- window_seconds


def test_short_window_pauses_then_continues(sandbox):
    set_faults(sandbox, window_seconds=2, requests_per_hour=3, threshold_latency_scale=0)
    for _ in range(3):
        ok(sandbox.post("/Companies/query", json=EVERYTHING))
    refused = sandbox.post("/Companies/query", json=EVERYTHING)
    assert refused.status_code == 429, refused.text
    time.sleep(2.1)
    ok(sandbox.post("/Companies/query", json=EVERYTHING))
    info = ok(sandbox.get("/ThresholdInformation"))
    assert info["requestThresholdTimeframe"] == 60  # as Autotask reports it
    assert info["externalRequestThreshold"] == 3
    assert info["currentTimeframeRequestCount"] == 2


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"fault_seed": "seven"}, "fault_seed must be an integer or null"),
        ({"fault_seed": 1.5}, "fault_seed must be an integer or null"),
        ({"fault_seed": True}, "fault_seed must be an integer or null"),
        ({"window_seconds": 0}, "window_seconds must be a whole number of seconds"),
        ({"window_seconds": "60"}, "window_seconds must be a whole number of seconds"),
        ({"fail_kinds": ["lost", "gone"]}, "fail_kinds must be some of"),
        (
            {"scripts": [{"method": "POST", "entity": "Contracts", "nth": 1, "fault": "lost"}]},
            "its fault one of",
        ),
    ],
)
def test_invalid_settings_are_400_and_change_nothing(sandbox, settings, message):
    before = ok(sandbox.admin("GET", "/faults"))
    response = sandbox.admin("POST", "/faults", json={"latency_ms": 5, **settings})
    assert response.status_code == 400, response.text
    assert any(message in error for error in response.json()["errors"]), response.text
    assert ok(sandbox.admin("GET", "/faults")) == before


def test_lost_is_accepted_in_fail_kinds(sandbox):
    assert set_faults(sandbox, fail_kinds=["500", "lost"])["fail_kinds"] == ["500", "lost"]


def test_invalid_setting_at_start(other_sandbox):
    with pytest.raises(ValueError, match="window_seconds"):
        other_sandbox(window_seconds=-1)
