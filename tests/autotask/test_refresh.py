"""Reference data refresh against the sandbox: request budgets, faults, gone rows, and two
worker processes sharing one concurrency limit."""

import subprocess
import sys

import pytest
from django.utils import timezone
from django_q.models import Schedule

from apps.autotask.models import (
    AutotaskBillingCode,
    AutotaskCompany,
    AutotaskContract,
    AutotaskPicklistValue,
    AutotaskProduct,
    AutotaskService,
    Connection,
    RefreshRun,
)
from apps.autotask.services import (
    RefreshAlreadyRunning,
    connection_create_sandbox,
    refresh_run_create,
    refresh_run_execute,
)
from tests.conftest import ROOT, child_env
from tests.sandbox.helpers import new_contract

pytestmark = pytest.mark.django_db


def big_tenant(sandbox, companies=5000, services=2000) -> None:
    sandbox.insert(
        "Companies",
        [
            {
                "companyName": f"Customer {number:05d}",
                "companyType": 1 if number % 7 else 7,
                "ownerResourceID": 4,
                "phone": "+1 555 0100",
                "isActive": number % 13 != 0,
                "webAddress": f"www.customer{number}.example",
                "lastTrackedModifiedDateTime": f"2025-{1 + number % 12:02d}-{1 + number % 28:02d}"
                f"T{number % 24:02d}:{number % 60:02d}:00",
            }
            for number in range(1, companies + 1)
        ],
    )
    code = sandbox.insert("BillingCodes", [{"name": "Recurring", "useType": 5, "isActive": True}])
    sandbox.insert(
        "Services",
        [
            {
                "name": f"Service {number:04d}",
                "periodType": 2 if number % 2 else 5,
                "unitCost": number / 100,
                "unitPrice": number / 80,
                "billingCodeID": code[0],
                "isActive": True,
                "lastModifiedDate": f"2025-06-{1 + number % 28:02d}T08:{number % 60:02d}:00",
            }
            for number in range(1, services + 1)
        ],
    )


def refresh(connection, *, full: bool) -> RefreshRun:
    run = RefreshRun.objects.create(connection=connection, kind="full" if full else "incremental")
    return refresh_run_execute(run_id=run.pk)


def requests_logged(sandbox) -> int:
    return len(sandbox.admin("GET", "/requests").json()["items"])


def test_full_refresh_of_5000_companies_and_2000_services_within_30_requests(sandbox):
    big_tenant(sandbox)
    connection = connection_create_sandbox(url=sandbox.root)
    run = refresh(connection, full=True)
    assert run.status == "succeeded", run.error
    assert requests_logged(sandbox) <= 30
    assert run.requests == requests_logged(sandbox)
    assert AutotaskCompany.objects.filter(connection=connection).count() == 5000
    assert AutotaskService.objects.filter(connection=connection).count() == 2000
    assert AutotaskCompany.objects.get(autotask_id=13).is_active is False
    connection.refresh_from_db()
    assert connection.requests_total == run.requests

    sandbox.admin("DELETE", "/requests")
    again = refresh(connection, full=False)
    assert again.status == "succeeded", again.error
    assert requests_logged(sandbox) <= 8
    assert again.counts["Companies"]["new"] == again.counts["Companies"]["changed"] == 0


def test_an_incremental_refresh_picks_up_what_changed(sandbox, client):
    big_tenant(sandbox, companies=50, services=5)
    connection = connection_create_sandbox(url=sandbox.root)
    assert refresh(connection, full=True).status == "succeeded"
    renamed = sandbox.patch("/Companies", {"id": 7, "companyName": "Renamed Ltd"})
    assert renamed.status_code == 200, renamed.text
    new_id = sandbox.post(
        "/Companies",
        {"companyName": "Brand New", "companyType": 1, "ownerResourceID": 1, "phone": "1"},
    ).json()["itemId"]
    run = refresh(connection, full=False)
    assert run.status == "succeeded", run.error
    assert AutotaskCompany.objects.get(connection=connection, autotask_id=7).name == "Renamed Ltd"
    assert AutotaskCompany.objects.filter(connection=connection, autotask_id=new_id).exists()
    # The two changed rows, and the newest row of the previous refresh (read again: `gte`).
    assert run.counts["Companies"]["read"] == 3


def test_rows_autotask_no_longer_returns_are_marked_gone_never_deleted(sandbox):
    sandbox.admin("POST", "/reset", json={"seed": "demo"})
    connection = connection_create_sandbox(url=sandbox.root)
    assert refresh(connection, full=True).status == "succeeded"
    assert (
        AutotaskPicklistValue.objects.filter(
            connection=connection, field="serviceLevelAgreementID"
        ).count()
        == 3
    )
    product = AutotaskProduct.objects.filter(connection=connection).first()
    sandbox.admin("POST", "/reset", json={"seed": "empty"})
    assert refresh(connection, full=True).status == "succeeded"
    product.refresh_from_db()
    assert product.gone_at is not None
    assert AutotaskCompany.objects.filter(connection=connection, gone_at__isnull=True).count() == 0
    assert AutotaskCompany.objects.filter(connection=connection).count() > 290


def test_contracts_syncadmin_created_are_read_back(sandbox):
    company = sandbox.insert("Companies", [{"companyName": "A", "companyType": 1}])[0]
    contract = sandbox.insert(
        "Contracts",
        [{"contractName": "Ours", "companyID": company, "contractType": 7, "status": 1}],
    )[0]
    connection = connection_create_sandbox(url=sandbox.root)
    AutotaskContract.objects.create(connection=connection, autotask_id=contract, name="old")
    assert refresh(connection, full=True).status == "succeeded"
    copied = AutotaskContract.objects.get(connection=connection)
    assert (copied.name, copied.contract_type) == ("Ours", 7)


def contracts_copied(connection) -> dict[str, int]:
    return dict(
        AutotaskContract.objects.filter(connection=connection).values_list("name", "contract_type")
    )


def test_every_recurring_service_contract_is_copied_then_only_what_changed(sandbox):
    sandbox.admin("POST", "/reset", json={"seed": "demo"})
    connection = connection_create_sandbox(url=sandbox.root)
    assert refresh(connection, full=True).status == "succeeded"
    # The demo's hand-made Recurring Service contracts; not its Time & Materials or Block
    # Hours ones, which no subscription can be mapped to.
    assert contracts_copied(connection) == {
        "Managed Services Agreement 2026 - Contoso Ltd": 7,
        "Managed Backup - Woodgrove Bank": 7,
    }

    backup = AutotaskContract.objects.get(connection=connection, name__startswith="Managed Backup")
    renamed = sandbox.patch("/Contracts", {"id": backup.autotask_id, "contractName": "Backup"})
    assert renamed.status_code == 200, renamed.text
    company = AutotaskCompany.objects.get(connection=connection, name="Contoso Ltd").autotask_id
    new_contract(sandbox, company, name="New recurring")
    new_contract(sandbox, company, name="New hours", contract_type=4)
    run = refresh(connection, full=False)
    assert run.status == "succeeded", run.error
    assert contracts_copied(connection) == {
        "Managed Services Agreement 2026 - Contoso Ltd": 7,
        "Backup": 7,
        "New recurring": 7,
    }
    # The two changed, and the one stamped with the previous watermark (read again: `gte`).
    assert run.counts["Contracts"]["read"] == 3


def test_with_20_percent_failures_and_throttling_the_copy_is_exact(sandbox):
    big_tenant(sandbox, companies=1300, services=600)
    sandbox.admin(
        "POST",
        "/faults",
        json={
            "fail_rate": 0.2,
            "fail_kinds": ["500", "503", "drop", "429"],
            "fault_seed": 3,  # the same faults each time: never six in a row on a request
            # And for certain, one of each kind, on different entities.
            "scripts": [
                {"method": "POST", "entity": entity, "nth": 1, "fault": kind, "when": "before"}
                for entity, kind in (
                    ("Companies", "500"),
                    ("Services", "503"),
                    ("Products", "drop"),
                    ("BillingCodes", "429"),
                )
            ],
        },
    )
    connection = connection_create_sandbox(url=sandbox.root)
    run = refresh(connection, full=True)
    assert run.status == "succeeded", run.error
    sandbox.admin("POST", "/faults", json={"fail_rate": 0})
    for entity, model, name_field in (
        ("Companies", AutotaskCompany, "companyName"),
        ("Services", AutotaskService, "name"),
        ("BillingCodes", AutotaskBillingCode, "name"),
    ):
        truth = {
            row["id"]: row[name_field]
            for row in sandbox.admin("GET", f"/records/{entity}").json()["items"]
        }
        copy = dict(model.objects.filter(connection=connection).values_list("autotask_id", "name"))
        assert copy == truth, entity
    counters = sandbox.admin("GET", "/counters").json()
    assert counters["faults_injected"] >= 4


def test_a_second_refresh_is_refused_while_one_is_active(
    sandbox, django_capture_on_commit_callbacks
):
    connection = connection_create_sandbox(url=sandbox.root)
    with django_capture_on_commit_callbacks(execute=False):
        refresh_run_create(connection=connection, full=True)
        with pytest.raises(RefreshAlreadyRunning):
            refresh_run_create(connection=connection, full=False)


def refresh_past_ninety_percent_of_the_budget(sandbox) -> RefreshRun:
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 10, "threshold_latency_scale": 0})
    for _ in range(9):
        sandbox.get("/ThresholdInformation")
    return refresh(connection_create_sandbox(url=sandbox.root), full=True)


def test_past_ninety_percent_of_the_budget_the_refresh_is_deferred(sandbox):
    run = refresh_past_ninety_percent_of_the_budget(sandbox)
    assert run.status == "deferred"
    assert "tries again later" in run.error
    assert Schedule.objects.filter(name=f"autotask: resume refresh #{run.pk}").exists()


def test_a_deferred_refresh_waits_for_its_schedule_not_for_a_second_delivery(sandbox):
    run = refresh_past_ninety_percent_of_the_budget(sandbox)
    assert run.status == "deferred"
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 10_000})
    sent = requests_logged(sandbox)

    # The task that queued the run, delivered again (handed on while a worker was busy).
    again = refresh_run_execute(run_id=run.pk)
    assert (again.status, again.started_at) == ("deferred", run.started_at)  # not taken
    assert requests_logged(sandbox) == sent  # Autotask was left alone
    # The schedule's time has come: the scheduler sends the same task, and it runs.
    resume = Schedule.objects.get(name=f"autotask: resume refresh #{run.pk}")
    Schedule.objects.filter(pk=resume.pk).update(next_run=timezone.now())
    assert refresh_run_execute(run_id=run.pk).status == "succeeded"


# A connection has one refresh at a time (the database refuses a second), but its API is
# also used by exports on other workers: two processes read the same connection at once.
WORKER = """
import os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "syncadmin.settings")
django.setup()
from apps.autotask.models import Connection
from apps.autotask.refresh import refresh_reference_data
from apps.autotask.services import connection_client
connection = Connection.objects.get(pk=int(sys.argv[1]))
client = connection_client(connection)
started = time.time()
refresh_reference_data(connection, client, full=True)
print("succeeded", started, time.time())
"""


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_share_the_concurrency_limit(sandbox):
    big_tenant(sandbox, companies=1500, services=600)
    sandbox.admin("POST", "/faults", json={"latency_ms": 30})
    connection = connection_create_sandbox(url=sandbox.root)
    Connection.objects.filter(pk=connection.pk).update(concurrency_limit=1)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(connection.pk)],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,  # the log (e.g. the suggestions it queues) apart
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    assert all(out.strip().startswith("succeeded") for out, _ in outputs), outputs
    counters = sandbox.admin("GET", "/counters").json()
    assert counters["max_concurrent"], counters
    assert max(counters["max_concurrent"].values()) == 1  # two processes, limit 1
    assert counters["rejected_thread_limit"] == 0
    # Both really worked at the same time.
    (first_started, first_finished), (second_started, second_finished) = (
        [float(time) for time in out.split()[1:]] for out, _ in outputs
    )
    assert first_started < second_finished and second_started < first_finished
