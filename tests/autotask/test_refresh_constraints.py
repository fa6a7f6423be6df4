"""One active refresh per connection, kept by the database
(`refresh_run_one_active_per_connection`), not by a check two requests can both pass."""

import pytest
from django.db import IntegrityError, transaction
from django_q.models import Schedule

from apps.autotask.models import Connection, RefreshRun
from apps.autotask.services import RefreshAlreadyRunning, refresh_run_create, refresh_run_execute

pytestmark = pytest.mark.django_db


def test_a_second_refresh_is_refused_and_the_callers_transaction_goes_on(
    connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued, transaction.atomic():
        first = refresh_run_create(connection=connection, full=True)
        with pytest.raises(RefreshAlreadyRunning, match="already queued or running"):
            refresh_run_create(connection=connection, full=False)
        # The refusal was a savepoint's: this transaction still works.
        assert list(RefreshRun.objects.values_list("pk", flat=True)) == [first.pk]
    assert len(queued) == 1  # only the first is handed to a worker


@pytest.mark.parametrize("active", ["queued", "running"])
def test_the_database_refuses_a_second_active_refresh(connection, active):
    RefreshRun.objects.create(connection=connection, kind="full", status=active)
    for status in ("queued", "running"):
        with pytest.raises(IntegrityError), transaction.atomic():
            RefreshRun.objects.create(connection=connection, kind="incremental", status=status)
    ended = RefreshRun.objects.create(connection=connection, kind="full", status="succeeded")
    with pytest.raises(IntegrityError), transaction.atomic():
        RefreshRun.objects.filter(pk=ended.pk).update(status="running")


def test_ended_and_deferred_refreshes_do_not_count_and_other_connections_are_apart(connection):
    for status in ("succeeded", "failed", "interrupted", "deferred", "deferred"):
        RefreshRun.objects.create(connection=connection, kind="full", status=status)
    RefreshRun.objects.create(connection=connection, kind="full", status="running")
    other = Connection(name="Other", username="u", integration_code="c")
    other.set_secret("s")
    other.save()
    RefreshRun.objects.create(connection=other, kind="full", status="queued")
    # Stored, all of them (a refusal would have raised): an active run on each connection.
    active = RefreshRun.objects.filter(status__in=["queued", "running"])
    assert sorted(active.values_list("connection__name", flat=True)) == ["Autotask", "Other"]


def test_a_deferred_refresh_resuming_while_another_is_active_waits_again(connection):
    deferred = RefreshRun.objects.create(connection=connection, kind="full", status="deferred")
    RefreshRun.objects.create(connection=connection, kind="incremental", status="running")
    run = refresh_run_execute(run_id=deferred.pk)  # the resume schedule's task
    assert run.status == "deferred" and run.started_at is None
    assert Schedule.objects.filter(name=f"autotask: resume refresh #{deferred.pk}").exists()
