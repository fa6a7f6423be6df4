"""Importing billing files into the database: all or nothing, once only, corrections replace.

Files are written by tests/catalog/generator.py from the documented headers; expected
figures are worked out by hand here.
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from apps.audit.models import AuditEntry
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing.billing import import_billing
from apps.catalog.importing.months import roll_up_report
from apps.catalog.models import (
    AzureMonth,
    BillingFile,
    BillingLine,
    BillingReport,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from tests.catalog.generator import (
    AZURE_PLAN_ID,
    azure_plan_recon_row,
    recon_row,
    usage_row,
    write_recon_csv,
    write_usage_csv,
)
from tests.catalog.scenarios import CUSTOMER, SUBSCRIPTION, counts, march_rows

pytestmark = pytest.mark.django_db

AZURE_PLAN = "9d7d1f3d-c8de-461c-db6d-91debd5129f0"
SUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"


def test_march_2022_example_end_to_end(tmp_path):
    path = tmp_path / "recon-2022-03.csv"
    write_recon_csv(path, march_rows(), bom=True)
    outcome = import_billing([(path, path.name)], actor="tester")

    assert [(f.status, f.lines) for f in outcome.files] == [("imported", 11)]
    assert (outcome.organizations_new, outcome.subscriptions_new, outcome.offers_new) == (1, 1, 1)
    report = BillingReport.objects.get()
    assert (report.month, report.currency) == (dt.date(2022, 3, 1), "EUR")
    month = SubscriptionMonth.objects.get()
    # 120 - 112.25 + 168.38 - 150.96 + 251.61 - 232.25 + 213.67 - 195.87 + 170.32 - 85.16
    # + 127.74 = 275.23; largest and final 30 seats; 12.00 a month from the `new` row.
    assert month.total_cost == D("275.23")
    assert (month.largest_quantity, month.end_quantity) == (D("30"), D("30"))
    assert month.unit_cost == D("12.00")
    assert month.record_type == "license_based"
    subscription = Subscription.objects.get()
    assert subscription.quantity == D("30")
    assert subscription.organization.name == "Contoso Ltd"
    assert subscription.offer.billing_frequency == "monthly"
    assert subscription.offer.term == "P1Y"
    assert outcome.totals_by_record_type == {"license_based": "275.23"}
    assert AuditEntry.objects.filter(operation="Import Billing File").count() == 1


def test_the_same_file_twice_changes_nothing(tmp_path):
    path = tmp_path / "recon.csv"
    write_recon_csv(path, march_rows())
    import_billing([(path, path.name)])
    before = counts()
    again = import_billing([(path, "renamed copy.csv")])
    assert again.files[0].status == "already imported"
    assert "already imported on" in again.files[0].note
    assert not again.changed_anything
    assert counts() == before


def test_a_corrected_file_replaces_the_earlier_one(tmp_path):
    first = tmp_path / "recon.csv"
    write_recon_csv(first, march_rows())
    import_billing([(first, first.name)])
    corrected_rows = march_rows()[:1]  # Microsoft re-issued the month with only the purchase
    corrected = tmp_path / "recon-corrected.csv"
    write_recon_csv(corrected, corrected_rows)
    outcome = import_billing([(corrected, corrected.name)])
    assert outcome.files[0].replaced == ["recon.csv"]
    assert BillingFile.objects.get().name == "recon-corrected.csv"
    assert BillingLine.objects.count() == 1
    assert SubscriptionMonth.objects.get().total_cost == D("120")
    assert AuditEntry.objects.filter(operation="Replace Billing File").count() == 1


def test_a_bad_line_changes_nothing_and_names_file_line_and_column(tmp_path):
    good = tmp_path / "good.csv"
    write_recon_csv(good, march_rows())
    rows = march_rows()
    rows[4]["OrderDate"] = "13/45/2022"
    bad = tmp_path / "bad.csv"
    write_recon_csv(bad, rows)
    before = counts()
    with pytest.raises(ImportValidationError) as problem:
        import_billing([(good, good.name), (bad, bad.name)])
    message = str(problem.value)
    assert message.startswith("bad.csv, line 6, column OrderDate")
    assert counts() == before


def test_a_line_of_another_month_is_refused(tmp_path):
    rows = march_rows()
    rows[3]["OrderDate"] = "4/2/2022"
    path = tmp_path / "recon.csv"
    write_recon_csv(path, rows)
    before = counts()
    with pytest.raises(ImportValidationError) as problem:
        import_billing([(path, path.name)])
    assert "line 5" in str(problem.value)
    assert "March 2022" in str(problem.value)
    assert counts() == before


def test_the_month_can_be_given_and_must_match(tmp_path):
    path = tmp_path / "recon.csv"
    write_recon_csv(path, march_rows())
    before = counts()
    with pytest.raises(ImportValidationError):
        import_billing([(path, path.name)], month=dt.date(2022, 4, 1))
    assert counts() == before
    import_billing([(path, path.name)], month=dt.date(2022, 3, 1))
    assert BillingReport.objects.get().month == dt.date(2022, 3, 1)


def test_azure_plan_invoice_total_with_usage_breakdown(tmp_path):
    invoice = tmp_path / "recon-azure.csv"
    azure = {"CustomerId": CUSTOMER, "SubscriptionId": AZURE_PLAN, "InvoiceNumber": "G127575010"}
    # Two meters; Subtotal = ROUNDDOWN(EUP x quantity, 2): 0.068 x 48 = 3.264 -> 3.26 and
    # 0.05 x 10.5 = 0.525 -> 0.52; invoice total 3.78.
    write_recon_csv(
        invoice,
        [
            azure_plan_recon_row(
                **azure,
                MeterDescription="D2 v3",
                EffectiveUnitPrice="0.068",
                BillableQuantity="48",
                Quantity="48",
                Subtotal="3.26",
                Total="3.26",
            ),
            azure_plan_recon_row(
                **azure,
                MeterDescription="LRS Data Stored",
                EffectiveUnitPrice="0.05",
                BillableQuantity="10.5",
                Quantity="10.5",
                Subtotal="0.52",
                Total="0.52",
            ),
        ],
    )
    usage = tmp_path / "usage.csv"
    base = {"CustomerId": CUSTOMER, "SubscriptionId": AZURE_PLAN, "InvoiceNumber": "G127575010"}
    write_usage_csv(
        usage,
        [
            usage_row(
                **base,
                UsageDate="11/3/2025",
                Quantity="24",
                EffectiveUnitPrice="0.068",
                BillingPreTaxTotal="1.632",
                MeterCategory="Virtual Machines",
                EntitlementId=SUB_A,
            ),
            usage_row(
                **base,
                UsageDate="11/4/2025",
                Quantity="24",
                EffectiveUnitPrice="0.068",
                BillingPreTaxTotal="1.632",
                MeterCategory="Virtual Machines",
                EntitlementId=SUB_B,
            ),
            usage_row(
                **base,
                UsageDate="11/4/2025",
                Quantity="10.5",
                EffectiveUnitPrice="0.05",
                BillingPreTaxTotal="0.525",
                MeterCategory="Storage",
                EntitlementId=SUB_A,
            ),
        ],
    )
    outcome = import_billing([(invoice, invoice.name), (usage, usage.name)])
    assert [f.status for f in outcome.files] == ["imported", "imported"]
    azure_month = AzureMonth.objects.get()
    assert azure_month.invoice_total == D("3.78")  # 3.26 + 0.52
    assert azure_month.usage_total == D("3.789")  # 1.632 + 1.632 + 0.525
    assert azure_month.by_azure_subscription == {SUB_A: "2.157", SUB_B: "1.632"}
    assert azure_month.by_meter_category == {"Storage": "0.525", "Virtual Machines": "3.264"}
    # 3.789 - 3.78 = 0.009: within two invoice lines' rounding (0.02): no warning.
    assert azure_month.warnings == []
    assert Subscription.objects.get(subscription_id=AZURE_PLAN).record_type == "azure_plan"


def test_azure_rounding_allowance_grows_with_an_exchange_rate(tmp_path):
    # Priced in USD, billed in EUR at 0.9234. The invoice line:
    #   ROUNDDOWN(0.068 × 99.99, 2) = 6.79; ROUNDDOWN(6.79 × 0.9234, 2) = 6.26
    # Daily usage, unrounded: 6.79932 × 0.9234 = 6.278492088, 0.018492088 more: over one
    # cent, but within 0.01 × (1 + 0.9234) = 0.019234, so no warning. One cent over that is.
    eur = {"Currency": "EUR", "PricingCurrency": "USD", "PCToBCExchangeRate": "0.9234"}
    invoice = write_recon_csv(
        tmp_path / "recon.csv",
        [azure_plan_recon_row(**eur, BillableQuantity="99.99", Quantity="99.99",
                              Subtotal="6.26", Total="6.26")],
    )  # fmt: skip
    for total, warned in (("6.278492088", False), ("6.289", True)):
        usage = write_usage_csv(
            tmp_path / f"usage-{total}.csv",
            [usage_row(SubscriptionId=AZURE_PLAN_ID, Quantity="99.99", BillingCurrency="EUR",
                       PCToBCExchangeRate="0.9234", BillingPreTaxTotal=total)],
        )  # fmt: skip
        import_billing([(invoice, invoice.name), (usage, usage.name)])
        azure_month = AzureMonth.objects.get()
        assert azure_month.invoice_total == D("6.26")
        assert bool(azure_month.warnings) is warned, azure_month.warnings


def test_a_usage_line_without_customer_id_belongs_to_whoever_has_its_subscription(tmp_path):
    # Microsoft's marketplace example lines have a blank customerId. The Azure plan is
    # Contoso's from the first line, so the blank line is Contoso's too. Unbilled usage
    # (no InvoiceNumber), so the file imports alone: billed usage follows its invoice,
    # which this test is not about.
    usage = tmp_path / "usage.csv"
    base = {"CustomerId": CUSTOMER, "SubscriptionId": AZURE_PLAN, "InvoiceNumber": ""}
    write_usage_csv(
        usage,
        [
            usage_row(**base, BillingPreTaxTotal="1.632"),
            usage_row(
                **{**base, "CustomerId": "", "CustomerName": ""},
                UsageDate="11/4/2025",
                BillingPreTaxTotal="0.5",
            ),
        ],
    )
    import_billing([(usage, usage.name)])

    assert Organization.objects.count() == 1
    contoso = Organization.objects.get(customer_id=CUSTOMER)
    assert contoso.name == "Contoso Ltd"
    assert list(BillingLine.objects.values_list("organization_id", flat=True)) == [
        contoso.pk,
        contoso.pk,
    ]
    assert AzureMonth.objects.get(organization=contoso).usage_total == D("2.132")  # 1.632 + 0.5


OTHER = "00000000-0000-4000-8000-00000000000b"  # a second customer
PLAN_2 = "cccccccc-0000-4000-8000-000000000003"  # a second Azure plan


def unbilled(tmp_path, name: str, rows: list[dict]):
    """A usage file without InvoiceNumber (unbilled usage imports on its own)."""
    return write_usage_csv(tmp_path / name, [usage_row(InvoiceNumber="", **row) for row in rows])


def test_a_line_without_customer_id_belongs_to_the_owner_of_its_subscription_at_that_line(
    tmp_path,
):
    # The plan is Contoso's (an earlier import); the file's second line hands it to the
    # other customer, so the line after it is the other customer's, the first Contoso's.
    earlier = unbilled(
        tmp_path, "earlier.csv", [{"CustomerId": CUSTOMER, "SubscriptionId": AZURE_PLAN}]
    )
    import_billing([(earlier, earlier.name)])
    blank = {"CustomerId": "", "CustomerName": "", "SubscriptionId": AZURE_PLAN}
    usage = unbilled(tmp_path, "usage.csv", [
        {**blank, "BillingPreTaxTotal": "1"},
        {"CustomerId": OTHER, "CustomerName": "Fabrikam", "SubscriptionId": AZURE_PLAN,
         "BillingPreTaxTotal": "2", "UsageDate": "11/4/2025"},
        {**blank, "BillingPreTaxTotal": "4", "UsageDate": "11/5/2025"},
    ])  # fmt: skip
    import_billing([(usage, usage.name)])

    contoso, fabrikam = (Organization.objects.get(customer_id=c) for c in (CUSTOMER, OTHER))
    owners = dict(
        BillingLine.objects.filter(file__name="usage.csv").values_list(
            "line_number", "organization"
        )
    )
    assert owners == {2: contoso.pk, 3: fabrikam.pk, 4: fabrikam.pk}
    totals = dict(AzureMonth.objects.values_list("organization", "usage_total"))
    assert totals == {contoso.pk: D("1"), fabrikam.pk: D("6")}


def test_a_known_customer_and_subscription_on_a_new_pair_of_lines_change_nothing(tmp_path):
    # Both the customer and the plan were met on lines before: the third line (Contoso on
    # the other customer's plan, under another name) neither moves the plan nor renames.
    usage = unbilled(tmp_path, "usage.csv", [
        {"CustomerId": CUSTOMER, "SubscriptionId": AZURE_PLAN},
        {"CustomerId": OTHER, "CustomerName": "Fabrikam", "SubscriptionId": PLAN_2},
        {"CustomerId": CUSTOMER, "CustomerName": "Contoso Renamed", "SubscriptionId": PLAN_2},
    ])  # fmt: skip
    import_billing([(usage, usage.name)])

    fabrikam = Organization.objects.get(customer_id=OTHER)
    assert Subscription.objects.get(subscription_id=PLAN_2).organization == fabrikam
    assert Organization.objects.get(customer_id=CUSTOMER).name == "Contoso Ltd"


def test_the_azure_month_adds_up_the_lines_as_stored(tmp_path):
    # Daily usage amounts are unrounded (8 decimals here); a line stores 6, rounded half
    # away from zero. The importer sums the lines as it reads them; the Azure month must
    # say what the stored lines add up to, and the same as a roll-up from the database.
    invoice = write_recon_csv(tmp_path / "recon.csv", [azure_plan_recon_row()])
    amounts = [
        ("1.23456789", SUB_A, "Storage"),
        ("0.00000049", SUB_A, "Storage"),
        ("2.50000050", SUB_B, "Storage"),
        ("7.10833E-05", SUB_B, "Virtual Machines"),
    ]
    usage = write_usage_csv(
        tmp_path / "usage.csv",
        [usage_row(SubscriptionId=AZURE_PLAN_ID, BillingPreTaxTotal=amount, EntitlementId=sub,
                   MeterCategory=category) for amount, sub, category in amounts],
    )  # fmt: skip
    import_billing([(invoice, invoice.name), (usage, usage.name)])

    stored = BillingLine.objects.filter(kind="usage")
    assert sorted(stored.values_list("amount", flat=True)) == [
        D("0.000000"), D("0.000071"), D("1.234568"), D("2.500001")
    ]  # fmt: skip
    azure_month = AzureMonth.objects.get()
    assert azure_month.usage_total == D("3.734640")
    assert azure_month.by_azure_subscription == {SUB_A: "1.234568", SUB_B: "2.500072"}
    assert azure_month.by_meter_category == {"Storage": "3.734569", "Virtual Machines": "0.000071"}
    summed_here = AzureMonth.objects.values().get()
    roll_up_report(BillingReport.objects.get())  # from the stored lines alone
    from_database = AzureMonth.objects.values().get()
    assert {**from_database, "id": None} == {**summed_here, "id": None}


@pytest.mark.parametrize("january_first", [True, False], ids=["in-order", "january-late"])
def test_annual_plan_is_carried_into_the_next_month(tmp_path, january_first):
    annual = {
        "CustomerId": CUSTOMER,
        "SubscriptionId": SUBSCRIPTION,
        "ChargeType": "new",
        "OrderDate": "1/10/2026",
        "ChargeStartDate": "1/10/2026",
        "ChargeEndDate": "1/9/2027",
        "SubscriptionStartDate": "1/10/2026",
        "SubscriptionEndDate": "1/9/2027",
        "BillingFrequency": "Annual",
        "TermAndBillingCycle": "One-Year commitment for monthly/yearly billing",
        "UnitPrice": "144",
        "EffectiveUnitPrice": "144",
        "BillableQuantity": "5",
        "Quantity": "5",
        "Subtotal": "720",
        "Total": "720",
        "Currency": "USD",
        "PricingCurrency": "USD",
        "PCToBCExchangeRate": "1",
        "InvoiceNumber": "G1",
    }
    january = tmp_path / "jan.csv"
    write_recon_csv(january, [recon_row(**annual)])
    if january_first:
        import_billing([(january, january.name)])
    # February: another customer's line only; the annual plan has no line this month.
    february = tmp_path / "feb.csv"
    write_recon_csv(
        february,
        [
            recon_row(
                CustomerId="0e195b37-4574-4539-bc42-0e539b9684c0",
                SubscriptionId="11111111-2222-3333-4444-555555555555",
                OrderDate="2/1/2026",
                ChargeStartDate="2/1/2026",
                ChargeEndDate="2/28/2026",
                Currency="USD",
                InvoiceNumber="G2",
            )
        ],
    )
    import_billing([(february, february.name)])
    if not january_first:  # imported after February: February is recomputed
        outcome = import_billing([(january, january.name)])
        assert outcome.reports == ["January 2026 (USD)", "February 2026 (USD)"]
    carried = SubscriptionMonth.objects.get(
        report__month=dt.date(2026, 2, 1), subscription__subscription_id=SUBSCRIPTION
    )
    assert carried.carried_forward
    assert carried.unit_cost == D("12.0000")  # 720 / 5 seats / 12 months
    assert carried.end_quantity == D("5")
    assert carried.total_cost == D("0")


def test_the_cli_imports_and_fails_with_a_non_zero_status(tmp_path):
    import io

    from django.core.management import CommandError, call_command

    path = tmp_path / "recon.csv"
    write_recon_csv(path, march_rows())
    out = io.StringIO()
    call_command("import_billing", str(path), "--month", "2022-03", stdout=out)
    assert "recon.csv: imported, 11 lines" in out.getvalue()
    assert "license_based: 275.23" in out.getvalue()
    out = io.StringIO()
    call_command("import_billing", str(path), stdout=out)
    assert "already imported on" in out.getvalue()
    assert "Nothing changed." in out.getvalue()

    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    before = counts()
    with pytest.raises(CommandError, match=r"Nothing was imported\. empty\.csv"):
        call_command("import_billing", str(bad))
    assert counts() == before
    assert AuditEntry.objects.filter(operation="Import Billing File", status="failed").exists()
    with pytest.raises(CommandError, match="--month must look like 2026-03"):
        call_command("import_billing", str(path), "--month", "March")


def test_microsoft_price_list_import_replaces_same_rows(tmp_path):
    import io

    from django.core.management import CommandError, call_command

    from apps.catalog.models import MicrosoftPrice
    from tests.catalog.generator import pricelist_row, write_pricelist_csv

    path = tmp_path / "prices.csv"
    write_pricelist_csv(path, [pricelist_row()])
    out = io.StringIO()
    call_command("import_pricelist", str(path), stdout=out)
    assert "1 prices imported (0 replaced)" in out.getvalue()
    price = MicrosoftPrice.objects.get()
    assert (price.unit_price, price.erp_price) == (D("72"), D("86.4"))  # the row as written
    call_command("import_pricelist", str(path), stdout=out)
    assert MicrosoftPrice.objects.count() == 1
    billing = tmp_path / "recon.csv"
    write_recon_csv(billing, march_rows())
    with pytest.raises(CommandError, match="this is not a price list"):
        call_command("import_pricelist", str(billing))
    assert MicrosoftPrice.objects.count() == 1
