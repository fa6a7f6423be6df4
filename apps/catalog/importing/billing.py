"""Import billing files into the database: all or nothing.

`import_billing()` reads every file (streaming), creates or updates organizations, offers
and subscriptions, stores the lines, replaces the lines of an earlier file it corrects,
and recomputes the month's roll-up (and that of every later month, which carries its
figures forward), all inside one transaction: a file that fails validation raises
`ImportValidationError` and changes nothing. A file imported before (same content hash)
changes nothing and says when it was imported.
"""

import datetime as dt
import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain
from pathlib import Path
from uuid import uuid4

from django.db import transaction

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.catalog.choices import BillingLineKindChoices
from apps.catalog.importers import detect_format, read_any
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importers.records import PriceListRow, ReconLine, UsageLine
from apps.catalog.importing.line_writer import STORED_AMOUNT, LineWriter
from apps.catalog.importing.months import roll_up_report
from apps.catalog.importing.outcome import FileOutcome, ImportOutcome
from apps.catalog.importing.references import References
from apps.catalog.models import BillingFile, BillingReport
from apps.catalog.rollup import first_of_month
from apps.catalog.signals import billing_imported

BATCH = 2000
"""Lines handed to the database at a time (and between progress reports)."""

USAGE_FORMATS = frozenset({"usage_csv", "usage_jsonl"})


def file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _sha256_meanwhile(path: Path) -> Future:
    """The file's digest, worked out on a thread of its own while the import reads the
    file (hashlib lets go of the GIL while it hashes): half a second of a million-line
    import. A thread per file, not a pool, so a process forked later holds no dead one."""
    digest: Future = Future()

    def work() -> None:
        try:
            digest.set_result(file_sha256(path))
        except BaseException as exc:  # handed to whoever reads the digest
            digest.set_exception(exc)

    threading.Thread(target=work, name="file-sha256", daemon=True).start()
    return digest


def _known(sha: str) -> Future:
    done: Future = Future()
    done.set_result(sha)
    return done


class _File:
    """One file being read: its row, its writer, and what its lines told so far."""

    def __init__(self, path: Path, name: str, digest: Future, stream):
        self.path, self.name, self.digest, self.stream = path, name, digest, stream
        self.record: BillingFile | None = None
        self.writer: LineWriter | None = None
        self.count = 0
        self.invoices: set[str] = set()
        self.currency = ""

    def refuse(self, line, column: str, message: str) -> ImportValidationError:
        return ImportValidationError(self.name, line.source_line, column, message)


class _Owners:
    """Whose each usage line of a file is, and the amounts summed per owner.

    A customer's organization and a subscription are looked up (and brought up to date)
    on the first line of each; a line without CustomerId belongs to whoever has its
    subscription at that line. `resolve` answers (organization id, subscription id, the
    owner's amounts per (Azure subscription, meter category)) and remembers it per
    (customer, subscription) in `by_pair` for lines with a CustomerId.
    """

    def __init__(self, references: References, file: _File):
        self.references, self.file = references, file
        self.by_pair: dict[tuple[str, str], tuple[int, int, dict]] = {}
        self.organizations: dict[str, int] = {}  # CustomerId → organization id
        self.subscriptions: dict[str, int] = {}  # SubscriptionId → subscription id
        self.sums: dict[tuple[int, int], dict[tuple, Decimal]] = {}

    def resolve(self, line: UsageLine) -> tuple[int, int, dict]:
        references = self.references
        if not line.customer_id:
            if line.subscription_id not in references.subscriptions:
                self.file.writer.pause()  # the look-up query
            return self._with_sums(references.owner_of(line, self.file.name))
        organization_id = self.organizations.get(line.customer_id)
        subscription_id = self.subscriptions.get(line.subscription_id)
        if organization_id is None or subscription_id is None:
            self.file.writer.pause()
            organization = references.organization(line)
            organization_id = self.organizations[line.customer_id] = organization.pk
            subscription = references.of_usage_line(line, organization)
            subscription_id = self.subscriptions[line.subscription_id] = subscription.pk
        owner = self._with_sums((organization_id, subscription_id))
        self.by_pair[(line.customer_id, line.subscription_id)] = owner
        return owner

    def _with_sums(self, ids: tuple[int, int]) -> tuple[int, int, dict]:
        return (*ids, self.sums.setdefault(ids, defaultdict(Decimal)))


class Importer:
    def __init__(self, *, month: dt.date | None, actor: str, progress=None):
        self.month = first_of_month(month) if month else None
        self.actor = actor
        self.progress = progress
        self.outcome = ImportOutcome()
        self.references = References(self.outcome, self.month)
        self.lines_read = 0
        # Usage file id → (organization id, subscription id) → its amounts summed per
        # (Azure subscription, meter category): the roll-up reads no million lines.
        self.usage_sums: dict[int, dict[tuple, dict[tuple, Decimal]]] = {}

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
        digest, earlier = self._digest(path)
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
            self._read(_File(path, name, digest, stream))

    @staticmethod
    def _digest(path: Path) -> tuple[Future, BillingFile | None]:
        """The file's SHA-256 (as a future), and the file imported before with the same
        content, if any. Only a file of the same size can be that file: for any other the
        digest is worked out while the lines are read, instead of before."""
        if BillingFile.objects.filter(size=path.stat().st_size).exists():
            sha = file_sha256(path)
            return _known(sha), BillingFile.objects.filter(sha256=sha).first()
        return _sha256_meanwhile(path), None

    def _read(self, file: _File) -> None:
        try:
            self._read_lines(file)
        except BaseException:
            if file.writer is not None:
                file.writer.close(failed=True)  # end the COPY so the rollback can run
            raise
        if file.record is None:
            raise ImportValidationError(file.name, None, None, "the file has a header but no lines")
        billing_file, invoices = file.record, sorted(file.invoices)
        billing_file.sha256 = sha = file.digest.result()
        billing_file.line_count = file.count
        billing_file.invoice_numbers = invoices
        billing_file.save(update_fields=["sha256", "line_count", "invoice_numbers"])
        if billing_file.kind == BillingLineKindChoices.INVOICE:
            for number in invoices:
                self.references.invoice_reports.setdefault(number, billing_file.report)
        replaced = self._replace_earlier(billing_file)
        audit_record(
            operation="Import Billing File",
            object_type="BillingFile",
            object_id=billing_file.pk,
            object_repr=file.name,
            after={"report": str(billing_file.report), "lines": file.count, "invoices": invoices},
            details={"sha256": sha, "replaced": replaced},
            actor_name=self.actor,
        )
        self.outcome.files.append(
            FileOutcome(
                name=file.name,
                status="imported",
                format=file.stream.format,
                lines=file.count,
                invoice_numbers=invoices,
                replaced=replaced,
            )
        )

    def _read_lines(self, file: _File) -> None:
        lines = iter(file.stream)
        first = next(lines, None)  # the format is known once the first row is read
        if first is None:
            return
        if isinstance(first, PriceListRow):
            raise ImportValidationError(
                file.name, None, None, "this is a price list: import it as a price list"
            )
        if isinstance(first, ReconLine):
            self._read_invoice_lines(file, first, lines)
        else:
            self._read_usage_lines(file, first, lines)
        if file.writer is not None:
            file.writer.close()

    def _start(self, file: _File, report: BillingReport, kind: str, currency: str) -> LineWriter:
        file.currency = currency
        file.record = BillingFile.objects.create(
            report=report,
            name=file.name,
            sha256=f"pending-{uuid4().hex}",  # the digest, once worked out (see _read)
            format=file.stream.format,
            kind=kind,
            size=file.path.stat().st_size,
            line_count=0,
            imported_by=self.actor,
        )
        file.writer = LineWriter(report.pk, file.record.pk, kind)
        return file.writer

    def _read_invoice_lines(self, file: _File, first: ReconLine, lines) -> None:
        """Invoice files are small (a line per subscription and charge): the ORM may run
        for every line. With the month given, the reader refuses other months."""
        references = self.references
        if self.month is None:
            self.month = first_of_month(first.order_date)
        month = self.month
        writer = self._start(
            file,
            references.report(month, first.currency),
            BillingLineKindChoices.INVOICE,
            first.currency,
        )
        rows = []
        for line in chain((first,), lines):
            day = line.order_date
            if day.year != month.year or day.month != month.month:
                raise file.refuse(
                    line,
                    "OrderDate",
                    f"expected a date in {month:%B %Y}, the month of this import, "
                    f"got {day.isoformat()}",
                )
            self._check_currency(file, line, line.currency, "Currency")
            if line.invoice_number:
                file.invoices.add(line.invoice_number)
            writer.pause()  # the ORM may query for this line
            organization = references.organization(line)
            offer, subscription = references.of_invoice_line(line, organization)
            rows.append(writer.invoice_row(line, organization.pk, subscription.pk, offer.pk))
            if len(rows) >= BATCH:
                self._write(file, rows)
                rows = []
        self._write(file, rows)

    def _read_usage_lines(self, file: _File, first: UsageLine, lines) -> None:
        """Daily usage: a million lines in a big month. Per line only what differs from
        the line before is looked at; organizations and subscriptions are looked up once
        each (the COPY pauses for those few queries)."""
        references = self.references
        report, month, why = self._usage_file_report(first, file.name)
        if report is None:
            report = references.report(self.month, first.billing_currency)
        writer = self._start(file, report, BillingLineKindChoices.USAGE, first.billing_currency)
        usage_row = writer.usage_row
        currency = file.currency
        days_seen: set[dt.date] = set()  # usage dates checked against the month already
        owners = _Owners(self.references, file)
        owner_of = owners.by_pair.get
        invoice_number = None
        rows: list[str] = []
        append = rows.append
        for line in chain((first,), lines):
            if line.invoice_number != invoice_number:
                invoice_number = line.invoice_number
                self._usage_invoice(file, line, report)
            day = line.usage_date
            if day not in days_seen:
                if day.year != month.year or day.month != month.month:
                    raise file.refuse(
                        line,
                        "UsageDate",
                        f"expected a date in {month:%B %Y}, {why}, got {day.isoformat()}",
                    )
                days_seen.add(day)
            if line.billing_currency != currency:
                self._check_currency(file, line, line.billing_currency, "BillingCurrency")
            owner = owner_of((line.customer_id, line.subscription_id))
            if owner is None:
                owner = owners.resolve(line)
            organization_id, subscription_id, sums = owner
            append(usage_row(line, organization_id, subscription_id))
            sums[(line.entitlement_id, line.meter_category)] += line.billing_pre_tax_total.quantize(
                STORED_AMOUNT, ROUND_HALF_UP
            )
            if len(rows) >= BATCH:
                self._write(file, rows)
                rows = []
                append = rows.append
        self._write(file, rows)
        self.usage_sums[file.record.pk] = owners.sums

    def _usage_invoice(self, file: _File, line: UsageLine, report: BillingReport) -> None:
        """A usage line whose invoice number differs from the line before: few per file."""
        number = line.invoice_number
        if not number:
            return
        file.invoices.add(number)
        if number not in self.references.invoice_reports:
            file.writer.pause()  # the look-up queries
        other = self.references.invoice_report(number, line, file.name)
        if other != report:
            raise file.refuse(
                line,
                "InvoiceNumber",
                f"invoice {number} belongs to the {other} report, the lines before it to "
                f"{report}: import the daily usage of each invoice as its own file",
            )

    @staticmethod
    def _check_currency(file: _File, line, currency: str, column: str) -> None:
        if currency != file.currency:
            raise file.refuse(
                line,
                column,
                f"expected {file.currency} like the lines before it (one billing currency "
                f"per file), got {currency}",
            )

    def _write(self, file: _File, rows: list) -> None:
        if rows:
            file.writer.write(rows)
            file.count += len(rows)
            self.lines_read += len(rows)
            if self.progress:
                self.progress(self.lines_read)

    def _usage_file_report(self, line: UsageLine, name: str) -> tuple:
        """For a usage file, from its first line: the report its lines go to (None: the
        report of the import's month, made once the currency is known), and the month
        every usage date must fall in, with why. Billed usage (an InvoiceNumber) goes to
        its invoice's report and its dates stay in its first line's month; usage without
        one (unbilled) belongs to the month of the import."""
        if line.invoice_number:
            report = self.references.invoice_report(line.invoice_number, line, name)
            month = first_of_month(line.usage_date)
            return report, month, "the usage month of the lines before it"
        if self.month is None:
            self.month = first_of_month(line.usage_date)
        return None, self.month, "the month of this import"

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
        for report in self.references.reports.values():
            invoices = set()
            for numbers in report.files.values_list("invoice_numbers", flat=True):
                invoices.update(numbers)
            report.invoice_numbers = sorted(invoices)
            report.save(update_fields=["invoice_numbers", "imported_at"])
            roll_up_report(report, self.outcome, usage_sums=self.usage_sums)
            self.outcome.add_report(report)
            # Later months carry this one's figures forward: recompute them, oldest first.
            for later in BillingReport.objects.filter(
                currency=report.currency, month__gt=report.month
            ).order_by("month"):
                roll_up_report(later)
                self.outcome.add_report(later)


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
            status=AuditEntryStatusChoices.FAILED,
            details={"error": str(problem)},
            actor_name=actor or None,
        )
        raise
    # Robust: the import is committed; a receiver's failure (logged) must not undo that.
    billing_imported.send_robust(sender=ImportOutcome, outcome=importer.outcome)
    return importer.outcome
