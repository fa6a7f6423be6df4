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
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from apps.core.choices import RecordType

RECURRING_SERVICE = 7
STATUS_ACTIVE = 1
CHARGE_OPERATIONAL = 1
PERIOD_MONTHLY = 2
PERIOD_YEARLY = 5
AZURE_PLAN_END = dt.date(2099, 12, 31)
MONEY_PLACES = Decimal("0.0001")
CENTS = Decimal("0.01")
ZERO = Decimal(0)

# The product each charge record type is charged on (DOMAIN.md "Export" 3).
CHARGE_PRODUCTS = {
    RecordType.AZURE_PLAN.value: "Azure Plan",
    RecordType.AZURE_RESERVATION.value: "Azure Reservation",
    RecordType.SAVINGS_PLAN.value: "Azure Savings Plan",
    RecordType.MARKETPLACE.value: "Marketplace",
    RecordType.SOFTWARE_SUBSCRIPTION.value: "Software Subscription",
    RecordType.PERPETUAL_LICENCE.value: "Perpetual Licence",
}
PERIOD_TYPES = {"monthly": PERIOD_MONTHLY, "annual": PERIOD_YEARLY}
PERIOD_MONTHS = {PERIOD_MONTHLY: 1, PERIOD_YEARLY: 12}


class Kind:
    """What an operation does (the run counts them by these names)."""

    CREATE_PRODUCT = "create_product"
    CREATE_SERVICE = "create_service"
    CREATE_CONTRACT = "create_contract"
    ADD_SERVICE_LINE = "add_service_line"
    ADJUST_UNITS = "adjust_units"
    ADJUST_PRICE = "adjust_price"
    CREATE_CHARGE = "create_charge"
    UPDATE_CHARGE = "update_charge"
    CORRECT_CHARGE = "correct_charge"
    EXTEND_END_DATE = "extend_end_date"
    END_CONTRACT = "end_contract"
    RESTORE_DRIFT = "restore_drift"

    CREATES = frozenset(
        {
            CREATE_PRODUCT,
            CREATE_SERVICE,
            CREATE_CONTRACT,
            ADD_SERVICE_LINE,
            CREATE_CHARGE,
            CORRECT_CHARGE,
        }
    )
    LABELS = {
        CREATE_PRODUCT: "Create product",
        CREATE_SERVICE: "Create service",
        CREATE_CONTRACT: "Create contract",
        ADD_SERVICE_LINE: "Add the contract's service line",
        ADJUST_UNITS: "Adjust units",
        ADJUST_PRICE: "Adjust price",
        CREATE_CHARGE: "Create charge",
        UPDATE_CHARGE: "Update charge",
        CORRECT_CHARGE: "Post a correcting charge",
        EXTEND_END_DATE: "Extend end date",
        END_CONTRACT: "End contract",
        RESTORE_DRIFT: "Restore a drifted value",
    }


class Skip:
    """Why a subscription writes nothing."""

    ORGANIZATION_UNMAPPED = "organization_unmapped"
    OFFER_UNMAPPED = "offer_unmapped"
    RECORD_TYPE_DISABLED = "record_type_disabled"
    RECORD_TYPE_UNKNOWN = "record_type_unknown"
    MISSING_FROM_REPORT = "missing_from_report"
    PERIOD_POSTED = "period_posted"
    BILLING_FREQUENCY_CHANGED = "billing_frequency_changed"
    NOT_SUPPORTED = "not_supported"
    NO_PRICE = "no_price"
    BEFORE_CONTRACT = "before_contract"
    FOLDED = "folded"


# -- inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSettings:
    """The connection's export settings, as the planner reads them."""

    record_types: frozenset[str]
    create_missing_services: bool = True
    fold_reservations: bool = False
    key_udf: str = ""  # blank: the key goes to contractNumber
    sla_id: int | None = None
    contract_category_id: int | None = None
    service_billing_code_id: int | None = None
    product_billing_code_id: int | None = None


@dataclass(frozen=True)
class SubscriptionFacts:
    """One subscription's month, as the report and the price rules give it."""

    subscription_id: str  # Microsoft's id: the contract's key
    organization_pk: int
    organization_name: str
    offer_pk: int | None
    offer_name: str  # e.g. "Microsoft 365 Business Premium (monthly)"
    billing_frequency: str
    record_type: str | None
    quantity: Decimal | None  # the month's largest quantity
    unit_cost: Decimal | None  # per unit per month
    total_cost: Decimal
    unit_price: Decimal | None  # the sales price per unit per month (licences)
    sales_amount: Decimal | None  # the month's sales total (charges)
    price_source: str = ""
    price_detail: str = ""
    offer_key: str = ""  # product:SKU:availability:term:frequency, the created service's key
    term: str = ""  # P1M, P1Y, P3Y or blank
    charge_start: dt.date | None = None
    charge_end: dt.date | None = None
    cancelled: bool = False
    term_end: dt.date | None = None
    description: str = ""


@dataclass(frozen=True)
class MissingSubscription:
    """A subscription that has a contract on this connection but no line on the report."""

    subscription_id: str
    organization_name: str
    label: str


@dataclass(frozen=True)
class Mappings:
    companies: dict[int, int]  # organization pk → Autotask company id
    services: dict[int, int]  # offer pk → Autotask service id
    contracts: dict[str, int] = field(default_factory=dict)  # subscription id → contract id


@dataclass
class Snapshot:
    """The Autotask objects a plan needs, as Autotask returned them (plain dicts)."""

    contracts: dict[str, dict] = field(default_factory=dict)  # by subscription id
    lines: dict[int, list[dict]] = field(default_factory=dict)  # contract id → ContractServices
    units: dict[int, list[dict]] = field(default_factory=dict)  # contract service id → rows
    charges: dict[int, list[dict]] = field(default_factory=dict)  # contract id → the month's
    posted_after: dict[int, dt.date] = field(default_factory=dict)  # contract id → last posted
    products: dict[str, dict] = field(default_factory=dict)  # by name
    services: dict[int, dict] = field(default_factory=dict)  # by id


@dataclass(frozen=True)
class LedgerEntry:
    autotask_id: int | None
    values: dict
    created_by_export: bool = True


# -- outputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One Autotask write. ``body`` holds the values to send (dates as `date`, money as
    `Decimal`); ``refs`` names body fields to fill, at apply time, with the Autotask id
    of another ledger key (an object an earlier operation creates); ``parent`` is the
    contract a child row is written under (an id, or a ledger key in ``refs["parent"]``)."""

    kind: str
    key: str
    entity: str
    body: dict
    reason: str
    subscription_id: str | None = None
    organization: str = ""
    refs: dict = field(default_factory=dict)
    parent_id: int | None = None
    target_id: int | None = None  # the row an update changes
    before: dict | None = None
    after: dict | None = None
    price_source: str = ""
    flagged: bool = False
    ledger: dict | None = None  # what the ledger keeps under ``key`` once it is done

    @property
    def label(self) -> str:
        return Kind.LABELS[self.kind]

    @property
    def is_create(self) -> bool:
        return self.kind in Kind.CREATES or self.entity == "ContractServiceAdjustments"


@dataclass
class ItemPlan:
    subscription_id: str | None
    organization: str
    label: str
    operations: list[Operation] = field(default_factory=list)
    skip: str = ""
    reason: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    shared: list[Operation]
    items: list[ItemPlan]

    def operations(self) -> list[Operation]:
        return [*self.shared, *(op for item in self.items for op in item.operations)]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.operations():
            counts[op.kind] = counts.get(op.kind, 0) + 1
        return counts

    def skipped(self) -> list[ItemPlan]:
        return [item for item in self.items if item.skip]


# -- helpers -----------------------------------------------------------------------------


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def money(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(MONEY_PLACES, ROUND_HALF_UP)


def same_money(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(Decimal(str(a)) - Decimal(str(b))) < Decimal("0.00005")


def shown(value) -> str:
    """Money in words: cents, or more decimals where the value has them (12.5 → 12.50)."""
    if value is None:
        return "?"
    value = Decimal(str(value))
    cents = value.quantize(CENTS)
    return f"{cents}" if cents == value else f"{value.normalize()}"


def as_date(value) -> dt.date | None:
    """An Autotask date(time) as the calendar date it stands for."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def month_label(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def contract_key_of(contract: dict, key_udf: str) -> str:
    if not key_udf:
        return contract.get("contractNumber") or ""
    for udf in contract.get("userDefinedFields") or []:
        if str(udf.get("name", "")).lower() == key_udf.lower():
            return udf.get("value") or ""
    return ""


def charge_name(facts: SubscriptionFacts, month: dt.date) -> str:
    product = CHARGE_PRODUCTS.get(facts.record_type or "", "Microsoft")
    return f"{product} {month_label(month)} {facts.subscription_id}"[:100]


TERMS = {"P1M": "1-month term", "P1Y": "1-year term", "P3Y": "3-year term"}


def service_name(facts: SubscriptionFacts) -> str:
    """A created service's name: the offer and its term (offers differing only in term
    bill differently and need services of their own)."""
    term = TERMS.get(facts.term, facts.term)
    return f"{facts.offer_name} {term}" if term else facts.offer_name


def service_key(facts: SubscriptionFacts) -> str:
    """A created service's key, in its description: found by it after a lost answer."""
    return f"Microsoft offer {facts.offer_key}, created by syncadmin"


def contract_name(facts: SubscriptionFacts) -> str:
    return f"{facts.offer_name} - {facts.organization_name}"[:100]


def _whole(quantity: Decimal | None) -> int:
    if quantity is None:
        return 0
    return int(quantity.to_integral_value(rounding="ROUND_CEILING"))


def _units_on(rows: list[dict], day: dt.date) -> tuple[int, dict | None]:
    for row in rows:
        start, end = as_date(row.get("startDate")), as_date(row.get("endDate"))
        if start and end and start <= day <= end:
            return int(row.get("units") or 0), row
    return 0, None


# -- the plan ----------------------------------------------------------------------------


@dataclass
class _Context:
    month: dt.date
    mappings: Mappings
    settings: ExportSettings
    snapshot: Snapshot
    ledger: dict[str, LedgerEntry]
    shared: dict[str, Operation] = field(default_factory=dict)

    @property
    def start(self) -> dt.date:
        return self.month

    @property
    def end(self) -> dt.date:
        return month_end(self.month)


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
    return Plan(list(ctx.shared.values()), items)


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


def _skip(item: ItemPlan, skip: str, reason: str) -> None:
    item.skip, item.reason, item.operations = skip, reason, []


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


# -- contracts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _ContractRef:
    contract_id: int | None
    key: str
    ours: bool
    current: dict | None  # as Autotask holds it, when it exists


def _contract_dates(facts: SubscriptionFacts, ctx: _Context) -> tuple[dt.date, dt.date]:
    """Start and end of a new contract (DOMAIN.md "Export" 1)."""
    if facts.record_type == RecordType.AZURE_PLAN:
        # Cancelled already: it ends this month (4; `_plan_end` relies on it).
        return ctx.start, ctx.end if facts.cancelled else AZURE_PLAN_END
    if facts.record_type == RecordType.PERPETUAL_LICENCE:
        start = facts.charge_start or ctx.start
        end = facts.charge_end or ctx.end
        return start, max(month_end(end), ctx.end)
    if facts.cancelled:
        return ctx.start, ctx.end
    end = month_end(facts.term_end) if facts.term_end else ctx.end
    return ctx.start, max(end, ctx.end)


def _contract_body(
    facts: SubscriptionFacts, ctx: _Context, company_id: int, period_type: int
) -> dict:
    start, end = _contract_dates(facts, ctx)
    body = {
        "contractName": contract_name(facts),
        "contractType": RECURRING_SERVICE,
        "status": STATUS_ACTIVE,
        "companyID": company_id,
        "contractPeriodType": period_type,
        "startDate": start,
        "endDate": end,
        "timeReportingRequiresStartAndStopTimes": 0,
        "description": (
            f"Microsoft subscription {facts.subscription_id}: {facts.offer_name} for "
            f"{facts.organization_name}. Kept by syncadmin."
        ),
    }
    if ctx.settings.sla_id is not None:
        body["serviceLevelAgreementID"] = ctx.settings.sla_id
    if ctx.settings.contract_category_id is not None:
        body["contractCategory"] = ctx.settings.contract_category_id
    if ctx.settings.key_udf:
        body["userDefinedFields"] = [{"name": ctx.settings.key_udf, "value": facts.subscription_id}]
    else:
        body["contractNumber"] = facts.subscription_id
    return body


# Fields of a contract syncadmin owns once it created it; drift in them is restored.
OWNED_CONTRACT_FIELDS = (
    "contractName",
    "status",
    "companyID",
    "serviceLevelAgreementID",
    "contractCategory",
)


def _plan_contract(
    item: ItemPlan, facts: SubscriptionFacts, ctx: _Context, company_id: int, period_type: int
) -> _ContractRef:
    key = f"contract:{facts.subscription_id}"
    current = ctx.snapshot.contracts.get(facts.subscription_id)
    known = ctx.ledger.get(key)
    if current is None:
        body = _contract_body(facts, ctx, company_id, period_type)
        item.operations.append(
            Operation(
                kind=Kind.CREATE_CONTRACT,
                key=key,
                entity="Contracts",
                body=body,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"No contract carries subscription {facts.subscription_id} yet: a "
                    f"Recurring Service contract from {body['startDate']} to "
                    f"{body['endDate']}, keyed by the subscription id."
                ),
                after=body,
                ledger=_contract_ledger(body),
            )
        )
        return _ContractRef(None, key, True, None)

    contract_id = int(current["id"])
    by_key = contract_key_of(current, ctx.settings.key_udf) == facts.subscription_id
    ours = by_key or (known is not None and known.created_by_export)
    ref = _ContractRef(contract_id, key, ours, current)
    start = as_date(current.get("startDate"))
    if start and ctx.end < start:
        _skip(
            item,
            Skip.BEFORE_CONTRACT,
            f"{month_label(ctx.month)} is before its contract starts ({start}): months before "
            "the first export are never billed.",
        )
        return ref
    if current.get("contractPeriodType") not in (None, period_type):
        _skip(
            item,
            Skip.BILLING_FREQUENCY_CHANGED,
            f"The subscription is now billed {facts.billing_frequency}, but its contract "
            f"{contract_id} has period type {current.get('contractPeriodType')}, which "
            "Autotask cannot change: decide what to do (a new contract, or map another) "
            "and export again.",
        )
        return ref
    if not ours:
        if known is None:
            item.notes.append(
                f"Contract {contract_id} was mapped by hand: syncadmin adds its service line "
                "or charge and changes none of the contract's own fields."
            )
        return ref
    if known is None:
        item.notes.append(
            f"Contract {contract_id} found by its key in Autotask: syncadmin's own, adopted."
        )
    if not facts.cancelled:
        _plan_contract_fields(item, facts, ctx, ref, known, company_id, period_type)
    return ref


def _contract_ledger(body: dict) -> dict:
    return {name: body.get(name) for name in (*OWNED_CONTRACT_FIELDS, "endDate")}


def _plan_contract_fields(
    item: ItemPlan,
    facts: SubscriptionFacts,
    ctx: _Context,
    ref: _ContractRef,
    known: LedgerEntry | None,
    company_id: int,
    period_type: int,
) -> None:
    current = ref.current
    desired = _contract_body(facts, ctx, company_id, period_type)
    wrote = known.values if known else {}
    drifted = {}
    for name in OWNED_CONTRACT_FIELDS:
        if name not in desired or name not in wrote:
            continue
        if current.get(name) != wrote[name]:
            drifted[name] = desired[name]
    end_now = as_date(current.get("endDate"))
    end_wanted = desired["endDate"]
    end_wrote = as_date(wrote.get("endDate"))
    if end_now and end_wrote and end_now != end_wrote and end_now < max(end_wrote, end_wanted):
        drifted["endDate"] = max(end_wrote, end_wanted)
    if drifted:
        restored = ", ".join(drifted)
        tail = "."
        if end_now and end_now < end_wanted and "endDate" not in drifted and not wrote.get("ended"):
            drifted["endDate"] = end_wanted  # 4, in the same write (else a second run writes)
            tail = f", and extends it to {end_wanted}."
        before = {name: current.get(name) for name in drifted}
        item.operations.append(
            Operation(
                kind=Kind.RESTORE_DRIFT,
                key=ref.key,
                entity="Contracts",
                body={"id": ref.contract_id, **drifted},
                target_id=ref.contract_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"Someone changed {restored} of contract {ref.contract_id} in "
                    f"Autotask; syncadmin created it and restores its values{tail}"
                ),
                before=before,
                after=dict(drifted),
                ledger={**_contract_ledger(current), **wrote, **drifted},
            )
        )
        return
    if end_now and end_now < end_wanted and wrote.get("ended"):
        item.notes.append(
            f"Contract {ref.contract_id} was ended on {end_now} after a cancellation: a report "
            "of an earlier month does not extend it again."
        )
        return
    if end_now and end_now < end_wanted:
        item.operations.append(
            Operation(
                kind=Kind.EXTEND_END_DATE,
                key=ref.key,
                entity="Contracts",
                body={"id": ref.contract_id, "endDate": end_wanted},
                target_id=ref.contract_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"The subscription's term now ends {facts.term_end}: the contract is "
                    f"extended from {end_now} to {end_wanted} (the last day of that month)."
                    if facts.term_end
                    else f"The contract is extended from {end_now} to {end_wanted}."
                ),
                before={"endDate": end_now},
                after={"endDate": end_wanted},
                ledger={**_contract_ledger(current), **wrote, "endDate": end_wanted},
            )
        )


def _plan_end(item: ItemPlan, facts: SubscriptionFacts, ctx: _Context, ref: _ContractRef) -> None:
    """4. A cancellation ends the contract on the last day of the month."""
    if ref.current is None:
        return  # a new contract is created ending this month already
    end_now = as_date(ref.current.get("endDate"))
    if end_now and end_now <= ctx.end:
        return  # ended already (by us, or earlier by someone in Autotask)
    if not ref.ours:
        item.notes.append(
            f"Cancelled, but contract {ref.contract_id} was mapped by hand: syncadmin does not "
            "end a contract it did not create; end it in Autotask."
        )
        return
    posted = ctx.snapshot.posted_after.get(ref.contract_id)
    if posted and posted > ctx.end:
        return _skip(
            item,
            Skip.PERIOD_POSTED,
            f"Cancelled in {month_label(ctx.month)}, but contract {ref.contract_id} is approved "
            f"and posted through {posted}: Autotask refuses to end it on {ctx.end}. Nothing "
            "else is changed; un-post the later periods in Autotask and export again.",
        )
    known = ctx.ledger.get(ref.key)
    item.operations.append(
        Operation(
            kind=Kind.END_CONTRACT,
            key=ref.key,
            entity="Contracts",
            body={"id": ref.contract_id, "endDate": ctx.end},
            target_id=ref.contract_id,
            subscription_id=facts.subscription_id,
            organization=facts.organization_name,
            reason=f"The report says the subscription was cancelled: the contract ends {ctx.end}.",
            before={"endDate": end_now},
            after={"endDate": ctx.end},
            ledger={**(known.values if known else {}), "endDate": ctx.end, "ended": True},
        )
    )
    return None


def _contract_refs(ref: _ContractRef) -> tuple[int | None, dict]:
    if ref.contract_id is not None:
        return ref.contract_id, {}
    return None, {"parent": ref.key, "contractID": ref.key}


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
    """The unit price and cost in force in the month: its unit row's extended amounts ÷
    units (a later month's price change does not show), else the line's own."""
    units = int(row.get("units") or 0) if row else 0
    if units and row.get("price") is not None and row.get("cost") is not None:
        return (
            money(Decimal(str(row["price"])) / units),
            money(Decimal(str(row["cost"])) / units),
        )
    return line.get("unitPrice"), line.get("unitCost")


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


# -- charges (3) -------------------------------------------------------------------------


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
