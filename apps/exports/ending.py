"""How an export run ends: its final status and counts from its items, what its row
gets with them, and, once it is saved, the audit entry and the next export due on the
connection."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_q.tasks import async_task

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.core.progress import progress_clear
from apps.exports.choices import (
    ExportItemStatusChoices,
    ExportRunStatusChoices,
    OperationStateChoices,
)
from apps.exports.models import ExportOperation, ExportRun
from apps.exports.queueing import DUE_TASK, _cancel_key, _run_details

Status = ExportRunStatusChoices


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
