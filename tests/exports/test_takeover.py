"""Two ways a worker can lose a run without the run knowing (issue 12, "Workers"): the
task was fetched by a cluster that died before starting it, and the process was frozen
long enough to be thought dead while another attempt took the run over."""

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone
from django_q.brokers import get_broker

from apps.catalog.models import BillingReport
from apps.exports import services
from apps.exports.models import ExportRun
from apps.exports.recovery import export_run_interrupt_stale
from apps.exports.services import export_run_create, export_run_execute
from tests.exports.small import FIRST_EXPORT_WRITES, small_world, writes_logged

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(sandbox, tmp_path):
    return small_world(sandbox, tmp_path)


def test_a_run_queued_long_ago_is_handed_to_a_worker_again(sandbox, connection, settings):
    settings.RUN_STALE_SECONDS = 60
    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    services.export_run_queue(run)
    run.refresh_from_db()
    assert run.queued_at is not None
    assert export_run_interrupt_stale() == []  # just queued: left alone

    long_ago = timezone.now() - dt.timedelta(minutes=5)
    ExportRun.objects.filter(pk=run.pk).update(queued_at=long_ago)
    broker = get_broker()
    before = broker.queue_size()
    assert [found.pk for found in export_run_interrupt_stale()] == [run.pk]
    assert broker.queue_size() == before + 1
    run.refresh_from_db()
    assert run.status == "queued" and run.queued_at > long_ago
    # Both deliveries reach a worker: the first carries the run out, the second does nothing.
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    assert export_run_execute(run_id=run.pk).attempts == 1
    assert len(writes_logged(sandbox)) == FIRST_EXPORT_WRITES


def test_an_attempt_whose_run_was_taken_over_stops_and_records_nothing(sandbox, connection):
    connection.concurrency_limit = 1
    connection.save()
    run = export_run_create(connection=connection, report=BillingReport.objects.get())

    def taken_over_after_the_first(op, seen=[]):  # noqa: B006 - a counter for this test
        seen.append(op.pk)
        if len(seen) == 1:  # another process claimed it: attempt 2, running
            ExportRun.objects.filter(pk=run.pk).update(attempts=F("attempts") + 1)

    stopped = export_run_execute(run_id=run.pk, after_send=taken_over_after_the_first)
    # The row is the new attempt's: this one neither ended it nor wrote its counts.
    assert (stopped.status, stopped.attempts, stopped.finished_at) == ("running", 2, None)
    # What it had sent is kept (the other attempt finds it); it sent nothing after.
    assert len(writes_logged(sandbox)) == 1
