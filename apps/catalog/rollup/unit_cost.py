"""The partner's monthly unit cost of a subscription (§4 a): from a full-cycle row,
else carried from the previous month, else estimated from UnitPrice."""

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from apps.catalog.choices import BillingFrequencyChoices
from apps.catalog.importers.records import ReconLine
from apps.catalog.record_types import (
    billing_frequency_of,
    is_one_time,
    term_months_of,
    whole_months,
)
from apps.catalog.rollup.figures import (
    CENT,
    UNIT_COST_PLACES,
    OfferKey,
    SubscriptionMonth,
    UnitCostSource,
)
from apps.catalog.rollup.quantities import FULL_CYCLE_TYPES, _Part


def _round_down_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def _unit_cost(value: Decimal) -> Decimal:
    return value.quantize(UNIT_COST_PLACES, rounding=ROUND_HALF_UP)


def _cycle_months(part: _Part) -> int | None:
    """Whole months one charge cycle covers; 1 for a perpetual (one-time, no end) row."""
    line = part.line
    if line.charge_end_date is None and is_one_time(line):
        return 1
    return whole_months(line.charge_start_date, line.charge_end_date)


def _estimate_months(line: ReconLine) -> int | None:
    """Months one UnitPrice covers: UnitPrice is per charge cycle."""
    frequency = billing_frequency_of(line)
    if frequency == BillingFrequencyChoices.MONTHLY:
        return 1
    if frequency == BillingFrequencyChoices.ANNUAL:
        return 12
    if frequency == BillingFrequencyChoices.TRIENNIAL:
        return 36
    if frequency == BillingFrequencyChoices.ONE_TIME:
        return 1 if line.charge_end_date is None else term_months_of(line)
    return None


def _exchange_rate(line: ReconLine) -> Decimal | None:
    if line.pc_to_bc_exchange_rate is not None:
        return line.pc_to_bc_exchange_rate
    pricing = line.pricing_currency.strip().upper()
    if not pricing or pricing == line.currency.strip().upper():
        return Decimal(1)
    return None


def _unit_cost_of(
    parts: list[_Part],
    offer: OfferKey,
    previous: SubscriptionMonth | None,
    warnings: list[str],
) -> tuple[Decimal | None, str]:
    """§4 a): the latest full-cycle row of the end-of-month offer (Subtotal /
    BillableQuantity / months of the cycle); else the previous month's full-cycle or
    carried rate for the same offer; else UnitPrice × PCToBCExchangeRate / months,
    flagged as an estimate (UnitPrice is before discounts: an upper bound)."""
    candidates = [
        p
        for p in parts
        if p.charge_type in FULL_CYCLE_TYPES
        and p.sign > 0
        and p.line.effective_unit_price > 0
        and p.quantity > 0
        and p.offer == offer
    ]
    whole = [(p, m) for p in candidates if (m := _cycle_months(p)) is not None]
    if whole:
        part, months = max(whole, key=lambda pm: pm[0].order)
        return _unit_cost(part.subtotal / part.quantity / months), UnitCostSource.FULL_CYCLE
    if candidates:
        warnings.append(
            "the charge rows cover part of a cycle (coterminous or prorated): "
            "not used as the monthly rate"
        )
    if (
        previous is not None
        and previous.unit_cost_month is not None
        and previous.offer_key == offer
        and previous.unit_cost_source in (UnitCostSource.FULL_CYCLE, UnitCostSource.CARRIED)
    ):
        return previous.unit_cost_month, UnitCostSource.CARRIED
    priced = [p for p in parts if p.offer == offer and p.unit_price > 0]
    if not priced:
        warnings.append("no full-cycle row, no earlier rate and no UnitPrice: unit cost unknown")
        return None, UnitCostSource.NONE
    part = max(priced, key=lambda p: (p.sign > 0, p.order))
    months = _estimate_months(part.line)
    rate = _exchange_rate(part.line)
    if months is None or rate is None:
        missing = "the cycle length" if months is None else "PCToBCExchangeRate"
        warnings.append(f"unit cost unknown: UnitPrice given but {missing} is not")
        return None, UnitCostSource.NONE
    cycle = _round_down_cents(part.unit_price * rate)
    warnings.append(
        f"unit cost estimated from UnitPrice {part.unit_price} {part.line.pricing_currency} "
        f"(list price before discounts and promotions: an upper bound)"
    )
    return _unit_cost(cycle / months), UnitCostSource.ESTIMATED
