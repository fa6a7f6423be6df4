"""A worker killed during an import, with real `qcluster` processes: the run is seen as
interrupted (no heartbeat), shown so, retried with one click or by itself, and nothing is
ever half-imported (issue 9, "a worker killed during an import")."""

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import Schedule

from apps.audit.models import AuditEntry
from apps.catalog.importing.runs import import_run_interrupt_stale
from apps.catalog.models import BillingLine, ImportRun
from apps.catalog.schedules import STALE_IMPORTS_SCHEDULE
from tests.catalog.generator import usage_rows, write_usage_csv
from tests.conftest import sign_in
from tests.worker_processes import STALE, kill_cluster, start_cluster, stop_cluster, wait_for

LINES = 40_000


def reading(run: ImportRun, client) -> bool:
    """The page's progress shows the worker well inside the import's transaction."""
    run.refresh_from_db()
    if run.status != "running":
        return False
    page = client.get(f"/imports/{run.pk}/progress/")
    lines = page.context["lines_read"]
    return lines >= 5000 and lines < LINES


def finish_on_a_new_cluster(run: ImportRun) -> None:
    """Start a fresh cluster, wait until ``run`` has ended, stop the cluster."""
    cluster = start_cluster()
    try:
        wait_for(
            lambda: ImportRun.objects.get(pk=run.pk).status in ("succeeded", "failed"),
            240,
            f"import #{run.pk} to finish on a new worker",
        )
    finally:
        stop_cluster(cluster)
    run.refresh_from_db()


def unbilled_usage_rows(count: int, **options):
    """Usage without an InvoiceNumber (unbilled) imports alone, into the month of its
    dates; billed usage would need its invoice imported first, which these tests are not
    about."""
    return ({**row, "InvoiceNumber": ""} for row in usage_rows(count, **options))


@pytest.fixture
def big_upload(tmp_path):
    path = tmp_path / "usage-big.csv"
    write_usage_csv(path, unbilled_usage_rows(LINES, customers=6))
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")


def kill_during_import(client, upload) -> ImportRun:
    client.post("/imports/new/", {"files": [upload]})
    run = ImportRun.objects.get()
    cluster = start_cluster()
    try:
        wait_for(lambda: reading(run, client), 120, "the worker to be inside the import")
        kill_cluster(cluster)
    finally:
        stop_cluster(cluster)
    return run


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_an_interrupted_run_that_one_click_retries(
    client, operator, big_upload, settings
):
    settings.RUN_STALE_SECONDS = STALE
    settings.RUN_AUTO_RETRIES = 0  # a person must retry
    sign_in(client, operator)
    run = kill_during_import(client, big_upload)
    assert BillingLine.objects.count() == 0  # the dead worker's transaction never committed

    time.sleep(STALE + 1)
    page = client.get(f"/imports/{run.pk}/").content.decode()
    run.refresh_from_db()
    assert run.status == "interrupted"
    assert "Interrupted" in page and "Retry" in page
    assert "hx-trigger" not in page  # no more polling of a dead run
    assert "The worker stopped during this run" in run.error
    assert AuditEntry.objects.filter(operation="Import Interrupted").count() == 1
    assert os.path.exists(run.files[0]["path"])  # kept for the retry

    response = client.post(f"/imports/{run.pk}/retry/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "queued"

    finish_on_a_new_cluster(run)
    assert run.status == "succeeded", run.error
    assert run.attempts == 2
    assert BillingLine.objects.count() == LINES  # all of it, exactly once
    assert not os.path.exists(run.files[0]["path"])


@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_run_is_started_again_by_itself(client, operator, big_upload, settings):
    settings.RUN_STALE_SECONDS = STALE
    settings.RUN_AUTO_RETRIES = 1
    sign_in(client, operator)
    run = kill_during_import(client, big_upload)
    time.sleep(STALE + 1)

    # What the every-minute schedule runs: the run is noticed and queued again, no click.
    assert [found.pk for found in import_run_interrupt_stale()] == [run.pk]
    run.refresh_from_db()
    assert run.status == "queued"
    assert "started again by itself" in run.error

    finish_on_a_new_cluster(run)
    assert run.status == "succeeded", run.error
    assert BillingLine.objects.count() == LINES


@pytest.mark.django_db
def test_the_product_schedules_the_check_for_dead_workers():
    schedule = Schedule.objects.get(name=STALE_IMPORTS_SCHEDULE)
    assert schedule.func == "apps.catalog.tasks.import_run_interrupt_stale"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 1)


@pytest.mark.django_db
def test_a_run_with_a_live_heartbeat_is_left_alone(settings):
    from django.utils import timezone

    from apps.catalog.importing.runs import progress_key
    from apps.core.runs import heartbeat

    settings.RUN_STALE_SECONDS = 1
    settings.RUN_HEARTBEAT_SECONDS = 0.2
    run = ImportRun.objects.create(files=[], status="running", started_at=timezone.now())
    with heartbeat(progress_key(run.pk)):
        time.sleep(1.5)
        assert import_run_interrupt_stale() == []
    assert ImportRun.objects.get(pk=run.pk).status == "running"
    time.sleep(1.5)
    # The beat is gone with the block, and the run started more than a second ago.
    assert [found.pk for found in import_run_interrupt_stale()] == [run.pk]


@pytest.mark.django_db
def test_a_queued_or_interrupted_import_can_be_cancelled(client, operator, viewer, tmp_path):
    path = tmp_path / "usage.csv"
    write_usage_csv(path, usage_rows(10, customers=1))
    sign_in(client, operator)
    client.post("/imports/new/", {"files": [SimpleUploadedFile(path.name, path.read_bytes())]})
    run = ImportRun.objects.get()
    sign_in(client, viewer)
    assert client.post(f"/imports/{run.pk}/cancel/").status_code == 403
    sign_in(client, operator)
    client.post(f"/imports/{run.pk}/cancel/")
    run.refresh_from_db()
    assert (run.status, run.error) == ("cancelled", "Cancelled: nothing was imported.")
    assert not os.path.exists(run.files[0]["path"])
    assert AuditEntry.objects.filter(operation="Cancel Import").count() == 1
    # A finished run cannot be retried or cancelled; the page says why.
    page = client.post(f"/imports/{run.pk}/retry/", follow=True).content.decode()
    assert "only an interrupted import can be retried" in page


@pytest.mark.django_db(transaction=True)
def test_a_running_import_stops_at_cancel_and_imports_nothing(client, operator, big_upload):
    import threading

    from apps.catalog.importing.runs import import_run_execute

    sign_in(client, operator)
    client.post("/imports/new/", {"files": [big_upload]})
    run = ImportRun.objects.get()

    def work():
        from django.db import connection

        try:
            import_run_execute(run_id=run.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        wait_for(lambda: reading(run, client), 120, "the import to be reading")
        assert client.post(f"/imports/{run.pk}/cancel/").status_code == 302
    finally:
        worker.join(timeout=120)
    run.refresh_from_db()
    assert (run.status, run.error) == (
        "cancelled",
        "Cancelled during the import: nothing was imported.",
    )
    assert BillingLine.objects.count() == 0
    assert not os.path.exists(run.files[0]["path"])


@pytest.mark.django_db
def test_a_run_started_again_is_not_judged_by_the_dead_workers_last_beat(settings):
    """A retried run whose new worker has just claimed it still carries the beat the dead
    worker left behind: its fresh start counts as a sign of life."""
    from django.utils import timezone

    from apps.catalog.importing.runs import progress_key
    from apps.core.progress import progress_set

    settings.RUN_STALE_SECONDS = 60
    run = ImportRun.objects.create(files=[], status="running", started_at=timezone.now())
    progress_set(f"{progress_key(run.pk)}-beat", {"at": time.time() - 3600})
    assert import_run_interrupt_stale() == []
    assert ImportRun.objects.get(pk=run.pk).status == "running"


def test_many_runs_progress_never_culls_a_live_heartbeat():
    # Django's file cache drops a third of its entries at random past 300 by default: a
    # live run's heartbeat must not go with them, however many runs left entries.
    from apps.core.progress import progress_get, progress_set

    progress_set("import-1-beat", {"at": 1})
    for number in range(2, 2000):  # past 300 some twenty times over
        progress_set(f"import-{number}", {"lines_read": number})
    assert progress_get("import-1-beat") == {"at": 1}
    assert progress_get("import-1999") == {"lines_read": 1999}
