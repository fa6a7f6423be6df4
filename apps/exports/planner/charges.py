"""Charges (DOMAIN.md "Export" 3): the product a record type is charged on (found, or
created once as a shared operation), the month's charge on the contract (created, updated
while not billed, restored after drift), and a correcting charge for the difference once
the charge is billed."""

from __future__ import annotations

from decimal import Decimal

from apps.core.choices import RecordType

from .contracts import _contract_refs, _ContractRef
from .model import (
    CHARGE_OPERATIONAL,
    CHARGE_PRODUCTS,
    ZERO,
    ItemPlan,
    Kind,
    Operation,
    SubscriptionFacts,
    _Context,
    as_date,
    charge_name,
    money,
    month_label,
    same_money,
    shown,
)


def _product_ref(facts: SubscriptionFacts, ctx: _Context) -> tuple[int | None, str | None]:
    name = CHARGE_PRODUCTS[facts.record_type]
    found = ctx.snapshot.products.get(name)
    if found is not None:
        return int(found["id"]), None
    key = f"product:{facts.record_type}"
    known = ctx.ledger.get(key)
    if known is not None and known.autotask_id:
        return known.autotask_id, None
    if key not in ctx.shared:
        body = {
            "name": name,
            "description": f"Microsoft {name} charges exported by syncadmin (one per month).",
            "productBillingCodeID": ctx.settings.product_billing_code_id,
            "isActive": True,
            "isSerialized": False,
        }
        ctx.shared[key] = Operation(
            kind=Kind.CREATE_PRODUCT,
            key=key,
            entity="Products",
            body=body,
            reason=f"Charges of this record type go on the product “{name}”, created once.",
            after=body,
            ledger=body,
        )
    return None, key


def _charge_quantity(facts: SubscriptionFacts, price: Decimal, cost: Decimal) -> Decimal:
    """1, unless the report has a meaningful quantity that divides both totals exactly."""
    quantity = facts.quantity
    if facts.record_type == RecordType.AZURE_PLAN or not quantity or quantity <= 1:
        return Decimal(1)
    if quantity != quantity.to_integral_value():
        return Decimal(1)
    if (price / quantity) == money(price / quantity) and (cost / quantity) == money(
        cost / quantity
    ):
        return quantity
    return Decimal(1)


def _plan_charge(
    item: ItemPlan,
    facts: SubscriptionFacts,
    ctx: _Context,
    ref: _ContractRef,
    folded: list[SubscriptionFacts],
) -> None:
    month = month_label(ctx.month)
    total_price = facts.sales_amount + sum((f.sales_amount or ZERO for f in folded), ZERO)
    total_cost = facts.total_cost + sum((f.total_cost for f in folded), ZERO)
    quantity = _charge_quantity(facts, total_price, total_cost) if not folded else Decimal(1)
    unit_price, unit_cost = money(total_price / quantity), money(total_cost / quantity)
    name = charge_name(facts, ctx.month)
    description = (
        f"{facts.offer_name} for {facts.organization_name}, {ctx.month:%B %Y} "
        f"(subscription {facts.subscription_id})"
    )
    if folded:
        description += "; includes reservations " + ", ".join(f.subscription_id for f in folded)
    product_id, product_key = _product_ref(facts, ctx)
    parent_id, refs = _contract_refs(ref)
    if product_key:
        refs = {**refs, "productID": product_key}
    wanted = {
        "name": name,
        "description": description[:2000],
        "datePurchased": ctx.end,
        "unitQuantity": quantity,
        "unitCost": unit_cost,
        "unitPrice": unit_price,
    }
    key = f"charge:{facts.subscription_id}:{month}"
    price_text = (
        f"price {shown(total_price)} ({facts.price_detail}), cost {shown(total_cost)} "
        "from the report"
    )
    charges = ctx.snapshot.charges.get(ref.contract_id, []) if ref.contract_id else []
    existing = next((c for c in charges if c.get("name") == name), None)
    if existing is None and total_cost == 0 and total_price == 0:
        item.notes.append(f"Nothing billed in {month} (a prepaid plan's later month): no charge.")
        return
    if existing is None:
        body = {
            **wanted,
            "contractID": parent_id,
            "productID": product_id,
            "chargeType": CHARGE_OPERATIONAL,
            "isBillableToCompany": True,
        }
        item.operations.append(
            Operation(
                kind=Kind.CREATE_CHARGE,
                key=key,
                entity="ContractCharges",
                body=body,
                refs=refs,
                parent_id=parent_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=f"The {month} charge: {price_text}.",
                after=wanted,
                price_source=facts.price_source,
                ledger=wanted,
            )
        )
        return
    now = {name_: existing.get(name_) for name_ in wanted}
    if _charge_matches(now, wanted):
        return
    if not existing.get("isBilled"):
        wrote = ctx.ledger.get(key)
        drift = wrote is not None and not _charge_matches(now, wrote.values)
        item.operations.append(
            Operation(
                kind=Kind.RESTORE_DRIFT if drift else Kind.UPDATE_CHARGE,
                key=key,
                entity="ContractCharges",
                body={"id": int(existing["id"]), **wanted},
                parent_id=ref.contract_id,
                target_id=int(existing["id"]),
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"Someone changed the {month} charge in Autotask; restored: {price_text}."
                    if drift
                    else f"The {month} charge changes (not billed yet): {price_text}."
                ),
                before=now,
                after=wanted,
                price_source=facts.price_source,
                ledger=wanted,
            )
        )
        return
    _plan_correction(item, facts, ctx, ref, existing, charges, wanted, product_id, refs)


def _charge_matches(now: dict, wanted: dict) -> bool:
    for name, value in wanted.items():
        if name in ("unitQuantity", "unitCost", "unitPrice"):
            if not same_money(now.get(name), value):
                return False
        elif name == "datePurchased":
            if as_date(now.get(name)) != as_date(value):
                return False
        elif (now.get(name) or "") != (value or ""):
            return False
    return True


def _amount(charge: dict, field_name: str) -> Decimal:
    return Decimal(str(charge.get("unitQuantity") or 0)) * Decimal(str(charge.get(field_name) or 0))


def _plan_correction(item, facts, ctx, ref, billed, charges, wanted, product_id, refs) -> None:
    """A billed charge is never changed: the difference is posted as a new charge."""
    prefix = f"{wanted['name']} correction "
    corrections = [c for c in charges if str(c.get("name", "")).startswith(prefix)]
    price_now = _amount(billed, "unitPrice") + sum(
        (_amount(c, "unitPrice") for c in corrections), ZERO
    )
    cost_now = _amount(billed, "unitCost") + sum(
        (_amount(c, "unitCost") for c in corrections), ZERO
    )
    price_wanted = wanted["unitQuantity"] * wanted["unitPrice"]
    cost_wanted = wanted["unitQuantity"] * wanted["unitCost"]
    price_diff, cost_diff = money(price_wanted - price_now), money(cost_wanted - cost_now)
    if same_money(price_diff, ZERO) and same_money(cost_diff, ZERO):
        return
    number = len(corrections) + 1
    month = month_label(ctx.month)
    name = f"{wanted['name'][: 100 - len(' correction 99')]} correction {number}"
    body = {
        "name": name,
        "description": (
            f"Correction of the billed {month} charge {billed['id']}: the report now says "
            f"price {money(price_wanted)}, cost {money(cost_wanted)}."
        ),
        "datePurchased": ctx.end,
        "unitQuantity": Decimal(1),
        "unitCost": cost_diff,
        "unitPrice": price_diff,
        "contractID": ref.contract_id,
        "productID": product_id,
        "chargeType": CHARGE_OPERATIONAL,
        "isBillableToCompany": True,
    }
    item.operations.append(
        Operation(
            kind=Kind.CORRECT_CHARGE,
            key=f"correction:{facts.subscription_id}:{month}:{number}",
            entity="ContractCharges",
            body=body,
            refs={name_: value for name_, value in refs.items() if name_ == "productID"},
            parent_id=ref.contract_id,
            subscription_id=facts.subscription_id,
            organization=facts.organization_name,
            reason=(
                f"The {month} charge {billed['id']} is already billed (price {money(price_now)}, "
                f"cost {money(cost_now)}); the report now says price {money(price_wanted)}, "
                f"cost {money(cost_wanted)}: a correcting charge for the difference."
            ),
            before={"price": money(price_now), "cost": money(cost_now)},
            after={"price": money(price_wanted), "cost": money(cost_wanted)},
            price_source=facts.price_source,
            flagged=True,
            ledger={"unitPrice": price_diff, "unitCost": cost_diff, "of": int(billed["id"])},
        )
    )
