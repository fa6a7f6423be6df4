"""Import billing files into the database: all or nothing.

`import_billing()` reads every file (streaming), creates or updates organizations, offers
and subscriptions, stores the lines, replaces the lines of an earlier file it corrects,
and recomputes the month's roll-up (and that of every later month, which carries its
figures forward), all inside one transaction: a file that fails
validation raises `ImportValidationError` and changes nothing. A file imported before
(same content hash) changes nothing and says when it was imported.
"""

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import typing
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Sum
from psycopg.copy import QueuedLibpqWriter

from apps.audit.services import audit_record
from apps.catalog.choices import BillingLineKindChoices, SubscriptionStatusChoices
from apps.catalog.importers import detect_format, read_any
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importers.msp_pricelist_csv import BILLING_FREQUENCIES, is_msp_price_list
from apps.catalog.importers.records import PriceListRow, ReconLine, UsageLine
from apps.catalog.models import (
    AzureMonth,
    BillingFile,
    BillingLine,
    BillingReport,
    MicrosoftPrice,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from apps.catalog.price_services import msp_price_list_import
from apps.catalog.record_types import billing_frequency_of, record_type_of, term_months_of
from apps.catalog.rollup import SubscriptionMonth as MonthFigures
from apps.catalog.rollup import first_of_month, roll_up_subscriptions, rounding_allowance
from apps.catalog.signals import billing_imported
from apps.core.choices import RecordType

BATCH = 2000
# Azure plan subscriptions seen only in usage files get Microsoft's Azure plan offer.
AZURE_PLAN_OFFER = {
    "product_id": "DZH318Z0BPS6",
    "sku_id": "0001",
    "availability_id": "",
    "term": "",
    "billing_frequency": "monthly",
}


@dataclass
class FileOutcome:
    name: str
    status: str  # "imported" or "already imported"
    format: str = ""
    lines: int = 0
    invoice_numbers: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class ImportOutcome:
    files: list[FileOutcome] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    organizations_new: int = 0
    organizations_changed: int = 0
    offers_new: int = 0
    subscriptions_new: int = 0
    subscriptions_changed: int = 0
    totals_by_record_type: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add_report(self, report: BillingReport) -> None:
        self.reports.append(str(report))
        self.report_ids.append(report.pk)

    @property
    def changed_anything(self) -> bool:
        return any(item.status == "imported" for item in self.files)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# -- lines as JSON (invoice lines are kept whole so the roll-up can be redone) ------------


def _kind_of(annotation) -> type:
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if args else annotation


def _kinds(cls) -> dict[str, type]:
    return {item.name: _kind_of(item.type) for item in dataclasses.fields(cls)}


RECON_KINDS = _kinds(ReconLine)
FIGURE_KINDS = _kinds(MonthFigures)


def _to_json(value):
    if isinstance(value, Decimal | dt.date):
        return str(value)  # a date's str() is its ISO form
    return list(value) if isinstance(value, tuple) else value


def _from_json(cls, kinds: dict[str, type], data: dict, *, tuples: bool):
    """``cls`` from its JSON form: Decimals and dates from text; with ``tuples``, JSON
    arrays become tuples (a ReconLine is frozen and hashable)."""
    values = {}
    for name, kind in kinds.items():
        value = data.get(name)
        if value is not None:
            if kind is Decimal:
                value = Decimal(value)
            elif kind is dt.date:
                value = dt.date.fromisoformat(value)
            elif tuples and isinstance(value, list):
                value = tuple(value)
        values[name] = value
    return cls(**values)


def recon_to_json(line: ReconLine) -> dict:
    return {name: _to_json(getattr(line, name)) for name in RECON_KINDS}


def recon_from_json(data: dict) -> ReconLine:
    return _from_json(ReconLine, RECON_KINDS, data, tuples=True)


def month_figures_to_json(figures: MonthFigures) -> dict:
    return {
        key: (str(value) if isinstance(value, Decimal | dt.date) else value)
        for key, value in dataclasses.asdict(figures).items()
    }


def month_figures_from_json(data: dict) -> MonthFigures:
    return _from_json(MonthFigures, FIGURE_KINDS, data, tuples=False)


# -- the importer -------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def term_code(months: int | None) -> str:
    """An Offer's term for a number of months: 12 → "P1Y", 1 → "P1M", None → ""."""
    if not months:
        return ""
    return f"P{months // 12}Y" if months % 12 == 0 else f"P{months}M"


LINE_COLUMNS = (
    "report_id",
    "file_id",
    "line_number",
    "kind",
    "organization_id",
    "subscription_id",
    "offer_id",
    "charge_type",
    "date",
    "charge_start",
    "charge_end",
    "quantity",
    "unit_price",
    "effective_unit_price",
    "amount",
    "reference_id",
    "detail",
    "category",
    "data",
)


class LineWriter:
    """Writes billing lines as they are read. On PostgreSQL one COPY stays open and a
    separate thread feeds it (QueuedLibpqWriter), so the database stores lines on the other
    core while this one parses; it is paused around the rare ORM queries (a new
    organization or subscription). Elsewhere, one executemany per batch."""

    def __init__(self, report_id: int, file_id: int, kind: str):
        self.prefix = f"{report_id}\t{file_id}\t"
        self.report_id = report_id
        self.file_id = file_id
        self.kind = kind
        self.postgresql = connection.vendor == "postgresql"
        table = BillingLine._meta.db_table
        columns = ", ".join(LINE_COLUMNS)
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        marks = ", ".join(["%s"] * len(LINE_COLUMNS))
        # Table and column names come from the model and LINE_COLUMNS, never from input.
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        self._cursor = None
        self._copy = None
        self._pending: list = []

    def invoice_row(self, line: ReconLine, organization_id, subscription_id, offer_id):
        data = recon_to_json(line)
        row = (
            self.report_id,
            self.file_id,
            line.source_line,
            self.kind,
            organization_id,
            subscription_id,
            offer_id,
            line.charge_type,
            line.order_date,
            line.charge_start_date,
            line.charge_end_date,
            line.billable_quantity,
            line.unit_price,
            line.effective_unit_price,
            line.subtotal,
            line.reference_id,
            "",
            "",
            json.dumps(data),
        )
        return _copy_line(row) if self.postgresql else row

    def usage_row(self, line: UsageLine, organization_id, subscription_id):
        if not self.postgresql:
            return (
                self.report_id,
                self.file_id,
                line.source_line,
                self.kind,
                organization_id,
                subscription_id,
                None,
                line.charge_type,
                line.usage_date,
                line.charge_start_date,
                line.charge_end_date,
                line.quantity,
                line.unit_price,
                line.effective_unit_price,
                line.billing_pre_tax_total,
                "",
                line.entitlement_id,
                line.meter_category[:100],
                None,
            )
        # The hot path of a million-line import: one f-string, no per-value calls. Ids,
        # numbers, dates and GUIDs need no escaping; the free text columns are escaped.
        start, end = line.charge_start_date, line.charge_end_date
        price, effective = line.unit_price, line.effective_unit_price
        return (
            f"{self.prefix}{line.source_line}\tusage\t{organization_id}\t{subscription_id}"
            f"\t\\N\t{_text(line.charge_type)}\t{line.usage_date}"
            f"\t{NULL if start is None else start}\t{NULL if end is None else end}"
            f"\t{line.quantity}\t{NULL if price is None else price}"
            f"\t{NULL if effective is None else effective}\t{line.billing_pre_tax_total}"
            f"\t\t{_text(line.entitlement_id)}\t{_text(line.meter_category[:100])}\t\\N\n"
        )

    def write(self, rows: list) -> None:
        if not self.postgresql:
            with connection.cursor() as cursor:
                cursor.executemany(self.insert_sql, [_plain(row) for row in rows])
            return
        if self._copy is None:
            self._cursor = connection.cursor()
            raw = self._cursor.cursor
            self._copy_context = raw.copy(self.copy_sql, writer=QueuedLibpqWriter(raw))
            self._copy = self._copy_context.__enter__()
        self._copy.write("".join(rows).encode())

    def pause(self) -> None:
        """Finish the open COPY so the connection can run other queries."""
        if self._copy is not None:
            self._copy = None
            self._copy_context.__exit__(None, None, None)
            self._cursor.close()

    def close(self, failed: bool = False) -> None:
        if self._copy is not None:
            self._copy = None
            if failed:
                problem = RuntimeError("import failed")
                with contextlib.suppress(Exception):
                    self._copy_context.__exit__(RuntimeError, problem, None)
            else:
                self._copy_context.__exit__(None, None, None)
            self._cursor.close()


NULL = "\\N"  # COPY's null


def _text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if value.__class__ is str:
        return value.translate(_COPY_ESCAPES)
    return str(value)  # numbers, Decimals and dates print as PostgreSQL reads them


def _copy_line(row: tuple) -> str:
    return "\t".join(map(_copy_value, row)) + "\n"


def _plain(row: tuple) -> tuple:
    """Values sqlite3 binds without deprecated adapters (dates as ISO text)."""
    return tuple(value.isoformat() if isinstance(value, dt.date) else value for value in row)


@dataclass
class FileState:
    file: BillingFile | None = None
    writer: LineWriter | None = None
    count: int = 0
    invoices: set = field(default_factory=set)


USAGE_FORMATS = frozenset({"usage_csv", "usage_jsonl"})


class Importer:
    def __init__(self, *, month: dt.date | None, actor: str, progress=None):
        self.month = first_of_month(month) if month else None
        self.month_given = month is not None
        self.actor = actor
        self.progress = progress
        self.outcome = ImportOutcome()
        self.reports: dict[tuple, BillingReport] = {}
        self.organizations: dict[str, Organization] = {}
        self.offers: dict[tuple, Offer] = {}
        self.subscriptions: dict[str, Subscription] = {}
        # Invoice number → the report holding its reconciliation lines (this import's or
        # an earlier one's), looked up once per number: daily usage goes to that report.
        self.invoice_reports: dict[str, BillingReport] = {}
        self.lines_read = 0

    # -- reference rows, created on first sight and kept in memory -----------------

    def _report(self, month: dt.date, currency: str) -> BillingReport:
        key = (month, currency)
        if key not in self.reports:
            report, _ = BillingReport.objects.get_or_create(month=month, currency=currency)
            self.reports[key] = report
        return self.reports[key]

    def _invoice_report(self, number: str, line: UsageLine, name: str) -> BillingReport:
        """The report of invoice ``number``: the one holding reconciliation lines with that
        InvoiceNumber, from this import (invoice files are read first) or an earlier one.
        One query per invoice number; a number nobody has is refused."""
        report = self.invoice_reports.get(number)
        if report is None:
            # JSON "contains" is not on SQLite: narrow by text, then compare exactly.
            candidates = BillingFile.objects.filter(
                kind=BillingLineKindChoices.INVOICE, invoice_numbers__icontains=number
            ).order_by("-pk")
            found = None
            for report_id, numbers in candidates.values_list("report_id", "invoice_numbers"):
                if number in numbers:
                    found = report_id
                    break
            if found is None:
                raise ImportValidationError(
                    name,
                    line.source_line,
                    "InvoiceNumber",
                    f"invoice {number} is in no invoice reconciliation file of this import "
                    "or an earlier one, so the report this daily usage belongs to cannot be "
                    f"told: import the invoice reconciliation file of {number} first, or "
                    "together with this file",
                )
            report = BillingReport.objects.get(pk=found)
            report = self.reports.setdefault((report.month, report.currency), report)
            self.invoice_reports[number] = report
        if line.billing_currency != report.currency:
            raise ImportValidationError(
                name,
                line.source_line,
                "BillingCurrency",
                f"expected {report.currency}, the currency of invoice {number}, got "
                f"{line.billing_currency}",
            )
        if self.month_given and report.month != self.month:
            raise ImportValidationError(
                name,
                line.source_line,
                "InvoiceNumber",
                f"invoice {number} belongs to the {report.month:%B %Y} report, not to "
                f"{self.month:%B %Y}, the month of this import: import this usage file "
                "without a month, or with its invoice's",
            )
        return report

    def _organization(self, line) -> Organization:
        organization = self.organizations.get(line.customer_id)
        if organization is None:
            organization = Organization.objects.filter(customer_id=line.customer_id).first()
            if organization is None:
                organization = Organization.objects.create(
                    customer_id=line.customer_id,
                    name=line.customer_name or line.customer_id,
                    domains=[line.customer_domain_name] if line.customer_domain_name else [],
                    country=line.customer_country[:2],
                )
                self.outcome.organizations_new += 1
                organization._new = True
            self.organizations[line.customer_id] = organization
        changed = False
        if line.customer_name and organization.name != line.customer_name:
            organization.name, changed = line.customer_name, True
        domain = line.customer_domain_name
        if domain and domain not in organization.domains:
            organization.domains = [*organization.domains, domain]
            changed = True
        if line.customer_country and organization.country != line.customer_country[:2]:
            organization.country, changed = line.customer_country[:2], True
        if changed:
            organization.save()
            if not getattr(organization, "_new", False) and not getattr(
                organization, "_counted", False
            ):
                self.outcome.organizations_changed += 1
                organization._counted = True
        return organization

    def _offer(self, key: dict, names: dict) -> Offer:
        lookup = tuple(key.values())
        offer = self.offers.get(lookup)
        if offer is None:
            offer, created = Offer.objects.get_or_create(**key, defaults=names)
            if created:
                self.outcome.offers_new += 1
            elif any(value and getattr(offer, name) != value for name, value in names.items()):
                for name, value in names.items():
                    if value:
                        setattr(offer, name, value)
                offer.save()
            self.offers[lookup] = offer
        return offer

    def _subscription(self, subscription_id: str, organization, offer, values: dict):
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            subscription = Subscription.objects.filter(subscription_id=subscription_id).first()
            if subscription is None:
                subscription = Subscription.objects.create(
                    subscription_id=subscription_id,
                    organization=organization,
                    offer=offer,
                    **values,
                )
                self.outcome.subscriptions_new += 1
                subscription._new = True
            self.subscriptions[subscription_id] = subscription
        changes = {"organization": organization, "offer": offer, **values}
        if any(
            value not in (None, "") and getattr(subscription, name) != value
            for name, value in changes.items()
        ):
            for name, value in changes.items():
                if value not in (None, ""):
                    setattr(subscription, name, value)
            subscription.save()
            if not getattr(subscription, "_new", False) and not getattr(
                subscription, "_counted", False
            ):
                self.outcome.subscriptions_changed += 1
                subscription._counted = True
        return subscription

    def _invoice_line(self, line: ReconLine, organization) -> tuple[Offer, Subscription]:
        decision = record_type_of(line)
        billing_frequency = billing_frequency_of(line)
        offer = self._offer(
            {
                "product_id": line.product_id,
                "sku_id": line.sku_id,
                "availability_id": line.availability_id,
                "term": term_code(term_months_of(line)),
                "billing_frequency": billing_frequency,
            },
            {
                "product_name": line.product_name,
                "sku_name": line.sku_name,
                "publisher": line.publisher_name,
                "record_type": decision.record_type or "",
            },
        )
        subscription = self._subscription(
            line.subscription_id,
            organization,
            offer,
            {
                "description": line.subscription_description,
                "term_start": line.subscription_start_date,
                "term_end": line.subscription_end_date,
                "billing_frequency": billing_frequency,
                "record_type": decision.record_type or "",
            },
        )
        if not decision.decided:
            self.outcome.warnings.append(
                f"{line.subscription_id}: record type unknown ({decision.reason})"
            )
        return offer, subscription

    def _owner_of(self, line: UsageLine, name: str) -> tuple[int, int]:
        """A usage line without a CustomerId (Microsoft's marketplace examples have them)
        belongs to whoever has its subscription, known from another line of this import
        or an earlier one; a subscription nobody has is refused, not guessed."""
        subscription = self.subscriptions.get(line.subscription_id)
        if subscription is None:
            subscription = Subscription.objects.filter(subscription_id=line.subscription_id).first()
            if subscription is None:
                raise ImportValidationError(
                    name,
                    line.source_line,
                    "CustomerId",
                    f"blank, and subscription {line.subscription_id} is in no other line and "
                    "no earlier import, so whose usage this is cannot be told",
                )
            self.subscriptions[line.subscription_id] = subscription
        return subscription.organization_id, subscription.pk

    def _usage_line(self, line: UsageLine, organization) -> Subscription:
        offer = self._offer(
            AZURE_PLAN_OFFER,
            {
                "product_name": "Azure plan",
                "sku_name": "Azure plan",
                "publisher": "Microsoft",
                "record_type": RecordType.AZURE_PLAN,
            },
        )
        return self._subscription(
            line.subscription_id,
            organization,
            offer,
            {"record_type": RecordType.AZURE_PLAN},
        )

    # -- files ---------------------------------------------------------------------

    def add_files(self, files: list[tuple[Path, str]]) -> None:
        """Invoice files first (a header read tells them apart), so daily usage finds
        the report of its invoice whatever the order the files were given in; the
        outcome lists the files in that order."""
        usage = [detect_format(Path(path), file_name=name) in USAGE_FORMATS for path, name in files]
        order = sorted(range(len(files)), key=lambda index: usage[index])
        outcomes = {}
        for index in order:
            path, name = files[index]
            self.add_file(Path(path), name, usage=usage[index])
            outcomes[index] = self.outcome.files.pop()
        self.outcome.files += [outcomes[index] for index in range(len(files))]

    def add_file(self, path: Path, name: str, *, usage: bool = False) -> None:
        sha = file_sha256(path)
        earlier = BillingFile.objects.filter(sha256=sha).first()
        if earlier is not None:
            self.outcome.files.append(
                FileOutcome(
                    name=name,
                    status="already imported",
                    format=earlier.format,
                    lines=earlier.line_count,
                    note=f"already imported on {earlier.imported_at:%Y-%m-%d %H:%M} "
                    f"as {earlier.name}; nothing changed",
                )
            )
            return
        # Usage dates are checked here, not by the reader: billed usage follows its
        # invoice's report, whatever its usage dates (Azure is billed in arrears).
        with read_any(path, file_name=name, month=None if usage else self.month) as stream:
            self._read(stream, path, name, sha)

    def _read(self, stream, path: Path, name: str, sha: str) -> None:
        state = FileState()
        try:
            self._read_lines(stream, path, name, sha, state)
        except BaseException:
            if state.writer is not None:
                state.writer.close(failed=True)  # end the COPY so the rollback can run
            raise
        if state.file is None:
            raise ImportValidationError(name, None, None, "the file has a header but no lines")
        billing_file, invoices = state.file, sorted(state.invoices)
        billing_file.line_count = state.count
        billing_file.invoice_numbers = invoices
        billing_file.save(update_fields=["line_count", "invoice_numbers"])
        if billing_file.kind == BillingLineKindChoices.INVOICE:
            for number in invoices:
                self.invoice_reports.setdefault(number, billing_file.report)
        replaced = self._replace_earlier(billing_file)
        audit_record(
            operation="Import Billing File",
            object_type="BillingFile",
            object_id=billing_file.pk,
            object_repr=name,
            after={"report": str(billing_file.report), "lines": state.count, "invoices": invoices},
            details={"sha256": sha, "replaced": replaced},
            actor_name=self.actor,
        )
        self.outcome.files.append(
            FileOutcome(
                name=name,
                status="imported",
                format=stream.format,
                lines=state.count,
                invoice_numbers=invoices,
                replaced=replaced,
            )
        )

    def _read_lines(self, stream, path: Path, name: str, sha: str, state: "FileState") -> None:
        rows: list = []
        currency = None
        seen_organizations: dict[str, int] = {}  # usage files: once per customer is enough
        seen_subscriptions: dict[str, int] = {}
        # Invoice files: with the month known when the file was opened, the reader refuses
        # other months. Usage files are read without it (see add_file).
        check_month = self.month is None
        report = None
        invoice_number = None  # of the usage line before: its report is known
        for line in stream:
            if state.count == 0:  # the format is known once the first row is read
                if isinstance(line, PriceListRow):
                    raise ImportValidationError(
                        name, None, None, "this is a price list: import it as a price list"
                    )
                invoice = isinstance(line, ReconLine)
                kind = BillingLineKindChoices.INVOICE if invoice else BillingLineKindChoices.USAGE
                column = "OrderDate" if invoice else "UsageDate"
                if not invoice:
                    report, month, why = self._usage_file_report(line, name)
                    invoice_number = line.invoice_number
                    check_month = True
            elif not invoice and line.invoice_number != invoice_number:
                invoice_number = line.invoice_number
                if invoice_number:  # per invoice number, not per line: few per file
                    if invoice_number not in self.invoice_reports:
                        state.writer.pause()  # the look-up queries
                    other = self._invoice_report(invoice_number, line, name)
                    if other != report:
                        raise ImportValidationError(
                            name,
                            line.source_line,
                            "InvoiceNumber",
                            f"invoice {invoice_number} belongs to the {other} report, the "
                            f"lines before it to {report}: import the daily usage of each "
                            "invoice as its own file",
                        )
            if check_month:
                if invoice:
                    day = line.order_date
                    if self.month is None:
                        self.month = first_of_month(day)
                    month, why = self.month, "the month of this import"
                else:
                    day = line.usage_date
                if day.year != month.year or day.month != month.month:
                    raise ImportValidationError(
                        name,
                        line.source_line,
                        column,
                        f"expected a date in {month:%B %Y}, {why}, got {day.isoformat()}",
                    )
            line_currency = line.currency if invoice else line.billing_currency
            if currency is None:
                currency = line_currency
                if report is None:
                    report = self._report(self.month, currency)
                state.file = BillingFile.objects.create(
                    report=report,
                    name=name,
                    sha256=sha,
                    format=stream.format,
                    kind=kind,
                    size=path.stat().st_size,
                    line_count=0,
                    imported_by=self.actor,
                )
                state.writer = writer = LineWriter(report.pk, state.file.pk, kind)
            elif line_currency != currency:
                raise ImportValidationError(
                    name,
                    line.source_line,
                    "Currency" if invoice else "BillingCurrency",
                    f"expected {currency} like the lines before it (one billing currency per "
                    f"file), got {line_currency}",
                )
            if line.invoice_number:
                state.invoices.add(line.invoice_number)
            if invoice:
                writer.pause()  # invoice files are small: the ORM may run for every line
                organization = self._organization(line)
                offer, subscription = self._invoice_line(line, organization)
                rows.append(writer.invoice_row(line, organization.pk, subscription.pk, offer.pk))
            elif not line.customer_id:
                if line.subscription_id not in self.subscriptions:
                    writer.pause()
                organization_id, subscription_id = self._owner_of(line, name)
                rows.append(writer.usage_row(line, organization_id, subscription_id))
            else:
                organization_id = seen_organizations.get(line.customer_id)
                subscription_id = seen_subscriptions.get(line.subscription_id)
                if organization_id is None or subscription_id is None:
                    writer.pause()
                    organization = self._organization(line)
                    organization_id = seen_organizations[line.customer_id] = organization.pk
                    subscription_id = seen_subscriptions[line.subscription_id] = self._usage_line(
                        line, organization
                    ).pk
                rows.append(writer.usage_row(line, organization_id, subscription_id))
            state.count += 1
            if len(rows) >= BATCH:
                writer.write(rows)
                rows = []
                self._report_progress(BATCH)
        if rows:
            writer.write(rows)
            self._report_progress(len(rows))
        if state.writer is not None:
            state.writer.close()

    def _usage_file_report(self, line: UsageLine, name: str) -> tuple:
        """For a usage file, from its first line: the report its lines go to (None: the
        report of the import's month, made once the currency is known), and the month
        every usage date must fall in, with why. Billed usage (an InvoiceNumber) goes to
        its invoice's report and its dates stay in its first line's month; usage without
        one (unbilled) belongs to the month of the import."""
        if line.invoice_number:
            report = self._invoice_report(line.invoice_number, line, name)
            month = first_of_month(line.usage_date)
            return report, month, "the usage month of the lines before it"
        if self.month is None:
            self.month = first_of_month(line.usage_date)
        return None, self.month, "the month of this import"

    def _report_progress(self, lines: int) -> None:
        self.lines_read += lines
        if self.progress:
            self.progress(self.lines_read)

    def _replace_earlier(self, billing_file: BillingFile) -> list[str]:
        """A corrected file replaces the earlier file of the same kind for the same month
        and invoices (usage without invoice numbers: the same month)."""
        replaced = []
        earlier = BillingFile.objects.filter(
            report=billing_file.report, kind=billing_file.kind
        ).exclude(pk=billing_file.pk)
        ours = set(billing_file.invoice_numbers)
        for other in earlier:
            theirs = set(other.invoice_numbers)
            if ours & theirs or (not ours and not theirs):
                audit_record(
                    operation="Replace Billing File",
                    object_type="BillingFile",
                    object_id=other.pk,
                    object_repr=other.name,
                    before={"lines": other.line_count, "invoices": other.invoice_numbers},
                    after={"replaced_by": billing_file.name},
                    actor_name=self.actor,
                )
                replaced.append(other.name)
                other.delete()  # and its lines (CASCADE)
        return replaced

    # -- roll-up -------------------------------------------------------------------

    def finish(self) -> None:
        for report in self.reports.values():
            invoices = set()
            for numbers in report.files.values_list("invoice_numbers", flat=True):
                invoices.update(numbers)
            report.invoice_numbers = sorted(invoices)
            report.save(update_fields=["invoice_numbers", "imported_at"])
            roll_up_report(report, self.outcome)
            self.outcome.add_report(report)
            # Later months carry this one's figures forward: recompute them, oldest first.
            for later in BillingReport.objects.filter(
                currency=report.currency, month__gt=report.month
            ).order_by("month"):
                roll_up_report(later)
                self.outcome.add_report(later)


def previous_figures(report: BillingReport) -> dict[str, MonthFigures]:
    last = (
        BillingReport.objects.filter(currency=report.currency, month__lt=report.month)
        .order_by("-month")
        .first()
    )
    if last is None:
        return {}
    return {
        row.subscription.subscription_id: month_figures_from_json(row.figures)
        for row in last.subscription_months.select_related("subscription")
        if row.figures
    }


def month_offers(figures: list[MonthFigures]) -> dict[str, Offer]:
    """The offer each subscription month ends on, by subscription id: the Offer with the
    month's product, SKU and availability, and its term and billing plan where more than
    one has those (one query)."""
    keys = {item.offer_key for item in figures}
    candidates: dict[tuple, list[Offer]] = defaultdict(list)
    if keys:
        for offer in Offer.objects.filter(
            product_id__in={key.product_id for key in keys},
            sku_id__in={key.sku_id for key in keys},
        ).order_by("pk"):
            candidates[(offer.product_id, offer.sku_id, offer.availability_id)].append(offer)
    found = {}
    for item in figures:
        offers = candidates.get(tuple(item.offer_key))
        if not offers:
            continue
        wanted = (term_code(item.term_months), item.billing_frequency)
        found[item.subscription_id] = next(
            (offer for offer in offers if (offer.term, offer.billing_frequency) == wanted),
            next(
                (offer for offer in offers if offer.billing_frequency == item.billing_frequency),
                offers[-1],
            ),
        )
    return found


def roll_up_report(report: BillingReport, outcome: ImportOutcome | None = None) -> None:
    """Recompute the report's subscription months and Azure months from its stored lines."""
    lines = [
        recon_from_json(data)
        for data in BillingLine.objects.filter(
            report=report, kind=BillingLineKindChoices.INVOICE
        ).values_list("data", flat=True)
    ]
    figures = roll_up_subscriptions(lines, month=report.month, previous=previous_figures(report))
    subscriptions = {
        row.subscription_id: row
        for row in Subscription.objects.filter(
            subscription_id__in=[item.subscription_id for item in figures]
        )
    }
    offers = month_offers(figures)
    # A month imported late must not undo what a later month says of the subscription.
    latest = not BillingReport.objects.filter(
        currency=report.currency, month__gt=report.month
    ).exists()
    report.subscription_months.all().delete()
    rows = []
    for item in figures:
        subscription = subscriptions.get(item.subscription_id)
        if subscription is None:
            continue
        offer = offers.get(item.subscription_id)
        rows.append(
            SubscriptionMonth(
                report=report,
                subscription=subscription,
                offer=offer,
                record_type=item.record_type or "",
                unit_cost=item.unit_cost_month,
                unit_cost_source=item.unit_cost_source,
                largest_quantity=item.largest_quantity,
                end_quantity=item.end_quantity,
                total_cost=item.total_cost,
                charge_start=item.charge_start,
                charge_end=item.charge_end,
                cancelled=item.cancelled,
                carried_forward=item.carried_forward,
                warnings=list(item.warnings),
                figures=month_figures_to_json(item),
            )
        )
        if not latest:
            continue
        changes = {}
        if offer is not None and subscription.offer_id != offer.pk:
            changes["offer"] = offer
        if item.end_quantity is not None and subscription.quantity != item.end_quantity:
            changes["quantity"] = item.end_quantity
        if item.cancelled and subscription.status != SubscriptionStatusChoices.CANCELLED:
            changes["status"] = SubscriptionStatusChoices.CANCELLED
        if changes:
            Subscription.objects.filter(pk=subscription.pk).update(**changes)
    SubscriptionMonth.objects.bulk_create(rows)
    _roll_up_azure(report, rows, lines)
    if outcome is not None:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            totals[row.record_type or "unknown"] += row.total_cost
        outcome.totals_by_record_type = {key: str(value) for key, value in sorted(totals.items())}
        for row in rows:
            outcome.warnings += [f"{row.subscription.subscription_id}: {w}" for w in row.warnings]


def _roll_up_azure(
    report: BillingReport, months: list[SubscriptionMonth], lines: list[ReconLine]
) -> None:
    """Per organization and Azure plan: the invoice total (authoritative) and the daily
    usage as its breakdown. A difference beyond Microsoft's rounding down of each invoice
    line (`rollup.rounding_allowance`) is reported."""
    report.azure_months.all().delete()
    lines_by_plan: dict[str, list[ReconLine]] = defaultdict(list)
    for line in lines:
        lines_by_plan[line.subscription_id].append(line)
    usage = BillingLine.objects.filter(report=report, kind=BillingLineKindChoices.USAGE)
    usage_totals = {
        (row["organization"], row["subscription"]): row["total"]
        for row in usage.values("organization", "subscription").annotate(total=Sum("amount"))
    }
    breakdown: dict[tuple, dict] = defaultdict(lambda: {"detail": {}, "category": {}})
    for key, column in (("detail", "detail"), ("category", "category")):
        for row in usage.values("organization", "subscription", column).annotate(
            total=Sum("amount")
        ):
            target = breakdown[(row["organization"], row["subscription"])][key]
            target[row[column] or "(none)"] = f"{Decimal(row['total']).normalize():f}"
    plans = {
        (row.subscription.organization_id, row.subscription_id): row
        for row in months
        if row.record_type == RecordType.AZURE_PLAN
    }
    invoice_totals = {key: row.total_cost for key, row in plans.items()}
    rows = []
    for key in sorted(set(invoice_totals) | set(usage_totals), key=str):
        organization_id, subscription_id = key
        invoice_total = invoice_totals.get(key)
        usage_total = usage_totals.get(key)
        warnings = []
        if invoice_total is not None and usage_total is not None:
            allowed = rounding_allowance(lines_by_plan[plans[key].subscription.subscription_id])
            difference = usage_total - invoice_total
            if abs(difference) > allowed:
                warnings.append(
                    f"daily usage adds up to {usage_total:.2f}, the invoice to "
                    f"{invoice_total:.2f}: {difference:+.2f}, more than rounding explains "
                    f"(up to {allowed:.2f})"
                )
        elif invoice_total is None:
            warnings.append("daily usage without invoice lines: the total is an estimate")
        rows.append(
            AzureMonth(
                report=report,
                organization_id=organization_id,
                subscription_id=subscription_id,
                invoice_total=invoice_total if invoice_total is not None else usage_total,
                usage_total=usage_total,
                by_azure_subscription=breakdown[key]["detail"],
                by_meter_category=breakdown[key]["category"],
                warnings=warnings,
            )
        )
    AzureMonth.objects.bulk_create(rows)


def import_billing(
    files: list[tuple[Path, str]],
    *,
    month: dt.date | None = None,
    actor: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    """Import `files` ((path, name shown to people) pairs) in one transaction. A refusal
    changes nothing but the audit log, which records it as a failed import. A success is
    announced with ``signals.billing_imported``."""
    importer = Importer(month=month, actor=actor, progress=progress)
    try:
        with transaction.atomic():
            importer.add_files(files)
            importer.finish()
    except ImportValidationError as problem:
        audit_record(
            operation="Import Billing File",
            object_repr=", ".join(name for _, name in files),
            status="failed",
            details={"error": str(problem)},
            actor_name=actor or None,
        )
        raise
    # Robust: the import is committed; a receiver's failure (logged) must not undo that.
    billing_imported.send_robust(sender=ImportOutcome, outcome=importer.outcome)
    return importer.outcome


def import_microsoft_price_list(
    path: Path, name: str, *, actor: str = "", progress: Callable[[int], None] | None = None
) -> dict:
    """Microsoft's licence price list: each (product, SKU, term, plan, market, currency,
    start) row replaces the one imported before; all or nothing. ``progress`` is told the
    rows read so far, every few thousand."""
    rows = []
    with read_any(path, file_name=name) as stream:
        for row in stream:
            if not isinstance(row, PriceListRow):
                raise ImportValidationError(
                    name, None, None, "this is not a price list: import it as a billing file"
                )
            rows.append(
                MicrosoftPrice(
                    product_id=row.product_id,
                    sku_id=row.sku_id,
                    term=row.term_duration,
                    billing_frequency=BILLING_FREQUENCIES.get(row.billing_plan.lower(), ""),
                    market=row.market,
                    currency=row.currency,
                    segment=row.segment,
                    unit_price=row.unit_price,
                    erp_price=row.erp_price,
                    effective_start=row.effective_start_date,
                    effective_end=row.effective_end_date,
                )
            )
            if progress and len(rows) % BATCH == 0:
                progress(len(rows))
    if not rows:
        raise ImportValidationError(name, None, None, "the price list has a header but no rows")
    if progress:
        progress(len(rows))
    with transaction.atomic():
        replaced = _delete_replaced_prices(rows)
        MicrosoftPrice.objects.bulk_create(rows, batch_size=BATCH)
        audit_record(
            operation="Import Microsoft Price List",
            object_type="MicrosoftPrice",
            object_repr=name,
            after={"rows": len(rows), "replaced": replaced},
            actor_name=actor,
        )
    return {"rows": len(rows), "replaced": replaced}


_PRICE_KEY = (
    "product_id",
    "sku_id",
    "term",
    "billing_frequency",
    "market",
    "currency",
    "effective_start",
)


def _delete_replaced_prices(rows: list[MicrosoftPrice]) -> int:
    """Delete the stored rows that rows of the new list replace (same key): the stored
    rows of the list's products are read once, and deleted by id in batches."""
    incoming = {tuple(getattr(row, name) for name in _PRICE_KEY) for row in rows}
    products = sorted({row.product_id for row in rows})
    doomed = []
    for start in range(0, len(products), BATCH):
        stored = MicrosoftPrice.objects.filter(product_id__in=products[start : start + BATCH])
        doomed += [
            pk for pk, *key in stored.values_list("pk", *_PRICE_KEY) if tuple(key) in incoming
        ]
    for start in range(0, len(doomed), BATCH):
        MicrosoftPrice.objects.filter(pk__in=doomed[start : start + BATCH]).delete()
    return len(doomed)


def import_price_list(
    path: Path, name: str, *, actor: str, progress: Callable[[int], None] | None = None
) -> dict:
    """A price list, Microsoft's or the MSP's own, told apart by its header (the MSP's has
    ProductId, SkuId, AvailabilityId, Term, BillingFrequency, Currency, UnitPrice). The
    result says which (``list``: "msp" or "microsoft") with the counts of its import."""
    if is_msp_price_list(path, file_name=name):
        result = msp_price_list_import(path=Path(path), name=name, actor=actor)
        if progress:
            progress(result["rows"])
        return {"list": "msp", **result}
    try:
        result = import_microsoft_price_list(path, name, actor=actor, progress=progress)
    except ImportValidationError as problem:
        audit_record(
            operation="Import Microsoft Price List",
            object_type="MicrosoftPrice",
            object_repr=name,
            status="failed",
            details={"error": str(problem)},
            actor_name=actor,
        )
        raise
    return {"list": "microsoft", **result}
