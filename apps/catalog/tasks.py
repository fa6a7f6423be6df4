"""django-q2 tasks of the catalog: thin, they load by id and call the service."""

from apps.audit.services import audit_context
from apps.catalog.importing import runs as import_runs


def import_run_execute(run_id: int) -> str:
    with audit_context(context="worker"):
        return import_runs.import_run_execute(run_id=run_id).status


def import_run_interrupt_stale() -> int:
    with audit_context(context="worker", actor_name="scheduler"):
        return len(import_runs.import_run_interrupt_stale())
