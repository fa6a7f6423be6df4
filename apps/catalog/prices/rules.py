"""Sales prices: what syncadmin sells an offer at, and where that price came from.

Microsoft's data has cost only (PARTNER_CENTER.md §4 b). The sales price is, first found
wins (DOMAIN.md "Prices"):

1. ``msp_price``: the MSP's own price for the offer in the report's currency (`MspPrice`,
   from the MSP price list CSV or edited in syncadmin), per unit per month.
2. ``microsoft_erp``: the estimated retail price of an imported Microsoft price list
   (`MicrosoftPrice.erp_price`) for the offer's product, SKU, term and billing plan, in
   the same currency, in force on the first day of the month. Microsoft quotes it per
   billing period, so the monthly equivalent is ERP ÷ 1 (monthly), 12 (annual) or 36
   (triennial); one-time and unknown billing plans have none. Several markets or segments
   in the currency: the organization's country as market first, then the offer's segment
   (blank: Commercial), then the lowest market code; within that, the latest start.
3. ``markup_organization`` / ``markup_record_type`` / ``markup_connection_default``:
   unit cost × (1 + percent / 100), the percent from a `MarkupRule` for the organization
   and record type, else one for the record type (any organization), else the default
   markup ``markups[record_type]`` the caller passes in (a connection's default markups:
   which connection is the caller's choice, prices know no connections; None: none).
   Azure plan is no exception: its record type ``azure_plan`` has its own rules, per
   customer where set.
4. ``none``: nothing applies (``unit_price`` None); ``detail`` says what was missing.

Every final price is rounded to 2 decimals, half up (ERP ÷ months and cost × markup are
computed exactly first). ``detail`` says how the price was reached, for the export plan.

Charge record types (everything but licence-based: Azure plan, reservations, savings
plans, Marketplace, software subscriptions, perpetual licences) become one charge per
month whose unit is the whole month (DOMAIN.md "Export" 3). For them the report resolvers
pass the month's total cost as ``unit_cost``, so a markup price is the month's total
price; Microsoft's ERP (a per-licence list price) is not used; an MSP price stays a price
per unit per month. An empty record type (undecided by the import) is priced like a
licence, and has no markup rules.

Many months at once (a report, or several) are priced in `apps.catalog.prices.month_prices`
by the same decision. The changes (MSP price edits, markup rules, the MSP price list
import) are in `apps.catalog.prices.services`; each writes one audit entry per change.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import models
from django.db.models import Q

from apps.catalog.models import MarkupRule, MicrosoftPrice, MspPrice, Offer, Organization
from apps.catalog.rollup.figures import CENT, first_of_month
from apps.core.choices import RecordType

BILLING_PLAN_MONTHS = {"monthly": 1, "annual": 12, "triennial": 36}
# Default markup (%) per record type, as a connection keeps them (numbers or their text).
Markups = Mapping[str, object]
CHARGE_RECORD_TYPES = frozenset(RecordType.values) - {RecordType.LICENSE_BASED.value}


class ResolvedPriceSource(models.TextChoices):
    MSP_PRICE = "msp_price", "MSP price"
    MICROSOFT_ERP = "microsoft_erp", "Microsoft ERP"
    MARKUP_ORGANIZATION = "markup_organization", "Markup for the organization"
    MARKUP_RECORD_TYPE = "markup_record_type", "Markup for the record type"
    MARKUP_CONNECTION_DEFAULT = "markup_connection_default", "Connection's default markup"
    NONE = "none", "No price"


@dataclass(frozen=True)
class ResolvedPrice:
    """A sales price and where it came from (`ResolvedPriceSource` values)."""

    unit_price: Decimal | None
    source: str
    detail: str


def round_price(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def is_charge(record_type: str) -> bool:
    return record_type in CHARGE_RECORD_TYPES


def _money(value: Decimal) -> str:
    return f"{round_price(value):f}"


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}"


# -- the decision, shared by the single and the report resolver --------------------------


def _erp_effective(first: dt.date, last: dt.date | None = None) -> Q:
    """Price-list rows in force on some day from ``first`` to ``last`` (default: on
    ``first``); `_erp_in_force` is the same rule for rows in memory."""
    return (Q(effective_start__isnull=True) | Q(effective_start__lte=last or first)) & (
        Q(effective_end__isnull=True) | Q(effective_end__gte=first)
    )


def choose_erp_row(
    rows: Iterable[MicrosoftPrice], *, offer: Offer, organization: Organization | None
) -> MicrosoftPrice | None:
    """The price-list row to take the ERP from, among the rows of one product, SKU, term,
    billing plan and currency in force on the month (see the module docstring)."""
    rows = list(rows)
    if not rows:
        return None
    country = (organization.country if organization else "").upper()
    segment = (offer.segment or "").lower()

    def group(row: MicrosoftPrice) -> tuple:
        market_rank = 0 if country and row.market.upper() == country else 1
        row_segment = (row.segment or "").lower()
        wanted = row_segment == segment if segment else row_segment in ("", "commercial")
        return (market_rank, 0 if wanted else 1, row.market, row.segment)

    best = min(group(row) for row in rows)
    return max(
        (row for row in rows if group(row) == best),
        key=lambda row: (row.effective_start or dt.date.min, row.pk or 0),
    )


def _rule_label(record_type: str) -> str:
    try:
        return RecordType(record_type).label
    except ValueError:
        return record_type or "no record type"


def _decide(
    *,
    offer: Offer,
    organization: Organization | None,
    record_type: str,
    currency: str,
    month: dt.date,
    unit_cost: Decimal | None,
    markups: Markups | None,
    msp_price: Callable[[], MspPrice | None],
    erp_rows: Callable[[], list[MicrosoftPrice]],
    markup_rules: Callable[[], dict[int | None, MarkupRule]],
) -> ResolvedPrice:
    """The rules, over look-ups the caller provides (queries, or dictionaries)."""
    missing = []
    price = msp_price()
    if price is not None:
        return ResolvedPrice(
            round_price(price.unit_price),
            ResolvedPriceSource.MSP_PRICE.value,
            f"MSP price {_money(price.unit_price)} {currency} per unit per month "
            f"({price.get_source_display()})",
        )
    missing.append(f"no MSP price in {currency}")

    months = BILLING_PLAN_MONTHS.get(offer.billing_frequency)
    if is_charge(record_type):
        missing.append("no ERP for a charge (priced on the month's total)")
    elif months is None:
        missing.append(f"no monthly ERP for the billing plan “{offer.billing_frequency or '?'}”")
    else:
        row = choose_erp_row(erp_rows(), offer=offer, organization=organization)
        if row is None:
            missing.append(f"no Microsoft price in {currency} for {month:%Y-%m}")
        elif row.erp_price is None:
            missing.append("the Microsoft price list row has no ERP")
        else:
            where = ", ".join(part for part in (row.market, row.segment) if part)
            since = f", from {row.effective_start:%Y-%m-%d}" if row.effective_start else ""
            return ResolvedPrice(
                round_price(row.erp_price / months),
                ResolvedPriceSource.MICROSOFT_ERP.value,
                f"Microsoft ERP {_money(row.erp_price)} {currency} per {offer.billing_frequency}"
                f" billing ÷ {months} ({where}{since})",
            )

    rules = markup_rules()
    candidates = []
    if organization is not None and organization.pk in rules:
        rule = rules[organization.pk]
        candidates.append(
            (
                rule.percent,
                ResolvedPriceSource.MARKUP_ORGANIZATION.value,
                f"markup for {organization} ({_rule_label(record_type)})",
            )
        )
    if None in rules:
        candidates.append(
            (
                rules[None].percent,
                ResolvedPriceSource.MARKUP_RECORD_TYPE.value,
                f"markup for {_rule_label(record_type)}",
            )
        )
    default = (markups or {}).get(record_type)
    if default not in (None, ""):
        try:
            percent = Decimal(str(default))
        except InvalidOperation:
            percent = None
        if percent is None or not percent.is_finite():
            missing.append(f"the connection's default markup {default!r} is not a number")
        else:
            candidates.append(
                (
                    percent,
                    ResolvedPriceSource.MARKUP_CONNECTION_DEFAULT.value,
                    f"the connection's default markup for {_rule_label(record_type)}",
                )
            )
    if candidates:
        percent, source, what = candidates[0]
        if unit_cost is None:
            missing.append(f"{what} is {_percent(percent)}%, but the month has no unit cost")
        else:
            cost = "total cost" if is_charge(record_type) else "unit cost"
            return ResolvedPrice(
                round_price(unit_cost * (1 + percent / 100)),
                source,
                f"{cost} {_money(unit_cost)} {currency} + {_percent(percent)}% ({what})",
            )
    else:
        missing.append(f"no markup for {_rule_label(record_type)}")
    return ResolvedPrice(None, ResolvedPriceSource.NONE.value, "; ".join(missing))


def resolve_sales_price(
    *,
    offer: Offer,
    organization: Organization | None,
    record_type: str,
    currency: str,
    month: dt.date,
    unit_cost: Decimal | None,
    markups: Markups | None = None,
) -> ResolvedPrice:
    """The sales price of one unit of ``offer`` for ``organization`` in ``month`` (any day
    of it), by the rules of the module docstring. ``unit_cost`` is the month's cost per
    unit (charges: the month's total cost); ``markups`` the default markup per record type
    (None: none). Up to three queries; fewer when an earlier rule wins."""
    month = first_of_month(month)

    def msp_price():
        return MspPrice.objects.filter(offer=offer, currency=currency).first()

    def erp_rows():
        return list(
            MicrosoftPrice.objects.filter(
                _erp_effective(month),
                product_id=offer.product_id,
                sku_id=offer.sku_id,
                term=offer.term,
                billing_frequency=offer.billing_frequency,
                currency=currency,
            )
        )

    def markup_rules():
        scope = Q(organization__isnull=True)
        if organization is not None:
            scope |= Q(organization=organization)
        rules = MarkupRule.objects.filter(scope, record_type=record_type)
        return {rule.organization_id: rule for rule in rules}

    return _decide(
        offer=offer,
        organization=organization,
        record_type=record_type,
        currency=currency,
        month=month,
        unit_cost=unit_cost,
        markups=markups,
        msp_price=msp_price,
        erp_rows=erp_rows,
        markup_rules=markup_rules,
    )


# -- the price list page ------------------------------------------------------------------


@dataclass(frozen=True)
class OfferErp:
    currency: str
    monthly: Decimal | None  # ERP ÷ months of the billing plan, rounded; None: no ERP
    row: MicrosoftPrice


def offers_erp(*, offers: Iterable[Offer], month: dt.date) -> dict[int, list[OfferErp]]:
    """Offer id → its Microsoft ERP in force on ``month``, one per currency (chosen as
    `resolve_sales_price` does, without an organization). One query."""
    offers = list(offers)
    if not offers:
        return {}
    month = first_of_month(month)
    rows: dict[tuple, list[MicrosoftPrice]] = defaultdict(list)
    for row in MicrosoftPrice.objects.filter(
        _erp_effective(month),
        product_id__in={offer.product_id for offer in offers},
        sku_id__in={offer.sku_id for offer in offers},
    ):
        rows[(row.product_id, row.sku_id, row.term, row.billing_frequency)].append(row)
    result: dict[int, list[OfferErp]] = {}
    for offer in offers:
        candidates = rows.get(
            (offer.product_id, offer.sku_id, offer.term, offer.billing_frequency), []
        )
        months = BILLING_PLAN_MONTHS.get(offer.billing_frequency)
        found = []
        for currency in sorted({row.currency for row in candidates}):
            row = choose_erp_row(
                [row for row in candidates if row.currency == currency],
                offer=offer,
                organization=None,
            )
            monthly = (
                round_price(row.erp_price / months)
                if months and row.erp_price is not None
                else None
            )
            found.append(OfferErp(currency, monthly, row))
        result[offer.pk] = found
    return result


def offer_price_source(
    offer: Offer, *, msp_prices: Iterable[MspPrice], erp: Iterable[OfferErp], month: dt.date
) -> str | None:
    """Which rule prices ``offer`` whatever the organization, as `_decide` itself says it
    (no organization, no cost, no markups) in each currency the offer has an MSP price or
    a Microsoft ERP in: `MSP_PRICE` if that wins in some currency, else `MICROSOFT_ERP` if
    that does, else None (a markup over cost: it depends on the organization and the
    connection). ``msp_prices`` are the offer's, ``erp`` its entry of `offers_erp()`. No
    queries: the price list page shows this in its "Price from" column."""
    msp = {price.currency: price for price in msp_prices}
    erp_rows = {item.currency: item.row for item in erp}
    month = first_of_month(month)
    found = set()
    for currency in sorted(msp.keys() | erp_rows.keys()):
        decided = _decide(
            offer=offer,
            organization=None,
            record_type=offer.record_type,
            currency=currency,
            month=month,
            unit_cost=None,
            markups=None,
            msp_price=lambda currency=currency: msp.get(currency),
            erp_rows=lambda currency=currency: [erp_rows[currency]] if currency in erp_rows else [],
            markup_rules=dict,
        )
        found.add(decided.source)
    for source in (ResolvedPriceSource.MSP_PRICE, ResolvedPriceSource.MICROSOFT_ERP):
        if source.value in found:
            return source.value
    return None
