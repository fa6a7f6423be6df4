"""django-q2 tasks of the catalog: thin, they load by id and call the service."""

from apps.audit.services import audit_context
from apps.catalog.import_runs import import_run_execute as execute


def import_run_execute(run_id: int) -> str:
    with audit_context(context="worker"):
        return execute(run_id=run_id).status
