"""Billing rows as the roll-up reads them (charge types, charge or refund, the parts of
a combined product merged into one event), and the seat counts they leave (§4 c)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from apps.catalog.importers.records import ReconLine
from apps.catalog.rollup.figures import ZERO, OfferKey

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
