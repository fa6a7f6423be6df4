"""The new-commerce invoice reconciliation CSV (47 columns) → `ReconLine`.

Columns as in PARTNER_CENTER.md §2 (the Graph `billedReconciliation` attribute set, full):
bound by header name, never by position, so reordered and extra columns are fine. The
columns the `basic` attribute set drops (and ProductCategory, the newest) may be absent
and then read as blank; every other column must be in the header.

    with recon_csv.read("G002297372.csv", month="2025-11") as lines:
        for line in lines:  # ReconLine, in file order
            ...

A line whose OrderDate is not in `month` (the report's month, §4) is refused.
"""

from . import cells
from .formats import Field, Format, register
from .records import ReconLine

COLUMNS = (
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
"""The 47 columns of the NCE invoice reconciliation file, in the documented order."""

CHARGE_TYPES = (
    "new",
    "renew",
    "cycleCharge",
    "addQuantity",
    "removeQuantity",
    "moveQuantity",
    "cancelImmediate",
    "convert",
    "changeBillingPlan",
    "customerCredit",
    "extendTerm",
    "Usage",
)
"""ChargeType values of the NCE reconciliation (Learn "recon-file-charge-types"), in their
canonical spelling; read without regard to case. "Usage" is in the docs' older examples."""

BILLING_FREQUENCIES = ("Monthly", "Annual", "Triennial")

parse_charge_type = cells.charge_type_parser(CHARGE_TYPES)
parse_billing_frequency = cells.choice_parser(
    BILLING_FREQUENCIES, "a billing frequency", blank="", keep_unknown=True
)

_d = cells

FORMAT = register(
    Format(
        name="recon_csv",
        title="new-commerce invoice reconciliation",
        record=ReconLine,
        columns=COLUMNS,
        month_attr="order_date",
        signature=("OrderDate", "BillableQuantity", "Subtotal", "TaxTotal"),
        fields=(
            Field("partner_id", "PartnerId", _d.parse_guid_or_blank),
            Field("customer_id", "CustomerId", _d.parse_guid),
            Field("customer_name", "CustomerName"),
            Field("customer_domain_name", "CustomerDomainName", required=False),
            Field("customer_country", "CustomerCountry", required=False),
            Field("invoice_number", "InvoiceNumber"),
            Field("mpn_id", "MpnId", required=False),
            Field("tier2_mpn_id", "Tier2MpnId", aliases=("ResellerMpnId",)),
            Field("order_id", "OrderId"),
            Field("order_date", "OrderDate", _d.parse_date),
            Field("product_id", "ProductId"),
            Field("sku_id", "SkuId", _d.normalize_sku_id),
            Field("availability_id", "AvailabilityId"),
            Field("sku_name", "SkuName"),
            Field("product_name", "ProductName"),
            Field("charge_type", "ChargeType", parse_charge_type),
            Field("unit_price", "UnitPrice", _d.parse_decimal_cached),
            Field("quantity", "Quantity", _d.parse_decimal_or_none, required=False),
            Field("subtotal", "Subtotal", _d.parse_decimal),
            Field("tax_total", "TaxTotal", _d.parse_decimal_or_none),
            Field("total", "Total", _d.parse_decimal_or_none, aliases=("TotalForCustomer",)),
            Field("currency", "Currency", _d.parse_currency),
            Field("price_adjustment_description", "PriceAdjustmentDescription"),
            Field("publisher_name", "PublisherName"),
            Field("publisher_id", "PublisherId", required=False),
            Field("subscription_description", "SubscriptionDescription", required=False),
            Field("subscription_id", "SubscriptionId", _d.parse_guid),
            Field("charge_start_date", "ChargeStartDate", _d.parse_date_or_none),
            Field("charge_end_date", "ChargeEndDate", _d.parse_date_or_none),
            Field("term_and_billing_cycle", "TermAndBillingCycle"),
            Field("effective_unit_price", "EffectiveUnitPrice", _d.parse_decimal),
            Field("unit_type", "UnitType", required=False),
            Field("alternate_id", "AlternateId", required=False),
            Field("billable_quantity", "BillableQuantity", _d.parse_nonnegative_decimal),
            Field("billing_frequency", "BillingFrequency", parse_billing_frequency, required=False),
            Field("pricing_currency", "PricingCurrency", _d.parse_currency_or_blank),
            Field("pc_to_bc_exchange_rate", "PCToBCExchangeRate", _d.parse_decimal_or_none_cached),
            Field(
                "pc_to_bc_exchange_rate_date",
                "PCToBCExchangeRateDate",
                _d.parse_date_or_none,
                required=False,
            ),
            Field("meter_description", "MeterDescription", required=False),
            Field("reservation_order_id", "ReservationOrderId", _d.parse_guid_or_blank),
            Field("credit_reason_code", "CreditReasonCode"),
            Field("subscription_start_date", "SubscriptionStartDate", _d.parse_date_or_none),
            Field("subscription_end_date", "SubscriptionEndDate", _d.parse_date_or_none),
            Field("reference_id", "ReferenceId", _d.parse_guid_or_blank),
            Field(
                "product_qualifiers",
                "ProductQualifiers",
                _d.parse_product_qualifiers,
                required=False,
            ),
            Field("promotion_id", "PromotionId"),
            Field("product_category", "ProductCategory", required=False),
        ),
    )
)


read = FORMAT.read
