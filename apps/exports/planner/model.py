"""The planner's vocabulary: its constants, what an operation does (`Kind`) and why a
subscription writes nothing (`Skip`), the inputs (`ExportSettings`, `SubscriptionFacts`,
`MissingSubscription`, `Mappings`, `Snapshot`, `LedgerEntry`) and outputs (`Operation`,
`ItemPlan`, `Plan`) of `plan_export`, the month's `_Context` shared by the rule modules, and
the small helpers for money, dates, names and keys that they, the snapshot reader and the
run also use. No I/O."""

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
    services: dict[str, dict] = field(default_factory=dict)  # created ones, by `service_key`


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


def unit_row_on(rows: list[dict], day: dt.date) -> dict | None:
    """The ContractServiceUnits row in force on ``day``: of the rows covering it, the one
    that starts last (Autotask ends a row on the effective date of the adjustment that
    starts the next one, so two rows may cover that day)."""
    covering = [
        row
        for row in rows
        if (start := as_date(row.get("startDate")))
        and (end := as_date(row.get("endDate")))
        and start <= day <= end
    ]
    return max(
        covering, key=lambda row: (as_date(row["startDate"]), row.get("id") or 0), default=None
    )


def row_unit_prices(row: dict | None) -> tuple[Decimal, Decimal] | None:
    """A unit row's price and cost per unit (its amounts are extended), or None without
    units to divide by."""
    units = int(row.get("units") or 0) if row else 0
    if not units or row.get("price") is None or row.get("cost") is None:
        return None
    return money(Decimal(str(row["price"])) / units), money(Decimal(str(row["cost"])) / units)


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


def _skip(item: ItemPlan, skip: str, reason: str) -> None:
    item.skip, item.reason, item.operations = skip, reason, []


# -- the plan's context ------------------------------------------------------------------


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
