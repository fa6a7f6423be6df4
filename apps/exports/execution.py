"""Carrying an export run out: claim it, plan it (once), check the plan against the
preview a person confirmed, apply what is still to do, and at Autotask's hourly limit
wait (the command line) or leave the run waiting for a schedule to continue (a worker).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule

from apps.audit.services import audit_record
from apps.autotask.errors import AutotaskError, AutotaskThrottled
from apps.autotask.models import Connection
from apps.autotask.services import connection_client, describe_failure
from apps.core.crypto import SecretUnreadable
from apps.core.progress import progress_clear, progress_get
from apps.core.runs import heartbeat
from apps.exports.apply import Applier, HourlyLimitReached, RunCancelled, RunTakenOver
from apps.exports.choices import ExportRunStatusChoices
from apps.exports.ending import _ending, _finish, _settle
from apps.exports.models import ExportRun
from apps.exports.planning import plan_for, store_plan
from apps.exports.presenting import counts_in_words
from apps.exports.queueing import WORKER_TASK, _cancel_key, _run_details, run_key

logger = logging.getLogger(__name__)
Status = ExportRunStatusChoices


class PlanChanged(Exception):
    """The plan made when a confirmed run started is not the preview a person confirmed."""


def _claim(run: ExportRun, *, foreground: bool) -> bool:
    """Take the run (a conditional UPDATE: of two workers, one gets it). Starting it, or
    again after its worker died, counts as an attempt; going on after a wait does not.

    A worker takes a queued run, or a waiting one once its time has come: every way of
    handing a run to a worker queues it first, so a late or second delivery of a task
    neither starts an interrupted run nobody asked for again nor ends a wait early. The
    command line (``foreground``) continues its scope's interrupted or waiting run."""
    now = timezone.now()
    runs = ExportRun.objects.filter(pk=run.pk)
    restartable = [Status.QUEUED, Status.INTERRUPTED] if foreground else [Status.QUEUED]
    waited = runs.filter(status=Status.WAITING)
    if not foreground:  # the schedule's delivery may come from a host whose clock is behind
        slack = dt.timedelta(seconds=settings.RUN_STALE_SECONDS)
        waited = waited.filter(resume_at__lte=now + slack)
    claimed = runs.filter(status__in=restartable).update(
        status=Status.RUNNING, started_at=now, resume_at=None, attempts=F("attempts") + 1,
        in_process=foreground,
    ) or waited.update(status=Status.RUNNING, started_at=now, resume_at=None,
                       in_process=foreground)  # fmt: skip
    if claimed:
        run.refresh_from_db()
    return bool(claimed)


# -- carrying a run out ----------------------------------------------------------------------


ENTITIES_AT_ONCE = 3  # contracts, their adjustments and their charges are written together


def _clients(run: ExportRun, main):
    """One client per request in flight (the limit per entity, for a few entities at
    once), sharing the main client's zone."""
    clients = []
    for _ in range(max(1, run.connection.concurrency_limit) * ENTITIES_AT_ONCE):
        client = connection_client(run.connection)
        client.limiter = None  # the applier takes the shared slots itself
        # ... and reads the hourly budget for all of them (through the main client).
        client.config = replace(main.config, pace_check_every=0)
        clients.append(client)
    return clients


def export_run_execute(
    *,
    run_id: int,
    foreground: bool = False,
    on_progress: Callable[[str], None] | None = None,
    after_send=None,
) -> ExportRun:
    """Carry out a run: plan it (once), then apply what is still to do. ``foreground``
    (the command line): at Autotask's hourly limit wait here and go on; in a worker the
    run waits and a schedule continues it. A run delivered twice is carried out once."""
    run = ExportRun.objects.select_related("connection", "report").get(pk=run_id)
    if not _claim(run, foreground=foreground):
        return run
    attempts = run.attempts
    say = on_progress or (lambda text: None)
    connection = run.connection
    main = workers = None
    taken_over = False
    try:
        main = connection_client(connection)
        workers = _clients(run, main)
        with heartbeat(run_key(run.pk, attempts)):
            _work(run, main, workers, foreground, say, after_send)
    except HourlyLimitReached as pause:
        taken_over = not _wait_in_worker(run, pause)
    except RunTakenOver:
        taken_over = True
        logger.warning("Export #%s was taken over by another attempt: this one stops", run.pk)
    except PlanChanged as changed:
        run.status = Status.FAILED
        run.message = str(changed)
    except RunCancelled:
        _settle(run)
        run.status = Status.CANCELLED
        who = (progress_get(_cancel_key(run.pk)) or {}).get("by") or "someone"
        run.message = (
            f"Cancelled by {who}: {run.writes} write(s) made before are kept (and in the "
            "ledger); exporting again finishes the rest."
        )
        progress_clear(_cancel_key(run.pk))
    except (AutotaskError, SecretUnreadable) as problem:
        run.status = Status.FAILED
        run.message = describe_failure(problem, connection)
    except Exception:
        logger.exception("Export #%s failed", run.pk)
        run.status = Status.FAILED
        run.message = (
            "An unexpected error stopped the export; the details are in the worker's log. "
            "What was written is in the ledger: export again to finish."
        )
    finally:
        spent = sum(client.requests_made for client in [main, *(workers or [])] if client)
        run.requests += spent
        if spent:
            Connection.objects.filter(pk=connection.pk).update(
                requests_total=F("requests_total") + spent
            )
        for client in [main, *(workers or [])]:
            if client is not None:
                client.close()
        ended = run.status not in (Status.RUNNING, Status.WAITING)
        if ended:
            _ending(run)
        if taken_over or not _save_if_mine(run):
            run.refresh_from_db()
        elif ended:
            _finish(run)
    return run


def _mine(run: ExportRun):
    """The run's row while it is this attempt's: running (or waiting, saved so by this
    attempt) with the attempt number and start this attempt claimed it with."""
    return ExportRun.objects.filter(
        pk=run.pk,
        status__in=[Status.RUNNING, Status.WAITING],
        attempts=run.attempts,
        started_at=run.started_at,
    )


def _save_if_mine(run: ExportRun, fields: list[str] | None = None) -> bool:
    """Save the run (or ``fields``) unless another attempt took it over, or someone
    cancelled or continued it, meanwhile (False then)."""
    names = fields or [
        field.attname for field in ExportRun._meta.concrete_fields if not field.primary_key
    ]
    return bool(_mine(run).update(**{name: getattr(run, name) for name in names}))


def _work(run, main, workers, foreground, say, after_send) -> None:
    """Plan (once) and apply; at Autotask's hourly limit wait here (``foreground``) and
    go on, or raise `HourlyLimitReached` for the worker to reschedule."""
    while True:
        try:
            if run.planned_at is None:
                if run.attempts == 1 and not run.dry_run:
                    audit_record(
                        operation="Export Run Started",
                        obj=run,
                        details=_run_details(run),
                        connection_name=run.connection.name,
                    )
                say("Reading what Autotask holds ...")
                store_plan(run, plan_for(run, main))
                say(_plan_summary(run))
            # Every attempt: one that died between planning and this check must not
            # write an unconfirmed plan when started again.
            _check_against_preview(run)
            if run.dry_run:
                run.status = Status.SUCCEEDED
                run.message = "Dry run: the plan is stored, nothing was written."
                return
            Applier(
                run,
                clients=workers,
                limiter=main.limiter,
                on_progress=_progress_reporter(run, [main, *workers], say),
                after_send=after_send,
                budget=lambda: _check_budget(main, workers),
                cancelled=lambda: bool(progress_get(_cancel_key(run.pk))),
            ).apply()
            _settle(run)
            return
        except AutotaskThrottled as problem:
            if problem.scope != "hourly":
                raise
            pause = HourlyLimitReached(problem)
        except HourlyLimitReached as reached:
            pause = reached
        if not foreground:
            raise pause
        seconds = _mark_waiting(run, pause)
        if seconds is None:
            raise RunTakenOver
        say(run.message)
        time.sleep(seconds)
        # Going on, unless someone cancelled the run while it waited.
        run.status, run.resume_at, run.message = Status.RUNNING, None, ""
        if not _save_if_mine(run, ["status", "resume_at", "message"]):
            raise RunTakenOver


def _check_against_preview(run: ExportRun) -> None:
    """A run a person confirmed from a preview writes that plan or nothing: planned again
    when it starts (Autotask or the mappings may have changed since), it stops before any
    write when the new plan differs."""
    preview = run.preview
    if preview is None or preview.plan_digest == run.plan_digest:
        return
    raise PlanChanged(
        f"Nothing was written: the plan changed since preview #{preview.pk} was confirmed "
        f"({_count_text(preview.counts)} then, {_count_text(run.counts)} now). Autotask, "
        "the mappings or the report changed meanwhile. Preview again and confirm the new plan."
    )


def _count_text(counts: dict) -> str:
    total = sum(counts.values())
    return f"{total} operation{'s' if total != 1 else ''}"


def _check_budget(main, workers) -> None:
    """One look at the hourly budget for every client of the run: past half of it they
    all slow down (Autotask's own usage-based latency starts there)."""
    main.check_budget()
    for client in workers:
        client.slowed = main.slowed


def _mark_waiting(run: ExportRun, pause: HourlyLimitReached) -> float | None:
    """Save the run "waiting" until Autotask's budget allows again; the seconds to wait
    (None: the run is no longer this attempt's, nothing was saved)."""
    seconds = min(pause.retry_after, settings.EXPORT_HOURLY_WAIT_SECONDS)
    run.status = Status.WAITING
    run.resume_at = timezone.now() + dt.timedelta(seconds=seconds)
    run.message = _pause_message(run)
    if not _save_if_mine(run, ["status", "resume_at", "message"]):
        return None
    return seconds


def _pause_message(run: ExportRun) -> str:
    at = timezone.localtime(run.resume_at)
    return (
        f"Autotask's hourly API limit is reached: the export waits and continues by itself "
        f"at {at:%H:%M:%S}."
    )


def _wait_in_worker(run: ExportRun, pause: HourlyLimitReached) -> bool:
    """Waiting, saved before the schedule that continues it exists (so the schedule never
    finds it still running). Should the schedule be lost, the every-minute check queues
    a run whose wait is long over (`export_run_interrupt_stale`). False when the run was
    no longer this attempt's."""
    if _mark_waiting(run, pause) is None:
        return False
    Schedule.objects.update_or_create(
        name=f"exports: continue export #{run.pk}",
        defaults={
            "func": WORKER_TASK,
            "args": repr((run.pk,)),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": run.resume_at,
        },
    )
    return True


def _progress_reporter(run: ExportRun, clients, say):
    """Every 2 seconds (and at the end): the progress printed, and the requests spent so
    far saved on the run, so its page shows them while it works."""
    last = {"at": 0.0}
    before = run.requests

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last["at"] >= 2:
            last["at"] = now
            say(f"{done} of {total} operations done")
            spent = sum(client.requests_made for client in clients)
            ExportRun.objects.filter(pk=run.pk).update(requests=before + spent)

    return progress


def _plan_summary(run: ExportRun) -> str:
    return f"Planned: {counts_in_words(run.counts) or 'nothing to write'}; {run.skipped} skipped."
