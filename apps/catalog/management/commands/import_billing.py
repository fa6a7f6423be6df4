"""manage.py import_billing FILE... [--month YYYY-MM]: import Partner Center billing files."""

import datetime as dt
import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_context
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing.billing import import_billing


def parse_month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--month must look like 2026-03, not {text!r}.") from None


class Command(BaseCommand):
    help = (
        "Import Partner Center files (invoice reconciliation or daily rated usage, CSV or the "
        "Graph export's JSON Lines, plain or gzip) in one transaction: all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--month", help="the billing month, YYYY-MM (default: from the lines)")

    def handle(self, *args, **options):
        month = parse_month(options["month"]) if options["month"] else None
        paths = [Path(name) for name in options["files"]]
        for path in paths:
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
        actor = f"cli:{getpass.getuser()}"
        with audit_context(context="cli", actor_name=actor):
            try:
                outcome = import_billing(
                    [(path, path.name) for path in paths], month=month, actor=actor
                )
            except ImportValidationError as problem:
                raise CommandError(f"Nothing was imported. {problem}") from None
        for item in outcome.files:
            detail = f", replaces {', '.join(item.replaced)}" if item.replaced else ""
            note = f" ({item.note})" if item.note else ""
            self.stdout.write(f"{item.name}: {item.status}, {item.lines} lines{detail}{note}")
        if outcome.changed_anything:
            self.stdout.write(
                f"Reports: {', '.join(outcome.reports)}. Organizations: "
                f"{outcome.organizations_new} new, {outcome.organizations_changed} changed. "
                f"Subscriptions: {outcome.subscriptions_new} new, "
                f"{outcome.subscriptions_changed} changed. Offers: {outcome.offers_new} new."
            )
            for record_type, total in outcome.totals_by_record_type.items():
                self.stdout.write(f"  {record_type}: {total}")
            for warning in outcome.warnings:
                self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        else:
            self.stdout.write("Nothing changed.")
