"""Runs whose worker is gone: noticed by their missing heartbeat (`apps/core/runs.py`)
and marked interrupted, queued again while they have automatic attempts left; waits
whose schedule was lost; and queued runs whose task died with a cluster that had
fetched it. Called every minute by the schedule "exports: notice exports whose worker
died", and by pages and commands before they show or start a run."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.core.runs import (
    hand_lost_tasks_again,
    has_lost_its_worker,
    interrupt_if_worker_lost,
    stale_message,
)
from apps.exports.choices import ExportRunStatusChoices
from apps.exports.models import ExportRun
from apps.exports.queueing import _run_details, export_run_queue, export_run_requeue, run_key

Status = ExportRunStatusChoices


def export_run_interrupt_stale(*, runs=None) -> list[ExportRun]:
    """Runs whose worker died (no heartbeat) are marked interrupted, with an audit entry;
    started again they continue from their operations. A run a worker carried out is
    queued again by itself while it has automatic attempts left (`RUN_AUTO_RETRIES`); one
    the command carried out itself (`in_process`) waits for the command to be run again."""
    if runs is None:
        runs = ExportRun.objects.all()
    # Queued long after they were handed on: their task may have died with a cluster.
    lost = hand_lost_tasks_again(runs, status=Status.QUEUED, queue=export_run_queue)
    found = []
    for run in runs.filter(status=Status.RUNNING):
        if not interrupt_if_worker_lost(
            run,
            key=run_key(run.pk, run.attempts),
            statuses=Status,
            note="Start it again to continue: what was written is in the ledger.",
            message_field="message",
        ):
            continue
        ExportRun.objects.filter(pk=run.pk).update(reviewed_at=None, reviewed_by_name="")
        run.refresh_from_db()
        audit_record(
            operation="Export Interrupted",
            obj=run,
            status=AuditEntryStatusChoices.FAILED,
            details={**_run_details(run), "attempts": run.attempts},
            connection_name=run.connection.name,
        )
        if not run.in_process and run.attempts <= settings.RUN_AUTO_RETRIES:
            export_run_requeue(
                run,
                statuses=[Status.INTERRUPTED],
                message=f"{run.message} (started again by itself)",
            )
            run.refresh_from_db()
        found.append(run)
    return lost + found + _continue_overdue_waits(runs)


def _continue_overdue_waits(runs) -> list[ExportRun]:
    """Runs "waiting" long after their time with nobody beating for them: a worker run
    whose continuing schedule was lost is queued again; a command-line run whose process
    died while it waited is marked interrupted."""
    overdue = timezone.now() - dt.timedelta(seconds=settings.RUN_STALE_SECONDS)
    found = []
    for run in runs.filter(status=Status.WAITING, resume_at__lt=overdue):
        if not has_lost_its_worker(run_key(run.pk, run.attempts), run.resume_at):
            continue  # the command line waits in its process, beating
        if run.in_process:
            moved = ExportRun.objects.filter(pk=run.pk, status=Status.WAITING).update(
                status=Status.INTERRUPTED,
                message=f"{stale_message()} Run the same command again to continue.",
            )
        else:
            moved = export_run_requeue(
                run, statuses=[Status.WAITING], message="Queued again after its wait."
            )
        if moved:
            run.refresh_from_db()
            found.append(run)
    return found
