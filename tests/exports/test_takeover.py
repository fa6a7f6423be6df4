"""Two ways a worker can lose a run without the run knowing (issue 12, "Workers"): the
task was fetched by a cluster that died before starting it, and the process was frozen
long enough to be thought dead while another attempt took the run over."""

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone
from django_q.brokers import get_broker

from apps.autotask.models import ConcurrencySlot
from apps.catalog.models import BillingReport
from apps.core.runs import last_beat
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportRun
from apps.exports.queueing import export_run_create, export_run_queue, run_key
from apps.exports.recovery import export_run_interrupt_stale
from tests.exports.small import FIRST_EXPORT_WRITES, small_world, writes_logged

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(sandbox, tmp_path):
    return small_world(sandbox, tmp_path)


def test_a_run_queued_long_ago_is_handed_to_a_worker_again(
    sandbox, connection, settings, django_capture_on_commit_callbacks
):
    settings.RUN_STALE_SECONDS = 60
    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    export_run_queue(run)
    run.refresh_from_db()
    assert run.queued_at is not None
    assert export_run_interrupt_stale() == []  # just queued: left alone

    long_ago = timezone.now() - dt.timedelta(minutes=5)
    ExportRun.objects.filter(pk=run.pk).update(queued_at=long_ago)
    broker = get_broker()
    before = broker.queue_size()
    with django_capture_on_commit_callbacks(execute=True):
        assert [found.pk for found in export_run_interrupt_stale()] == [run.pk]
    assert broker.queue_size() == before + 1
    run.refresh_from_db()
    assert run.status == "queued" and run.queued_at > long_ago
    # Both deliveries reach a worker: the first carries the run out, the second does nothing.
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    assert export_run_execute(run_id=run.pk).attempts == 1
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


def takes_over_after_the_first_send(run, change):
    """An ``after_send`` hook: right after the first request, someone else changes the
    run's row (``change``: the fields of an update), as another process would."""
    seen = []

    def hook(op):
        seen.append(op.pk)
        if len(seen) == 1:
            ExportRun.objects.filter(pk=run.pk).update(**change)

    return hook


@pytest.mark.parametrize(
    "change",
    [
        # Another worker claimed it again (after it was thought dead).
        {"attempts": F("attempts") + 1, "started_at": timezone.now()},
        # It was marked interrupted, then someone cancelled it.
        {"status": "cancelled", "message": "Cancelled by someone before it went on."},
    ],
    ids=["claimed-again", "cancelled-meanwhile"],
)
def test_an_attempt_whose_run_was_taken_over_stops_and_leaves_the_row_alone(
    sandbox, connection, change
):
    connection.concurrency_limit = 1
    connection.save()
    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    stopped = export_run_execute(
        run_id=run.pk, after_send=takes_over_after_the_first_send(run, change)
    )
    row = ExportRun.objects.get(pk=run.pk)
    # The row is as the other party left it: not ended, counted or overwritten by this one.
    assert stopped.finished_at is None and row.finished_at is None
    if "status" in change:
        assert (row.status, row.message) == ("cancelled", change["message"])
    else:
        assert (row.status, row.attempts) == ("running", 2)
    # It sent nothing after (what it had sent is kept: the other attempt finds it) ...
    assert len(writes_logged(sandbox)) == 1
    # ... and gave back every request slot it held, and its own heartbeat only.
    assert not ConcurrencySlot.objects.filter(connection=connection).exclude(holder="").exists()
    assert last_beat(run_key(run.pk, 1)) is None
