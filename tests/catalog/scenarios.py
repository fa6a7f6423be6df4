"""Billing scenarios as invoice reconciliation lines, shared by the roll-up tests and the
file-level tests that write them out as CSV and import them.

The lines follow Microsoft's worked examples
(samples/partner-center/common-billing-scenarios-onetime-recurring.nce-example-lines.csv,
"example N" below) where there is one. Product and availability ids are illustrative;
short ids ("sub-1", "base") stand for GUIDs, which `csv_row` writes as `guid(name)`.
Scenarios over several months are dicts of month → lines.
"""

import datetime as dt
import itertools
import uuid
from dataclasses import fields, replace
from decimal import Decimal

from apps.catalog.importers.records import ReconLine
from apps.catalog.models import (
    AzureMonth,
    BillingFile,
    BillingLine,
    BillingReport,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from tests.catalog import generator

D = Decimal
line_numbers = itertools.count(2)

BUSINESS_STANDARD = {
    "product_id": "CFQ7TTC0LDPB",
    "sku_id": "0001",
    "availability_id": "CFQ7TTC0K5BV",
    "product_name": "Microsoft 365 Business Standard",
    "sku_name": "Microsoft 365 Business Standard",
}
OFFICE_E1 = {
    "product_id": "CFQ7TTC0LF8Q",
    "sku_id": "0001",
    "availability_id": "CFQ7TTC0K5DM",
    "product_name": "Office 365 E1",
    "sku_name": "Office 365 E1",
}

BASE = ReconLine(
    source_line=2,
    partner_id="partner",
    customer_id="cust-1",
    customer_name="Contoso",
    customer_domain_name="contoso.onmicrosoft.com",
    customer_country="DE",
    invoice_number="G000000001",
    mpn_id="1234567",
    tier2_mpn_id="",
    order_id="order",
    order_date=dt.date(2022, 3, 5),
    **BUSINESS_STANDARD,
    charge_type="new",
    unit_price=D("12"),
    quantity=D("10"),
    subtotal=D("120"),
    tax_total=None,
    total=None,
    currency="EUR",
    price_adjustment_description="",
    publisher_name="Microsoft Corporation",
    publisher_id="",
    subscription_description="",
    subscription_id="sub-1",
    charge_start_date=dt.date(2022, 3, 5),
    charge_end_date=dt.date(2022, 4, 4),
    term_and_billing_cycle="One-Month commitment for monthly billing",
    effective_unit_price=D("12"),
    unit_type="",
    alternate_id="",
    billable_quantity=D("10"),
    billing_frequency="Monthly",
    pricing_currency="EUR",
    pc_to_bc_exchange_rate=D("1"),
    pc_to_bc_exchange_rate_date=None,
    meter_description="",
    reservation_order_id="",
    credit_reason_code="",
    subscription_start_date=dt.date(2022, 3, 5),
    subscription_end_date=dt.date(2022, 4, 4),
    reference_id="",
    product_qualifiers=(),
    promotion_id="",
    product_category="",
)


def recon(base: ReconLine = BASE, /, **overrides) -> ReconLine:
    """An invoice reconciliation line: a monthly Business Standard licence (or ``base``)
    with the overrides and the next line number; strings become Decimal or date where the
    field is one."""
    for field in fields(ReconLine):
        value = overrides.get(field.name)
        if isinstance(value, str | int) and "Decimal" in str(field.type):
            overrides[field.name] = D(value)
        elif isinstance(value, str) and "date" in str(field.type):
            overrides[field.name] = dt.date.fromisoformat(value)
    return replace(base, source_line=next(line_numbers), **overrides)


def row(order, charge_type, eup, qty, subtotal, *, start=None, ref="", **overrides) -> ReconLine:
    """One billing event row: OrderDate (also the charge start unless given), ChargeType,
    EffectiveUnitPrice, BillableQuantity, Subtotal."""
    return recon(
        order_date=order,
        charge_start_date=start or order,
        charge_type=charge_type,
        effective_unit_price=eup,
        billable_quantity=qty,
        quantity=qty,
        subtotal=subtotal,
        reference_id=ref,
        **overrides,
    )


MARCH_SUB = "284b0ff0-0e74-4f65-cb23-f8ad95867994"


def march_2022_lines() -> list[ReconLine]:
    common = {
        "subscription_id": MARCH_SUB,
        "charge_end_date": "2022-04-04",
        "unit_price": "12",
    }
    return [
        row("2022-03-05", "new", "12.00", 10, "120", ref="7d71c595", **common),
        row("2022-03-07", "addQuantity", "-11.23", 10, "-112.25", ref="12d33e18", **common),
        row("2022-03-07", "addQuantity", "11.23", 15, "168.38", ref="12d33e18", **common),
        row("2022-03-10", "addQuantity", "-10.06", 15, "-150.96", ref="dc2a0a41", **common),
        row("2022-03-10", "addQuantity", "10.06", 25, "251.61", ref="dc2a0a41", **common),
        row("2022-03-12", "removeQuantity", "-9.29", 25, "-232.25", ref="2f8965ff", **common),
        row("2022-03-12", "removeQuantity", "9.29", 23, "213.67", ref="2f8965ff", **common),
        row("2022-03-14", "removeQuantity", "-8.52", 23, "-195.87", ref="73b3dc36", **common),
        row("2022-03-14", "removeQuantity", "8.52", 20, "170.32", ref="73b3dc36", **common),
        row("2022-03-25", "addQuantity", "-4.26", 20, "-85.16", ref="6759acd5", **common),
        row("2022-03-25", "addQuantity", "4.26", 30, "127.74", ref="6759acd5", **common),
    ]


def seat_changes_on_one_day() -> list[ReconLine]:
    common = {
        "charge_end_date": "2021-07-17",
        "unit_price": "10.08",
        "subscription_start_date": "2021-06-18",
        "subscription_end_date": "2021-07-17",
    }
    return [
        row("2021-06-18", "new", "10.08", 10, "100.80", ref="a", **common),
        row("2021-06-20", "addQuantity", "-9.408", 10, "-94.08", ref="b", **common),
        row("2021-06-20", "addQuantity", "9.408", 12, "112.89", ref="b", **common),
        row("2021-06-20", "removeQuantity", "-9.408", 12, "-112.89", ref="c", **common),
        row("2021-06-20", "removeQuantity", "9.408", 8, "75.26", ref="c", **common),
    ]


def reservation_line() -> ReconLine:
    # A three-year reservation paid up front, priced in USD, billed in EUR at 0.9.
    return row(
        "2024-03-15",
        "new",
        "3000",
        2,
        "5400.00",  # ROUNDDOWN(3000 × 0.9, 2) = 2700.00 per unit, × 2
        subscription_id="reservation",
        product_id="DZH318Z0BQ3Q",
        sku_id="0006",
        availability_id="DZH318Z0BQ3R",
        product_name="Reserved VM Instance, Standard_D2s_v3, West Europe",
        sku_name="Standard_D2s_v3",
        term_and_billing_cycle="Reservation, Three-Year commitment",
        unit_price="3000",
        pricing_currency="USD",
        pc_to_bc_exchange_rate="0.9",
        billing_frequency="",
        charge_end_date="2027-03-14",
        subscription_start_date="2024-03-15",
        subscription_end_date="2027-03-14",
    )


def marketplace_line() -> ReconLine:
    return row(
        "2024-03-01",
        "new",
        "1200",
        5,
        "6000.00",  # 1200 × 5
        subscription_id="saas",
        product_id="DZH318Z0BXWC",
        sku_id="0002",
        availability_id="DZH318Z0BP8B",
        product_name="Contoso Backup SaaS",
        sku_name="Contoso Backup - 5 users",
        publisher_name="Contoso Software Ltd",
        publisher_id="12345678",
        term_and_billing_cycle="1 Year Subscription",
        unit_price="1200",
        currency="USD",
        pricing_currency="USD",
        billing_frequency="Annual",
        charge_end_date="2025-02-28",
        subscription_start_date="2024-03-01",
        subscription_end_date="2025-02-28",
    )


def perpetual_line() -> ReconLine:
    return row(
        "2024-03-10",
        "new",
        "899.00",
        4,
        "3596.00",  # 899.00 × 4
        subscription_id="perpetual",
        product_id="DG7GMGF0FKZV",
        sku_id="0001",
        availability_id="DG7GMGF0FLR2",
        product_name="SQL Server 2022 Standard",
        sku_name="SQL Server 2022 Standard",
        term_and_billing_cycle="",
        unit_price="899",
        billing_frequency="",
        charge_end_date=None,
        subscription_start_date=None,
        subscription_end_date=None,
    )


def combined_product_lines() -> list[ReconLine]:
    # Microsoft 365 E5 arrives as two lines per event: a non-telco and a telco part.
    e5 = {
        "subscription_id": "e5",
        "product_id": "CFQ7TTC0LFLZ",
        "sku_id": "0002",
        "availability_id": "CFQ7TTC0K5F9",
        "product_name": "Microsoft 365 E5",
        "sku_name": "Microsoft 365 E5",
        "charge_end_date": "2024-03-31",
        "subscription_start_date": "2023-04-01",
        "subscription_end_date": "2024-03-31",
        "term_and_billing_cycle": "One-Year commitment for monthly/yearly billing",
    }
    return [
        row("2024-03-01", "cycleCharge", "48.00", 10, "480.00", ref="c", unit_price="48", **e5),
        row("2024-03-01", "cycleCharge", "9.00", 10, "90.00", ref="c", unit_price="9", **e5),
        # Mar 10: 10 -> 12 seats, 22 of 31 days: 48 × 22/31 = 34.06, 9 × 22/31 = 6.38.
        row("2024-03-10", "addQuantity", "-34.06", 10, "-340.60", ref="a", **e5),
        row("2024-03-10", "addQuantity", "34.06", 12, "408.72", ref="a", **e5),
        row("2024-03-10", "addQuantity", "-6.38", 10, "-63.80", ref="a", **e5),
        row("2024-03-10", "addQuantity", "6.38", 12, "76.56", ref="a", **e5),
    ]


# Scenarios built here (their expected figures are worked out in the tests) --------------


def cancellation_within_seven_days() -> list[ReconLine]:
    # Example 12: bought Jul 15, cancelled Jul 17 with a prorated refund.
    common = {"charge_end_date": "2021-08-14", "unit_price": "10.08"}
    return [
        row("2021-07-15", "new", "10.08", 10, "100.80", ref="n", **common),
        row("2021-07-17", "cancelImmediate", "-9.42", 10, "-94.20", ref="x", **common),
    ]


def full_upgrade_by_convert() -> list[ReconLine]:
    # Example 13: all 300 seats converted to Office 365 E1 in the same subscription.
    common = {"charge_end_date": "2021-07-17", "subscription_id": "284b0ff0"}
    return [
        row("2021-06-18", "new", "10.08", 300, "3024", unit_price="10.08", **common),
        row(
            "2021-06-25",
            "convert",
            "-7.72",
            300,
            "-2316",
            ref="12d33e18",
            unit_price="10.08",
            **common,
        ),
        row(
            "2021-06-25",
            "convert",
            "4.92",
            300,
            "1476",
            ref="12d33e18",
            unit_price="6.43",
            **OFFICE_E1,
            **common,
        ),
    ]


def partial_upgrade_by_convert() -> list[ReconLine]:
    # Example 14: 100 of 300 seats converted into a new subscription ("target").
    common = {"charge_end_date": "2021-07-17"}
    return [
        row("2021-06-18", "new", "10.08", 300, "3024", subscription_id="base", **common),
        row(
            "2021-06-25",
            "convert",
            "-7.72",
            100,
            "-772",
            ref="12d33e18",
            subscription_id="base",
            **common,
        ),
        row(
            "2021-06-25",
            "convert",
            "4.92",
            100,
            "492",
            ref="12d33e18",
            subscription_id="target",
            unit_price="6.43",
            **OFFICE_E1,
            **common,
        ),
    ]


def trial_conversion() -> list[ReconLine]:
    # Example 15: a free trial converted to paid on the day; another trial stays a trial.
    trial = {"product_qualifiers": ("Trial",), "unit_price": "0"}
    common = {"charge_end_date": "2021-07-24", "subscription_id": "trial-sub"}
    return [
        row("2021-06-25", "new", "0", 25, "0", **trial, **common),
        row("2021-06-25", "convert", "0", 25, "0", ref="t", **trial, **common),
        row("2021-06-25", "convert", "52.61", 25, "1315.25", ref="t", unit_price="52.61", **common),
        row("2021-06-25", "new", "0", 25, "0", subscription_id="still-trial", **trial),
    ]


TERM_2021 = {
    "subscription_start_date": "2021-09-20",
    "subscription_end_date": "2022-09-19",
    "term_and_billing_cycle": "One-Year commitment for monthly/yearly billing",
    "subscription_id": "plan-change",
}
SEPTEMBER_2021 = dt.date(2021, 9, 1)
OCTOBER_2021 = dt.date(2021, 10, 1)
SEPTEMBER_2022 = dt.date(2022, 9, 1)


def billing_plan_change_monthly_to_annual() -> dict[dt.date, list[ReconLine]]:
    # Example 16: bought monthly on Sep 20, 2021, changed to annual at the renewal.
    return {
        SEPTEMBER_2021: [
            row(
                "2021-09-20",
                "new",
                "20",
                10,
                "200",
                charge_end_date="2021-10-19",
                unit_price="20",
                **TERM_2021,
            )
        ],
        OCTOBER_2021: [
            row(
                "2021-10-20",
                "changeBillingPlan",
                "229.16",
                10,
                "2291.60",
                charge_end_date="2022-09-19",
                unit_price="250",
                billing_frequency="Annual",
                **TERM_2021,
            )
        ],
    }


def billing_plan_change_annual_to_monthly() -> dict[dt.date, list[ReconLine]]:
    # Example 17: bought annual on Sep 20, 2021, monthly from the renewal a year later.
    return {
        SEPTEMBER_2021: [
            row(
                "2021-09-20",
                "new",
                "250",
                10,
                "2500",
                charge_end_date="2022-09-19",
                unit_price="250",
                billing_frequency="Annual",
                **TERM_2021,
            )
        ],
        SEPTEMBER_2022: [
            row(
                "2022-09-20",
                "changeBillingPlan",
                "20",
                10,
                "200",
                charge_end_date="2022-10-19",
                unit_price="20",
                **{
                    **TERM_2021,
                    "subscription_start_date": "2022-09-20",
                    "subscription_end_date": "2023-09-19",
                },
            )
        ],
    }


JANUARY_2021 = dt.date(2021, 1, 1)
FEBRUARY_2021 = dt.date(2021, 2, 1)
LAST_DAY_TERM = {
    "subscription_start_date": "2021-01-31",
    "subscription_end_date": "2022-01-30",
    "term_and_billing_cycle": "One-Year commitment for monthly/yearly billing",
    "unit_price": "10.08",
}


def purchase_on_the_last_day_of_a_month() -> dict[dt.date, list[ReconLine]]:
    # Example 6: bought Jan 31; the cycles end on the day before the 31st, or the month's
    # last day.
    return {
        JANUARY_2021: [
            row(
                "2021-01-31",
                "new",
                "10.08",
                10,
                "100.80",
                charge_end_date="2021-02-27",
                **LAST_DAY_TERM,
            )
        ],
        FEBRUARY_2021: [
            row(
                "2021-02-28",
                "cycleCharge",
                "10.08",
                10,
                "100.80",
                charge_end_date="2021-03-30",
                **LAST_DAY_TERM,
            )
        ],
    }


# Writing lines out as file rows ---------------------------------------------------------

_GUID_COLUMNS = ("PartnerId", "CustomerId", "SubscriptionId", "ReferenceId", "ReservationOrderId")
_NAMESPACE = uuid.UUID("6f1d2c1e-5b0a-4f7e-9a3c-2d8e4b6a1c90")


def guid(name: str) -> str:
    """The GUID a short test id stands for in a file; a GUID stays as it is."""
    try:
        return str(uuid.UUID(name))
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, name))


def _field_of(column: str) -> str:
    """The ReconLine attribute a documented column fills ("PCToBCExchangeRate" →
    "pc_to_bc_exchange_rate"): the names agree once underscores and case are dropped."""
    wanted = column.lower()
    for field in fields(ReconLine):
        if field.name.replace("_", "") == wanted:
            return field.name
    raise KeyError(column)


_FIELDS = {column: _field_of(column) for column in generator.RECON_COLUMNS}


def csv_row(line: ReconLine) -> dict:
    """The line as a reconciliation CSV row for `generator.write_recon_csv`: dates as
    M/D/YYYY, Decimals as written, qualifiers as a JSON array, short ids as GUIDs."""
    values = {column: getattr(line, name) for column, name in _FIELDS.items()}
    for column in _GUID_COLUMNS:
        if values[column]:
            values[column] = guid(values[column])
    values["OrderId"] = values["OrderId"] or "order"
    return generator.recon_row(**values)


# Microsoft's March 2022 example as file rows, and what an import may change ------------

CUSTOMER = "196e2273-9651-43a3-ba7e-7cbcd918fc40"
SUBSCRIPTION = "284b0ff0-0e74-4f65-cb23-f8ad95867994"


def march_rows(**extra) -> list[dict]:
    """Microsoft's March 2022 example: 10 seats bought, then five seat changes."""
    common = {
        "CustomerId": CUSTOMER,
        "CustomerName": "Contoso Ltd",
        "CustomerDomainName": "contoso.onmicrosoft.com",
        "SubscriptionId": SUBSCRIPTION,
        "ProductName": "Microsoft 365 Business Standard",
        "SkuName": "Microsoft 365 Business Standard",
        "UnitPrice": "12",
        "Currency": "EUR",
        "PricingCurrency": "EUR",
        "PCToBCExchangeRate": "1",
        "ChargeStartDate": "3/5/2022",
        "ChargeEndDate": "4/4/2022",
        "SubscriptionStartDate": "3/5/2022",
        "SubscriptionEndDate": "3/4/2023",
        "BillingFrequency": "Monthly",
        "TermAndBillingCycle": "One-Year commitment for monthly/yearly billing",
        "InvoiceNumber": "G000000001",
        **extra,
    }
    events = [
        ("3/5/2022", "new", "12.00", "10", "120", 1),
        ("3/7/2022", "addQuantity", "-11.23", "10", "-112.25", 2),
        ("3/7/2022", "addQuantity", "11.23", "15", "168.38", 2),
        ("3/10/2022", "addQuantity", "-10.06", "15", "-150.96", 3),
        ("3/10/2022", "addQuantity", "10.06", "25", "251.61", 3),
        ("3/12/2022", "removeQuantity", "-9.29", "25", "-232.25", 4),
        ("3/12/2022", "removeQuantity", "9.29", "23", "213.67", 4),
        ("3/14/2022", "removeQuantity", "-8.52", "23", "-195.87", 5),
        ("3/14/2022", "removeQuantity", "8.52", "20", "170.32", 5),
        ("3/25/2022", "addQuantity", "-4.26", "20", "-85.16", 6),
        ("3/25/2022", "addQuantity", "4.26", "30", "127.74", 6),
    ]
    return [
        generator.recon_row(
            **common,
            OrderDate=day,
            ChargeType=kind,
            EffectiveUnitPrice=price,
            BillableQuantity=quantity,
            Quantity=quantity,
            Subtotal=subtotal,
            Total=subtotal,
            ReferenceId=f"00000000-0000-4000-8000-{reference:012d}",
        )
        for day, kind, price, quantity, subtotal, reference in events
    ]


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (
            Organization,
            Offer,
            Subscription,
            BillingReport,
            BillingFile,
            BillingLine,
            SubscriptionMonth,
            AzureMonth,
        )
    }
