"""django-q2 tasks: thin, they load by id and call the service."""

from apps.audit.services import audit_context
from apps.autotask import connection_test, services


def connection_refresh(run_id: int) -> str:
    with audit_context(context="worker", actor_name="scheduler"):
        run = services.refresh_run_execute(run_id=run_id)
    return run.status


def connection_refresh_all() -> int:
    with audit_context(context="worker", actor_name="scheduler"):
        return len(services.connection_refresh_due())


def connection_test_execute(connection_id: int, token: str, user_id: int | None = None) -> str:
    with audit_context(context="worker", actor_name="scheduler"):
        state = connection_test.connection_test_execute(
            connection_id=connection_id, token=token, user_id=user_id
        )
    return state["status"] if state else "not run"
