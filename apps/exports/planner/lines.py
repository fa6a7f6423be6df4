"""Licences (DOMAIN.md "Export" 2 and 6): the Autotask service an offer is billed on (mapped,
or created once as a shared operation), and the contract's service line: adding it,
adjusting its units and price for the month, restoring drift, and taking an old offer's
line to 0 units after an offer change."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .contracts import _contract_refs, _ContractRef
from .model import (
    PERIOD_MONTHS,
    PERIOD_TYPES,
    PERIOD_YEARLY,
    ZERO,
    ItemPlan,
    Kind,
    Operation,
    Skip,
    SubscriptionFacts,
    _Context,
    _skip,
    money,
    month_label,
    row_unit_prices,
    same_money,
    service_key,
    service_name,
    shown,
    unit_row_on,
)


def _whole(quantity: Decimal | None) -> int:
    if quantity is None:
        return 0
    return int(quantity.to_integral_value(rounding="ROUND_CEILING"))


def _units_on(rows: list[dict], day: dt.date) -> tuple[int, dict | None]:
    row = unit_row_on(rows, day)
    return (int(row.get("units") or 0), row) if row else (0, None)


# -- services ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ServiceRef:
    service_id: int | None  # known id, or None while the shared create is pending
    key: str | None  # ledger key of the shared create


def _service_for(item: ItemPlan, facts: SubscriptionFacts, ctx: _Context) -> _ServiceRef | None:
    service_id = ctx.mappings.services.get(facts.offer_pk)
    if service_id is not None:
        return _ServiceRef(service_id, None)
    key = f"service:{facts.offer_pk}"
    known = ctx.ledger.get(key)
    if known is not None and known.autotask_id:
        return _ServiceRef(known.autotask_id, None)
    found = ctx.snapshot.services.get(service_key(facts))
    if found is not None:  # created by an export whose answer, or record, was lost
        item.notes.append(f"Service {found['id']} found by its key: syncadmin's own, used.")
        return _ServiceRef(int(found["id"]), None)
    if not ctx.settings.create_missing_services:
        _skip(
            item,
            Skip.OFFER_UNMAPPED,
            f"{facts.offer_name} is not mapped to an Autotask service, and this connection "
            "does not create missing services.",
        )
        return None
    if key not in ctx.shared:
        period = PERIOD_TYPES[facts.billing_frequency]
        months = PERIOD_MONTHS[period]
        price = money(facts.unit_price * months) if facts.unit_price is not None else ZERO
        cost = money(facts.unit_cost * months) if facts.unit_cost is not None else ZERO
        body = {
            "name": service_name(facts)[:150],
            "description": service_key(facts),
            "periodType": period,
            "billingCodeID": ctx.settings.service_billing_code_id,
            "unitPrice": price,
            "unitCost": cost,
            "invoiceDescription": facts.offer_name[:1000],
            "isActive": True,
        }
        ctx.shared[key] = Operation(
            kind=Kind.CREATE_SERVICE,
            key=key,
            entity="Services",
            body=body,
            reason=(
                f"{facts.offer_name} has no Autotask service and the connection creates "
                "missing ones; the mapping is recorded with it."
            ),
            after=body,
            price_source=facts.price_source,
            ledger={"offer_pk": facts.offer_pk, **body},
        )
    return _ServiceRef(None, key)


# -- licences: the contract's service line (2) -----------------------------------------


def _line_prices(facts: SubscriptionFacts, period_type: int) -> tuple[Decimal, Decimal]:
    months = PERIOD_MONTHS[period_type]
    price = money(facts.unit_price * months)
    cost = money((facts.unit_cost or ZERO) * months)
    return price, cost


def _plan_line(
    item: ItemPlan,
    facts: SubscriptionFacts,
    ctx: _Context,
    ref: _ContractRef,
    service: _ServiceRef,
    period_type: int,
) -> None:
    units = _whole(facts.quantity)
    price, cost = _line_prices(facts, period_type)
    per = "year" if period_type == PERIOD_YEARLY else "month"
    price_text = (
        f"unit price {shown(price)} per {per} ({facts.price_detail}), unit cost {shown(cost)} "
        "from the report"
    )
    parent_id, refs = _contract_refs(ref)
    lines = ctx.snapshot.lines.get(ref.contract_id, []) if ref.contract_id else []
    service_id = service.service_id
    line = next((row for row in lines if service_id and row.get("serviceID") == service_id), None)
    month = month_label(ctx.month)
    units_key = f"units:{facts.subscription_id}:{service_id or service.key}:{month}"
    body = {"effectiveDate": ctx.start, "contractID": parent_id}
    if service_id is not None:
        body["serviceID"] = service_id
    else:
        refs = {**refs, "serviceID": service.key}

    _zero_old_lines(item, facts, ctx, ref, lines, service_id, month)

    if line is None:
        if units == 0:
            item.notes.append("No units this month: no service line is added.")
            return
        item.operations.append(
            Operation(
                kind=Kind.ADD_SERVICE_LINE,
                key=units_key,
                entity="ContractServiceAdjustments",
                body={
                    **body,
                    "unitChange": units,
                    "adjustedUnitPrice": price,
                    "adjustedUnitCost": cost,
                },
                refs=refs,
                parent_id=parent_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"{units} units (the largest quantity in {month}) of {facts.offer_name} "
                    f"from {ctx.start}, {price_text}; the adjustment creates the line."
                ),
                after={"units": units, "unitPrice": price, "unitCost": cost},
                price_source=facts.price_source,
                ledger={"units": units, "unitPrice": price, "unitCost": cost},
            )
        )
        return

    rows = ctx.snapshot.units.get(int(line["id"]), [])
    current, row = _units_on(rows, ctx.start)
    now_price, now_cost = _prices_in_month(line, row)
    units_change = units != current
    price_change = not (same_money(now_price, price) and same_money(now_cost, cost))
    if not units_change and not price_change:
        return
    if row is not None and row.get("approveAndPostDate"):
        return _skip(
            item,
            Skip.PERIOD_POSTED,
            f"{month} is approved and posted on contract {ref.contract_id}: its units "
            f"({current}) and price stay as billed; the report says {units} units at {price}.",
        )
    wrote = ctx.ledger.get(units_key)
    drift = wrote is not None and (
        wrote.values.get("units") != current
        or not same_money(wrote.values.get("unitPrice"), now_price)
    )
    change = {"unitChange": units - current}
    if price_change:
        change |= {"adjustedUnitPrice": price, "adjustedUnitCost": cost}
    if drift:
        kind = Kind.RESTORE_DRIFT
        reason = (
            f"Someone changed the line in Autotask ({current} units at {now_price}; syncadmin "
            f"wrote {wrote.values.get('units')} at {wrote.values.get('unitPrice')}): restored "
            f"to {units} units, {price_text}."
        )
    elif units_change:
        kind = Kind.ADJUST_UNITS
        reason = (
            f"The largest quantity in {month} is {units}; Autotask has {current} from "
            f"{ctx.start}: {units - current:+d} units"
            + (f", and the price changes to {price_text}." if price_change else ".")
        )
    else:
        kind = Kind.ADJUST_PRICE
        reason = (
            f"The price changes from {now_price} (cost {now_cost}) to {price_text}, "
            f"from {ctx.start}."
        )
    item.operations.append(
        Operation(
            kind=kind,
            key=units_key,
            entity="ContractServiceAdjustments",
            body={**body, **change},
            refs=refs,
            parent_id=parent_id,
            subscription_id=facts.subscription_id,
            organization=facts.organization_name,
            reason=reason,
            before={"units": current, "unitPrice": now_price, "unitCost": now_cost},
            after={"units": units, "unitPrice": price, "unitCost": cost},
            price_source=facts.price_source,
            ledger={"units": units, "unitPrice": price, "unitCost": cost},
        )
    )
    return None


def _prices_in_month(line: dict, row: dict | None) -> tuple:
    """The unit price and cost in force in the month: its unit row's (a later month's
    price change does not show), else the line's own."""
    prices = row_unit_prices(row)
    return prices if prices else (line.get("unitPrice"), line.get("unitCost"))


def _zero_old_lines(item, facts, ctx, ref, lines, service_id, month) -> None:
    """6. After an offer change the old offer's line goes to 0 units from the first day
    of the month (Autotask cannot remove a line). Only lines syncadmin wrote."""
    for line in lines:
        old_service = line.get("serviceID")
        if old_service == service_id:
            continue
        ours = ref.ours or any(
            key.startswith(f"units:{facts.subscription_id}:{old_service}:") for key in ctx.ledger
        )
        if not ours:
            continue
        current, _ = _units_on(ctx.snapshot.units.get(int(line["id"]), []), ctx.start)
        if current == 0:
            continue
        item.operations.append(
            Operation(
                kind=Kind.ADJUST_UNITS,
                key=f"units:{facts.subscription_id}:{old_service}:{month}",
                entity="ContractServiceAdjustments",
                body={
                    "contractID": ref.contract_id,
                    "serviceID": old_service,
                    "effectiveDate": ctx.start,
                    "unitChange": -current,
                },
                parent_id=ref.contract_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"The subscription changed offer to {facts.offer_name}: the old line "
                    f"(service {old_service}) goes from {current} to 0 units from {ctx.start}; "
                    "Autotask cannot remove a line."
                ),
                before={"units": current},
                after={"units": 0},
                ledger={"units": 0, "unitPrice": line.get("unitPrice")},
            )
        )
