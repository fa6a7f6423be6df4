"""Export runs saved and handed to workers: create one (refused while another is active
on the connection), queue it, queue it again; and the keys and audit details that name a
run. Carrying a run out is `apps.exports.execution`, how it ends `apps.exports.ending`,
a dead worker's run `apps.exports.recovery`.

A run follows `apps/core/runs.py`: saved first, claimed with a conditional UPDATE, a
heartbeat while it works, marked interrupted when its worker is gone. Its plan is stored
as operations before anything is written, so a run started again continues from them
(and from the ledger) instead of planning anew.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.autotask.models import Connection
from apps.catalog.models import BillingReport, Organization, Subscription
from apps.core.runs import hand_to_worker
from apps.exports.choices import ACTIVE_STATUSES, ExportRunStatusChoices, ExportScopeChoices
from apps.exports.models import ExportRun

Status = ExportRunStatusChoices
WORKER_TASK = "apps.exports.tasks.export_run"
DUE_TASK = "apps.exports.tasks.export_due_reports"


class ExportRefused(Exception):
    """The run cannot be started (another one is active, the scope is wrong, ...)."""


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
                # Handed to a worker on commit; in the command's own process, never.
                queued_at=timezone.now() if queue else None,
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
    hand_to_worker(run, WORKER_TASK, task_name=f"export #{run.pk}")


def export_run_requeue(run: ExportRun, *, statuses, message: str, **changes) -> bool:
    """Queue ``run`` again if it is still in one of ``statuses`` (one conditional UPDATE,
    with ``message`` and ``changes``), handing it to a worker once the transaction commits.
    False when it had moved on meanwhile."""
    queued = ExportRun.objects.filter(pk=run.pk, status__in=statuses).update(
        status=Status.QUEUED, message=message, queued_at=timezone.now(), **changes
    )
    if queued:
        transaction.on_commit(lambda: export_run_queue(run))
    return bool(queued)


def run_key(run_id: int, attempt: int) -> str:
    """The heartbeat key of one attempt: an attempt taken over, ending, clears its own
    beat, not the one of the attempt that took over."""
    return f"export-{run_id}-{attempt}"


def _cancel_key(run_id: int) -> str:
    return f"export-{run_id}-cancel"


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
