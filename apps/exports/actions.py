"""What MSP staff do with exports in the browser: preview, confirm, retry what failed,
continue an interrupted run, cancel one, and say they have looked at a run that needs it.

Every way of writing to Autotask from the browser goes through a preview (a dry run: the
plan, stored, nothing written) that a person reads and confirms. The confirmed run plans
again when it starts and writes only if the plan is still the one confirmed
(`execution._check_against_preview`). Retrying failed items and continuing an interrupted
run carry on a plan that was confirmed before.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.models import Schedule

from apps.audit.services import audit_record
from apps.autotask.models import Connection
from apps.catalog.models import BillingReport, Organization, Subscription
from apps.core.progress import progress_clear, progress_set
from apps.exports.choices import (
    NEEDS_A_LOOK,
    ExportItemStatusChoices,
    ExportRunStatusChoices,
    ExportTriggerChoices,
    OperationStateChoices,
)
from apps.exports.models import ExportItem, ExportOperation, ExportRun
from apps.exports.queueing import (
    ExportRefused,
    _cancel_key,
    active_run_refusal,
    export_run_create,
    export_run_requeue,
)

Status = ExportRunStatusChoices


def export_preview_create(
    *,
    connection: Connection,
    report: BillingReport,
    organization: Organization | None = None,
    subscription: Subscription | None = None,
    user=None,
) -> ExportRun:
    """A dry run handed to a worker: it reads Autotask and stores the plan, writing nothing."""
    return export_run_create(
        connection=connection,
        report=report,
        organization=organization,
        subscription=subscription,
        trigger=ExportTriggerChoices.MANUAL,
        dry_run=True,
        user=user,
        queue=True,
    )


def confirmed_as(preview: ExportRun) -> ExportRun | None:
    """The export a preview was confirmed as, if any."""
    return preview.confirmed_runs.order_by("pk").first() if preview.dry_run else None


def confirm_refusal(preview: ExportRun, confirmed: ExportRun | None) -> str:
    """Why ``preview`` cannot be confirmed (``confirmed``: `confirmed_as(preview)`), or ""."""
    if not preview.dry_run:
        return f"Export #{preview.pk} is not a preview."
    if preview.status != Status.SUCCEEDED or preview.planned_at is None:
        return (
            f"Preview #{preview.pk} is {preview.get_status_display().lower()}: there is no "
            "plan to confirm yet."
        )
    if confirmed is not None:
        return (
            f"Preview #{preview.pk} was confirmed already: export #{confirmed.pk}. Preview "
            "again to export once more."
        )
    if not sum(preview.counts.values()):
        return f"Preview #{preview.pk} has nothing to write: Autotask already holds this plan."
    return ""


def export_confirm(*, preview: ExportRun, user=None) -> ExportRun:
    """The export a person confirmed after reading ``preview``'s plan, queued."""
    refusal = confirm_refusal(preview, confirmed_as(preview))
    if refusal:
        raise ExportRefused(refusal)
    return export_run_create(
        connection=preview.connection,
        report=preview.report,
        organization=preview.organization,
        subscription=preview.subscription,
        trigger=ExportTriggerChoices.MANUAL,
        user=user,
        queue=True,
        preview=preview,
    )


def retryable_operations(run: ExportRun):
    """The operations "Retry failed items" would send again: the failed ones and those
    not tried after them."""
    return ExportOperation.objects.filter(
        item__run=run,
        state__in=[OperationStateChoices.FAILED, OperationStateChoices.NOT_TRIED],
    )


def retry_refusal(run: ExportRun) -> str:
    """Why the run's failed items cannot be retried, or "" when they can."""
    if run.dry_run or run.status not in (Status.PARTIAL, Status.FAILED):
        return f"Export #{run.pk} is {run.get_status_display().lower()}: nothing to retry."
    if not retryable_operations(run).exists():
        return f"Export #{run.pk} has no failed operations to retry."
    later = (
        ExportRun.objects.filter(connection=run.connection_id, dry_run=False, pk__gt=run.pk)
        .exclude(status=Status.CANCELLED, writes=0)
        .order_by("pk")
        .first()
    )
    if later is not None:
        return (
            f"Export #{later.pk} ran on {run.connection} after this one, so these operations "
            "may be out of date. Re-export instead: the new plan starts from what Autotask "
            "holds now."
        )
    return ""


def export_retry_failed(*, run: ExportRun, user=None) -> ExportRun:
    """Send the failed operations (and those not tried after them) again, in the same
    run. A failed write is looked up before it is sent again, as after a lost answer."""
    refusal = retry_refusal(run)
    if refusal:
        raise ExportRefused(refusal)
    count = retryable_operations(run).count()
    try:
        with transaction.atomic():
            reopened = export_run_requeue(
                run,
                statuses=[run.status],
                message=f"Retrying {count} operation(s) that failed or were not tried.",
                failed=0,
                finished_at=None,
            )
            if not reopened:
                raise ExportRefused(f"Export #{run.pk} changed meanwhile: reload the page.")
            operations = ExportOperation.objects.filter(item__run=run)
            operations.filter(state=OperationStateChoices.FAILED).update(
                state=OperationStateChoices.SENDING, error=""
            )
            operations.filter(state=OperationStateChoices.NOT_TRIED).update(
                state=OperationStateChoices.PENDING, note=""
            )
            ExportItem.objects.filter(run=run, status=ExportItemStatusChoices.FAILED).update(
                status=ExportItemStatusChoices.PLANNED, error=""
            )
            _reviewed(run, user)
            audit_record(
                operation="Retry Failed Export Items",
                obj=run,
                user=user,
                details={"run": run.pk, "operations": count},
                connection_name=run.connection.name,
            )
    except IntegrityError:
        raise ExportRefused(active_run_refusal(run.connection)) from None
    run.refresh_from_db()
    return run


def export_continue(*, run: ExportRun, user=None) -> ExportRun:
    """Hand an interrupted run to a worker again: it continues from its operations."""
    try:
        with transaction.atomic():
            queued = export_run_requeue(
                run, statuses=[Status.INTERRUPTED], message=f"{run.message} Continued by a person."
            )
            if not queued:
                raise ExportRefused(
                    f"Export #{run.pk} is {run.get_status_display().lower()}: only an "
                    "interrupted export can be continued."
                )
            _reviewed(run, user)
            audit_record(
                operation="Continue Export",
                obj=run,
                user=user,
                details={"run": run.pk},
                connection_name=run.connection.name,
            )
    except IntegrityError:
        raise ExportRefused(active_run_refusal(run.connection)) from None
    run.refresh_from_db()
    return run


def needs_a_look(run: ExportRun) -> bool:
    return not run.dry_run and run.status in NEEDS_A_LOOK and run.reviewed_at is None


def export_run_looked_at(*, run: ExportRun, user) -> None:
    """Someone opened a run that needed a look: it leaves the dashboard."""
    if needs_a_look(run):
        _reviewed(run, user)
        run.refresh_from_db(fields=["reviewed_at", "reviewed_by_name"])


def _reviewed(run: ExportRun, user) -> None:
    name = user.get_username() if getattr(user, "is_authenticated", False) else ""
    ExportRun.objects.filter(pk=run.pk, reviewed_at__isnull=True).update(
        reviewed_at=timezone.now(), reviewed_by_name=name
    )


def export_run_cancel(*, run: ExportRun, user=None) -> ExportRun:
    """Cancel a run: one not carrying on now (queued, waiting, interrupted) at once; a
    running one starts no new request, and ends cancelled once those in flight are
    recorded. What was written stays written."""
    who = user.get_username() if getattr(user, "is_authenticated", False) else ""
    run.refresh_from_db()  # a worker may have taken it a moment ago
    if run.dry_run and run.status == Status.RUNNING:
        raise ExportRefused(
            f"Preview #{run.pk} is reading Autotask: it writes nothing and ends in a moment."
        )

    def audit() -> None:
        audit_record(
            operation="Cancel Export", obj=run, user=user, connection_name=run.connection.name
        )

    if run.status == Status.RUNNING:
        progress_set(_cancel_key(run.pk), {"by": who or "the command line"})
        run.refresh_from_db()
        if run.status == Status.RUNNING:
            audit()
            return run
        progress_clear(_cancel_key(run.pk))  # it ended (or stopped) a moment ago
    cancelled = ExportRun.objects.filter(
        pk=run.pk, status__in=[Status.QUEUED, Status.WAITING, Status.INTERRUPTED]
    ).update(
        status=Status.CANCELLED,
        message=f"Cancelled by {who or 'the command line'} before it went on.",
        resume_at=None,
        finished_at=timezone.now(),
    )
    if not cancelled:
        raise ExportRefused(
            f"Export #{run.pk} is {run.get_status_display().lower()}: nothing to cancel."
        )
    Schedule.objects.filter(name=f"exports: continue export #{run.pk}").delete()
    run.refresh_from_db()
    audit()
    return run
