"""Export runs: create, plan, apply, pause at the hourly limit, survive a dead worker.

A run follows `apps/core/runs.py`: saved first, claimed with a conditional UPDATE, a
heartbeat while it works, marked interrupted when its worker is gone. Its plan is stored
as operations before anything is written, so a run started again continues from them
(and from the ledger) instead of planning anew.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.autotask.errors import AutotaskError, AutotaskThrottled
from apps.autotask.models import Connection
from apps.autotask.services import connection_client, describe_failure
from apps.catalog.models import BillingReport, Organization, Subscription
from apps.core.crypto import SecretUnreadable
from apps.core.progress import progress_clear, progress_get
from apps.core.runs import heartbeat
from apps.exports.apply import Applier, HourlyLimitReached, RunCancelled, RunTakenOver
from apps.exports.choices import (
    ACTIVE_STATUSES,
    ExportItemStatusChoices,
    ExportRunStatusChoices,
    ExportScopeChoices,
    OperationStateChoices,
)
from apps.exports.models import ExportOperation, ExportRun
from apps.exports.planning import plan_for, store_plan
from apps.exports.presenting import counts_in_words

logger = logging.getLogger(__name__)
Status = ExportRunStatusChoices
WORKER_TASK = "apps.exports.tasks.export_run"
DUE_TASK = "apps.exports.tasks.export_due_reports"


class ExportRefused(Exception):
    """The run cannot be started (another one is active, the scope is wrong, ...)."""


class PlanChanged(Exception):
    """The plan made when a confirmed run started is not the preview a person confirmed."""


def scope_key(report: BillingReport, scope: str, organization=None, subscription=None) -> str:
    target = (organization or subscription).pk if (organization or subscription) else ""
    return f"{report.pk}:{scope}:{target}"


def _active(connection: Connection):
    return ExportRun.objects.filter(
        connection=connection, status__in=ACTIVE_STATUSES, dry_run=False
    )


def export_run_create(
    *,
    connection: Connection,
    report: BillingReport,
    organization: Organization | None = None,
    subscription: Subscription | None = None,
    trigger: str = "manual",
    dry_run: bool = False,
    user=None,
    requested_by_name: str = "",
    queue: bool = False,
    preview: ExportRun | None = None,
) -> ExportRun:
    """Save a run (queued). Refused while another run is active on the connection: the
    database holds one active (not dry) run per connection."""
    if organization is not None and subscription is not None:
        raise ExportRefused("Export one organization or one subscription, not both.")
    scope = (
        ExportScopeChoices.SUBSCRIPTION
        if subscription is not None
        else ExportScopeChoices.ORGANIZATION
        if organization is not None
        else ExportScopeChoices.REPORT
    )
    from apps.exports.recovery import export_run_interrupt_stale

    export_run_interrupt_stale(runs=ExportRun.objects.filter(connection=connection))
    try:
        with transaction.atomic():
            if not dry_run and _active(connection).exists():
                raise ExportRefused(active_run_refusal(connection))
            run = ExportRun.objects.create(
                connection=connection,
                report=report,
                scope=scope,
                organization=organization,
                subscription=subscription,
                scope_key=scope_key(report, scope, organization, subscription),
                trigger=trigger,
                dry_run=dry_run,
                preview=preview,
                requested_by=user if getattr(user, "is_authenticated", False) else None,
                requested_by_name=requested_by_name
                or (user.get_username() if getattr(user, "is_authenticated", False) else ""),
            )
            if queue:
                transaction.on_commit(lambda: export_run_queue(run))
    except IntegrityError:
        raise ExportRefused(active_run_refusal(connection)) from None
    return run


def active_run_refusal(connection: Connection) -> str:
    """Why a second export on ``connection`` is refused, naming the active one."""
    busy = _active(connection).select_related("report").first()
    if busy is None:
        return (
            f"Another export became active on {connection.name} at the same moment: one "
            "export at a time per connection."
        )
    return (
        f"Export #{busy.pk} ({busy.report}, {busy.get_scope_display().lower()}, "
        f"{busy.get_status_display().lower()}) is active on {connection.name}: one export "
        "at a time per connection. Wait for it to end, or continue it."
    )


def export_run_queue(run: ExportRun) -> None:
    """Hand the run to a worker (its next free one, on any host)."""
    ExportRun.objects.filter(pk=run.pk).update(queued_at=timezone.now())
    async_task(WORKER_TASK, run.pk, task_name=f"export #{run.pk}")


def export_run_requeue(run: ExportRun, *, statuses, message: str, **changes) -> bool:
    """Queue ``run`` again if it is still in one of ``statuses`` (one conditional UPDATE,
    with ``message`` and ``changes``), handing it to a worker once the transaction commits.
    False when it had moved on meanwhile."""
    queued = ExportRun.objects.filter(pk=run.pk, status__in=statuses).update(
        status=Status.QUEUED, message=message, **changes
    )
    if queued:
        transaction.on_commit(lambda: export_run_queue(run))
    return bool(queued)


def run_key(run_id: int, attempt: int) -> str:
    """The heartbeat key of one attempt: an attempt taken over, ending, clears its own
    beat, not the one of the attempt that took over."""
    return f"export-{run_id}-{attempt}"


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


def _cancel_key(run_id: int) -> str:
    return f"export-{run_id}-cancel"


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


def _settle(run: ExportRun) -> None:
    """The run's final status from its items."""
    # An item whose last operation was recorded just before its process died is done.
    unfinished = [OperationStateChoices.PENDING, OperationStateChoices.SENDING,
                  OperationStateChoices.FAILED, OperationStateChoices.NOT_TRIED]  # fmt: skip
    run.items.filter(status=ExportItemStatusChoices.PLANNED).exclude(
        operations__state__in=unfinished
    ).update(status=ExportItemStatusChoices.DONE)
    items = run.items.exclude(position=0)
    failed = items.filter(status=ExportItemStatusChoices.FAILED).count()
    shared_failed = run.items.filter(
        position=0, operations__state=OperationStateChoices.FAILED
    ).exists()
    worked = items.filter(
        status__in=[ExportItemStatusChoices.DONE, ExportItemStatusChoices.UNCHANGED]
    ).count()
    run.failed = failed
    if failed == 0 and not shared_failed:
        run.status = Status.SUCCEEDED
    elif worked:
        run.status = Status.PARTIAL
    else:
        run.status = Status.FAILED
    done = (
        ExportOperation.objects.filter(item__run=run, state=OperationStateChoices.DONE)
        .values("kind")
        .annotate(n=Count("id"))
    )
    run.done_counts = {row["kind"]: row["n"] for row in done}
    run.writes = sum(run.done_counts.values())
    if run.status != Status.SUCCEEDED:
        run.message = (
            f"{failed} subscription(s) failed; the others were exported. Export again to retry "
            "the failed ones."
            if failed
            else "Shared products or services could not be created."
        )


def _ending(run: ExportRun) -> None:
    """What an ended run's row gets with its final status (saved by the caller)."""
    run.finished_at = timezone.now()
    if not run.dry_run and run.status in (Status.PARTIAL, Status.FAILED):
        run.reviewed_at, run.reviewed_by_name = None, ""  # shown on the dashboard again


def _finish(run: ExportRun) -> None:
    """After the ended run is saved: a cancel asked too late is forgotten, the end is
    audited, and what is due on the connection goes next."""
    progress_clear(_cancel_key(run.pk))
    if run.dry_run:
        return
    if run.connection.export_on_schedule:
        # One export per connection at a time: what is due on it goes next (with lag 0,
        # a report imported while this one ran).
        transaction.on_commit(lambda: async_task(DUE_TASK, run.connection_id))
    audit_record(
        operation="Export Run Finished",
        obj=run,
        status=AuditEntryStatusChoices.SUCCEEDED
        if run.status in (Status.SUCCEEDED, Status.PARTIAL)
        else AuditEntryStatusChoices.FAILED,
        details={
            **_run_details(run),
            "status": run.status,
            "counts": run.counts,
            "done": run.done_counts,
            "skipped": run.skipped,
            "failed": run.failed,
            "requests": run.requests,
            "message": run.message,
        },
        connection_name=run.connection.name,
    )


def _run_details(run: ExportRun) -> dict:
    return {
        "run": run.pk,
        "report": str(run.report),
        "scope": run.scope,
        "organization": run.organization_id,
        "subscription": run.subscription_id,
        "dry_run": run.dry_run,
        "trigger": run.trigger,
    }


def _plan_summary(run: ExportRun) -> str:
    return f"Planned: {counts_in_words(run.counts) or 'nothing to write'}; {run.skipped} skipped."
