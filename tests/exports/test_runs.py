"""Export runs against the sandbox over HTTP: the command line, one active run per scope,
audit entries, a failing subscription, lost answers, the hourly limit and a run whose
process died (issue 11, "Runs", "Apply", "Audit", "CLI")."""

import io
import os
import signal
import subprocess
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Schedule

from apps.audit.models import AuditEntry
from apps.autotask.models import AutotaskService
from apps.catalog.models import BillingReport, Offer
from apps.exports import tasks
from apps.exports.actions import export_run_cancel
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportObject, ExportOperation, ExportRun
from apps.exports.queueing import ExportRefused, export_run_create
from apps.exports.recovery import export_run_interrupt_stale
from apps.exports.schedules import STALE_EXPORTS_SCHEDULE
from apps.mappings.models import OfferMapping
from tests.conftest import MANAGE, ROOT, child_env
from tests.exports.small import (
    FIRST_EXPORT_WRITES,
    MONTH,
    SUBSCRIPTIONS,
    records,
    small_world,
    writes_logged,
)
from tests.worker_processes import STALE, kill_cluster, start_cluster, stop_cluster, wait_for

pytestmark = pytest.mark.django_db


def export(*options: str) -> str:
    out = io.StringIO()
    call_command("export", "--connection", "Sandbox", "--month", MONTH, *options, stdout=out)
    return out.getvalue()


@pytest.fixture
def connection(sandbox, tmp_path):
    return small_world(sandbox, tmp_path)


def test_a_dry_run_prints_the_plan_by_organization_and_writes_nothing(sandbox, connection):
    text = export("--dry-run")
    assert writes_logged(sandbox) == []
    assert records(sandbox, "Contracts") == []
    contoso, fabrikam, tailspin = (text.index(name) for name in ("Contoso", "Fabrikam", "Tailspin"))
    assert text.index("Shared") < contoso < fabrikam < tailspin
    assert "Create contract: No contract carries subscription" in text
    assert "Add the contract's service line: 10 units (the largest quantity in 2025-11)" in text
    assert (
        "unit price 15.00 per month (unit cost 12.50 USD + 20% (the connection's default "
        "markup for Licence-based (CSP 365))), unit cost 12.50 from the report" in text
    )
    assert "skipped: Tailspin Toys is not mapped to an Autotask company." in text
    assert "8 operation(s)" in text and "1 skipped" in text
    run = ExportRun.objects.get()
    assert run.dry_run and run.status == "succeeded"
    assert not AuditEntry.objects.filter(operation__startswith="Export Run").exists()


def test_the_command_exports_then_a_second_time_writes_nothing(sandbox, connection):
    text = export()
    first = ExportRun.objects.get()
    assert f"Export #{first.pk}: Succeeded. Written: 2 add service line, 1 create charge" in text
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES
    contracts = records(sandbox, "Contracts")
    assert sorted(c["contractNumber"] for c in contracts) == sorted(
        [SUBSCRIPTIONS[c] for c in list(SUBSCRIPTIONS)[:2]]
        + ["4b6e0f0c-6b1e-4c8e-9b8f-2d3c1a5e7f90"]
    )
    assert first.writes == FIRST_EXPORT_WRITES and first.skipped == 1

    sandbox.admin("DELETE", "/requests")
    text = export()
    assert "Written: nothing" in text
    assert writes_logged(sandbox) == []
    second = ExportRun.objects.latest("pk")
    assert second.writes == 0 and second.counts == {}
    assert second.requests <= 8  # the snapshot only


def test_every_write_and_the_run_itself_are_audited(sandbox, connection):
    export()
    run = ExportRun.objects.get()
    operations = list(AuditEntry.objects.order_by("pk").values_list("operation", flat=True))
    exported = [op for op in operations if op.startswith(("Export ", "Contract "))]
    assert exported[0] == "Export Run Started" and exported[-1] == "Export Run Finished"
    assert sorted(exported[1:-1]) == sorted(
        ["Export Service Created", "Export Product Created"]
        + ["Export Contract Created"] * 3
        + ["Contract Service Line Added"] * 2
        + ["Contract Charge Created"]
    )
    created = AuditEntry.objects.filter(operation="Export Contract Created")
    autotask_ids = {int(entry.object_id) for entry in created}
    assert autotask_ids == {contract["id"] for contract in records(sandbox, "Contracts")}
    entry = created.first()
    assert entry.context == "cli" and entry.connection_name == "Sandbox"
    assert entry.details["run"] == run.pk and entry.after["contractType"] == 7
    # The created service is mapped to its offer, as the mapping screens would show it.
    assert "Create Connection Offer Mapping" in operations
    mapping = OfferMapping.objects.get()
    assert mapping.service.autotask_id == records(sandbox, "Services")[0]["id"]


def test_one_active_run_per_connection_is_held_by_the_database(connection):
    """Whatever the scope: two runs on one connection would both create what neither has
    seen yet (a report and one of its organizations, or two reports)."""
    report = BillingReport.objects.get()
    run = export_run_create(connection=connection, report=report)
    organization = run.report.subscription_months.first().subscription.organization
    with pytest.raises(IntegrityError), transaction.atomic():
        ExportRun.objects.create(
            connection=connection, report=report, scope="organization",
            organization=organization, scope_key="other",
        )  # fmt: skip
    refused = (
        rf"Export #{run.pk} \(November 2025 \(USD\), whole report, queued\) is active on "
        r"Sandbox: one export at a time per connection"
    )
    with pytest.raises(ExportRefused, match=refused):
        export_run_create(connection=connection, report=report)
    with pytest.raises(ExportRefused, match=refused):
        export_run_create(connection=connection, report=report, organization=organization)
    # A dry run writes nothing, so it may look while a run is active.
    assert export_run_create(connection=connection, report=report, dry_run=True).dry_run
    ExportRun.objects.filter(pk=run.pk).update(status="succeeded")
    assert export_run_create(connection=connection, report=report, organization=organization)


def test_a_failing_subscription_is_recorded_and_the_others_are_exported(sandbox, connection):
    """Fabrikam's offer is mapped to a service Autotask does not have: its line is refused;
    the run goes on, ends partial, and the command exits non-zero."""
    offer = Offer.objects.get(sku_name="Microsoft 365 Business Standard")
    ghost = AutotaskService.objects.create(
        connection=connection, autotask_id=999_999, name="Gone", period_type=2,
        unit_cost=0, unit_price=0,
    )  # fmt: skip
    OfferMapping.objects.create(connection=connection, offer=offer, service=ghost)
    with pytest.raises(CommandError, match=r"2 subscription\(s\) failed"):
        export()
    run = ExportRun.objects.get()
    assert run.status == "partial" and run.failed == 2
    failed = run.items.filter(status="failed")
    assert all("999999" in item.error for item in failed)
    assert run.items.filter(status="done").exclude(position=0).count() == 1  # Azure plan
    assert len(records(sandbox, "ContractCharges")) == 1
    assert (
        AuditEntry.objects.filter(operation="Contract Service Line Added", status="failed").count()
        == 2
    )


def test_a_lost_answer_is_looked_up_by_key_and_nothing_is_created_twice(sandbox, connection):
    sandbox.admin(
        "POST",
        "/faults",
        json={
            "scripts": [
                {"method": "POST", "entity": "Contracts", "nth": 2, "when": "after",
                 "fault": "drop"},
                {"method": "POST", "entity": "ContractCharges", "nth": 1, "when": "after",
                 "fault": "timeout"},
                {"method": "POST", "entity": "ContractServiceAdjustments", "nth": 1,
                 "when": "after", "fault": "drop"},
            ],
            "timeout_seconds": 1,
        },
    )  # fmt: skip
    connection.concurrency_limit = 1
    connection.save()
    export()
    run = ExportRun.objects.get()
    assert run.status == "succeeded"
    assert len(records(sandbox, "Contracts")) == 3
    assert len(records(sandbox, "ContractCharges")) == 1
    assert len(records(sandbox, "ContractServices")) == 2
    for line in records(sandbox, "ContractServices"):
        rows = sandbox.get(f"/Contracts/{line['contractID']}/ServiceUnits").json()["items"]
        assert {row["units"] for row in rows} in ({10}, {4})
    notes = set(ExportOperation.objects.exclude(note="").values_list("note", flat=True))
    assert "Found by its key after an answer was lost." in notes
    assert "Autotask already showed this adjustment's result." in notes


def test_at_the_hourly_limit_the_command_waits_and_goes_on_by_itself(sandbox, connection, settings):
    settings.EXPORT_HOURLY_WAIT_SECONDS = 1
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 5, "window_seconds": 2})
    text = export()
    assert "Autotask's hourly API limit is reached: the export waits and continues" in text
    run = ExportRun.objects.get()
    assert run.status == "succeeded" and run.writes == FIRST_EXPORT_WRITES
    assert len(records(sandbox, "Contracts")) == 3


def test_in_a_worker_a_run_at_the_hourly_limit_waits_for_a_schedule(sandbox, connection, settings):
    settings.EXPORT_HOURLY_WAIT_SECONDS = 120
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 6, "window_seconds": 3600})
    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    run = export_run_execute(run_id=run.pk)
    assert run.status == "waiting"
    assert "continues by itself at" in run.message
    schedule = Schedule.objects.get(name=f"exports: continue export #{run.pk}")
    assert schedule.func == "apps.exports.tasks.export_run" and schedule.next_run == run.resume_at
    sandbox.admin("POST", "/faults", json={"requests_per_hour": 10_000})
    # A task delivered before the time (a duplicate) leaves the wait alone ...
    assert export_run_execute(run_id=run.pk).status == "waiting"
    # ... and the schedule's, at the time, carries on.
    ExportRun.objects.filter(pk=run.pk).update(resume_at=timezone.now())
    run = export_run_execute(run_id=run.pk)
    assert run.status == "succeeded"
    assert len(records(sandbox, "Contracts")) == 3


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, no handler records anything."""


def test_a_run_whose_process_died_is_marked_and_continues_from_the_ledger(
    sandbox, connection, settings
):
    """Killed right after its 4th write came back (so that write is done in Autotask but
    not recorded here), the run is seen as interrupted; started again it looks the
    unrecorded write up by its key and finishes, with nothing twice."""
    settings.RUN_STALE_SECONDS = 0
    sent = {"n": 0}

    def die_after_the_fourth(op):
        sent["n"] += 1
        if sent["n"] == 4:
            raise Killed

    connection.concurrency_limit = 1
    connection.save()
    run = export_run_create(
        connection=connection, report=BillingReport.objects.get(), trigger="cli"
    )
    with pytest.raises(Killed):
        export_run_execute(run_id=run.pk, foreground=True, after_send=die_after_the_fourth)
    run.refresh_from_db()
    assert run.status == "running"
    # The write that came back, and any other in flight then (one per entity at most).
    in_flight = ExportOperation.objects.filter(item__run=run, state="sending")
    assert 1 <= in_flight.count() <= 3
    assert len({op.entity for op in in_flight}) == in_flight.count()

    assert [found.pk for found in export_run_interrupt_stale()] == [run.pk]
    run.refresh_from_db()
    assert run.status == "interrupted" and "The worker stopped during this run" in run.message

    text = export()
    assert f"Continuing export #{run.pk} (interrupted)." in text
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 2
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES
    assert len(records(sandbox, "Contracts")) == 3
    assert ExportObject.objects.filter(key__startswith="contract:").count() == 3


def test_a_run_delivered_twice_is_carried_out_once(sandbox, connection):
    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    run.refresh_from_db()
    assert run.attempts == 1
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


@pytest.mark.django_db(transaction=True)
def test_an_export_process_killed_twice_finishes_when_started_again(sandbox, tmp_path):
    """The real thing: `manage.py export` in its own process, SIGKILLed twice in the middle
    of its writes (slowed down by the sandbox's latency), then started again: each new
    process sees the run interrupted, continues it, and Autotask ends up with every
    object exactly once."""
    connection = small_world(sandbox, tmp_path)
    # Slow enough that each kill lands with work still to do: one request per entity at a
    # time (the three contracts one after the other), 400 ms each.
    connection.concurrency_limit = 1
    connection.save()
    sandbox.admin("POST", "/faults", json={"latency_ms": 400})
    env = child_env(
        RUN_HEARTBEAT_SECONDS="1", RUN_STALE_SECONDS="2", AUTOTASK_SLOT_LEASE_SECONDS="2"
    )
    command = [*MANAGE, "export", "--connection", connection.name, "--month", MONTH]
    for kill_after in (2, 4):
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            wait_for(
                lambda n=kill_after: ExportOperation.objects.filter(state="done").count() >= n,
                60,
                f"{kill_after} operations done",
            )
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        assert ExportRun.objects.get().status == "running"
        time.sleep(2.5)
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
    assert finished.returncode == 0, finished.stdout + finished.stderr
    run = ExportRun.objects.get()
    assert f"Continuing export #{run.pk} (interrupted)." in finished.stdout
    assert run.status == "succeeded" and run.attempts == 3
    assert len(records(sandbox, "Contracts")) == 3
    assert len(records(sandbox, "ContractServices")) == 2
    assert len(records(sandbox, "ContractCharges")) == 1
    assert len(records(sandbox, "Services")) == 1 and len(records(sandbox, "Products")) == 1
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


def test_a_worker_run_whose_worker_died_is_queued_again_by_itself(sandbox, connection, settings):
    """What the every-minute schedule does: notices the dead worker, says so in the audit
    log, and hands the run to a worker again, which continues it."""
    settings.RUN_STALE_SECONDS = 0
    settings.RUN_AUTO_RETRIES = 1

    def die(op):
        raise Killed

    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    with pytest.raises(Killed):
        export_run_execute(run_id=run.pk, after_send=die)
    assert tasks.export_run_interrupt_stale() == 1
    run.refresh_from_db()
    assert run.status == "queued" and run.message.endswith("(started again by itself)")
    entry = AuditEntry.objects.get(operation="Export Interrupted")
    assert entry.status == "failed" and entry.details["attempts"] == 1
    assert Schedule.objects.filter(
        name=STALE_EXPORTS_SCHEDULE, func="apps.exports.tasks.export_run_interrupt_stale"
    ).exists()

    assert tasks.export_run(run.pk) == f"export #{run.pk}: succeeded"
    assert len(records(sandbox, "Contracts")) == 3
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


@pytest.mark.django_db(transaction=True)
def test_queue_and_wait_hands_the_run_to_a_real_worker(sandbox, tmp_path):
    small_world(sandbox, tmp_path)
    cluster = start_cluster()
    try:
        text = export("--queue", "--wait")
    finally:
        stop_cluster(cluster)
    run = ExportRun.objects.get()
    assert f"Export #{run.pk} queued for a worker." in text
    assert f"Export #{run.pk}: Succeeded. Written: 2 add service line" in text
    assert run.status == "succeeded" and run.trigger == "cli"
    assert AuditEntry.objects.get(operation="Export Run Started").context == "worker"
    assert len(records(sandbox, "Contracts")) == 3


def test_a_cancelled_run_starts_nothing_new_and_says_what_it_kept(sandbox, connection):
    queued = export_run_create(connection=connection, report=BillingReport.objects.get())
    assert export_run_cancel(run=queued).status == "cancelled"
    with pytest.raises(ExportRefused, match="nothing to cancel"):
        export_run_cancel(run=queued)

    run = export_run_create(connection=connection, report=BillingReport.objects.get())

    def cancel_after_the_third(op, seen={"n": 0}):  # noqa: B006 - a counter for this test
        seen["n"] += 1
        if seen["n"] == 3:
            export_run_cancel(run=ExportRun.objects.get(pk=run.pk))

    connection.concurrency_limit = 1
    connection.save()
    run = export_run_execute(run_id=run.pk, after_send=cancel_after_the_third)
    assert run.status == "cancelled"
    assert 3 <= run.writes < FIRST_EXPORT_WRITES
    assert len(writes_logged(sandbox)) == run.writes
    assert run.message.startswith(f"Cancelled by the command line: {run.writes} write(s)")
    assert AuditEntry.objects.filter(operation="Cancel Export").count() == 2
    # Exporting again finishes the rest, nothing twice.
    export()
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_killed_mid_export_leaves_a_run_the_schedule_sends_on(
    sandbox, tmp_path, settings
):
    """A qcluster SIGKILLed in the middle of an export: the run does not stay "running".
    What the every-minute schedule runs marks it interrupted and queues it again; a new
    worker finishes it, with every object exactly once."""
    settings.RUN_STALE_SECONDS = STALE
    connection = small_world(sandbox, tmp_path)
    connection.concurrency_limit = 1
    connection.save()
    sandbox.admin("POST", "/faults", json={"latency_ms": 400})
    run = export_run_create(connection=connection, report=BillingReport.objects.get(), queue=True)
    cluster = start_cluster()
    try:
        wait_for(
            lambda: ExportOperation.objects.filter(state="done").count() >= 2,
            60,
            "the worker to be inside the export",
        )
        kill_cluster(cluster)
    finally:
        stop_cluster(cluster)
    run.refresh_from_db()
    assert run.status == "running"
    time.sleep(STALE + 1)

    assert [found.pk for found in export_run_interrupt_stale()] == [run.pk]
    run.refresh_from_db()
    assert run.status == "queued" and "The worker stopped during this run" in run.message
    cluster = start_cluster()
    try:
        wait_for(
            lambda: ExportRun.objects.get(pk=run.pk).status not in ("queued", "running"),
            90,
            "a new worker to finish the export",
        )
    finally:
        stop_cluster(cluster)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.attempts == 2, run.message
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES
    assert len(records(sandbox, "Contracts")) == 3
