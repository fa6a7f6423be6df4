"""Microsoft's new-commerce licence-based price list CSV → `PriceListRow`.

The columns are those of the Partner Center export (Pricing workspace → new commerce
license-based → export), as described on Learn "Pricing and offers" (English copy
kvamseek/partner-center, pricing-and-offers.md @ 85eb3c40, "New commerce price list") and
seen in third-party importers built against real files, which also have the leading
ChangeIndicator and the trailing Segment column:

    ChangeIndicator, ProductTitle, ProductId, SkuId, SkuTitle, Publisher, SkuDescription,
    UnitOfMeasure, TermDuration, BillingPlan, Market, Currency, UnitPrice,
    PricingTierRangeMin, PricingTierRangeMax, EffectiveStartDate, EffectiveEndDate, Tags,
    ERP Price, Segment

Preview files add EndOfSaleDate; extra columns are ignored, the order does not matter. The
dates look like "2/1/2023 0:00", "11/30/9999 23:59" or "2021-10-01T00:00:00.0000000Z". The
download is a zip holding the CSV: the reader opens it as it is.

Learn: "The UnitPrice amount is for the term being purchased" (an annual term billed
monthly is billed one twelfth of it a month); the value is passed on as it is.
"""

from . import cells
from .formats import Field, Format, register
from .records import PriceListRow

COLUMNS = (
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
"""The columns of the new-commerce licence-based price list, in the export's order."""

BILLING_PLANS = ("Monthly", "Annual", "Triennial", "OneTime", "None")
"""BillingPlan values; "None" is what trials have (Learn: "there is no cost for trials")."""

parse_billing_plan = cells.choice_parser(BILLING_PLANS, "a billing plan")

_d = cells

FORMAT = register(
    Format(
        name="pricelist_csv",
        title="new-commerce licence-based price list",
        record=PriceListRow,
        columns=COLUMNS,
        signature=("TermDuration", "BillingPlan", "Market", "SkuTitle"),
        fields=(
            Field("product_id", "ProductId"),
            Field("sku_id", "SkuId", _d.normalize_sku_id),
            Field("availability_id", "AvailabilityId", required=False),
            Field("product_title", "ProductTitle"),
            Field("sku_title", "SkuTitle"),
            Field("publisher", "Publisher", required=False),
            Field("term_duration", "TermDuration", _d.parse_term_duration),
            Field("billing_plan", "BillingPlan", parse_billing_plan),
            Field("market", "Market"),
            Field("currency", "Currency", _d.parse_currency),
            Field("unit_price", "UnitPrice", _d.parse_decimal_cached),
            Field(
                "erp_price",
                "ERP Price",
                _d.parse_decimal_or_none_cached,
                required=False,
                aliases=("ERPPrice", "ERP"),
            ),
            Field("effective_start_date", "EffectiveStartDate", _d.parse_date_or_none),
            Field("effective_end_date", "EffectiveEndDate", _d.parse_date_or_none),
            Field("segment", "Segment", required=False),
        ),
    )
)


read = FORMAT.read
