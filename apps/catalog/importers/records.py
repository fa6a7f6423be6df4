"""Normalized rows the importers produce, whatever the file format (CSV or JSON Lines).

Every importer turns one source row into one of these, with typed values: `Decimal` for
money and quantities (never float), `datetime.date` for dates (UTC calendar dates), `str`
for ids (kept as text: SkuId "0001" stays "0001"), and `""` for a blank text cell.
`source_line` is the 1-based line (CSV: physical line of the row's start, header = 1;
JSON Lines: line number) so every error and every stored line can point back to the file.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class ReconLine:
    """One row of the new-commerce invoice reconciliation data set (47 columns)."""

    source_line: int
    partner_id: str
    customer_id: str  # lower-cased GUID
    customer_name: str
    customer_domain_name: str
    customer_country: str
    invoice_number: str
    mpn_id: str
    tier2_mpn_id: str  # also read from ResellerMpnId / MPNID
    order_id: str
    order_date: dt.date
    product_id: str
    sku_id: str  # numeric ids zero-padded to 4 characters
    availability_id: str
    sku_name: str
    product_name: str
    charge_type: str  # canonical spelling: new, renew, cycleCharge, addQuantity, ...
    unit_price: Decimal
    quantity: Decimal | None
    subtotal: Decimal
    tax_total: Decimal | None
    total: Decimal | None
    currency: str
    price_adjustment_description: str
    publisher_name: str
    publisher_id: str
    subscription_description: str
    subscription_id: str  # lower-cased GUID
    charge_start_date: dt.date | None
    charge_end_date: dt.date | None
    term_and_billing_cycle: str
    effective_unit_price: Decimal
    unit_type: str
    alternate_id: str
    billable_quantity: Decimal
    billing_frequency: str  # "Monthly", "Annual" or ""
    pricing_currency: str
    pc_to_bc_exchange_rate: Decimal | None
    pc_to_bc_exchange_rate_date: dt.date | None
    meter_description: str
    reservation_order_id: str
    credit_reason_code: str
    subscription_start_date: dt.date | None
    subscription_end_date: dt.date | None
    reference_id: str
    product_qualifiers: tuple[str, ...]  # e.g. ("AddOn", "Trial")
    promotion_id: str
    product_category: str


class UsageLine(NamedTuple):
    """One row of the new-commerce daily rated usage data set (55 columns), the fields the
    roll-up and the breakdown need.

    A named tuple, unlike the other records (frozen dataclasses): a million are made for
    a big month's file, and a tuple is made by one call where a dataclass's __init__ sets
    each field in turn, which costs more than parsing the row. Immutable all the same."""

    source_line: int
    partner_id: str
    customer_id: str  # lower-cased GUID
    customer_name: str
    customer_domain_name: str
    customer_country: str
    invoice_number: str
    product_id: str
    sku_id: str
    availability_id: str
    sku_name: str
    product_name: str
    publisher_name: str
    publisher_id: str
    subscription_description: str
    subscription_id: str  # the Azure plan subscription, lower-cased GUID
    charge_start_date: dt.date | None
    charge_end_date: dt.date | None
    usage_date: dt.date
    meter_category: str
    meter_sub_category: str
    meter_name: str
    meter_id: str
    resource_group: str
    resource_location: str
    unit: str
    charge_type: str  # "Usage"
    unit_price: Decimal | None
    quantity: Decimal
    billing_pre_tax_total: Decimal
    billing_currency: str
    pricing_pre_tax_total: Decimal | None
    pricing_currency: str
    effective_unit_price: Decimal | None
    pc_to_bc_exchange_rate: Decimal | None
    entitlement_id: str  # the Azure subscription
    entitlement_description: str
    partner_earned_credit_percentage: Decimal | None
    credit_type: str


@dataclass(frozen=True, slots=True)
class PriceListRow:
    """One row of Microsoft's new-commerce licence-based price list."""

    source_line: int
    product_id: str
    sku_id: str
    availability_id: str
    product_title: str
    sku_title: str
    publisher: str
    term_duration: str  # "P1M", "P1Y", "P3Y"
    billing_plan: str  # "Monthly", "Annual", "Triennial", "OneTime"
    market: str
    currency: str
    unit_price: Decimal  # the partner's cost per billing period
    erp_price: Decimal | None  # the estimated retail price
    effective_start_date: dt.date | None
    effective_end_date: dt.date | None
    segment: str  # "Commercial", "Education", ...
