"""The daily export: every imported report at least a connection's lag days old and not
exported to it yet is exported, one report per connection at a time (oldest month first;
the next starts when the last ends). Runs whose worker died are continued.

A report is done for a connection once a whole-report run of it there, since the
report's last import, succeeded, ended partial (a person looks at it: the dashboard
shows it) or was cancelled (a person decided). A failed one is tried again the next day,
not before, and the reports after it go on meanwhile. The age of a report is counted
from the day Microsoft generated it, or from its import when the files do not say.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.autotask.models import Connection
from apps.catalog.models import BillingReport
from apps.exports.choices import ExportRunStatusChoices, ExportScopeChoices, ExportTriggerChoices
from apps.exports.models import ExportRun
from apps.exports.queueing import (
    ExportRefused,
    _active,
    export_run_create,
    export_run_requeue,
)
from apps.exports.recovery import export_run_interrupt_stale

logger = logging.getLogger(__name__)
Status = ExportRunStatusChoices
DONE_WITH = (Status.SUCCEEDED, Status.PARTIAL, Status.CANCELLED)


def report_age_days(report: BillingReport, today: dt.date) -> int:
    generated = report.generated_on or timezone.localdate(report.imported_at)
    return (today - generated).days


def due_reports(connection: Connection, today: dt.date) -> list[BillingReport]:
    """The reports the schedule would export to ``connection`` today, oldest month first."""
    since_import = ExportRun.objects.filter(
        connection=connection,
        report=OuterRef("pk"),
        scope=ExportScopeChoices.REPORT,
        dry_run=False,
        created_at__gte=OuterRef("imported_at"),
    )
    start_of_today = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    failed_today = since_import.filter(
        status=Status.FAILED, trigger=ExportTriggerChoices.SCHEDULE, created_at__gte=start_of_today
    )
    reports = (
        BillingReport.objects.annotate(
            done=Exists(since_import.filter(status__in=DONE_WITH)),
            failed_today=Exists(failed_today),
        )
        .filter(done=False, failed_today=False)
        .order_by("month", "currency")
    )
    return [r for r in reports if report_age_days(r, today) >= connection.export_lag_days]


def export_due_reports(*, connection_id: int | None = None, today: dt.date | None = None) -> list:
    """Queue the next due export of each connection on schedule (or of one), and continue
    its interrupted runs. Returns the runs queued."""
    today = today or timezone.localdate()
    connections = Connection.objects.filter(export_on_schedule=True)
    if connection_id is not None:
        connections = connections.filter(pk=connection_id)
    export_run_interrupt_stale(runs=ExportRun.objects.filter(connection__in=connections))
    queued = []
    for connection in connections:
        active = _active(connection).first()  # at most one
        if active is not None:
            # An interrupted worker run is continued; one the command carried out itself
            # (stopped with Ctrl-C, or its process died) is the command's to continue;
            # any other goes on, and the schedule after it when it ends.
            if active.status == Status.INTERRUPTED and not active.in_process:
                message = f"{active.message} Continued by the schedule."
                if export_run_requeue(active, statuses=[Status.INTERRUPTED], message=message):
                    queued.append(active)
            continue
        for report in due_reports(connection, today)[:1]:
            try:
                run = export_run_create(
                    connection=connection,
                    report=report,
                    trigger=ExportTriggerChoices.SCHEDULE,
                    requested_by_name="scheduler",
                    queue=True,
                )
            except ExportRefused as refused:  # someone started one a moment ago
                logger.info("Scheduled export of %s to %s: %s", report, connection, refused)
                continue
            queued.append(run)
    return queued


def connections_exporting_on_import() -> bool:
    """Whether an import should be followed by a look at what is due (lag 0)."""
    return Connection.objects.filter(export_on_schedule=True, export_lag_days=0).exists()
