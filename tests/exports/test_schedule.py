"""The daily export (issue 12, "Schedule"): lag 0 exports right after an import, with a
real worker and nobody asking; a lag of 4 days waits for a report to be 4 days old; a
report is exported once; interrupted runs are continued."""

import datetime as dt

import pytest
from django.utils import timezone
from django_q.models import Schedule, Success

from apps.catalog.importing.billing import import_billing
from apps.catalog.models import BillingReport
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportRun
from apps.exports.queueing import export_run_create
from apps.exports.schedules import DAILY_EXPORTS_SCHEDULE, apply_schedules
from apps.exports.scheduling import due_reports, export_due_reports
from tests.catalog.generator import write_recon_csv
from tests.exports.small import FIRST_EXPORT_WRITES, billing_rows, records, small_world
from tests.worker_processes import start_cluster, stop_cluster, wait_for

pytestmark = pytest.mark.django_db


def on_schedule(connection, lag: int):
    connection.export_on_schedule = True
    connection.export_lag_days = lag
    connection.save()
    return connection


def generated(days_ago: int, today: dt.date) -> BillingReport:
    report = BillingReport.objects.get()
    BillingReport.objects.filter(pk=report.pk).update(
        generated_on=today - dt.timedelta(days=days_ago)
    )
    report.refresh_from_db()
    return report


@pytest.mark.django_db(transaction=True)
def test_with_lag_0_an_import_is_exported_by_the_scheduler_without_anyone_asking(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=0)
    # The next file of the month (one more seat for Contoso) is imported, as a person does.
    rows = billing_rows()
    rows[0].update(Quantity="11", BillableQuantity="11", Subtotal="137.50", Total="137.50")
    path = write_recon_csv(tmp_path / "recon-2.csv", rows)
    import_billing([(path, path.name)], month=None, actor="test")
    assert not ExportRun.objects.exists()  # queued for a worker, not run here
    cluster = start_cluster()
    try:
        run = wait_for(
            lambda: ExportRun.objects.filter(status="succeeded").first(), 90, "the export"
        )
        # The check after the import, and the one its end queued (nothing more to do).
        checks = Success.objects.filter(func="apps.exports.tasks.export_due_reports")
        wait_for(lambda: checks.count() >= 2, 60, "the check after the export")
    finally:
        stop_cluster(cluster)
    assert run.trigger == "schedule" and run.requested_by_name == "scheduler"
    assert run.connection_id == connection.pk and run.scope == "report"
    assert ExportRun.objects.count() == 1
    assert sorted(check.result for check in checks) == [
        "0 export(s) queued",
        f"1 export(s) queued: #{run.pk}",
    ]
    assert len(records(sandbox, "Contracts")) == 3
    assert run.writes == FIRST_EXPORT_WRITES


def test_with_lag_4_a_report_3_days_old_waits_and_at_4_days_it_is_exported(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=4)
    today = timezone.localdate()
    report = generated(days_ago=3, today=today)
    assert export_due_reports(today=today) == []
    assert not ExportRun.objects.exists()

    [run] = export_due_reports(today=today + dt.timedelta(days=1))
    assert (run.report_id, run.connection_id) == (report.pk, connection.pk)
    assert run.trigger == "schedule" and run.status == "queued" and not run.dry_run
    # While it is queued nothing more is started; once it succeeded the report is done.
    assert export_due_reports(today=today + dt.timedelta(days=1)) == []
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    assert due_reports(connection, today + dt.timedelta(days=2)) == []
    assert export_due_reports(today=today + dt.timedelta(days=2)) == []


def test_only_connections_on_schedule_are_exported(sandbox, tmp_path):
    connection = small_world(sandbox, tmp_path)
    connection.export_lag_days = 0
    connection.save()
    assert export_due_reports() == []
    assert due_reports(connection, timezone.localdate()) != []


def test_a_report_imported_again_after_its_export_is_due_again(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=0)
    [run] = export_due_reports()
    assert export_run_execute(run_id=run.pk).status == "succeeded"
    assert due_reports(connection, timezone.localdate()) == []
    report = BillingReport.objects.get()
    report.save()  # what an import of another file of the month does to imported_at
    assert due_reports(connection, timezone.localdate()) == [report]


def test_a_failed_scheduled_export_is_tried_again_the_next_day_not_before(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=0)
    today = timezone.localdate()
    [run] = export_due_reports(today=today)
    ExportRun.objects.filter(pk=run.pk).update(status="failed", message="Autotask was down.")
    assert export_due_reports(today=today) == []  # no loop of failing runs
    [again] = export_due_reports(today=today + dt.timedelta(days=1))
    assert again.report_id == run.report_id and again.pk != run.pk
    assert ExportRun.objects.filter(connection=connection).count() == 2


def test_a_failing_report_does_not_hold_up_the_next_one(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=0)
    november = BillingReport.objects.get()
    december = BillingReport.objects.create(month=dt.date(2025, 12, 1), currency="USD")
    [first] = export_due_reports()
    assert first.report_id == november.pk  # the oldest month first
    ExportRun.objects.filter(pk=first.pk).update(status="failed")
    [second] = export_due_reports()
    assert second.report_id == december.pk
    assert due_reports(connection, timezone.localdate()) == [december]


def test_a_cancelled_scheduled_export_waits_for_the_next_import(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=0)
    [run] = export_due_reports()
    ExportRun.objects.filter(pk=run.pk).update(status="cancelled")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert due_reports(connection, tomorrow) == []


def test_an_interrupted_export_is_continued_by_the_next_schedule(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=4)
    run = export_run_create(connection=connection, report=BillingReport.objects.get())
    ExportRun.objects.filter(pk=run.pk).update(status="interrupted", message="The worker died.")
    [queued] = export_due_reports()
    assert queued.pk == run.pk
    run.refresh_from_db()
    assert run.status == "queued" and run.message.endswith("Continued by the schedule.")
    assert export_run_execute(run_id=run.pk).status == "succeeded"


def test_a_command_line_export_someone_stopped_is_left_to_them(sandbox, tmp_path):
    connection = on_schedule(small_world(sandbox, tmp_path), lag=0)
    run = export_run_create(
        connection=connection, report=BillingReport.objects.get(), trigger="cli"
    )
    ExportRun.objects.filter(pk=run.pk).update(
        status="interrupted", message="Stopped (Ctrl-C).", in_process=True
    )
    assert export_due_reports() == []
    run.refresh_from_db()
    assert run.status == "interrupted"


def test_the_daily_schedule_runs_at_the_configured_time(settings):
    apply_schedules()
    daily = Schedule.objects.get(name=DAILY_EXPORTS_SCHEDULE)
    assert daily.func == "apps.exports.tasks.export_due_reports"
    assert daily.schedule_type == Schedule.DAILY and daily.repeats == -1
    assert timezone.localtime(daily.next_run).time() == dt.time(6, 0)
    assert daily.next_run > timezone.now()
    settings.EXPORT_DAILY_AT = "21:30"
    apply_schedules()
    daily.refresh_from_db()
    assert timezone.localtime(daily.next_run).time() == dt.time(21, 30)
    apply_schedules()  # unchanged time: left as it is
    assert Schedule.objects.get(name=DAILY_EXPORTS_SCHEDULE).next_run == daily.next_run
