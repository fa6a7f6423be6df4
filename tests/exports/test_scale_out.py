"""Scale-out: exports of several connections and organizations carried out at once by two
separate `qcluster` processes, one of which is killed in the middle of a run (issue
"exports part 2", "Scale-out test").

Four connections, each to its own sandbox (the engine holds one active export per
connection), export the small world's month: two the whole report, one Contoso only, one
Fabrikam only. Each sandbox answers slowly, so the runs overlap and a kill lands inside
one. The first cluster is given two of the runs and the second the other two (the other
cluster is paused while they are queued, so the broker can hand them to one only); all
four then run at once. The first cluster is SIGKILLed while its whole-report run is
half written; what the every-minute schedule runs notices it and queues the run again,
and the surviving cluster finishes it.

Proven at the end: every run succeeded, the killed ones on a second attempt; each sandbox
received exactly the writes, and holds exactly the contracts, lines, unit rows, charges,
services and products, of the same export carried out in one process on a sandbox of its
own (Autotask's ids aside); no sandbox ever had more requests in flight per entity than
the connection's concurrency limit, and none was refused for Autotask's thread limit.

Needs PostgreSQL and Redis (the django-q broker two clusters share); skipped otherwise,
unless REQUIRE_SCALE_OUT=1 (CI's PostgreSQL step), where the skip is a failure.
"""

import time

import pytest
from django_q.brokers import get_broker
from django_q.models import Schedule

from apps.audit.models import AuditEntry
from apps.catalog.models import BillingReport, Organization
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportObject, ExportOperation, ExportRun
from apps.exports.queueing import export_run_create, export_run_queue
from apps.exports.recovery import export_run_interrupt_stale
from tests.exports.scale_out import (
    REQUIRE,
    Reader,
    cluster_ready,
    connect,
    counters,
    normalized_state,
    pause_cluster,
    required,
    resume_cluster,
    sandboxes,
    scale_out_unavailable,
    writes_by_entity,
)
from tests.exports.small import FIRST_EXPORT_WRITES, import_small_world, records
from tests.worker_processes import STALE, kill_cluster, start_cluster, stop_cluster, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 2  # requests in flight per entity and connection; Autotask allows 3
LATENCY_MS = 400
# (organization exported, or None for the whole report), one per connection. The first
# cluster takes the first two, the second the others; the first is killed.
EXPORTS = (None, "Contoso Ltd", "Fabrikam Inc", None)
FIRST_CLUSTER_TAKES = 2
RECORDS = ("Contracts", "ContractServices", "ContractCharges", "Services", "Products")


@pytest.fixture
def scale_out_possible():
    """Skips without PostgreSQL and Redis; fails instead under REQUIRE_SCALE_OUT=1."""
    reason = scale_out_unavailable()
    if reason is None:
        return
    if required():
        pytest.fail(f"{REQUIRE}=1, but the scale-out test {reason}.")
    pytest.skip(reason=f"The scale-out test {reason}.")


@pytest.fixture
def quiet_workers(settings, monkeypatch):
    """Workers that do only what the test queues: no schedules (the test runs the
    every-minute check itself, when it means to), two workers per cluster; runs without
    a beat for STALE seconds lost theirs."""
    settings.RUN_STALE_SECONDS = STALE
    monkeypatch.setenv("WORKERS", "2")
    Schedule.objects.all().delete()


# -- the exports -----------------------------------------------------------------------------


def create_run(connection, organization_name: str | None) -> ExportRun:
    organization = Organization.objects.get(name=organization_name) if organization_name else None
    return export_run_create(
        connection=connection, report=BillingReport.objects.get(), organization=organization
    )


def in_one_process(sandbox, name: str, organization_name: str | None) -> dict:
    """The reference: the same export carried out here, in one process, on a sandbox of
    its own. What Autotask then holds and was sent, and the ledger's size."""
    connection = connect(sandbox, name, concurrency_limit=LIMIT)
    run = export_run_execute(run_id=create_run(connection, organization_name).pk)
    assert run.status == "succeeded", run.message
    return {
        "state": normalized_state(sandbox),
        "writes": writes_by_entity(sandbox),
        "records": record_counts(sandbox),
        "ledger": ExportObject.objects.filter(connection=connection).count(),
    }


def record_counts(sandbox) -> dict[str, int]:
    return {entity: len(records(sandbox, entity)) for entity in RECORDS}


def status(run: ExportRun) -> str:
    return ExportRun.objects.values_list("status", flat=True).get(pk=run.pk)


def half_written(run: ExportRun) -> bool:
    """Running, with some of its planned writes done and more still to do."""
    operations = ExportOperation.objects.filter(item__run=run)
    done = operations.filter(state="done").count()
    return status(run) == "running" and 3 <= done < operations.count()


def all_finished(runs) -> bool:
    return all(status(run) not in ("queued", "running", "interrupted") for run in runs)


# -- two clusters ------------------------------------------------------------------------------


def hand_to(cluster, other, runs) -> None:
    """Queue ``runs`` so that only ``cluster`` can take them: ``other`` is paused until
    ``cluster`` has claimed them all. Two runs for two workers: none waits in the
    cluster's own queue, where a kill would lose it (the Redis broker hands a task out
    once, unacknowledged)."""
    pause_cluster(other)
    try:
        for run in runs:
            export_run_queue(run)
        wait_for(
            lambda: all(status(run) == "running" for run in runs), 30, "the runs to be claimed"
        )
    finally:
        resume_cluster(other)


def kill_mid_run_and_resume(runs) -> list[ExportRun]:
    """Two clusters take two runs each and carry them out at once; the first is killed
    while its whole-report run is half written, the every-minute check queues what it
    left running again, and the second finishes everything. Returns the runs the killed
    cluster left running."""
    # Tasks the setup queued (suggestions after each refresh) or earlier tests left.
    get_broker().purge_queue()
    first, second = start_cluster(), start_cluster()
    try:
        wait_for(lambda: cluster_ready(first) and cluster_ready(second), 60, "two clusters")
        hand_to(first, second, runs[:FIRST_CLUSTER_TAKES])
        hand_to(second, first, runs[FIRST_CLUSTER_TAKES:])
        assert [status(run) for run in runs] == ["running"] * len(runs)  # at once
        # A third process reads from the last connection while the second cluster
        # exports to it: both take the connection's slots through the database.
        reader = Reader(runs[-1].connection)
        reader.start()

        wait_for(lambda: half_written(runs[0]), 60, "the first cluster to be mid-export")
        kill_cluster(first)
        left = [run for run in runs[:FIRST_CLUSTER_TAKES] if status(run) == "running"]
        time.sleep(STALE + 1)
        # What the every-minute schedule runs: the dead cluster's runs, none of the other's.
        assert sorted(run.pk for run in export_run_interrupt_stale()) == [r.pk for r in left]
        for run in left:  # queued again, and perhaps taken by the survivor already
            run.refresh_from_db()
            assert run.status in ("queued", "running"), run.status
            assert run.message.endswith("(started again by itself)"), run.message
        wait_for(lambda: all_finished(runs), 90, "the surviving cluster to finish every run")
        assert second.poll() is None, "the surviving cluster is still up"
        reader.stop()
        assert reader.errors == [] and reader.requests > 5, (reader.errors, reader.requests)
    finally:
        for cluster in (first, second):
            resume_cluster(cluster)
            stop_cluster(cluster)
    return left


# -- the test --------------------------------------------------------------------------------


def test_two_clusters_export_at_once_within_the_limit_and_survive_a_kill(
    scale_out_possible, quiet_workers, tmp_path
):
    """Several connections and organizations exported at once by two qcluster processes,
    one killed mid-run: the concurrency limit held on every connection, the killed run
    was resumed and finished with nothing written twice, and Autotask ends as it does
    after the same exports in one process."""
    import_small_world(tmp_path)
    with sandboxes(2 * len(EXPORTS)) as servers:
        references, targets = servers[: len(EXPORTS)], servers[len(EXPORTS) :]
        expected = [
            in_one_process(sandbox, f"Reference {n}", organization)
            for n, (sandbox, organization) in enumerate(zip(references, EXPORTS, strict=True))
        ]
        connections = [
            connect(sandbox, f"Scale-out {n}", concurrency_limit=LIMIT)
            for n, sandbox in enumerate(targets)
        ]
        runs = [
            create_run(connection, organization)
            for connection, organization in zip(connections, EXPORTS, strict=True)
        ]
        for sandbox in targets:
            sandbox.admin("POST", "/faults", json={"latency_ms": LATENCY_MS})

        killed = kill_mid_run_and_resume(runs)

        assert_resumed_once(runs, killed)
        assert_same_as_in_one_process(targets, connections, expected)
        assert_within_the_limit(targets)


def assert_resumed_once(runs, killed) -> None:
    """Every run succeeded; the killed cluster's half-written run (and any other it left
    running) on its second attempt, the others on their first."""
    assert runs[0] in killed
    for run in runs:
        run.refresh_from_db()
        assert run.status == "succeeded", (run.pk, run.message)
        assert run.attempts == (2 if run in killed else 1), run.pk
        assert not ExportOperation.objects.filter(item__run=run).exclude(state="done").exists()
    interrupted = AuditEntry.objects.filter(operation="Export Interrupted")
    assert sorted(entry.details["run"] for entry in interrupted) == [run.pk for run in killed]


def assert_same_as_in_one_process(targets, connections, expected) -> None:
    """Each sandbox was sent the writes of the export in one process, no more (nothing
    twice after the kill), and holds what that export left, Autotask's ids aside."""
    assert sum(expected[0]["writes"].values()) == FIRST_EXPORT_WRITES  # a whole report
    assert expected[0]["records"] == {
        "Contracts": 3, "ContractServices": 2, "ContractCharges": 1, "Services": 1,
        "Products": 1,
    }  # fmt: skip
    for sandbox, connection, reference in zip(targets, connections, expected, strict=True):
        assert writes_by_entity(sandbox) == reference["writes"], connection.name
        assert record_counts(sandbox) == reference["records"], connection.name
        assert normalized_state(sandbox) == reference["state"], connection.name
        ledger = ExportObject.objects.filter(connection=connection).count()
        assert ledger == reference["ledger"], connection.name


def assert_within_the_limit(targets) -> None:
    """No sandbox ever had more than the connection's limit in flight for one entity (its
    counters keep the most ever at once per integration code and entity), none was
    refused for Autotask's thread limit, and the limit was reached: the runs did go
    side by side."""
    highest = 0
    for sandbox in targets:
        seen = counters(sandbox)
        assert seen["rejected_thread_limit"] == 0, seen
        assert max(seen["max_concurrent"].values()) <= LIMIT, seen["max_concurrent"]
        highest = max(highest, *seen["max_concurrent"].values())
    assert highest == LIMIT


def test_runs_a_killed_cluster_had_fetched_but_not_started_are_not_lost(
    scale_out_possible, quiet_workers, tmp_path, monkeypatch
):
    """A cluster fetches tasks ahead of its workers, and Redis hands a task out once: a
    cluster killed with one run started and two more fetched takes all three tasks with
    it. The every-minute check hands the two runs still queued to a worker again (and the
    started one, interrupted, too); a new cluster carries all three out, each once."""
    monkeypatch.setenv("WORKERS", "1")
    import_small_world(tmp_path)
    with sandboxes(3) as servers:
        connections = [
            connect(sandbox, f"Fetched {n}", concurrency_limit=1)
            for n, sandbox in enumerate(servers)
        ]
        for sandbox in servers:
            sandbox.admin("POST", "/faults", json={"latency_ms": LATENCY_MS})
        runs = [create_run(connection, None) for connection in connections]
        broker = get_broker()
        broker.purge_queue()
        cluster = start_cluster()
        try:
            wait_for(lambda: cluster_ready(cluster), 60, "the cluster")
            for run in runs:
                export_run_queue(run)
            wait_for(lambda: any(half_written(run) for run in runs), 60, "a run mid-export")
            kill_cluster(cluster)
        finally:
            stop_cluster(cluster)
        assert sorted(status(run) for run in runs) == ["queued", "queued", "running"]
        assert broker.queue_size() == 0  # the queued runs' tasks died with the cluster
        time.sleep(STALE + 1)
        assert sorted(run.pk for run in export_run_interrupt_stale()) == [r.pk for r in runs]
        cluster = start_cluster()
        try:
            wait_for(lambda: all_finished(runs), 120, "a new cluster to carry out every run")
        finally:
            stop_cluster(cluster)
        for run, sandbox in zip(runs, servers, strict=True):
            run.refresh_from_db()
            assert run.status == "succeeded", (run.pk, run.message)
            assert sum(writes_by_entity(sandbox).values()) == FIRST_EXPORT_WRITES
