"""The Autotask client against the sandbox over real HTTP (and `responses` only for answers
the sandbox cannot give)."""

import datetime as dt
import json
import threading

import pytest
import responses

from apps.autotask.client import AutotaskClient
from apps.autotask.config import ClientConfig
from apps.autotask.dates import format_datetime, parse_datetime
from apps.autotask.errors import (
    AutotaskAuthError,
    AutotaskNotFound,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskValidationError,
)
from apps.sandbox.server import DEFAULT_CREDENTIALS
from tests.sandbox.helpers import WRONG_INTEGRATION_CODE, WRONG_SECRET, ZONE_NOT_FOUND


def make_client(sandbox, **options) -> AutotaskClient:
    config = ClientConfig(
        username=options.pop("username", DEFAULT_CREDENTIALS.username),
        secret=options.pop("secret", DEFAULT_CREDENTIALS.secret),
        integration_code=options.pop("integration_code", DEFAULT_CREDENTIALS.integration_code),
        discovery_url=f"{sandbox.root}/atservicesrest/",
        backoff_base=0.01,
        backoff_cap=0.05,
        **options,
    )
    return AutotaskClient(config)


def companies(count: int) -> list[dict]:
    return [
        {"companyName": f"Company {number:05d}", "companyType": 1, "isActive": True}
        for number in range(1, count + 1)
    ]


def logged(sandbox) -> list[dict]:
    return sandbox.admin("GET", "/requests").json()["items"]


def test_zone_is_discovered_without_credentials_and_remembered(sandbox):
    seen = []
    client = make_client(sandbox)
    client.on_zone_change = seen.append
    assert client.zone_url == f"{sandbox.root}/ATServicesRest/"
    assert seen == [f"{sandbox.root}/ATServicesRest/"]
    client.count("Companies")
    client.count("Companies")
    zone_calls = [row for row in logged(sandbox) if "zoneinformation" in row["path"].lower()]
    assert len(zone_calls) == 1


def test_query_pages_by_posted_cursors_and_returns_each_row_once(sandbox):
    ids = sandbox.insert("Companies", companies(1234))
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    rows = client.query_all("Companies", include_fields=["companyName"])
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert set(rows[0]) == {"id", "companyName", "userDefinedFields"}
    queries = [row for row in logged(sandbox) if "/query" in row["path"]]
    assert [row["method"] for row in queries] == ["POST", "POST", "POST"]  # 500 + 500 + 234
    assert client.requests_made == 3


def test_get_many_asks_in_batches_of_500(sandbox):
    ids = sandbox.insert("Companies", companies(1100))
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    wanted = ids[::1] + ids[:10]  # duplicates are asked once
    rows = client.get_many("Companies", wanted, include_fields=["companyName"])
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert client.requests_made == 3  # 500 + 500 + 100 ids


def test_count_get_create_update_delete(sandbox):
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    company = client.create(
        "Companies",
        {"companyName": "Client Ltd", "companyType": 1, "ownerResourceID": 1, "phone": "1"},
    )
    assert client.get("Companies", company)["companyName"] == "Client Ltd"
    assert client.get("Companies", 999999) is None
    client.update("Companies", {"id": company, "webAddress": "client.example"})
    assert client.get("Companies", company)["webAddress"] == "client.example"
    assert client.count("Companies", [{"op": "eq", "field": "id", "value": company}]) == 1
    code = sandbox.insert("BillingCodes", [{"name": "Mat", "useType": 4, "isActive": True}])[0]
    contract = client.create(
        "Contracts",
        {
            "companyID": company,
            "contractName": "c",
            "contractType": 1,
            "startDate": format_datetime(dt.datetime(2026, 1, 1)),
            "endDate": "2026-12-31",
            "status": 1,
            "timeReportingRequiresStartAndStopTimes": 0,
        },
    )
    charge = client.create(
        "ContractCharges",
        {
            "name": "x",
            "datePurchased": "2026-01-31",
            "unitQuantity": 1,
            "unitPrice": 5,
            "chargeType": 1,
            "billingCodeID": code,
        },
        parent_id=contract,
    )
    assert client.delete("ContractCharges", charge, parent_id=contract) == charge


def test_typed_errors_carry_autotask_words(sandbox):
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    with pytest.raises(AutotaskValidationError) as problem:
        client.query_all("Companies", [{"op": "eq", "field": "nickname", "value": 1}])
    assert problem.value.messages == ["Unable to find nickname in the Company Entity."]
    with pytest.raises(AutotaskNotFound):
        client.query_all("Tickets")
    with pytest.raises(AutotaskAuthError) as wrong_secret:
        make_client(sandbox, secret="wrong", zone_url=f"{sandbox.root}/ATServicesRest/").count(
            "Companies"
        )
    assert (wrong_secret.value.status, wrong_secret.value.messages) == (401, [WRONG_SECRET])
    with pytest.raises(AutotaskAuthError) as unknown_user:
        make_client(sandbox, username="nobody@example.com").count("Companies")
    assert unknown_user.value.messages == [ZONE_NOT_FOUND]
    with pytest.raises(AutotaskAuthError) as bad_code:
        make_client(
            sandbox, integration_code="WRONG", zone_url=f"{sandbox.root}/ATServicesRest/"
        ).count("Companies")
    assert (bad_code.value.status, bad_code.value.messages) == (500, [WRONG_INTEGRATION_CODE])


def test_reads_survive_500_503_dropped_connections_and_thread_limits(sandbox):
    ids = sandbox.insert("Companies", companies(1200))
    sandbox.admin(
        "POST",
        "/faults",
        json={
            "fail_rate": 0.3,
            "fail_kinds": ["500", "503", "drop", "429"],
            # The same faults each time: unseeded, about one run in fifty met more faults
            # in a row than the eleven tries allow.
            "fault_seed": 11,
            # And for certain, one of each on the first requests.
            "scripts": [
                {"method": "POST", "entity": "Companies", "nth": 1, "fault": kind, "when": "before"}
                for kind in ("500", "503", "drop", "429")
            ],
        },
    )
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/", max_retries=10)
    rows = client.query_all("Companies")
    assert sorted(row["id"] for row in rows) == sorted(ids)
    injected = sandbox.admin("GET", "/counters").json()["faults_injected"]
    assert injected > 4  # the four scripted ones and random ones
    assert client.requests_made == 3 + injected  # every failed read was asked again


def test_a_time_out_is_retried_for_reads(sandbox):
    sandbox.insert("Companies", companies(3))
    sandbox.admin(
        "POST",
        "/faults",
        json={
            "timeout_seconds": 2,
            "scripts": [{"method": "POST", "entity": "Companies", "nth": 1, "fault": "timeout"}],
        },
    )
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/", read_timeout=0.5)
    assert len(client.query_all("Companies")) == 3
    assert client.requests_made == 2


def test_a_create_whose_answer_is_lost_is_not_sent_again(sandbox):
    company = sandbox.insert("Companies", companies(1))[0]
    sandbox.admin(
        "POST",
        "/faults",
        json={"scripts": [{"method": "POST", "entity": "Contracts", "nth": 1, "when": "after"}]},
    )
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    body = {
        "companyID": company,
        "contractName": "Only once",
        "contractType": 1,
        "startDate": "2026-01-01",
        "endDate": "2026-12-31",
        "status": 1,
        "timeReportingRequiresStartAndStopTimes": 0,
    }
    with pytest.raises(AutotaskUnavailable):
        client.create("Contracts", body)
    contracts = sandbox.admin("GET", "/records/Contracts").json()["items"]
    assert [row["contractName"] for row in contracts] == ["Only once"]
    assert client.requests_made == 1


def test_a_create_refused_by_the_thread_limit_is_retried(sandbox):
    company = sandbox.insert("Companies", companies(1))[0]
    sandbox.admin(
        "POST",
        "/faults",
        json={
            "scripts": [
                {
                    "method": "POST",
                    "entity": "Contracts",
                    "nth": 1,
                    "fault": "429",
                    "when": "before",
                }
            ]
        },
    )
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    client.create(
        "Contracts",
        {
            "companyID": company,
            "contractName": "After one 429",
            "contractType": 1,
            "startDate": "2026-01-01",
            "endDate": "2026-12-31",
            "status": 1,
            "timeReportingRequiresStartAndStopTimes": 0,
        },
    )
    assert len(sandbox.admin("GET", "/records/Contracts").json()["items"]) == 1
    assert client.requests_made == 2


def test_past_the_hourly_threshold_the_client_stops_without_retrying(sandbox):
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 2})
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    client.count("Companies")
    client.count("Companies")
    with pytest.raises(AutotaskThrottled) as problem:
        client.count("Companies")
    assert problem.value.scope == "hourly"
    assert client.requests_made == 3


def test_pacing_slows_past_half_and_stops_past_ninety_percent(sandbox):
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 20, "threshold_latency_scale": 0})
    slept = []
    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    client.sleep = slept.append
    assert client.check_budget() == pytest.approx(1 / 20)
    assert not client.slowed
    for _ in range(10):
        client.count("Companies")
    assert client.check_budget() == pytest.approx(12 / 20)
    assert client.slowed
    client.count("Companies")
    assert slept == [client.config.pace_delay]
    for _ in range(4):
        client.count("Companies")
    with pytest.raises(AutotaskThrottled) as problem:
        client.check_budget()  # 18 of 20 = 90%
    assert "syncadmin stops here" in str(problem.value)


def test_the_shared_limiter_is_taken_and_released_around_each_request(sandbox):
    events = []
    lock = threading.Lock()

    class Recorder:
        def acquire(self, entity):
            with lock:
                events.append(("acquire", entity))
            return entity

        def release(self, token):
            with lock:
                events.append(("release", token))

    client = make_client(sandbox, zone_url=f"{sandbox.root}/ATServicesRest/")
    client.limiter = Recorder()
    client.count("Services")
    assert events == [("acquire", "Services"), ("release", "Services")]


@responses.activate
def test_a_refused_cursor_falls_back_to_paging_by_id():
    zone = "https://webservices99.autotask.example/ATServicesRest/"
    query = f"{zone}V1.0/Companies/query"
    cursor = f"{zone}V1.0/Companies/query/next?paging=x"
    bodies = []

    def answer(request):
        body = json.loads(request.body)
        bodies.append(body)
        if len(bodies) == 1:
            items = [{"id": 1}, {"id": 2}]
            details = {"count": 2, "requestCount": 2, "prevPageUrl": None, "nextPageUrl": cursor}
        else:
            items = [{"id": 3}]
            details = {"count": 1, "requestCount": 2, "prevPageUrl": None, "nextPageUrl": None}
        return 200, {}, json.dumps({"items": items, "pageDetails": details})

    responses.add_callback(responses.POST, query, callback=answer)
    responses.add(
        responses.POST,
        cursor,
        status=405,
        json={"Message": "The requested resource does not support http method 'POST'."},
    )
    client = AutotaskClient(
        ClientConfig(username="u", secret="s", integration_code="c", zone_url=zone)
    )
    assert [row["id"] for row in client.query("Companies", page_size=2)] == [1, 2, 3]
    assert bodies[1]["filter"][-1] == {"op": "gt", "field": "id", "value": 2}


@responses.activate
def test_retry_after_is_honoured():
    zone = "https://webservices99.autotask.example/ATServicesRest/"
    url = f"{zone}V1.0/Companies/query/count"
    responses.add(
        responses.POST,
        url,
        status=429,
        headers={"Retry-After": "7"},
        json={"errors": ["API thread threshold of 3 threads has been exceeded"]},
    )
    responses.add(responses.POST, url, json={"queryCount": 4})
    slept = []
    client = AutotaskClient(
        ClientConfig(username="u", secret="s", integration_code="c", zone_url=zone),
        sleep=slept.append,
    )
    assert client.count("Companies") == 4
    assert slept == [7.0]


@responses.activate
def test_a_moved_zone_is_found_again():
    old = "https://webservices1.autotask.example/ATServicesRest/"
    new = "https://webservices18.autotask.example/ATServicesRest/"
    discovery = "https://webservices2.autotask.example/atservicesrest/"
    responses.add(responses.POST, f"{old}V1.0/Companies/query/count", status=401)
    responses.add(
        responses.GET,
        f"{discovery}v1.0/zoneInformation",
        json={"zoneName": "EU", "url": new, "webUrl": "https://ww18.autotask.example/", "ci": 18},
    )
    responses.add(responses.POST, f"{new}V1.0/Companies/query/count", json={"queryCount": 2})
    moved = []
    client = AutotaskClient(
        ClientConfig(
            username="u", secret="s", integration_code="c", discovery_url=discovery, zone_url=old
        ),
        on_zone_change=moved.append,
    )
    assert client.count("Companies") == 2
    assert moved == [new]


def test_dates_with_and_without_z_are_utc():
    utc = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
    assert parse_datetime("2026-03-01T12:30:00Z") == utc
    assert parse_datetime("2026-03-01T12:30:00") == utc
    assert parse_datetime("2026-03-01T13:30:00+01:00") == utc
    assert parse_datetime(None) is None
    assert format_datetime(
        dt.datetime(2026, 3, 1, 13, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    ) == ("2026-03-01T12:30:00Z")
    assert format_datetime(dt.datetime(2026, 3, 1, 12, 30, 0, 250000)) == "2026-03-01T12:30:00.250Z"
