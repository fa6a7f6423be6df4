"""Monthly roll-up of Partner Center billing lines per subscription (PARTNER_CENTER.md
§4–§6), and the rounding allowance the Azure plan check uses (§5; the per-customer Azure
totals are summed in the database by `importing.roll_up_report`).

Pure and deterministic: lines in, dataclasses out, no I/O, `Decimal` throughout.

Rounding. Money that Microsoft billed (Subtotal) is summed as given: Microsoft already
rounded each line down to 2 decimals. Where we repeat Microsoft's own step (a unit price
times the exchange rate, for an estimate) we round down to 2 decimals as it does. A monthly
unit cost that we derive by division (a cycle's per-unit amount / months, e.g. 229.16 / 11)
is kept to 4 decimals, rounded half up, so that 12 months of it land within a cent of the
cycle. Daily usage totals are not rounded (Microsoft does not round BillingPreTaxTotal).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import NamedTuple

from apps.catalog.choices import BillingFrequencyChoices
from apps.catalog.importers.records import ReconLine
from apps.catalog.record_types import (
    RecordTypeDecision,
    billing_frequency_of,
    is_one_time,
    record_type_of,
    term_months_of,
    whole_months,
)
from apps.core.choices import RecordType

ZERO = Decimal(0)
CENT = Decimal("0.01")
UNIT_COST_PLACES = Decimal("0.0001")


class UnitCostSource:
    """Where `SubscriptionMonth.unit_cost_month` came from."""

    FULL_CYCLE = "full-cycle row"
    CARRIED = "carried forward"
    ESTIMATED = "estimated from UnitPrice"
    NONE = ""  # not applicable (Azure plan) or not known: see the warnings


class OfferKey(NamedTuple):
    product_id: str
    sku_id: str
    availability_id: str


# ChargeType (compared without case) → how it moves the seat count.
SET_TYPES = frozenset({"new", "renew", "cyclecharge", "changebillingplan"})
PAIR_TYPES = frozenset({"addquantity", "removequantity"})
MOVE_TYPES = frozenset({"convert", "movequantity"})
CANCEL_TYPES = frozenset({"cancelimmediate"})
NO_QUANTITY_TYPES = frozenset({"customercredit", "extendterm", "usage"})
LARGEST_QUANTITY_TYPES = SET_TYPES | PAIR_TYPES | MOVE_TYPES
# Rows that can carry a full charge cycle. `convert` is here for a trial conversion, whose
# paid row charges a whole first cycle; an upgrade's convert rows cover part of a cycle and
# fail the whole-months test.
FULL_CYCLE_TYPES = SET_TYPES | {"convert"}
KNOWN_TYPES = SET_TYPES | PAIR_TYPES | MOVE_TYPES | CANCEL_TYPES | NO_QUANTITY_TYPES

# Record types that are not carried into a month without lines: Azure plan usage is billed
# when used; a perpetual licence is a one-time purchase with no term.
NOT_CARRIED = frozenset({RecordType.AZURE_PLAN.value, RecordType.PERPETUAL_LICENCE.value})


@dataclass(frozen=True, slots=True)
class SubscriptionMonth:
    """One subscription in one month: what the export writes to Autotask.

    `unit_cost_month` is the partner's cost per unit per month in the billing currency (4
    decimals; for a perpetual licence, the one-time price per unit); `None` for Azure plan
    and when it cannot be found (a warning says so). Quantities are `None` for Azure plan
    and when unknown. `total_cost` is Σ Subtotal of the month's lines (0 when carried
    forward). `charge_start`/`charge_end` is the span the month's lines cover (the previous
    span when carried forward).
    """

    customer_id: str
    subscription_id: str
    month: dt.date
    record_type: str | None
    product_id: str
    sku_id: str
    availability_id: str
    customer_name: str
    product_name: str
    sku_name: str
    subscription_description: str
    currency: str
    unit_cost_month: Decimal | None
    unit_cost_source: str
    largest_quantity: Decimal | None
    end_quantity: Decimal | None
    total_cost: Decimal
    charge_start: dt.date | None
    charge_end: dt.date | None
    cancelled: bool
    term_end: dt.date | None
    term_months: int | None
    billing_frequency: str
    carried_forward: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def offer_key(self) -> OfferKey:
        return OfferKey(self.product_id, self.sku_id, self.availability_id)


# Helpers ------------------------------------------------------------------------------


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _in_month(day: dt.date | None, month: dt.date) -> bool:
    return day is not None and (day.year, day.month) == (month.year, month.month)


def _round_down_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def _unit_cost(value: Decimal) -> Decimal:
    return value.quantize(UNIT_COST_PLACES, rounding=ROUND_HALF_UP)


def is_trial(line: ReconLine) -> bool:
    """A trial row (§4): ProductQualifiers contains "Trial" and UnitPrice is 0."""
    qualifiers = {q.strip().casefold() for q in line.product_qualifiers}
    return "trial" in qualifiers and line.unit_price == 0


def _sign(line: ReconLine) -> int:
    """+1 for a charge, -1 for a refund (EffectiveUnitPrice, else Subtotal), 0 for none."""
    value = line.effective_unit_price if line.effective_unit_price != 0 else line.subtotal
    return (value > 0) - (value < 0)


def _offer_of(line: ReconLine) -> OfferKey:
    return OfferKey(line.product_id, line.sku_id, line.availability_id)


def _line_order(line: ReconLine) -> tuple:
    return (line.order_date, line.charge_start_date or dt.date.min, line.source_line)


@dataclass(frozen=True, slots=True)
class _Part:
    """One billing event row, with the parts of a combined product (telco and non-telco
    lines of e.g. Microsoft 365 E5) merged: money summed, quantity counted once."""

    lines: tuple[ReconLine, ...]
    charge_type: str  # lower case
    sign: int
    quantity: Decimal
    subtotal: Decimal
    unit_price: Decimal

    @property
    def line(self) -> ReconLine:
        return self.lines[0]

    @property
    def order(self) -> tuple:
        return _line_order(self.line)

    @property
    def offer(self) -> OfferKey:
        return _offer_of(self.line)


def _merge_parts(lines: list[ReconLine]) -> list[_Part]:
    """Rows of one event that differ only in product part (same OrderDate, ChargeType,
    ReferenceId, charge span, BillableQuantity and sign) are one part: a combined product
    bills its seats once but in two lines."""
    groups: dict[tuple, list[ReconLine]] = defaultdict(list)
    for line in sorted(lines, key=_line_order):
        key = (
            line.order_date,
            line.charge_type.casefold(),
            line.reference_id.casefold(),
            line.charge_start_date,
            line.charge_end_date,
            line.billable_quantity,
            _sign(line),
        )
        groups[key].append(line)
    parts = [
        _Part(
            lines=tuple(group),
            charge_type=group[0].charge_type.casefold(),
            sign=_sign(group[0]),
            quantity=group[0].billable_quantity,
            subtotal=sum((g.subtotal for g in group), ZERO),
            unit_price=sum((g.unit_price for g in group), ZERO),
        )
        for group in groups.values()
    ]
    return sorted(parts, key=lambda p: p.order)


@dataclass(slots=True)
class _Quantities:
    largest: Decimal | None = None
    end: Decimal | None = None
    cancelled: bool = False
    end_offer: OfferKey | None = None


def _start_of_changes(changes: list[_Part], warnings: list[str]) -> Decimal | None:
    """The seat count before a day of seat changes when no earlier count is known: a pair's
    refund row reverses the whole old count, and the first link of the day's chain is the
    refunded count that no charge row of that day created."""
    refunds = [p for p in changes if p.sign < 0 and p.charge_type in PAIR_TYPES | CANCEL_TYPES]
    charged = {p.quantity for p in changes if p.sign > 0}
    if refunds:
        heads = [p.quantity for p in refunds if p.quantity not in charged]
        return heads[0] if heads else refunds[0].quantity
    if any(p.sign < 0 for p in changes):
        warnings.append(
            "seats moved out by convert/moveQuantity but the count before is unknown: "
            "end-of-month quantity not known"
        )
        return None
    return ZERO


def _track_quantities(
    parts: list[_Part], start: Decimal | None, warnings: list[str]
) -> _Quantities:
    """Largest and end-of-month quantity (§4 c).

    Day by day: a full-cycle row (new, renew, cycleCharge, changeBillingPlan) sets the
    count; seat changes (addQuantity, removeQuantity, convert, moveQuantity,
    cancelImmediate) then apply Microsoft's same-day rule: + Σ BillableQuantity of the
    charge rows − Σ BillableQuantity of the refund rows. Refund rows are never read as
    seats removed on their own: a pair's refund reverses the old count and its charge
    states the new one, so the net is right whatever order the rows of a day come in.

    Largest = max(BillableQuantity of the positive rows of those charge types, the count
    after each day with changes); the second term catches seats moved into an existing
    subscription. A month without quantity events keeps `start` (the previous month's end).
    """
    result = _Quantities()
    quantity = start
    touched = False
    by_day: dict[dt.date, list[_Part]] = defaultdict(list)
    for part in parts:
        by_day[part.line.order_date].append(part)
    for day in sorted(by_day):
        day_parts = by_day[day]
        sets = [p for p in day_parts if p.charge_type in SET_TYPES and p.sign > 0]
        changes = [
            p
            for p in day_parts
            if p.charge_type in PAIR_TYPES | MOVE_TYPES | CANCEL_TYPES and p.sign != 0
        ]
        if sets:
            quantity = max(sets, key=lambda p: p.order).quantity
        if changes:
            if quantity is None:
                quantity = _start_of_changes(changes, warnings)
            if quantity is not None:
                quantity += sum((p.quantity for p in changes if p.sign > 0), ZERO)
                quantity -= sum((p.quantity for p in changes if p.sign < 0), ZERO)
            if any(p.charge_type in CANCEL_TYPES for p in changes):
                result.cancelled = True
                if quantity not in (None, ZERO):
                    warnings.append(
                        f"cancelImmediate on {day.isoformat()} leaves {quantity} seats by the "
                        "refund/charge rows; taken as 0"
                    )
                quantity = ZERO
            elif quantity is not None and quantity < 0:
                warnings.append(
                    f"seat count below zero ({quantity}) after {day.isoformat()}: rows missing?"
                )
        if sets or changes:
            touched = True
            positives = [
                p for p in sets + changes if p.sign > 0 and p.charge_type in LARGEST_QUANTITY_TYPES
            ]
            candidates = [p.quantity for p in positives]
            if quantity is not None:
                candidates.append(quantity)
            if result.largest is not None:
                candidates.append(result.largest)
            result.largest = max(candidates) if candidates else None
            if positives:
                result.end_offer = positives[-1].offer
    result.end = quantity
    if not touched:
        result.largest = start
    return result


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


def _group_record_type(
    decisions: list[RecordTypeDecision],
    lines: list[ReconLine],
    previous: SubscriptionMonth | None,
    warnings: list[str],
) -> str | None:
    decided = sorted({d.record_type for d in decisions if d.record_type is not None})
    azure_with_meters = {RecordType.AZURE_PLAN.value, RecordType.MARKETPLACE.value}
    if len(decided) == 1:
        return decided[0]
    if set(decided) == azure_with_meters:
        third_party = sum(
            (
                line.subtotal
                for line, d in zip(lines, decisions, strict=True)
                if d.record_type == RecordType.MARKETPLACE
            ),
            ZERO,
        )
        warnings.append(
            f"includes third-party (Marketplace) meters billed through the Azure plan: "
            f"{third_party} of the total"
        )
        return RecordType.AZURE_PLAN.value
    if decided:
        warnings.append(f"record type not decided: the lines say {', '.join(decided)}")
        return None
    reasons = sorted({d.reason for d in decisions})
    if previous is not None and previous.record_type is not None:
        warnings.append(
            f"record type {previous.record_type} taken from the previous month; "
            f"this month's lines: {'; '.join(reasons)}"
        )
        return previous.record_type
    warnings.append(f"record type not decided: {'; '.join(reasons)}")
    return None


def _roll_up_group(
    lines: list[ReconLine], month: dt.date, previous: SubscriptionMonth | None
) -> SubscriptionMonth | None:
    warnings: list[str] = []
    kept = [line for line in lines if not is_trial(line)]
    if not kept:
        return None
    kept.sort(key=_line_order)
    outside = [line.source_line for line in kept if not _in_month(line.order_date, month)]
    if outside:
        warnings.append(
            f"line(s) {', '.join(map(str, outside))} have an OrderDate outside {month:%Y-%m}"
        )
    currencies = sorted({line.currency for line in kept})
    if len(currencies) > 1:
        warnings.append(f"more than one billing currency: {', '.join(currencies)}")
    record_type = _group_record_type(
        [record_type_of(line) for line in kept], kept, previous, warnings
    )
    for line in kept:
        charge_type = line.charge_type.casefold()
        if charge_type not in KNOWN_TYPES:
            warnings.append(
                f"line {line.source_line}: ChargeType {line.charge_type!r} not known; "
                "counted in the total only"
            )
    parts = _merge_parts(kept)
    previous_live = previous if previous is not None and not previous.cancelled else None
    offer = _offer_of(kept[-1])
    if record_type == RecordType.AZURE_PLAN:
        quantities = _Quantities()
        unit_cost, source = None, UnitCostSource.NONE
    else:
        start = previous_live.end_quantity if previous_live is not None else None
        quantities = _track_quantities(parts, start, warnings)
        if quantities.end_offer is not None:
            offer = quantities.end_offer
        if len({p.offer for p in parts}) > 1:
            warnings.append(
                f"more than one product in the month (upgrade?): figures are for "
                f"{offer.product_id}:{offer.sku_id}"
            )
        unit_cost, source = _unit_cost_of(parts, offer, previous_live, warnings)
    of_offer = [line for line in kept if _offer_of(line) == offer]
    charged = [line for line in of_offer if _sign(line) > 0]
    representative = (charged or of_offer or kept)[-1]
    frequency = billing_frequency_of(representative)
    if not frequency and previous is not None:
        frequency = previous.billing_frequency
    starts = [line.charge_start_date for line in kept if line.charge_start_date is not None]
    ends = [line.charge_end_date for line in kept if line.charge_end_date is not None]
    term_ends = [line.subscription_end_date for line in kept if line.subscription_end_date]
    return SubscriptionMonth(
        customer_id=representative.customer_id,
        subscription_id=representative.subscription_id,
        month=month,
        record_type=record_type,
        product_id=offer.product_id,
        sku_id=offer.sku_id,
        availability_id=offer.availability_id,
        customer_name=next((x.customer_name for x in reversed(kept) if x.customer_name), ""),
        product_name=representative.product_name,
        sku_name=representative.sku_name,
        subscription_description=next(
            (x.subscription_description for x in reversed(kept) if x.subscription_description),
            "",
        ),
        currency=representative.currency,
        unit_cost_month=unit_cost,
        unit_cost_source=source,
        largest_quantity=quantities.largest,
        end_quantity=quantities.end,
        total_cost=sum((line.subtotal for line in kept), ZERO),
        charge_start=min(starts) if starts else None,
        charge_end=max(ends) if ends else None,
        cancelled=quantities.cancelled,
        term_end=representative.subscription_end_date or (term_ends[-1] if term_ends else None),
        term_months=term_months_of(representative),
        billing_frequency=frequency,
        carried_forward=False,
        warnings=warnings,
    )


def _carry_forward(previous: SubscriptionMonth, month: dt.date) -> SubscriptionMonth | None:
    """A month with no line: quantity unchanged, the monthly rate carried, no cost."""
    if previous.cancelled or previous.record_type in NOT_CARRIED:
        return None
    warnings: list[str] = []
    if previous.term_end is not None and previous.term_end < month:
        warnings.append(
            f"term ended {previous.term_end.isoformat()} and no renewal line: "
            "check the subscription in Partner Center"
        )
    if previous.billing_frequency == BillingFrequencyChoices.MONTHLY:
        warnings.append("billed monthly but no line this month")
    source = previous.unit_cost_source
    if source == UnitCostSource.FULL_CYCLE:
        source = UnitCostSource.CARRIED
    return replace(
        previous,
        month=month,
        unit_cost_source=source,
        largest_quantity=previous.end_quantity,
        total_cost=ZERO,
        carried_forward=True,
        warnings=warnings,
    )


def roll_up_subscriptions(
    lines: Iterable[ReconLine],
    *,
    month: dt.date,
    previous: dict[str, SubscriptionMonth] | None = None,
) -> list[SubscriptionMonth]:
    """Roll one month's invoice reconciliation lines up per subscription (§4).

    Groups by CustomerId + SubscriptionId (several products inside one group are kept:
    the offer reported is the one charged last, e.g. the target of an upgrade), drops trial
    rows, and computes unit cost, largest and end-of-month quantity, Σ Subtotal and the
    charge span. `previous` (keyed by SubscriptionId) is last month's result: it supplies
    the starting seat count and the carried monthly rate, and every subscription in it
    that has no line this month is carried forward (same quantity, same rate, cost 0),
    unless it was cancelled, is Azure plan or is a perpetual licence. Lines whose OrderDate
    is outside `month` are still counted, with a warning. Sorted by customer, subscription.
    """
    month = first_of_month(month)
    previous = previous or {}
    groups: dict[tuple[str, str], list[ReconLine]] = defaultdict(list)
    for line in lines:
        groups[(line.customer_id, line.subscription_id)].append(line)
    results: dict[tuple[str, str], SubscriptionMonth] = {}
    seen: set[str] = set()
    for key, group in groups.items():
        seen.add(key[1])
        rolled = _roll_up_group(group, month, previous.get(key[1]))
        if rolled is not None:
            results[key] = rolled
    for subscription_id, earlier in previous.items():
        if subscription_id in seen:
            continue
        carried = _carry_forward(earlier, month)
        if carried is not None:
            results[(carried.customer_id, carried.subscription_id)] = carried
    return [results[key] for key in sorted(results)]


# Azure plan ---------------------------------------------------------------------------


def rounding_allowance(lines: Iterable[ReconLine], tolerance: Decimal = CENT) -> Decimal:
    """How far Σ daily usage may sit from Σ invoice Subtotal by rounding alone.

    Each invoice line is `ROUNDDOWN(ROUNDDOWN(EUP × BillableQuantity, 2) × rate, 2)`, so it
    loses less than one cent to the last rounding, plus less than one cent of the pricing
    currency (× rate) to the first when the rate is not 1. The allowance is therefore
    `tolerance` (one cent) per invoice line, or `tolerance × (1 + rate)` for a line with an
    exchange rate other than 1. Daily usage is not rounded.
    """
    total = ZERO
    for line in lines:
        rate = line.pc_to_bc_exchange_rate
        total += tolerance * (1 + rate) if rate is not None and rate != 1 else tolerance
    return total
