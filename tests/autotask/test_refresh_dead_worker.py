"""A worker killed during a reference refresh, with a real `qcluster`: the run is shown
interrupted instead of "Running" forever, and it no longer blocks the next refresh."""

import time

import pytest

from apps.autotask.models import RefreshRun
from apps.autotask.services import connection_create_sandbox, refresh_run_create
from tests.autotask.test_refresh import big_tenant
from tests.conftest import sign_in
from tests.worker_processes import STALE, kill_cluster, start_cluster, stop_cluster, wait_for


@pytest.mark.django_db(transaction=True)
def test_a_killed_refresh_is_interrupted_and_refreshing_again_works(
    sandbox, client, operator, settings
):
    settings.RUN_STALE_SECONDS = STALE
    big_tenant(sandbox, companies=1500, services=300)
    sandbox.admin("POST", "/faults", json={"latency_ms": 200})  # slow enough to kill mid-way
    connection = connection_create_sandbox(url=sandbox.root)
    run = refresh_run_create(connection=connection, full=True)
    cluster = start_cluster()
    try:
        wait_for(lambda: RefreshRun.objects.get(pk=run.pk).status == "running", 60, "the refresh")
        time.sleep(1.5)  # well inside the refresh: it needs many slow requests
        kill_cluster(cluster)
    finally:
        stop_cluster(cluster)
    assert RefreshRun.objects.get(pk=run.pk).status == "running"  # as the dead worker left it

    time.sleep(STALE + 1)
    sign_in(client, operator)
    page = client.get(f"/connections/{connection.pk}/refresh-status/").content.decode()
    run.refresh_from_db()
    assert run.status == "interrupted"
    assert "The worker stopped during this run" in run.error
    assert "Interrupted" in page and "hx-trigger" not in page

    again = refresh_run_create(connection=connection, full=True)  # not refused as running
    assert again.status == "queued"
