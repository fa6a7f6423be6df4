"""manage.py export --connection C --month YYYY-MM [--organization ORG | --subscription SUB]
[--dry-run] [--queue [--wait]]: export a billing report (or part of it) to Autotask."""

import getpass
import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from apps.audit.services import audit_context
from apps.autotask.models import Connection
from apps.catalog.management.commands.import_billing import parse_month
from apps.catalog.models import BillingReport, Organization, Subscription
from apps.exports.choices import ACTIVE_STATUSES, ExportItemStatusChoices, ExportRunStatusChoices
from apps.exports.execution import export_run_execute
from apps.exports.models import ExportRun
from apps.exports.presenting import counts_in_words, plan_lines
from apps.exports.queueing import ExportRefused, export_run_create, scope_key
from apps.exports.recovery import export_run_interrupt_stale

Status = ExportRunStatusChoices
ENDED_BADLY = (Status.PARTIAL, Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)


def stopped(run: ExportRun) -> None:
    """Ctrl-C: the run is interrupted (not left running for the stale check to find)."""
    ExportRun.objects.filter(pk=run.pk, status__in=[Status.RUNNING, Status.WAITING]).update(
        status=Status.INTERRUPTED,
        message="Stopped from the command line; run the same command again to continue.",
        finished_at=timezone.now(),
    )


def _one(queryset, what: str, text: str):
    found = list(queryset[:2])
    if not found:
        raise CommandError(f"No {what} {text!r}.")
    if len(found) > 1:
        raise CommandError(f"More than one {what} matches {text!r}: use its id.")
    return found[0]


class Command(BaseCommand):
    help = (
        "Export one month's billing report to an Autotask connection: plan, then write. "
        "Without --queue it runs here (no worker needed) and prints its progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", required=True, help="connection name or id")
        parser.add_argument("--month", required=True, help="the report's month, YYYY-MM")
        parser.add_argument("--currency", help="the report's currency, when the month has several")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--organization", help="customer id, name or id of one organization")
        target.add_argument("--subscription", help="Microsoft subscription id of one subscription")
        parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
        parser.add_argument("--queue", action="store_true", help="hand the run to a worker")
        parser.add_argument("--wait", action="store_true", help="with --queue: wait for the end")

    def handle(self, *args, **options):
        if options["wait"] and not options["queue"]:
            raise CommandError("--wait goes with --queue.")
        connection = self._connection(options["connection"])
        report = self._report(options["month"], options["currency"])
        organization = subscription = None
        if options["organization"]:
            organization = self._organization(options["organization"])
        if options["subscription"]:
            subscription = _one(
                Subscription.objects.filter(subscription_id__iexact=options["subscription"]),
                "subscription",
                options["subscription"],
            )
        actor = f"cli:{getpass.getuser()}"
        with audit_context(context="cli", actor_name=actor):
            run = self._run(connection, report, organization, subscription, options, actor)
            if options["queue"]:
                self.stdout.write(f"Export #{run.pk} queued for a worker.")
                if not options["wait"]:
                    return
                run = self._wait(run)
            else:
                try:
                    run = export_run_execute(run_id=run.pk, foreground=True, on_progress=self._say)
                except KeyboardInterrupt:
                    stopped(run)
                    raise CommandError(
                        f"Export #{run.pk} stopped. Run the same command again to continue it."
                    ) from None
        self._report_end(run)

    # -- finding things --------------------------------------------------------------

    def _connection(self, text: str) -> Connection:
        query = Q(name__iexact=text)
        if text.isdigit():
            query |= Q(pk=int(text))
        return _one(Connection.objects.filter(query), "connection", text)

    def _report(self, month_text: str, currency: str | None) -> BillingReport:
        month = parse_month(month_text)
        reports = BillingReport.objects.filter(month=month)
        if currency:
            reports = reports.filter(currency__iexact=currency)
        found = list(reports)
        if not found:
            raise CommandError(f"No billing report for {month:%Y-%m}: import it first.")
        if len(found) > 1:
            currencies = ", ".join(report.currency for report in found)
            raise CommandError(f"{month:%Y-%m} has reports in {currencies}: add --currency.")
        return found[0]

    def _organization(self, text: str) -> Organization:
        query = Q(customer_id__iexact=text) | Q(name__iexact=text)
        if text.isdigit():
            query |= Q(pk=int(text))
        return _one(Organization.objects.filter(query), "organization", text)

    def _run(self, connection, report, organization, subscription, options, actor) -> ExportRun:
        """A new run, or the active one of this scope when it can be continued here."""
        dry_run = options["dry_run"]
        if not dry_run and not options["queue"]:
            export_run_interrupt_stale(runs=ExportRun.objects.filter(connection=connection))
            scope = "subscription" if subscription else "organization" if organization else "report"
            active = ExportRun.objects.filter(
                connection=connection,
                scope_key=scope_key(report, scope, organization, subscription),
                status__in=ACTIVE_STATUSES,
                dry_run=False,
            ).first()
            if active is not None:
                if active.status == Status.RUNNING:
                    raise CommandError(
                        f"Export #{active.pk} of this scope is running; wait for it to end."
                    )
                self.stdout.write(
                    f"Continuing export #{active.pk} ({active.get_status_display().lower()})."
                )
                return active
        try:
            return export_run_create(
                connection=connection,
                report=report,
                organization=organization,
                subscription=subscription,
                trigger="cli",
                dry_run=dry_run,
                requested_by_name=actor,
                queue=options["queue"],
            )
        except ExportRefused as problem:
            raise CommandError(str(problem)) from None

    def _wait(self, run: ExportRun) -> ExportRun:
        shown = None
        while True:
            run.refresh_from_db()
            if run.status != shown:
                self._say(f"Export #{run.pk}: {run.get_status_display()}")
                shown = run.status
            if run.status not in ACTIVE_STATUSES or run.status == Status.INTERRUPTED:
                return run
            time.sleep(1)

    # -- output ----------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _report_end(self, run: ExportRun) -> None:
        if run.dry_run and run.status == Status.SUCCEEDED:
            for line in plan_lines(run):
                self.stdout.write(line)
            return
        done = counts_in_words(run.done_counts)
        self.stdout.write(
            f"Export #{run.pk}: {run.get_status_display()}. Written: {done or 'nothing'}; "
            f"{run.skipped} skipped, {run.failed} failed; {run.requests} API requests."
        )
        for item in run.items.filter(status=ExportItemStatusChoices.FAILED):
            self.stdout.write(self.style.ERROR(f"  failed: {item.label}: {item.error}"))
        if run.status == Status.WAITING:
            self.stdout.write(run.message)
            return
        if run.status in ENDED_BADLY:
            raise CommandError(run.message or f"Export #{run.pk} ended {run.status}.")
