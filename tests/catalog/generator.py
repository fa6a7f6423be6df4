"""Billing files for tests, in the full formats Microsoft exports.

The header lists are copied from the documentation (shared/docs/PARTNER_CENTER.md §2 and
§5, and Learn "Pricing and offers" for the price list), not imported from the importers,
so the tests check the importers against the documents.

Rows are dicts keyed by column name; a column a row leaves out is written blank. Values
may be str (written as they are), int/Decimal, date (written MM/DD/YYYY in CSV, ISO in
JSON), list/tuple (written as a JSON array) or None (blank).

    from tests.catalog import generator as g

    path = g.write_recon_csv(tmp_path / "recon.csv", [
        g.recon_row(),                                   # a cycleCharge line, Nov 2025
        g.recon_row(ChargeType="new", BillableQuantity=5),
    ])
    g.write_usage_csv(tmp_path / "usage.csv", g.usage_rows(1000))   # any iterable
    g.write_jsonl(tmp_path / "usage.json.gz", [g.usage_row()], gzip=True, members=2)
    g.write_pricelist_csv(tmp_path / "prices.csv", [g.pricelist_row(UnitPrice="150")])

CSV options: `bom` (UTF-8 byte-order mark), `crlf` (Windows line ends), `quote_all`,
`apostrophes` (column names whose values get Excel's leading apostrophe), `columns` (a
different header: reordered, extra or missing columns), `gzip`.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import gzip as gzip_module
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

RECON_COLUMNS = (
    "PartnerId",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "InvoiceNumber",
    "MpnId",
    "Tier2MpnId",
    "OrderId",
    "OrderDate",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "Subtotal",
    "TaxTotal",
    "Total",
    "Currency",
    "PriceAdjustmentDescription",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "TermAndBillingCycle",
    "EffectiveUnitPrice",
    "UnitType",
    "AlternateId",
    "BillableQuantity",
    "BillingFrequency",
    "PricingCurrency",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "MeterDescription",
    "ReservationOrderId",
    "CreditReasonCode",
    "SubscriptionStartDate",
    "SubscriptionEndDate",
    "ReferenceId",
    "ProductQualifiers",
    "PromotionId",
    "ProductCategory",
)

USAGE_COLUMNS = (
    "PartnerId",
    "PartnerName",
    "CustomerId",
    "CustomerName",
    "CustomerDomainName",
    "CustomerCountry",
    "MpnId",
    "Tier2MpnId",
    "InvoiceNumber",
    "ProductId",
    "SkuId",
    "AvailabilityId",
    "SkuName",
    "ProductName",
    "PublisherName",
    "PublisherId",
    "SubscriptionDescription",
    "SubscriptionId",
    "ChargeStartDate",
    "ChargeEndDate",
    "UsageDate",
    "MeterType",
    "MeterCategory",
    "MeterId",
    "MeterSubCategory",
    "MeterName",
    "MeterRegion",
    "Unit",
    "ResourceLocation",
    "ConsumedService",
    "ResourceGroup",
    "ResourceURI",
    "ChargeType",
    "UnitPrice",
    "Quantity",
    "UnitType",
    "BillingPreTaxTotal",
    "BillingCurrency",
    "PricingPreTaxTotal",
    "PricingCurrency",
    "ServiceInfo1",
    "ServiceInfo2",
    "Tags",
    "AdditionalInfo",
    "EffectiveUnitPrice",
    "PCToBCExchangeRate",
    "PCToBCExchangeRateDate",
    "EntitlementId",
    "EntitlementDescription",
    "PartnerEarnedCreditPercentage",
    "CreditPercentage",
    "CreditType",
    "BenefitId",
    "BenefitOrderId",
    "BenefitType",
)

PRICELIST_COLUMNS = (
    "ChangeIndicator",
    "ProductTitle",
    "ProductId",
    "SkuId",
    "SkuTitle",
    "Publisher",
    "SkuDescription",
    "UnitOfMeasure",
    "TermDuration",
    "BillingPlan",
    "Market",
    "Currency",
    "UnitPrice",
    "PricingTierRangeMin",
    "PricingTierRangeMax",
    "EffectiveStartDate",
    "EffectiveEndDate",
    "Tags",
    "ERP Price",
    "Segment",
)

# Ids used by the default rows (made up, in the real shapes).
PARTNER_ID = "0e195b37-4574-4539-bc42-0e539b9684c0"
CUSTOMER_ID = "196e2273-9651-43a3-ba7e-7cbcd918fc40"
CUSTOMER_IDS = (
    CUSTOMER_ID,
    "835a59a7-3172-47b5-bdef-d9cc65f4d0e4",
    "c139c4bf-2e8b-4ab5-8bed-d9f50dcca7a2",
)
SUBSCRIPTION_ID = "9d7d1f3d-c8de-461c-db6d-91debd5129f0"  # a licence subscription
AZURE_PLAN_ID = "4b6e0f0c-6b1e-4c8e-9b8f-2d3c1a5e7f90"  # the customer's Azure plan
AZURE_PLAN_IDS = (
    AZURE_PLAN_ID,
    "5c7f1a1d-7c2f-4d9f-8a90-3e4d2b6f8a01",
    "6d802b2e-8d30-4ea0-9ba1-4f5e3c7a9b12",
)
ENTITLEMENT_ID = "66bada28-271e-4b7a-aaf5-c0ead6312345"  # an Azure subscription
REFERENCE_ID = "28b535e0-68f4-40b5-84f7-8ed9241eb149"
METER_ID = "cb0969aa-aaaa-4d6c-ab4b-7e182fa06aff"

_RECON_DEFAULTS = {
    "PartnerId": PARTNER_ID,
    "CustomerId": CUSTOMER_ID,
    "CustomerName": "Contoso Ltd",
    "CustomerDomainName": "contoso.onmicrosoft.com",
    "CustomerCountry": "US",
    "InvoiceNumber": "G127575010",
    "MpnId": "6034453",
    "Tier2MpnId": "",
    "OrderId": "6dc5c039750a",
    "OrderDate": "11/01/2025",
    "ProductId": "CFQ7TTC0LDPB",
    "SkuId": "0001",
    "AvailabilityId": "CFQ7TTC0K5BF",
    "SkuName": "Microsoft 365 Business Standard",
    "ProductName": "Microsoft 365 Business Standard",
    "ChargeType": "cycleCharge",
    "UnitPrice": "12.5",
    "Quantity": "10",
    "Subtotal": "125",
    "TaxTotal": "0",
    "Total": "125",
    "Currency": "USD",
    "PriceAdjustmentDescription": '["Price for given billing period"]',
    "PublisherName": "Microsoft Corporation",
    "PublisherId": "",
    "SubscriptionDescription": "",
    "SubscriptionId": SUBSCRIPTION_ID,
    "ChargeStartDate": "11/01/2025",
    "ChargeEndDate": "11/30/2025",
    "TermAndBillingCycle": "One-Year commitment for monthly/yearly billing",
    "EffectiveUnitPrice": "12.5",
    "UnitType": "",
    "AlternateId": "6dc5c039750a",
    "BillableQuantity": "10",
    "BillingFrequency": "Monthly",
    "PricingCurrency": "USD",
    "PCToBCExchangeRate": "1",
    "PCToBCExchangeRateDate": "11/01/2025",
    "MeterDescription": "",
    "ReservationOrderId": "",
    "CreditReasonCode": "",
    "SubscriptionStartDate": "05/01/2025",
    "SubscriptionEndDate": "04/30/2026",
    "ReferenceId": REFERENCE_ID,
    "ProductQualifiers": "[]",
    "PromotionId": "",
    "ProductCategory": "",
}

_USAGE_DEFAULTS = {
    "PartnerId": PARTNER_ID,
    "PartnerName": "Fabrikam MSP",
    "CustomerId": CUSTOMER_ID,
    "CustomerName": "Contoso Ltd",
    "CustomerDomainName": "contoso.onmicrosoft.com",
    "CustomerCountry": "US",
    "MpnId": "",
    "Tier2MpnId": "",
    "InvoiceNumber": "G127575010",
    "ProductId": "DZH318Z0BNVV",
    "SkuId": "000C",
    "AvailabilityId": "DZH318Z0BNXS",
    "SkuName": "D2 v3",
    "ProductName": "Dv3 Series Windows VM",
    "PublisherName": "Microsoft",
    "PublisherId": "",
    "SubscriptionDescription": "",
    "SubscriptionId": AZURE_PLAN_ID,
    "ChargeStartDate": "11/01/2025",
    "ChargeEndDate": "11/30/2025",
    "UsageDate": "11/03/2025",
    "MeterType": "1 Compute Hour",
    "MeterCategory": "Virtual Machines",
    "MeterId": METER_ID,
    "MeterSubCategory": "Dv3 Series Windows",
    "MeterName": "D2 v3",
    "MeterRegion": "",
    "Unit": "1 Hour",
    "ResourceLocation": "southeastasia",
    "ConsumedService": "microsoft.compute",
    "ResourceGroup": "rg-app",
    "ResourceURI": (
        f"/subscriptions/{ENTITLEMENT_ID}/resourceGroups/rg-app/providers/"
        "Microsoft.Compute/virtualMachines/vm-app-1"
    ),
    "ChargeType": "Usage",
    "UnitPrice": "0.08",
    "Quantity": "24",
    "UnitType": "1 Hour",
    "BillingPreTaxTotal": "1.632",
    "BillingCurrency": "USD",
    "PricingPreTaxTotal": "1.632",
    "PricingCurrency": "USD",
    "ServiceInfo1": "",
    "ServiceInfo2": "",
    "Tags": '{"env":"prod"}',
    "AdditionalInfo": '{"ServiceType":"Standard_D2s_v3","VCPUs":2}',
    "EffectiveUnitPrice": "0.068",
    "PCToBCExchangeRate": "1",
    "PCToBCExchangeRateDate": "11/01/2025",
    "EntitlementId": ENTITLEMENT_ID,
    "EntitlementDescription": "Production",
    "PartnerEarnedCreditPercentage": "15",
    "CreditPercentage": "15",
    "CreditType": "Partner Earned Credit Applied",
    "BenefitId": "",
    "BenefitOrderId": "",
    "BenefitType": "Charge",
}

_PRICELIST_DEFAULTS = {
    "ChangeIndicator": "Unchanged",
    "ProductTitle": "Microsoft 365 Business Basic",
    "ProductId": "CFQ7TTC0LH18",
    "SkuId": "0001",
    "SkuTitle": "Microsoft 365 Business Basic",
    "Publisher": "Microsoft Corporation",
    "SkuDescription": "Best for businesses that need professional email and cloud storage",
    "UnitOfMeasure": "",
    "TermDuration": "P1Y",
    "BillingPlan": "Annual",
    "Market": "US",
    "Currency": "USD",
    "UnitPrice": "72",
    "PricingTierRangeMin": "",
    "PricingTierRangeMax": "",
    "EffectiveStartDate": "2/1/2025 0:00",
    "EffectiveEndDate": "11/30/9999 23:59",
    "Tags": "License",
    "ERP Price": "86.4",
    "Segment": "Commercial",
}


def _row(defaults: Mapping[str, str], columns: Sequence[str], overrides: Mapping[str, Any]):
    unknown = [key for key in overrides if key not in columns]
    if unknown:
        raise KeyError(f"not a column of this file: {', '.join(unknown)}")
    return {**defaults, **overrides}


def recon_row(**overrides: Any) -> dict[str, Any]:
    """An NCE invoice reconciliation row: by default a cycleCharge of 10 seats of
    Microsoft 365 Business Standard at 12.50 USD for November 2025. Keys are column names;
    `recon_row(ChargeType="new", BillableQuantity=5)`."""
    return _row(_RECON_DEFAULTS, RECON_COLUMNS, overrides)


_AZURE_PLAN_RECON = {
    "SubscriptionId": AZURE_PLAN_ID,
    "SubscriptionDescription": "Azure plan",
    "ProductName": "Virtual Machines Dv3 Series",
    "SkuName": "D2 v3",
    "PublisherName": "Microsoft",
    "ChargeType": "usage",
    "OrderDate": "11/30/2025",
    "ChargeStartDate": "11/1/2025",
    "ChargeEndDate": "11/30/2025",
    "BillingFrequency": "",
    "TermAndBillingCycle": "",
    "SubscriptionStartDate": "",
    "SubscriptionEndDate": "",
    "UnitPrice": "0.08",
    "EffectiveUnitPrice": "0.068",
    "BillableQuantity": "48",
    "Quantity": "48",
    "Subtotal": "3.26",
    "Total": "3.26",
    "Currency": "USD",
    "PricingCurrency": "USD",
    "PCToBCExchangeRate": "1",
}


def azure_plan_recon_row(**overrides: Any) -> dict[str, Any]:
    """An Azure plan line of the reconciliation file (ChargeType usage, no term): by
    default Contoso's 48 D2 v3 hours of November 2025 at 0.068 USD after PEC, Subtotal
    ROUNDDOWN(0.068 × 48, 2) = 3.26."""
    return recon_row(**{**_AZURE_PLAN_RECON, **overrides})


def usage_row(**overrides: Any) -> dict[str, Any]:
    """A daily rated usage row: by default 24 hours of a D2 v3 VM on 11/03/2025 for
    Contoso, 0.068 USD an hour after 15 % PEC (1.632 USD)."""
    return _row(_USAGE_DEFAULTS, USAGE_COLUMNS, overrides)


def pricelist_row(**overrides: Any) -> dict[str, Any]:
    """A licence price list row: by default Microsoft 365 Business Basic, P1Y billed
    annually, 72 USD (ERP 86.40). `pricelist_row(**{"ERP Price": "90"})`."""
    return _row(_PRICELIST_DEFAULTS, PRICELIST_COLUMNS, overrides)


def usage_rows(
    count: int,
    *,
    year: int = 2025,
    month: int = 11,
    customers: int = 3,
) -> Iterator[dict[str, Any]]:
    """`count` varied daily usage rows for one month (a generator, for big files): the
    customers take turns, usage dates run through the month, quantities and amounts vary
    (a few in scientific notation), and some SkuIds lost their leading zeros ("1")."""
    base = usage_row()
    days = calendar.monthrange(year, month)[1]
    meters = (
        ("Virtual Machines", "D2 v3", "1 Hour", "0.068", "000C"),
        ("Storage", "LRS Data Stored", "1 GB/Month", "0.0184", "1"),
        ("Bandwidth", "Standard Data Transfer Out", "1 GB", "0.0748", "0033"),
    )
    for i in range(count):
        customer = i % customers
        category, meter, unit, price, sku = meters[i % len(meters)]
        quantity = Decimal(i % 997 + 1) / 100
        total = quantity * Decimal(price)
        row = dict(base)
        row["CustomerId"] = CUSTOMER_IDS[customer % len(CUSTOMER_IDS)]
        row["CustomerName"] = f"Customer {customer}"
        row["SubscriptionId"] = AZURE_PLAN_IDS[customer % len(AZURE_PLAN_IDS)]
        row["UsageDate"] = f"{month:02d}/{i % days + 1:02d}/{year}"
        row["ChargeStartDate"] = f"{month:02d}/01/{year}"
        row["ChargeEndDate"] = f"{month:02d}/{days:02d}/{year}"
        row["MeterCategory"] = category
        row["MeterName"] = meter
        row["Unit"] = row["UnitType"] = unit
        row["SkuId"] = sku
        row["Quantity"] = str(quantity)
        row["EffectiveUnitPrice"] = price
        row["BillingPreTaxTotal"] = f"{total:E}" if i % 50 == 0 else str(total)
        row["PricingPreTaxTotal"] = str(total)
        yield row


# ---------------------------------------------------------------------------- writing


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return f"{value.month:02d}/{value.day:02d}/{value.year}"
    if isinstance(value, list | tuple):
        return json.dumps(list(value), separators=(",", ":"))
    return str(value)


def write_csv(
    path: Path | str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    *,
    bom: bool = False,
    crlf: bool = False,
    quote_all: bool = False,
    apostrophes: Iterable[str] = (),
    gzip: bool = False,
) -> Path:
    """Write rows under the header `columns`; keys not in `columns` are ignored."""
    path = Path(path)
    apostrophes = frozenset(apostrophes)
    opener = gzip_module.open if gzip else open
    with opener(path, "wt", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
        writer = csv.writer(
            out,
            lineterminator="\r\n" if crlf else "\n",
            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        )
        writer.writerow(columns)
        marked = [i for i, column in enumerate(columns) if column in apostrophes]
        for row in rows:
            cells = [v if v.__class__ is str else _csv_cell(v) for v in map(row.get, columns)]
            for i in marked:
                if cells[i]:
                    cells[i] = "'" + cells[i]
            writer.writerow(cells)
    return path


def write_recon_csv(
    path: Path | str,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[str] = RECON_COLUMNS,
    **options: Any,
) -> Path:
    """An NCE invoice reconciliation CSV with the 47 documented columns."""
    return write_csv(path, columns, rows, **options)


def write_usage_csv(
    path: Path | str,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[str] = USAGE_COLUMNS,
    **options: Any,
) -> Path:
    """A daily rated usage CSV with the 55 columns of the real export."""
    return write_csv(path, columns, rows, **options)


def write_pricelist_csv(
    path: Path | str,
    rows: Iterable[Mapping[str, Any]],
    *,
    columns: Sequence[str] = PRICELIST_COLUMNS,
    **options: Any,
) -> Path:
    """A new-commerce licence price list CSV."""
    return write_csv(path, columns, rows, **options)


# v1 API key spellings where they are not simply the CSV name with a lower-case start.
_V1_KEYS = {
    "Tier2MpnId": "resellerMpnId",
    "Total": "totalForCustomer",
    "Unit": "unitOfMeasure",
    "PartnerEarnedCreditPercentage": "rateOfPartnerEarnedCredit",
    "CreditPercentage": "rateOfCredit",
    "PCToBCExchangeRate": "pcToBCExchangeRate",
    "PCToBCExchangeRateDate": "pcToBCExchangeRateDate",
    "ResourceURI": "resourceUri",
}


def camel_key(column: str) -> str:
    """The v1 API's name for a CSV column: "CustomerId" → "customerId",
    "Tier2MpnId" → "resellerMpnId". (PEC values are fractions there: convert them.)"""
    return _V1_KEYS.get(column) or column[:1].lower() + column[1:]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def jsonl_text(rows: Iterable[Mapping[str, Any]], *, camel_case: bool = False) -> str:
    """Rows as JSON Lines text (one object per line, each ending with a newline)."""
    out = io.StringIO()
    for row in rows:
        obj = {
            (camel_key(key) if camel_case else key): _json_value(value)
            for key, value in row.items()
        }
        out.write(json.dumps(obj, ensure_ascii=False))
        out.write("\n")
    return out.getvalue()


def write_jsonl(
    path: Path | str,
    rows: Iterable[Mapping[str, Any]],
    *,
    gzip: bool = False,
    members: int = 1,
    camel_case: bool = False,
) -> Path:
    """Rows as JSON Lines, keys as given (PascalCase like the Graph export) or, with
    `camel_case`, as the v1 API spells them. `gzip`: compressed, in `members` gzip
    members written one after the other (as concatenated export blobs are)."""
    path = Path(path)
    rows = list(rows)
    if not gzip:
        path.write_text(jsonl_text(rows, camel_case=camel_case), encoding="utf-8")
        return path
    members = max(1, members)
    size = -(-len(rows) // members) if rows else 0
    with open(path, "wb") as out:
        for start in range(members):
            part = rows[start * size : (start + 1) * size] if size else []
            data = jsonl_text(part, camel_case=camel_case).encode("utf-8")
            out.write(gzip_module.compress(data))
    return path
