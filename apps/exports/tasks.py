"""django-q2 tasks of the exports app."""

from apps.audit.services import audit_context
from apps.exports import recovery, scheduling
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportRun


def export_run(run_id: int) -> str:
    """Carry out (or continue) one export run in a worker."""
    run = ExportRun.objects.filter(pk=run_id).first()
    if run is None:
        return f"export #{run_id}: no such run"
    with audit_context(context="worker", actor_name=run.requested_by_name or "scheduler"):
        run = export_run_execute(run_id=run_id)
    return f"export #{run.pk}: {run.status}"


def export_run_interrupt_stale() -> int:
    """Every minute: runs whose worker died are marked interrupted, and worker runs are
    handed to a worker again while they have automatic attempts left."""
    with audit_context(context="worker", actor_name="scheduler"):
        return len(recovery.export_run_interrupt_stale())


def export_due_reports(connection_id: int | None = None) -> str:
    """Daily, after an import (lag 0) and when an export of a connection on schedule
    ends: queue the next due export of each connection on schedule (or of one)."""
    with audit_context(context="worker", actor_name="scheduler"):
        runs = scheduling.export_due_reports(connection_id=connection_id)
    return f"{len(runs)} export(s) queued" + (
        f": {', '.join(f'#{run.pk}' for run in runs)}" if runs else ""
    )
