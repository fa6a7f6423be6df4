"""The new-commerce daily rated usage CSV (55 columns) → `UsageLine`.

Columns as in PARTNER_CENTER.md §5 (the order of a real November 2025 billed-usage export;
Microsoft's docs put BenefitOrderId before BenefitId): bound by header name, so any order
and extra columns are fine. The descriptive columns the roll-up does not need, and the ones
added to the data set after its first version (EntitlementId, EffectiveUnitPrice,
PCToBCExchangeRate, PEC), may be absent and then read as blank.

A file of a million lines streams: nothing is held but the current block and record.

    with usage_csv.read(path, month="2025-11") as lines:
        for line in lines:  # UsageLine
            ...

A line whose UsageDate is not in `month` is refused.
"""

from . import cells
from .formats import Field, Format, register
from .records import UsageLine

COLUMNS = (
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
"""The 55 columns of the daily rated usage file, in the order of the real export."""

CHARGE_TYPES = ("Usage", "new")
"""ChargeType in daily rated usage: "Usage" (every row of the real export); the 2021 API
examples show "new". Read without regard to case."""

parse_charge_type = cells.charge_type_parser(CHARGE_TYPES)

_d = cells

FORMAT = register(
    Format(
        name="usage_csv",
        title="new-commerce daily rated usage",
        record=UsageLine,
        columns=COLUMNS,
        month_attr="usage_date",
        signature=("UsageDate", "MeterCategory", "BillingPreTaxTotal", "MeterId"),
        fields=(
            Field("partner_id", "PartnerId", _d.parse_guid_or_blank),
            # Blank in Microsoft's own marketplace example (v1 API); a GUID when present.
            Field("customer_id", "CustomerId", _d.parse_guid_or_blank),
            Field("customer_name", "CustomerName"),
            Field("customer_domain_name", "CustomerDomainName", required=False),
            Field("customer_country", "CustomerCountry", required=False),
            Field("invoice_number", "InvoiceNumber"),
            Field("product_id", "ProductId"),
            Field("sku_id", "SkuId", _d.normalize_sku_id),
            Field("availability_id", "AvailabilityId", required=False),
            Field("sku_name", "SkuName"),
            Field("product_name", "ProductName"),
            Field("publisher_name", "PublisherName"),
            Field("publisher_id", "PublisherId", required=False),
            Field("subscription_description", "SubscriptionDescription", required=False),
            Field("subscription_id", "SubscriptionId", _d.parse_guid),
            Field("charge_start_date", "ChargeStartDate", _d.parse_date_or_none),
            Field("charge_end_date", "ChargeEndDate", _d.parse_date_or_none),
            Field("usage_date", "UsageDate", _d.parse_date),
            Field("meter_category", "MeterCategory"),
            Field("meter_sub_category", "MeterSubCategory", required=False),
            Field("meter_name", "MeterName"),
            Field("meter_id", "MeterId"),  # a GUID in real exports, "1core" in the docs
            Field("resource_group", "ResourceGroup", required=False),
            Field("resource_location", "ResourceLocation", required=False),
            Field("unit", "Unit", aliases=("UnitOfMeasure",)),
            Field("charge_type", "ChargeType", parse_charge_type),
            Field("unit_price", "UnitPrice", _d.parse_decimal_or_none_cached),
            Field("quantity", "Quantity", _d.parse_decimal),
            Field("billing_pre_tax_total", "BillingPreTaxTotal", _d.parse_decimal),
            Field("billing_currency", "BillingCurrency", _d.parse_currency),
            Field("pricing_pre_tax_total", "PricingPreTaxTotal", _d.parse_decimal_or_none),
            Field("pricing_currency", "PricingCurrency", _d.parse_currency_or_blank),
            Field(
                "effective_unit_price",
                "EffectiveUnitPrice",
                _d.parse_decimal_or_none_cached,
                required=False,
            ),
            Field(
                "pc_to_bc_exchange_rate",
                "PCToBCExchangeRate",
                _d.parse_decimal_or_none_cached,
                required=False,
            ),
            Field("entitlement_id", "EntitlementId", _d.parse_guid_or_blank, required=False),
            Field("entitlement_description", "EntitlementDescription", required=False),
            Field(
                "partner_earned_credit_percentage",
                "PartnerEarnedCreditPercentage",
                _d.parse_decimal_or_none_cached,
                required=False,
                aliases=("RateOfPartnerEarnedCredit",),
            ),
            Field("credit_type", "CreditType", required=False),
        ),
    )
)


read = FORMAT.read
