"""What the exports app does when an earlier app says something happened (connected in
``apps.ExportsConfig.ready()``)."""

from django_q.tasks import async_task

from apps.exports.queueing import DUE_TASK
from apps.exports.scheduling import connections_exporting_on_import


def billing_imported_received(sender, **kwargs) -> None:
    """A connection exporting with lag 0 exports a report right after its import."""
    if connections_exporting_on_import():
        async_task(DUE_TASK, task_name="exports due after import")
