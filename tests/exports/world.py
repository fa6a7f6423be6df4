"""A seeded, deterministic "billing world": organizations, their Microsoft subscriptions
and what happens to each of them month by month, and the Partner Center files that bill
it (PARTNER_CENTER.md §2–§6).

The world is the source of truth for what an export should write: each subscription's
largest quantity, monthly unit cost, term end and cancellation per month, and each
charge's total (Azure plan: Σ of the invoice lines' Subtotal). Tests compute the expected
Autotask state from it with the rules of DOMAIN.md "Export" written out.

    world = build_world(organizations=40, seed=7)
    for month in world.months:
        paths = world.write_month(month, tmp_path)      # [invoice CSV, daily usage CSV]
        import_billing([(p, p.name) for p in paths])

Every organization has three subscriptions: a monthly-billed licence (seats going up,
down, changing mid-month or unchanged), and two more chosen by its index (see `_KINDS`):
an Azure plan (most organizations), an annual-billed licence (with or without seats added
between its yearly charges), a monthly-term licence renewing every month (its term end
moves a month later each month), a licence cancelled in the third month, a licence whose
price rises in the last month, a licence bought in the second month, a Marketplace SaaS
plan, an Azure reservation billed monthly.

Files per report month M (its invoice number in `world.invoices[M]`): the invoice
reconciliation CSV (licence, Marketplace and reservation lines with OrderDate in M, and the
Azure plan's usage lines for the month before M, since Azure is billed in arrears) and the
daily rated usage CSV of the same invoice, whose usage dates fall in the month before M.
All amounts in USD at exchange rate 1.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

from tests.catalog.generator import (
    azure_plan_recon_row,
    recon_row,
    usage_row,
    write_recon_csv,
    write_usage_csv,
)

D = Decimal
CENT = D("0.01")
MONTHS = (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1))

# Record types (apps.core.choices.RecordType values) and billing plans.
LICENSE = "license_based"
AZURE_PLAN = "azure_plan"
MARKETPLACE = "marketplace"
RESERVATION = "azure_reservation"
MONTHLY = "monthly"
ANNUAL = "annual"


# -- dates and money -------------------------------------------------------------------


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(
        year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1])
    )


def round_down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


# -- the description -------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    product_id: str
    sku_id: str
    availability_id: str
    name: str  # ProductName and SkuName
    publisher: str = "Microsoft Corporation"
    publisher_id: str = ""


@dataclass(frozen=True)
class Meter:
    """One Azure meter of a month's consumption: the invoice has one line for it
    (Subtotal = ROUNDDOWN(EUP × quantity, 2)); daily usage splits it over `days`."""

    product_id: str
    name: str
    category: str
    unit: str
    effective_unit_price: Decimal
    quantity: Decimal
    days: tuple[tuple[dt.date, Decimal], ...]  # usage date → quantity (Σ = quantity)

    @property
    def subtotal(self) -> Decimal:
        return round_down(self.effective_unit_price * self.quantity)


@dataclass(frozen=True)
class Period:
    """One subscription on one month's report.

    Licences: `seats` is the count at the start of the month (the quantity of the month's
    full-cycle row when `cycle`), `change` a seat change on a day of the month (day, new
    count), `unit_cost` the cost per seat per month (a yearly charge ÷ 12). Marketplace
    and reservations: one monthly full-cycle row of one unit at `unit_cost`. Azure plan:
    `meters` are the previous month's consumption. `cycle` False: no line this month
    (an annual plan between its yearly charges), the import carries the month forward.
    """

    month: dt.date
    seats: int = 0
    unit_cost: Decimal | None = None
    cycle: bool = True
    cycle_start: dt.date | None = None  # the full-cycle row's ChargeStartDate
    charge_type: str = "cycleCharge"  # of the full-cycle row
    change: tuple[int, int] | None = None
    cancelled_on: dt.date | None = None
    term_start: dt.date | None = None
    term_end: dt.date | None = None
    meters: tuple[Meter, ...] = ()

    @property
    def largest(self) -> int:
        """§4 c: the largest BillableQuantity of the month's positive rows (a month
        without rows keeps its seats)."""
        counts = [self.seats] if self.cycle else []
        if self.change is not None:
            counts.append(self.change[1])
        return max(counts) if counts else self.seats

    @property
    def end_seats(self) -> int:
        if self.cancelled_on is not None:
            return 0
        return self.change[1] if self.change is not None else self.seats

    @property
    def cancelled(self) -> bool:
        return self.cancelled_on is not None

    @property
    def total(self) -> Decimal:
        """The month's Σ Subtotal for a charge record type (what the charge costs)."""
        if self.meters:
            return sum((meter.subtotal for meter in self.meters), D(0))
        return self.unit_cost if self.cycle else D(0)


@dataclass
class Subscription:
    subscription_id: str
    customer_id: str
    kind: str  # see _KINDS
    record_type: str
    billing_frequency: str  # monthly / annual
    product: Product
    term_text: str  # TermAndBillingCycle
    periods: dict[dt.date, Period] = field(default_factory=dict)  # months on the report

    @property
    def is_licence(self) -> bool:
        return self.record_type == LICENSE

    @property
    def first_month(self) -> dt.date:
        return min(self.periods)


@dataclass
class Organization:
    index: int
    customer_id: str
    name: str
    domain: str
    country: str
    subscriptions: list[Subscription] = field(default_factory=list)


@dataclass
class World:
    seed: int
    months: tuple[dt.date, ...]
    invoices: dict[dt.date, str]
    organizations: list[Organization]
    partner_id: str

    def subscriptions(self) -> Iterator[tuple[Organization, Subscription]]:
        for organization in self.organizations:
            for subscription in organization.subscriptions:
                yield organization, subscription

    def recon_rows(self, month: dt.date) -> list[dict]:
        rows = []
        for organization, subscription in self.subscriptions():
            period = subscription.periods.get(month)
            if period is not None:
                rows += _recon_rows(self, organization, subscription, period)
        return rows

    def usage_rows(self, month: dt.date) -> list[dict]:
        rows = []
        for organization, subscription in self.subscriptions():
            period = subscription.periods.get(month)
            if period is not None and period.meters:
                rows += _usage_rows(self, organization, subscription, period)
        return rows

    def write_month(self, month: dt.date, directory: Path | str) -> list[Path]:
        """The report month's files: [invoice reconciliation CSV, daily usage CSV] (the
        usage file only when some organization has Azure usage)."""
        directory = Path(directory)
        number = self.invoices[month]
        paths = [write_recon_csv(directory / f"{number}_recon.csv", self.recon_rows(month))]
        usage = self.usage_rows(month)
        if usage:
            paths.append(write_usage_csv(directory / f"{number}_BilledUsage.csv", usage))
        return paths


# -- building --------------------------------------------------------------------------

NAMES = (
    "Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Adatum",
    "Proseware", "Wingtip", "Lucerne", "Margie", "Alpine", "Coho", "Humongous", "Trey",
    "Wide World", "Blue Yonder", "Graphic", "Fourth Coffee", "Relecloud",
)  # fmt: skip
SUFFIXES = ("Ltd", "GmbH", "Inc", "BV", "AG", "LLC", "SA", "Oy")

BUSINESS_STANDARD = Product(
    "CFQ7TTC0LDPB", "0001", "CFQ7TTC0K5BF", "Microsoft 365 Business Standard"
)
BUSINESS_PREMIUM = Product("CFQ7TTC0LCHC", "0002", "CFQ7TTC0K5DJ", "Microsoft 365 Business Premium")
EXCHANGE_P1 = Product("CFQ7TTC0LH16", "0001", "CFQ7TTC0K5C1", "Exchange Online (Plan 1)")
OFFICE_E3 = Product("CFQ7TTC0LF8R", "0001", "CFQ7TTC0K5DN", "Office 365 E3")
TEAMS_ESSENTIALS = Product("CFQ7TTC0RQ34", "0001", "CFQ7TTC0RQ35", "Microsoft Teams Essentials")
POWER_BI_PRO = Product("CFQ7TTC0L3PB", "0001", "CFQ7TTC0KJ1P", "Power BI Pro")
BUSINESS_BASIC = Product("CFQ7TTC0LH18", "0001", "CFQ7TTC0K5C3", "Microsoft 365 Business Basic")
VISIO_P2 = Product("CFQ7TTC0KXN9", "0001", "CFQ7TTC0K5JC", "Visio Plan 2")
SAAS = Product(
    "DZH318Z0BXWC", "0002", "DZH318Z0BP8B", "Contoso Backup SaaS",
    publisher="Contoso Software Ltd", publisher_id="12345678",
)  # fmt: skip
RESERVED_VM = Product(
    "DZH318Z0BQ3Q", "0006", "DZH318Z0BQ3R", "Reserved VM Instance, Standard_D2s_v3, West Europe"
)
AZURE_METERS = (
    ("DZH318Z0BNVV", "D2 v3", "Virtual Machines", "1 Hour", D("0.068")),
    ("DZH318Z0BNZ5", "LRS Data Stored", "Storage", "1 GB/Month", D("0.0184")),
    ("DZH318Z0BP2K", "Standard Data Transfer Out", "Bandwidth", "1 GB", D("0.0748")),
)

ANNUAL_TERM_MONTHLY = "One-Year commitment for monthly/yearly billing"
ANNUAL_TERM_YEARLY = "One-Year commitment for yearly billing"
MONTH_TERM = "One-Month commitment for monthly billing"

# The second and third subscription of organization i, by i % 8 (the first is always a
# monthly-billed licence). Azure plan for i % 4 != 3.
_KINDS = {
    0: ("azure_plan", "annual"),
    1: ("azure_plan", "monthly_term"),
    2: ("azure_plan", "cancelled"),
    3: ("monthly_unchanged", "marketplace"),
    4: ("azure_plan", "annual_seats_added"),
    5: ("azure_plan", "reservation"),
    6: ("azure_plan", "new_in_second_month"),
    7: ("monthly_unchanged", "price_rise"),
}


class _Ids:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def build_world(
    organizations: int = 40,
    months: Sequence[dt.date] = MONTHS,
    seed: int = 20260101,
) -> World:
    """The world (see the module docstring). `months`: the report months, first days,
    in order; the cancellation happens in the third (none with fewer), the late purchase
    in the second, the price rise in the last."""
    months = tuple(sorted(day.replace(day=1) for day in months))
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    ids = _Ids(rng)
    invoices = {m: f"G{seed % 1000:03d}{m:%y%m}{i:02d}" for i, m in enumerate(months)}
    world = World(seed, months, invoices, [], ids.guid())
    for index in range(organizations):
        word = NAMES[index % len(NAMES)]
        name = f"{word} {SUFFIXES[index % len(SUFFIXES)]} {index:03d}"
        slug = "".join(ch for ch in word.lower() if ch.isalnum())
        organization = Organization(
            index=index,
            customer_id=ids.guid(),
            name=name,
            domain=f"{slug}{index:03d}.onmicrosoft.com",
            country=("US", "DE", "NL", "GB")[index % 4],
        )
        kinds = ("monthly", *_KINDS[index % 8])
        for position, kind in enumerate(kinds):
            subscription = _subscription(kind, index, position, months, rng, ids)
            subscription.customer_id = organization.customer_id
            organization.subscriptions.append(subscription)
        world.organizations.append(organization)
    return world


def _seat_plan(rng: random.Random, months: tuple[dt.date, ...], pattern: int):
    """Seats at the start of each month and a mid-month change: pattern 0 up, 1 down,
    2 changes within the month, 3 unchanged."""
    seats = rng.randint(5, 40)
    plan = []
    for i, _ in enumerate(months):
        change = None
        if pattern == 2 and i % 2 == 1:
            change = (rng.randint(8, 22), max(1, seats + rng.choice((-3, -2, 2, 4))))
        plan.append((seats, change))
        if change is not None:
            seats = change[1]
        elif pattern == 0:
            seats += rng.randint(1, 4)
        elif pattern == 1:
            seats = max(1, seats - rng.randint(1, 3))
    return plan


def _subscription(kind, index, position, months, rng, ids: _Ids) -> Subscription:
    first = months[0]
    customer = ""  # set by build_world
    sid = ids.guid()
    cost = rng.choice((D("6.00"), D("10.80"), D("12.50"), D("18.70"), D("22.00"), D("33.60")))
    if kind in ("monthly", "monthly_unchanged", "price_rise", "cancelled", "new_in_second_month"):
        products = (BUSINESS_STANDARD, BUSINESS_PREMIUM, OFFICE_E3, TEAMS_ESSENTIALS)
        product = EXCHANGE_P1 if kind == "monthly_unchanged" else products[(index + position) % 4]
        if kind == "price_rise":
            product = POWER_BI_PRO
        sub = Subscription(sid, customer, kind, LICENSE, MONTHLY, product, ANNUAL_TERM_MONTHLY)
        # An annual term that began 1 to 9 months before the world and outlasts it.
        term_start = add_months(first, -1 - index % max(1, 12 - len(months)))
        term_end = add_months(term_start, 12) - dt.timedelta(days=1)
        pattern = {"monthly": index % 4, "monthly_unchanged": 3}.get(kind, 3)
        plan = _seat_plan(rng, months, pattern)
        for i, month in enumerate(months):
            seats, change = plan[i]
            unit_cost = cost
            if kind == "price_rise" and i == len(months) - 1 and i > 0:
                unit_cost = cost + D("1.20")
            period = Period(
                month, seats, unit_cost, cycle_start=month, change=change,
                term_start=term_start, term_end=term_end,
            )  # fmt: skip
            if kind == "new_in_second_month":
                if i == 0 and len(months) > 1:
                    continue
                if i == 1 or len(months) == 1:
                    period = Period(
                        month, seats, unit_cost, cycle_start=month, charge_type="new",
                        term_start=month, term_end=add_months(month, 12) - dt.timedelta(days=1),
                    )  # fmt: skip
                else:
                    period = Period(
                        month, seats, unit_cost, cycle_start=month,
                        term_start=months[1],
                        term_end=add_months(months[1], 12) - dt.timedelta(days=1),
                    )  # fmt: skip
            if kind == "cancelled":
                if i > 2:
                    break
                if i == 2:
                    period = Period(
                        month, seats, unit_cost, cycle_start=month,
                        cancelled_on=month.replace(day=3), term_start=term_start, term_end=term_end,
                    )  # fmt: skip
            sub.periods[month] = period
        return sub
    if kind in ("annual", "annual_seats_added"):
        product = VISIO_P2 if kind == "annual" else POWER_BI_PRO
        sub = Subscription(sid, customer, kind, LICENSE, ANNUAL, product, ANNUAL_TERM_YEARLY)
        monthly_cost = rng.choice((D("10.00"), D("12.50"), D("15.00")))
        start = first.replace(day=15)
        term_end = add_months(start, 12) - dt.timedelta(days=1)
        seats = rng.randint(3, 30)
        for i, month in enumerate(months):
            change = None
            if kind == "annual_seats_added" and i == 1:
                change = (20, seats + rng.randint(1, 5))
            sub.periods[month] = Period(
                month, seats, monthly_cost, cycle=i == 0, cycle_start=start,
                charge_type="renew", change=change, term_start=start, term_end=term_end,
            )  # fmt: skip
            if change is not None:
                seats = change[1]
        return sub
    if kind == "monthly_term":
        sub = Subscription(sid, customer, kind, LICENSE, MONTHLY, BUSINESS_BASIC, MONTH_TERM)
        seats = rng.randint(2, 15)
        for month in months:
            start = month.replace(day=10)
            sub.periods[month] = Period(
                month, seats, D("4.00"), cycle_start=start, charge_type="renew",
                term_start=start, term_end=add_months(start, 1) - dt.timedelta(days=1),
            )  # fmt: skip
        return sub
    if kind in ("marketplace", "reservation"):
        product, record_type = (
            (SAAS, MARKETPLACE) if kind == "marketplace" else (RESERVED_VM, RESERVATION)
        )
        text = (
            ANNUAL_TERM_MONTHLY
            if kind == "marketplace"
            else "Reservation, One-Year commitment for monthly billing"
        )
        sub = Subscription(sid, customer, kind, record_type, MONTHLY, product, text)
        term_start = dt.date(2025, 9 + index % 4, 1)
        term_end = add_months(term_start, 12) - dt.timedelta(days=1)
        amount = D(rng.randint(3000, 9000)) / 100
        for month in months:
            sub.periods[month] = Period(
                month, 1, amount, cycle_start=month, term_start=term_start, term_end=term_end
            )
        return sub
    if kind == "azure_plan":
        sub = Subscription(
            sid, customer, kind, AZURE_PLAN, MONTHLY, Product("", "", "", "Azure plan"), ""
        )
        for month in months:
            used = add_months(month, -1)  # billed in arrears
            days = calendar.monthrange(used.year, used.month)[1]
            meters = []
            for product_id, name, category, unit, price in AZURE_METERS[: 2 + index % 2]:
                split = tuple(
                    (used.replace(day=day), D(rng.randint(100, 40000)) / 100)
                    for day in sorted(rng.sample(range(1, days + 1), 3))
                )
                quantity = sum((q for _, q in split), D(0))
                meters.append(Meter(product_id, name, category, unit, price, quantity, split))
            sub.periods[month] = Period(month, meters=tuple(meters))
        return sub
    raise ValueError(kind)


# -- the files -------------------------------------------------------------------------


def _recon_rows(world: World, org: Organization, sub: Subscription, period: Period) -> list[dict]:
    month = period.month
    common = {
        "PartnerId": world.partner_id,
        "CustomerId": org.customer_id,
        "CustomerName": org.name,
        "CustomerDomainName": org.domain,
        "CustomerCountry": org.country,
        "InvoiceNumber": world.invoices[month],
        "SubscriptionId": sub.subscription_id,
        "PCToBCExchangeRateDate": month,
    }
    if sub.record_type == AZURE_PLAN:
        used = add_months(month, -1)
        return [
            azure_plan_recon_row(
                **common,
                OrderDate=month,
                ChargeStartDate=used,
                ChargeEndDate=month_end(used),
                ProductId=meter.product_id,
                SkuId="000C",
                ProductName=f"{meter.category} {meter.name}",
                SkuName=meter.name,
                MeterDescription=meter.name,
                UnitType=meter.unit,
                UnitPrice=(meter.effective_unit_price / D("0.85")).quantize(D("0.0001")),
                EffectiveUnitPrice=meter.effective_unit_price,
                BillableQuantity=meter.quantity,
                Quantity=meter.quantity,
                Subtotal=meter.subtotal,
                Total=meter.subtotal,
                PriceAdjustmentDescription='["15.0% Partner earned credit for services managed"]',
                ReferenceId=_ref(sub, month, meter.product_id),
            )
            for meter in period.meters
        ]
    product = sub.product
    common |= {
        "ProductId": product.product_id,
        "SkuId": product.sku_id,
        "AvailabilityId": product.availability_id,
        "ProductName": product.name,
        "SkuName": product.name,
        "PublisherName": product.publisher,
        "PublisherId": product.publisher_id,
        "TermAndBillingCycle": sub.term_text,
        "BillingFrequency": "Annual" if sub.billing_frequency == ANNUAL else "Monthly",
        "SubscriptionStartDate": period.term_start,
        "SubscriptionEndDate": period.term_end,
    }
    if sub.record_type == RESERVATION:
        common["ReservationOrderId"] = _ref(sub, month, "order")
    months = 12 if sub.billing_frequency == ANNUAL else 1
    cycle_price = period.unit_cost * months  # per seat per charge cycle
    rows = []
    if period.cycle:
        start = period.cycle_start
        end = add_months(start, months) - dt.timedelta(days=1)
        rows.append(
            _line(common, start, period.charge_type, cycle_price, period.seats, start, end,
                  cycle_price, _ref(sub, month, "cycle"))
        )  # fmt: skip
    cycle_end = period.term_end if sub.billing_frequency == ANNUAL else month_end(month)
    if period.change is not None:
        day, seats = period.change
        on = month.replace(day=day)
        kind = "addQuantity" if seats > period.seats else "removeQuantity"
        eup = _prorated(cycle_price, on, cycle_end, months)
        ref = _ref(sub, month, "change")
        rows.append(_line(common, on, kind, -eup, period.seats, on, cycle_end, cycle_price, ref))
        rows.append(_line(common, on, kind, eup, seats, on, cycle_end, cycle_price, ref))
    if period.cancelled_on is not None:
        on = period.cancelled_on
        eup = _prorated(cycle_price, on, cycle_end, months)
        rows.append(
            _line(common, on, "cancelImmediate", -eup, period.seats, on, cycle_end, cycle_price,
                  _ref(sub, month, "cancel"))
        )  # fmt: skip
    return rows


def _prorated(cycle_price: Decimal, on: dt.date, cycle_end: dt.date, months: int) -> Decimal:
    """EffectiveUnitPrice of the rest of a cycle from `on` (§6: price / cycle days × days)."""
    cycle_days = 365 if months == 12 else calendar.monthrange(on.year, on.month)[1]
    days = (cycle_end - on).days + 1
    return (cycle_price * days / cycle_days).quantize(D("0.0001"), rounding=ROUND_DOWN)


def _line(common, order, charge_type, eup, quantity, start, end, unit_price, ref) -> dict:
    subtotal = round_down(eup) * quantity if eup >= 0 else -(round_down(-eup) * quantity)
    return recon_row(
        **common,
        OrderDate=order,
        ChargeType=charge_type,
        ChargeStartDate=start,
        ChargeEndDate=end,
        UnitPrice=unit_price,
        EffectiveUnitPrice=eup,
        Quantity=quantity,
        BillableQuantity=quantity,
        Subtotal=subtotal,
        Total=subtotal,
        ReferenceId=ref,
    )


def _ref(sub: Subscription, month: dt.date, what: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub.subscription_id}/{month}/{what}"))


def _usage_rows(world: World, org: Organization, sub: Subscription, period: Period) -> list[dict]:
    used = add_months(period.month, -1)
    entitlement = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{sub.subscription_id}/entitlement"))
    rows = []
    for meter in period.meters:
        for day, quantity in meter.days:
            total = meter.effective_unit_price * quantity
            rows.append(
                usage_row(
                    PartnerId=world.partner_id,
                    CustomerId=org.customer_id,
                    CustomerName=org.name,
                    CustomerDomainName=org.domain,
                    CustomerCountry=org.country,
                    InvoiceNumber=world.invoices[period.month],
                    ProductId=meter.product_id,
                    SkuName=meter.name,
                    ProductName=f"{meter.category} {meter.name}",
                    SubscriptionId=sub.subscription_id,
                    ChargeStartDate=used,
                    ChargeEndDate=month_end(used),
                    UsageDate=day,
                    MeterCategory=meter.category,
                    MeterName=meter.name,
                    Unit=meter.unit,
                    UnitType=meter.unit,
                    UnitPrice=(meter.effective_unit_price / D("0.85")).quantize(D("0.0001")),
                    Quantity=quantity,
                    EffectiveUnitPrice=meter.effective_unit_price,
                    BillingPreTaxTotal=total,
                    PricingPreTaxTotal=total,
                    PCToBCExchangeRateDate=used,
                    EntitlementId=entitlement,
                    ResourceURI=f"/subscriptions/{entitlement}/resourceGroups/rg-{org.index}",
                )
            )
    return rows
