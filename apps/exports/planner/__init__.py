"""The export plan: which Autotask writes one billing month needs, and why.

A pure function (`plan_export`) of

- the month and the subscriptions in scope, as `SubscriptionFacts` (the report's roll-up
  with its prices),
- the mappings (organization → company, offer → service, subscription → contract),
- the connection's export settings,
- a `Snapshot` of the Autotask objects involved (read in bulk beforehand),
- the ledger of what syncadmin wrote before (`LedgerEntry` by key),

to a `Plan`: for each subscription the ordered operations (each with its reason in
words, the price and its source, the values before and after) or the reason it is
skipped, plus the shared operations (products and services) the others need first. The
rules are DOMAIN.md "Export"; the numbers in the comments refer to its list. No I/O.

Ledger keys (one Autotask object each): ``product:<record type>``,
``service:<offer pk>``, ``contract:<subscription id>``,
``line:<subscription id>:<service id>`` (a contract's service line),
``units:<subscription id>:<service id>:<YYYY-MM>`` (what we set a line to for a month),
``charge:<subscription id>:<YYYY-MM>`` and
``correction:<subscription id>:<YYYY-MM>:<n>``.

This package holds `plan_export`, which walks the subscriptions (folding reservations
into the Azure plan where the connection says so); the rules live in its modules:

- `model`: the constants, `Kind` and `Skip`, the input and output types, the month's
  context and the small helpers (money, dates, names, keys);
- `contracts`: the contract (1, 4);
- `lines`: services for offers and the licence's service line (2, 6);
- `charges`: products and charges, and corrections of billed ones (3).

Everything other modules use is importable from `apps.exports.planner`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from apps.core.choices import RecordType

from .charges import _plan_charge
from .contracts import OWNED_CONTRACT_FIELDS, _plan_contract, _plan_end
from .lines import _plan_line, _service_for
from .model import (
    AZURE_PLAN_END,
    CENTS,
    CHARGE_OPERATIONAL,
    CHARGE_PRODUCTS,
    MONEY_PLACES,
    PERIOD_MONTHLY,
    PERIOD_MONTHS,
    PERIOD_TYPES,
    PERIOD_YEARLY,
    RECURRING_SERVICE,
    STATUS_ACTIVE,
    TERMS,
    ZERO,
    ExportSettings,
    ItemPlan,
    Kind,
    LedgerEntry,
    Mappings,
    MissingSubscription,
    Operation,
    Plan,
    Skip,
    Snapshot,
    SubscriptionFacts,
    _Context,
    _skip,
    as_date,
    charge_name,
    contract_key_of,
    contract_name,
    money,
    month_end,
    month_label,
    row_unit_prices,
    same_money,
    service_key,
    service_name,
    shown,
    unit_row_on,
)

__all__ = [
    "AZURE_PLAN_END",
    "CENTS",
    "CHARGE_OPERATIONAL",
    "CHARGE_PRODUCTS",
    "MONEY_PLACES",
    "OWNED_CONTRACT_FIELDS",
    "PERIOD_MONTHLY",
    "PERIOD_MONTHS",
    "PERIOD_TYPES",
    "PERIOD_YEARLY",
    "RECURRING_SERVICE",
    "STATUS_ACTIVE",
    "TERMS",
    "ZERO",
    "ExportSettings",
    "ItemPlan",
    "Kind",
    "LedgerEntry",
    "Mappings",
    "MissingSubscription",
    "Operation",
    "Plan",
    "Skip",
    "Snapshot",
    "SubscriptionFacts",
    "as_date",
    "charge_name",
    "contract_key_of",
    "contract_name",
    "money",
    "month_end",
    "month_label",
    "plan_export",
    "row_unit_prices",
    "same_money",
    "service_key",
    "service_name",
    "shown",
    "unit_row_on",
]


# -- the plan ----------------------------------------------------------------------------


def plan_export(
    *,
    month: dt.date,
    subscriptions: list[SubscriptionFacts],
    mappings: Mappings,
    settings: ExportSettings,
    snapshot: Snapshot,
    ledger: dict[str, LedgerEntry],
    missing: list[MissingSubscription] = (),
) -> Plan:
    """The plan for one month (see the module docstring). Subscriptions keep the order
    given; shared operations (products, services) come first."""
    ctx = _Context(month.replace(day=1), mappings, settings, snapshot, ledger)
    folded = _folded_reservations(subscriptions, ctx)
    items = []
    for facts in subscriptions:
        item = ItemPlan(facts.subscription_id, facts.organization_name, _label(facts))
        if facts.subscription_id in folded.skipped:
            target = folded.skipped[facts.subscription_id]
            item.skip, item.reason = (
                Skip.FOLDED,
                f"Folded into the Azure plan charge of subscription {target} "
                "(the connection folds reservations into the Azure plan).",
            )
        else:
            _plan_subscription(item, facts, ctx, folded.extra.get(facts.subscription_id, []))
        items.append(item)
    for gone in missing:
        items.append(
            ItemPlan(
                gone.subscription_id,
                gone.organization_name,
                gone.label,
                skip=Skip.MISSING_FROM_REPORT,
                reason=(
                    f"Not on the {month_label(ctx.month)} report: reported only, its contract "
                    "is not ended (only a cancellation ends a contract)."
                ),
            )
        )
    # Only the shared objects that planned operations still refer to: a subscription
    # skipped after asking for its service or product needs neither.
    wanted = {key for item in items for op in item.operations for key in op.refs.values()}
    return Plan([op for key, op in ctx.shared.items() if key in wanted], items)


def _label(facts: SubscriptionFacts) -> str:
    return f"{facts.offer_name} - {facts.organization_name} ({facts.subscription_id})"


@dataclass
class _Folding:
    skipped: dict[str, str] = field(default_factory=dict)  # reservation → Azure plan sub
    extra: dict[str, list[SubscriptionFacts]] = field(default_factory=dict)


def _folded_reservations(subscriptions: list[SubscriptionFacts], ctx: _Context) -> _Folding:
    folding = _Folding()
    types = ctx.settings.record_types
    if not ctx.settings.fold_reservations or not {
        RecordType.AZURE_PLAN.value,
        RecordType.AZURE_RESERVATION.value,
    } <= set(types):
        return folding
    azure = {}
    for facts in subscriptions:
        if facts.record_type == RecordType.AZURE_PLAN and facts.organization_pk not in azure:
            azure[facts.organization_pk] = facts.subscription_id
    for facts in subscriptions:
        target = azure.get(facts.organization_pk)
        if facts.record_type == RecordType.AZURE_RESERVATION and target:
            folding.skipped[facts.subscription_id] = target
            folding.extra.setdefault(target, []).append(facts)
    return folding


def _plan_subscription(
    item: ItemPlan, facts: SubscriptionFacts, ctx: _Context, folded: list[SubscriptionFacts]
) -> None:
    record_type = facts.record_type
    if not record_type:
        return _skip(item, Skip.RECORD_TYPE_UNKNOWN, "The import could not tell its record type.")
    if record_type not in ctx.settings.record_types:
        label = RecordType(record_type).label if record_type in RecordType.values else record_type
        return _skip(
            item,
            Skip.RECORD_TYPE_DISABLED,
            f"{label} is not exported on this connection (its record types setting).",
        )
    company_id = ctx.mappings.companies.get(facts.organization_pk)
    if company_id is None:
        return _skip(
            item,
            Skip.ORGANIZATION_UNMAPPED,
            f"{facts.organization_name} is not mapped to an Autotask company.",
        )
    is_licence = record_type == RecordType.LICENSE_BASED
    period_type = _period_type(facts, is_licence)
    if period_type is None:
        return _skip(
            item,
            Skip.NOT_SUPPORTED,
            f"Billed {facts.billing_frequency or 'at an unknown frequency'}: only monthly and "
            "yearly licences can be exported to a Recurring Service contract.",
        )
    if (facts.unit_price if is_licence else facts.sales_amount) is None:
        return _skip(item, Skip.NO_PRICE, f"No sales price: {facts.price_detail}.")
    service = None
    if is_licence:
        service = _service_for(item, facts, ctx)
        if service is None:
            return None

    contract_ref = _plan_contract(item, facts, ctx, company_id, period_type)
    if item.skip:
        return None
    if is_licence:
        _plan_line(item, facts, ctx, contract_ref, service, period_type)
    else:
        _plan_charge(item, facts, ctx, contract_ref, folded)
    if item.skip:
        return None
    if facts.cancelled:
        _plan_end(item, facts, ctx, contract_ref)
    if not item.operations and not item.skip:
        item.notes.append("Unchanged: Autotask already holds what the report says.")
    return None


def _period_type(facts: SubscriptionFacts, is_licence: bool) -> int | None:
    period = PERIOD_TYPES.get(facts.billing_frequency)
    if period is None and not is_licence:
        return PERIOD_MONTHLY  # charges are not tied to the contract's periods
    return period
