"""Sales prices of many subscription months at once (one report, or several), by the
rules of `apps.catalog.prices.rules` (`_decide`, the same decision as the single
resolver), in a fixed number of queries; and what a month sells for.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q

from apps.catalog.models import (
    BillingReport,
    MarkupRule,
    MicrosoftPrice,
    MspPrice,
    SubscriptionMonth,
)
from apps.catalog.prices.rules import (
    Markups,
    ResolvedPrice,
    ResolvedPriceSource,
    _decide,
    _erp_effective,
    is_charge,
    round_price,
)
from apps.catalog.rollup.figures import first_of_month

# -- a whole report -----------------------------------------------------------------------


class OfferFacts(NamedTuple):
    """What the rules read of an offer (an `Offer` answers the same names)."""

    pk: int
    product_id: str
    sku_id: str
    term: str
    billing_frequency: str
    segment: str


class OrganizationFacts(NamedTuple):
    """What the rules read of an organization (an `Organization` answers the same)."""

    pk: int
    name: str
    country: str

    def __str__(self) -> str:
        return self.name


class MonthToPrice(NamedTuple):
    """One subscription month as the price rules see it, read without model instances:
    ``offer`` is the offer the month ended on (else the subscription's), ``record_type``
    the month's (else the subscription's)."""

    pk: int
    month: dt.date
    currency: str
    offer: OfferFacts
    organization: OrganizationFacts
    record_type: str
    unit_cost: Decimal | None
    total_cost: Decimal
    largest_quantity: Decimal | None
    end_quantity: Decimal | None


_OFFER_COLUMNS = ("product_id", "sku_id", "term", "billing_frequency", "segment")
_MONTH_COLUMNS = (
    "pk",
    "report__month",
    "report__currency",
    "record_type",
    "subscription__record_type",
    "unit_cost",
    "total_cost",
    "largest_quantity",
    "end_quantity",
    "subscription__organization_id",
    "subscription__organization__name",
    "subscription__organization__country",
    "offer_id",
    *(f"offer__{name}" for name in _OFFER_COLUMNS),
    "subscription__offer_id",
    *(f"subscription__offer__{name}" for name in _OFFER_COLUMNS),
)


def months_to_price(months) -> list[MonthToPrice]:
    """The subscription months of a queryset as `MonthToPrice`, in one query."""
    offers: dict[int, OfferFacts] = {}
    organizations: dict[int, OrganizationFacts] = {}
    width = len(_OFFER_COLUMNS) + 1
    result = []
    for values in months.order_by("pk").values_list(*_MONTH_COLUMNS):
        (pk, month, currency, record_type, subscription_record_type, unit_cost, total_cost,
         largest, end, organization_id, name, country) = values[:12]  # fmt: skip
        offer_values = values[12 : 12 + width] if values[12] is not None else values[12 + width :]
        offer = offers.get(offer_values[0])
        if offer is None:
            offer = offers[offer_values[0]] = OfferFacts(*offer_values)
        organization = organizations.get(organization_id)
        if organization is None:
            organization = organizations[organization_id] = OrganizationFacts(
                organization_id, name, country
            )
        result.append(
            MonthToPrice(
                pk,
                first_of_month(month),
                currency,
                offer,
                organization,
                record_type or subscription_record_type,
                unit_cost,
                total_cost,
                largest,
                end,
            )
        )
    return result


def month_unit_cost(month: MonthToPrice) -> Decimal | None:
    """What the markup applies to: the unit cost per month, or for a charge the month's
    total cost (the charge's unit is the month)."""
    return month.total_cost if is_charge(month.record_type) else month.unit_cost


def _erp_in_force(rows: list[MicrosoftPrice], month: dt.date) -> list[MicrosoftPrice]:
    return [
        row
        for row in rows
        if (row.effective_start is None or row.effective_start <= month)
        and (row.effective_end is None or row.effective_end >= month)
    ]


def price_months(
    months: list[MonthToPrice], markups: Markups | None = None
) -> list[tuple[MonthToPrice, ResolvedPrice]]:
    """Each month and its price, by the rules of `resolve_sales_price`. Three queries
    whatever the number of months and reports: the MSP prices, the Microsoft prices in
    force during any of the months, and the markup rules. Months that the rules cannot
    tell apart (offer, organization, record type, currency, month, unit cost) are
    decided once."""
    if not months:
        return []
    offers = {row.offer.pk: row.offer for row in months}
    currencies = {row.currency for row in months}
    msp = {
        (price.offer_id, price.currency): price
        for price in MspPrice.objects.filter(offer_id__in=offers, currency__in=currencies)
    }
    erp: dict[tuple, list[MicrosoftPrice]] = defaultdict(list)
    for row in MicrosoftPrice.objects.filter(
        _erp_effective(min(r.month for r in months), max(r.month for r in months)),
        currency__in=currencies,
        product_id__in={offer.product_id for offer in offers.values()},
        sku_id__in={offer.sku_id for offer in offers.values()},
    ):
        key = (row.currency, row.product_id, row.sku_id, row.term, row.billing_frequency)
        erp[key].append(row)
    rules: dict[str, dict[int | None, MarkupRule]] = defaultdict(dict)
    for rule in MarkupRule.objects.filter(
        Q(organization__isnull=True)
        | Q(organization_id__in={row.organization.pk for row in months}),
        record_type__in={row.record_type for row in months},
    ):
        rules[rule.record_type][rule.organization_id] = rule

    decided: dict[tuple, ResolvedPrice] = {}
    resolved = []
    for row in months:
        offer, record_type, currency, month = row.offer, row.record_type, row.currency, row.month
        unit_cost = month_unit_cost(row)
        key = (offer.pk, row.organization.pk, record_type, currency, month, unit_cost)
        price = decided.get(key)
        if price is None:
            erp_key = (currency, offer.product_id, offer.sku_id, offer.term,
                       offer.billing_frequency)  # fmt: skip
            price = decided[key] = _decide(
                offer=offer,
                organization=row.organization,
                record_type=record_type,
                currency=currency,
                month=month,
                unit_cost=unit_cost,
                markups=markups,
                msp_price=lambda key=(offer.pk, currency): msp.get(key),
                erp_rows=lambda key=erp_key, month=month: _erp_in_force(erp.get(key, []), month),
                markup_rules=lambda record_type=record_type: rules.get(record_type, {}),
            )
        resolved.append((row, price))
    return resolved


def priced_months(
    months, markups: Markups | None = None
) -> list[tuple[MonthToPrice, ResolvedPrice]]:
    """The subscription months of a queryset (any number of reports) with their prices,
    in four queries."""
    return price_months(months_to_price(months), markups)


def resolve_report_prices(
    *, report: BillingReport, markups: Markups | None = None
) -> dict[int, ResolvedPrice]:
    """Every subscription month of ``report`` (by id) → its price, as `resolve_sales_price`
    gives it for the month's offer and the subscription's organization, the month's
    record type (else the subscription's), the report's currency and month, and
    `month_unit_cost()`. Four queries whatever the size."""
    months = SubscriptionMonth.objects.filter(report=report)
    return {row.pk: price for row, price in priced_months(months, markups)}


def month_quantity(month: MonthToPrice) -> Decimal:
    """The units a price applies to: the largest quantity of the month, else the
    end-of-month quantity. A charge counts 1 unless the report has a quantity."""
    quantity = month.largest_quantity
    if quantity is None:
        quantity = month.end_quantity
    if quantity is None:
        return Decimal(1) if is_charge(month.record_type) else Decimal(0)
    return quantity


def month_sales_amount(month: MonthToPrice, price: ResolvedPrice) -> Decimal | None:
    """What one subscription month sells for, rounded to the cent (half up), or None
    without a price: unit price × `month_quantity()`, except a charge priced by markup,
    whose price already is the month's total."""
    if price.unit_price is None:
        return None
    if is_charge(month.record_type) and price.source != ResolvedPriceSource.MSP_PRICE:
        return price.unit_price
    return round_price(price.unit_price * month_quantity(month))


def resolved_sales_total(*, report: BillingReport, markups: Markups | None = None) -> Decimal:
    """Σ `month_sales_amount()` over the report's subscription months, in its currency:

    - licence-based (and undecided) months: unit price × the largest quantity of the month
      (else the end-of-month quantity, else 0);
    - charge months: with an MSP price, that price × the month's largest quantity (1 when
      the report has none); otherwise the month's total cost × (1 + markup);
    - months whose price is "none" add nothing: check the sources to tell a total that is
      complete from one that is not.

    Each month's amount is rounded to the cent (half up) before adding. Four queries."""
    total = Decimal("0.00")
    for row, price in priced_months(SubscriptionMonth.objects.filter(report=report), markups):
        amount = month_sales_amount(row, price)
        if amount is not None:
            total += amount
    return total
