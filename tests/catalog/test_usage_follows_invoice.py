"""A daily usage file belongs to its invoice (issue 11): both Partner Center files carry
InvoiceNumber and Azure is billed in arrears, so usage of February on the March invoice
goes to the March report, whose Azure breakdown then meets its total. Usage whose invoice
is in no import is refused and nothing is imported.

The invoice: G000000003, March 2026 in USD; a licence line and Contoso's Azure plan for
February, two meters: ROUNDDOWN(0.068 × 48, 2) = 3.26 and ROUNDDOWN(0.05 × 10.5, 2) = 0.52,
3.78 in all. The daily usage of February: 1.632 + 1.632 + 0.525 = 3.789, 0.009 over the
invoice, within two lines' rounding down (0.02), so no warning.
"""

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing.billing import import_billing
from apps.catalog.importing.runs import import_run_execute
from apps.catalog.models import AzureMonth, BillingFile, BillingLine, BillingReport, ImportRun
from tests.catalog.generator import (
    azure_plan_recon_row,
    recon_row,
    usage_row,
    usage_rows,
    write_recon_csv,
    write_usage_csv,
)
from tests.catalog.scenarios import counts
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

INVOICE = "G000000003"
MARCH = dt.date(2026, 3, 1)
REFUSED = (
    "usage-2026-02.csv, line 2, column InvoiceNumber: invoice G000000003 is in no invoice "
    "reconciliation file of this import or an earlier one, so the report this daily usage "
    "belongs to cannot be told: import the invoice reconciliation file of G000000003 first, "
    "or together with this file."
)


def march_invoice(tmp_path, number: str = INVOICE):
    march = {"InvoiceNumber": number, "OrderDate": "3/1/2026"}
    february = {**march, "ChargeStartDate": "2/1/2026", "ChargeEndDate": "2/28/2026"}
    return write_recon_csv(
        tmp_path / f"recon-{number}.csv",
        [
            recon_row(**march, ChargeStartDate="3/1/2026", ChargeEndDate="3/31/2026"),
            azure_plan_recon_row(**february, MeterDescription="D2 v3"),  # 3.26
            azure_plan_recon_row(**february, MeterDescription="LRS Data Stored",
                                 EffectiveUnitPrice="0.05", BillableQuantity="10.5",
                                 Quantity="10.5", Subtotal="0.52", Total="0.52"),
        ],
    )  # fmt: skip


def february_usage(tmp_path, number: str = INVOICE):
    february = {"InvoiceNumber": number, "ChargeStartDate": "2/1/2026",
                "ChargeEndDate": "2/28/2026"}  # fmt: skip
    return write_usage_csv(
        tmp_path / "usage-2026-02.csv",
        [
            usage_row(**february, UsageDate="2/3/2026"),  # 1.632
            usage_row(**february, UsageDate="2/4/2026"),  # 1.632
            usage_row(**february, UsageDate="2/4/2026", MeterCategory="Storage",
                      Quantity="10.5", EffectiveUnitPrice="0.05", BillingPreTaxTotal="0.525"),
        ],
    )  # fmt: skip


def assert_usage_meets_the_march_invoice():
    report = BillingReport.objects.get()  # no February report
    assert (report.month, report.currency) == (MARCH, "USD")
    assert set(BillingLine.objects.values_list("report", flat=True)) == {report.pk}
    assert BillingFile.objects.get(kind="usage").report == report
    azure = AzureMonth.objects.get()
    assert (azure.report, azure.invoice_total, azure.usage_total) == (report, D("3.78"), D("3.789"))
    assert azure.warnings == []


@pytest.mark.parametrize("usage_first", [False, True], ids=["invoice-first", "usage-first"])
@pytest.mark.parametrize("month", [None, MARCH], ids=["month-from-lines", "month-given"])
def test_february_usage_imported_with_its_march_invoice_goes_to_the_march_report(
    tmp_path, usage_first, month
):
    # Before: refused with --month (the usage dates are not in March) or, without, the
    # usage lines of the second file were checked against March and refused too.
    files = [march_invoice(tmp_path), february_usage(tmp_path)]
    if usage_first:
        files.reverse()
    outcome = import_billing([(path, path.name) for path in files], month=month)
    # The files are listed as given, although the invoice is read first.
    assert [item.name for item in outcome.files] == [path.name for path in files]
    assert outcome.reports == ["March 2026 (USD)"]
    assert outcome.warnings == []
    assert_usage_meets_the_march_invoice()


def test_usage_imported_after_its_invoice_goes_to_the_invoices_report(tmp_path):
    # Before: the usage alone made a February report of its own, apart from its invoice.
    import_billing([(march_invoice(tmp_path), "recon.csv")])
    assert AzureMonth.objects.get().usage_total is None
    outcome = import_billing([(february_usage(tmp_path), "usage-2026-02.csv")])
    assert outcome.reports == ["March 2026 (USD)"]  # the earlier report, rolled up again
    assert_usage_meets_the_march_invoice()


@pytest.mark.parametrize("with_another_invoice", [False, True], ids=["alone", "other-invoice"])
def test_usage_whose_invoice_is_in_no_import_is_refused_and_nothing_imported(
    tmp_path, with_another_invoice
):
    files = [february_usage(tmp_path)]
    if with_another_invoice:
        files.insert(0, march_invoice(tmp_path, number="G000000004"))
    before = counts()
    with pytest.raises(ImportValidationError) as problem:
        import_billing([(path, path.name) for path in files])
    assert str(problem.value) == REFUSED
    assert counts() == before
    failed = AuditEntry.objects.get(operation="Import Billing File", status="failed")
    assert failed.details == {"error": REFUSED}


def test_the_command_gives_the_same_message(tmp_path):
    usage = february_usage(tmp_path)
    before = counts()
    with pytest.raises(CommandError) as problem:
        call_command("import_billing", str(usage))
    assert str(problem.value) == f"Nothing was imported. {REFUSED}"
    assert counts() == before
    out = io.StringIO()
    call_command(
        "import_billing", str(march_invoice(tmp_path)), str(usage), "--month", "2026-03", stdout=out
    )
    assert "Reports: March 2026 (USD)." in out.getvalue()
    assert "Warning" not in out.getvalue()
    assert_usage_meets_the_march_invoice()


def test_the_upload_screen_gives_the_same_message(client, operator, tmp_path):
    sign_in(client, operator)
    usage = february_usage(tmp_path)
    client.post("/imports/new/", {"files": [SimpleUploadedFile(usage.name, usage.read_bytes())]})
    before = counts()
    run = import_run_execute(run_id=ImportRun.objects.get().pk)
    assert (run.status, run.error) == ("failed", f"Nothing was imported. {REFUSED}")
    assert counts() == before
    assert REFUSED in client.get(f"/imports/{run.pk}/").content.decode()

    invoice = march_invoice(tmp_path)
    uploads = [SimpleUploadedFile(path.name, path.read_bytes()) for path in (usage, invoice)]
    client.post("/imports/new/", {"files": uploads, "month": "2026-03"})
    run = import_run_execute(run_id=ImportRun.objects.latest("pk").pk)
    assert run.status == "succeeded", run.error
    assert_usage_meets_the_march_invoice()


def test_a_month_given_must_be_the_month_of_the_usages_invoice(tmp_path):
    import_billing([(march_invoice(tmp_path), "recon.csv")])
    before = counts()
    with pytest.raises(ImportValidationError) as problem:
        import_billing([(february_usage(tmp_path), "usage.csv")], month=dt.date(2026, 2, 1))
    assert str(problem.value) == (
        "usage.csv, line 2, column InvoiceNumber: invoice G000000003 belongs to the March "
        "2026 report, not to February 2026, the month of this import: import this usage "
        "file without a month, or with its invoice's."
    )
    assert counts() == before


def test_unbilled_usage_still_belongs_to_the_month_of_its_dates(tmp_path):
    # No InvoiceNumber (unbilled usage): as before, its dates must be in the import's month.
    files = [march_invoice(tmp_path), february_usage(tmp_path, number="")]
    with pytest.raises(ImportValidationError) as problem:
        import_billing([(path, path.name) for path in files])
    assert str(problem.value) == (
        "usage-2026-02.csv, line 2, column UsageDate: expected a date in March 2026, the "
        "month of this import, got 2026-02-03."
    )


def test_the_invoice_is_looked_up_once_per_file_not_per_line(tmp_path):
    write_recon_csv(tmp_path / "recon.csv", [azure_plan_recon_row()])  # G127575010
    import_billing([(tmp_path / "recon.csv", "recon.csv")])

    def queries_to_import(lines: int) -> int:
        path = write_usage_csv(tmp_path / f"usage-{lines}.csv", usage_rows(lines))
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            import_billing([(path, path.name)])
            transaction.set_rollback(True)
        return len(queries)

    assert queries_to_import(1500) == queries_to_import(30)
