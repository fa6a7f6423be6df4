"""Exports at an MSP's scale (issue 11): requests spent and wall time.

- A month of 2,000 licence subscriptions (400 customers × 5) exported to an empty tenant
  may use at most (writes needed + 40) requests, where each new subscription needs two
  writes (its contract, and one adjustment that creates its line with units and prices)
  and the one missing service one more. Exported again unchanged: at most 40 requests and
  no write. The sandbox counts the requests.
- With 100 ms of latency injected in every answer, an export's wall time must stay within
  1.3 × (requests × 0.1 s ÷ the connection's concurrency limit): 300 subscriptions, side
  by side with the ideal computed from the same run's request count.
"""

import contextlib
import os
import subprocess
import time

import pytest
from django.core.management import call_command

from apps.autotask.markups import connection_default_markups_set
from apps.autotask.models import AutotaskCompany, RefreshRun
from apps.autotask.services import connection_create_sandbox, refresh_run_execute
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import Organization
from apps.exports.models import ExportRun
from apps.mappings.models import OrganizationMapping
from tests.bench.bench_sandbox import _wait_until_up
from tests.catalog.generator import recon_row, write_recon_csv
from tests.catalog.scenarios import guid
from tests.conftest import MANAGE, ROOT, free_port

SUBSCRIPTIONS = 2_000
PER_CUSTOMER = 5
LATENCY_SUBSCRIPTIONS = 300
SERVICE_CODE, PRODUCT_CODE = 29682802, 29682811

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def sandbox_process():
    """The sandbox in its own process, as `make run` starts it (Autotask is elsewhere too:
    its work must not compete with the exporter's for this process's interpreter)."""
    port = free_port()
    server = subprocess.Popen(
        [*MANAGE, "autotask_sandbox", "--port", str(port), "--seed", "empty",
         "--requests-per-hour", "1000000"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_until_up(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _rows(count: int, currency: str) -> list[dict]:
    rows = []
    for number in range(count):
        customer = number // PER_CUSTOMER
        seats = 1 + number % 40
        rows.append(
            recon_row(
                CustomerId=guid(f"{currency}-customer-{customer}"),
                CustomerName=f"Customer {currency} {customer:04d}",
                CustomerDomainName=f"customer{customer}{currency.lower()}.onmicrosoft.com",
                SubscriptionId=guid(f"{currency}-subscription-{number}"),
                Currency=currency,
                PricingCurrency=currency,
                Quantity=str(seats),
                BillableQuantity=str(seats),
                Subtotal=f"{seats * 12.5:.2f}",
                Total=f"{seats * 12.5:.2f}",
            )
        )
    return rows


def _world(tmp_path, sandbox_url: str, count: int, currency: str, name: str):
    """A connection to the sandbox at ``sandbox_url`` (emptied), one month of ``count``
    licence subscriptions in ``currency``, every organization mapped."""
    import requests

    requests.post(f"{sandbox_url}/_sandbox/reset", json={"seed": "empty"}, timeout=30)
    customers = count // PER_CUSTOMER
    requests.post(
        f"{sandbox_url}/_sandbox/records/BillingCodes",
        json={
            "items": [
                {"id": SERVICE_CODE, "name": "Licences", "useType": 5, "isActive": True},
                {"id": PRODUCT_CODE, "name": "Cloud", "useType": 4, "isActive": True},
            ]
        },
        timeout=30,
    )
    requests.post(
        f"{sandbox_url}/_sandbox/records/Companies",
        json={
            "items": [
                {"id": 1000 + n, "companyName": f"Company {n}", "companyType": 1, "isActive": True}
                for n in range(customers)
            ]
        },
        timeout=60,
    )
    connection = connection_create_sandbox(name=name, url=sandbox_url)
    connection.service_billing_code_id = SERVICE_CODE
    connection.product_billing_code_id = PRODUCT_CODE
    connection.save()
    connection_default_markups_set(connection=connection, markups={"license_based": 20})
    run = RefreshRun.objects.create(connection=connection, kind="full")
    assert refresh_run_execute(run_id=run.pk).status == "succeeded"
    path = write_recon_csv(tmp_path / f"recon-{currency}.csv", _rows(count, currency))
    import_billing([(path, path.name)], month=None, actor="bench")
    companies = {
        company.name: company
        for company in AutotaskCompany.objects.filter(
            connection=connection, name__startswith="Company "
        )
    }
    OrganizationMapping.objects.bulk_create(
        OrganizationMapping(
            connection=connection,
            organization=organization,
            company=companies[f"Company {int(organization.name.split()[-1])}"],
        )
        for organization in Organization.objects.filter(name__startswith=f"Customer {currency} ")
    )
    return connection


def _counters(url: str) -> dict:
    import requests

    return requests.get(f"{url}/_sandbox/counters", timeout=30).json()


def _writes(url: str) -> int:
    import requests

    log = requests.get(f"{url}/_sandbox/requests", timeout=60).json()["items"]
    return sum(
        1
        for entry in log
        if entry["method"] in ("POST", "PATCH", "PUT", "DELETE") and "/query" not in entry["path"]
    )


def _export(connection, currency: str) -> ExportRun:
    call_command(
        "export", "--connection", connection.name, "--month", "2025-11", "--currency", currency
    )
    return ExportRun.objects.filter(connection=connection).latest("pk")


def bench_requests_spent_exporting_2000_subscriptions(figure, tmp_path):
    with sandbox_process() as url:
        connection = _world(tmp_path, url, SUBSCRIPTIONS, "USD", "Bench")
        before = _counters(url)["requests"]
        started = time.perf_counter()
        run = _export(connection, "USD")
        seconds = time.perf_counter() - started
        assert run.status == "succeeded", run.message
        spent = _counters(url)["requests"] - before
        writes = _writes(url)
        needed = 2 * SUBSCRIPTIONS + 1  # two per subscription, the missing service once
        assert writes == needed
        figure("first export: writes", writes, "requests", f"= {needed}")
        figure("first export: requests", spent, "requests", f"<= {needed + 40}")
        figure("first export: reads and checks", spent - writes, "requests", "<= 40")
        figure("first export: time", seconds, "s")

        before = _counters(url)["requests"]
        again = _export(connection, "USD")
        spent_again = _counters(url)["requests"] - before
        assert again.writes == 0 and _writes(url) == needed
        figure("unchanged re-export: requests", spent_again, "requests", "<= 40")
        figure("unchanged re-export: writes", again.writes, "requests", "= 0")
        assert spent <= needed + 40
        assert spent_again <= 40


def bench_wall_time_with_100_ms_latency(figure, tmp_path):
    with sandbox_process() as url:
        connection = _world(tmp_path, url, LATENCY_SUBSCRIPTIONS, "EUR", "Latency")
        import requests

        requests.post(f"{url}/_sandbox/faults", json={"latency_ms": 100}, timeout=30)
        before = _counters(url)["requests"]
        started = time.perf_counter()
        run = _export(connection, "EUR")
        seconds = time.perf_counter() - started
        assert run.status == "succeeded", run.message
        spent = _counters(url)["requests"] - before
        ideal = spent * 0.1 / connection.concurrency_limit
        figure("export with 100 ms latency: requests", spent, "requests")
        figure("export with 100 ms latency: ideal", ideal, "s", "requests × 0.1 s ÷ limit")
        figure("export with 100 ms latency: wall time", seconds, "s", f"<= {1.3 * ideal:.1f}")
        figure("export with 100 ms latency: ratio", seconds / ideal, "× ideal", "<= 1.3")
        assert seconds <= 1.3 * ideal
