"""A queued run whose task was lost: the worker cluster that had fetched it from the
broker died before starting it (Redis hands a task out once). The run is handed to a
worker again once it has waited `RUN_STALE_SECONDS`, instead of waiting "Queued" forever;
for a refresh, that also lets the connection's later refreshes in. Exports: see
tests/exports/test_takeover.py."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from apps.autotask.models import AutotaskCompany, RefreshRun
from apps.autotask.services import (
    RefreshAlreadyRunning,
    connection_create_sandbox,
    refresh_run_create,
)
from apps.catalog import tasks
from apps.catalog.importing.runs import import_run_execute, import_run_interrupt_stale
from apps.catalog.models import BillingLine, ImportRun
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import march_rows
from tests.conftest import sign_in
from tests.worker_processes import start_cluster, stop_cluster, wait_for

LONG_AGO = dt.timedelta(minutes=5)


def lose_the_task(model, run) -> None:
    """What a killed cluster leaves: the broker holds the task no more, and the run was
    handed to it a while ago."""
    broker = get_broker()
    broker.purge_queue()
    assert broker.queue_size() == 0
    model.objects.filter(pk=run.pk).update(queued_at=timezone.now() - LONG_AGO)


def tasks_in_the_broker() -> list[dict]:
    """The tasks the broker holds, as the cluster reads them (signed)."""
    broker = get_broker()
    tasks = []
    for _ in range(broker.queue_size()):  # Redis hands out one task a call, the ORM several
        fetched = broker.dequeue() or []
        if not fetched:
            break
        tasks += [SignedPackage.loads(payload) for _, payload in fetched]
    return tasks


@pytest.mark.django_db(transaction=True)
def test_a_refresh_whose_task_was_lost_runs_on_a_worker_and_lets_the_next_one_in(
    sandbox, client, operator, settings
):
    settings.RUN_STALE_SECONDS = 60  # the cluster has its own, from its environment
    sandbox.insert("Companies", [{"companyName": "Contoso", "companyType": 1}])
    connection = connection_create_sandbox(url=sandbox.root)
    run = refresh_run_create(connection=connection, full=True)
    run.refresh_from_db()
    assert run.queued_at is not None
    with pytest.raises(RefreshAlreadyRunning):  # while it is queued, it keeps others out
        refresh_run_create(connection=connection, full=False)
    lose_the_task(RefreshRun, run)

    # The connection's page notices the run, hands it on once, and shows it still queued.
    sign_in(client, operator)
    page = client.get(f"/connections/{connection.pk}/").content.decode()
    assert "Queued" in page
    assert get_broker().queue_size() == 1
    client.get(f"/connections/{connection.pk}/")
    assert get_broker().queue_size() == 1  # handed on just now: not again yet
    run.refresh_from_db()
    assert run.status == "queued" and run.queued_at > timezone.now() - LONG_AGO

    cluster = start_cluster()
    try:
        wait_for(lambda: RefreshRun.objects.get(pk=run.pk).status == "succeeded", 90, "the refresh")
    finally:
        stop_cluster(cluster)
    assert list(AutotaskCompany.objects.values_list("name", flat=True)) == ["Contoso"]
    assert refresh_run_create(connection=connection, full=False).status == "queued"


@pytest.mark.django_db
def test_an_import_whose_task_was_lost_is_handed_on_by_the_every_minute_check(
    client, operator, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.RUN_STALE_SECONDS = 60
    get_broker().purge_queue()  # what earlier tests of this process left
    sign_in(client, operator)
    path = tmp_path / "recon.csv"
    write_recon_csv(path, march_rows())
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/imports/new/", {"files": [upload], "month": "2022-03"})
    run = ImportRun.objects.get()
    assert [task["args"] for task in tasks_in_the_broker()] == [(run.pk,)]
    lose_the_task(ImportRun, run)

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.import_run_interrupt_stale() == 1  # what the schedule runs every minute
        assert tasks.import_run_interrupt_stale() == 0  # handed on just now: left alone
    handed = tasks_in_the_broker()
    assert [(task["func"], task["args"]) for task in handed] == [
        ("apps.catalog.tasks.import_run_execute", (run.pk,))
    ]
    page = client.get(f"/imports/{run.pk}/").content.decode()
    assert "Waiting for a worker." in page

    assert import_run_execute(run_id=run.pk).status == "succeeded"
    assert BillingLine.objects.count() == len(march_rows())
    # A run handed on while a worker was merely busy: the second delivery does nothing.
    assert import_run_execute(run_id=run.pk).status == "succeeded"
    assert BillingLine.objects.count() == len(march_rows())


@pytest.mark.django_db
def test_a_run_the_queue_still_holds_is_left_alone_until_it_is_stale(
    settings, django_capture_on_commit_callbacks
):
    settings.RUN_STALE_SECONDS = 60
    get_broker().purge_queue()
    run = ImportRun.objects.create(files=[], queued_at=timezone.now() - dt.timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert import_run_interrupt_stale() == []
        # Never handed to a worker (as the export command's own runs): left alone too.
        ImportRun.objects.filter(pk=run.pk).update(queued_at=None)
        assert import_run_interrupt_stale() == []
    assert get_broker().queue_size() == 0
