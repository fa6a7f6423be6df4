"""One month's roll-up per subscription (§4): the lines grouped per subscription, each
group's record type, quantities, unit cost, total and charge span, and the subscriptions
of the previous month carried into a month without lines."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from apps.catalog.choices import BillingFrequencyChoices
from apps.catalog.importers.records import ReconLine
from apps.catalog.record_types import (
    RecordTypeDecision,
    billing_frequency_of,
    record_type_of,
    term_months_of,
)
from apps.catalog.rollup.figures import ZERO, SubscriptionMonth, UnitCostSource, first_of_month
from apps.catalog.rollup.quantities import (
    KNOWN_TYPES,
    _line_order,
    _merge_parts,
    _offer_of,
    _Quantities,
    _sign,
    _track_quantities,
    is_trial,
)
from apps.catalog.rollup.unit_cost import _unit_cost_of
from apps.core.choices import RecordType

# Record types that are not carried into a month without lines: Azure plan usage is billed
# when used; a perpetual licence is a one-time purchase with no term.
NOT_CARRIED = frozenset({RecordType.AZURE_PLAN.value, RecordType.PERPETUAL_LICENCE.value})


def _in_month(day: dt.date | None, month: dt.date) -> bool:
    return day is not None and (day.year, day.month) == (month.year, month.month)


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
