"""Runs handed to a worker: a heartbeat while one works, and how a dead worker is noticed.

Every kind of run (import, refresh, and later export and fetch) follows one pattern:

- the row is saved first and queued on commit; a worker claims it with a conditional
  UPDATE (``queued → running``), so a task delivered twice runs once;
- while it works, ``heartbeat(key)`` beats every ``RUN_HEARTBEAT_SECONDS`` from a thread,
  through the progress store (not the database: an import holds its transaction, and on
  SQLite the write lock, until it ends);
- a run still "running" whose last beat is older than ``RUN_STALE_SECONDS`` has lost its
  worker (killed, out of memory, the host gone): ``has_lost_its_worker()`` says so, the
  run's service marks it interrupted and queues it again (by itself up to
  ``RUN_AUTO_RETRIES`` times, then with a person's click). Whatever the dead worker had
  written was in a transaction that never committed, or is in the run's ledger;
- a run still "queued" ``RUN_STALE_SECONDS`` after it was handed to the task queue
  (``queued_at``) may have lost its task with a worker cluster that had fetched it:
  ``hand_lost_tasks_again()`` hands it to the queue again (the claim makes a second
  delivery of a task that was not lost do nothing).
"""

import datetime as dt
import logging
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from apps.core.progress import progress_clear, progress_get, progress_set

logger = logging.getLogger(__name__)


def _beat_key(key: str) -> str:
    return f"{key}-beat"


def beat(key: str) -> None:
    """Say that the run behind ``key`` is alive now."""
    progress_set(_beat_key(key), {"at": time.time()})


def last_beat(key: str) -> float | None:
    """When the run behind ``key`` last said it was alive (a UNIX time), or None."""
    value = progress_get(_beat_key(key))
    return value.get("at") if value else None


@contextmanager
def heartbeat(key: str):
    """Beat for ``key`` from a background thread while the block runs."""
    every = settings.RUN_HEARTBEAT_SECONDS
    stop = threading.Event()
    beat(key)

    def keep_beating() -> None:
        while not stop.wait(every):
            try:
                beat(key)
            except Exception:  # a missed beat is retried; it must not end the run
                logger.warning("Heartbeat of %s failed", key, exc_info=True)

    thread = threading.Thread(target=keep_beating, name=f"heartbeat {key}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        progress_clear(_beat_key(key))


def has_lost_its_worker(key: str, started_at) -> bool:
    """True when a run marked running since ``started_at`` has shown no sign of life for
    too long. Its start counts as one: a beat left by an earlier, dead attempt must not
    condemn the worker that has just claimed the run again."""
    signs = [value for value in (last_beat(key), started_at and started_at.timestamp()) if value]
    return bool(signs) and time.time() - max(signs) > settings.RUN_STALE_SECONDS


def stale_message() -> str:
    return (
        f"The worker stopped during this run (no sign of life for more than "
        f"{settings.RUN_STALE_SECONDS} seconds: it was stopped, ran out of memory or its "
        "host went away)."
    )


def interrupt_if_worker_lost(
    run, *, key: str, statuses, note: str, message_field: str = "error"
) -> bool:
    """Mark ``run`` interrupted when it is running and its worker is gone. ``statuses`` is
    the run model's status choices (with RUNNING and INTERRUPTED); the reason goes to
    ``message_field``. A conditional UPDATE on
    the same start: of two processes noticing at once, one marks it; a run started again
    meanwhile is left alone."""
    if run.status != statuses.RUNNING or not has_lost_its_worker(key, run.started_at):
        return False
    marked = (
        type(run)
        .objects.filter(pk=run.pk, status=statuses.RUNNING, started_at=run.started_at)
        .update(
            status=statuses.INTERRUPTED,
            **{message_field: f"{stale_message()} {note}"},
            finished_at=timezone.now(),
        )
    )
    return bool(marked)


def hand_to_worker(run, func: str, *, task_name: str) -> None:
    """Hand ``run`` to the task queue (``func`` takes its id), noting when in ``queued_at``
    for ``hand_lost_tasks_again``."""
    type(run).objects.filter(pk=run.pk).update(queued_at=timezone.now())
    async_task(func, run.pk, task_name=task_name)


def hand_lost_tasks_again(runs, *, status, queue) -> list:
    """Hand each of ``runs`` still in ``status`` (queued) longer than ``RUN_STALE_SECONDS``
    after it was handed to the task queue to ``queue`` again. A worker cluster fetches
    tasks ahead of its workers, and one killed takes those with it (Redis hands a task
    out once). ``queued_at`` moves on in a conditional UPDATE, so of two processes noticing
    at once one hands it on, once the caller's transaction commits."""
    stale = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS)
    found = []
    for run in runs.filter(status=status, queued_at__lt=stale):
        moved = (
            type(run)
            .objects.filter(pk=run.pk, status=status, queued_at=run.queued_at)
            .update(queued_at=timezone.now())
        )
        if moved:
            logger.info(
                "%s #%s still queued since %s: handed to a worker again",
                type(run).__name__, run.pk, run.queued_at,
            )  # fmt: skip
            transaction.on_commit(lambda run=run: queue(run))
            found.append(run)
    return found
