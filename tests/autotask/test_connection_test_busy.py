"""Test connection while every worker is busy with longer work, with a real `qcluster`:
the test waits for a free worker instead of being called lost, up to its patience."""

import time

import pytest
from django_q.brokers import get_broker
from django_q.tasks import async_task

from apps.autotask import connection_test as testing
from apps.autotask.connection_test import connection_test_status
from apps.autotask.services import connection_create_sandbox
from apps.core.health import running_clusters
from tests.conftest import sign_in
from tests.worker_processes import kill_cluster, start_cluster, wait_for


@pytest.mark.django_db(transaction=True)
def test_a_test_waits_for_busy_workers_then_says_they_are_busy(
    client, administrator, sandbox, settings, monkeypatch
):
    settings.RUN_STALE_SECONDS = 1
    monkeypatch.setattr(testing, "BUSY_PATIENCE", 4)  # 4 s of waiting for a free worker
    get_broker().purge_queue()
    cluster = start_cluster(WORKERS="1")
    try:
        wait_for(running_clusters, 60, "the cluster to report in")
        async_task("time.sleep", 60)  # the one worker's longer work
        wait_for(lambda: get_broker().queue_size() == 0, 30, "the worker to take it")
        connection = connection_create_sandbox(url=sandbox.root)
        sign_in(client, administrator)
        location = client.post(f"/connections/{connection.pk}/test/").headers["Location"]
        token = location.partition("?test=")[2]
        status_url = f"/connections/{connection.pk}/test-status/?token={token}"

        time.sleep(2)  # past RUN_STALE_SECONDS without a sign of life
        card = client.get(status_url).content.decode()
        assert "Test queued: waiting for a worker." in card and "hx-trigger" in card
        time.sleep(3)  # past its patience
        card = client.get(status_url).content.decode()
        assert "No worker took the test within" in card
        assert "they are all busy with longer work. Test again later." in card
        assert "Test again" in card and "hx-trigger" not in card
        assert connection_test_status(connection=connection, token=token)["status"] == "lost"
    finally:
        kill_cluster(cluster)
