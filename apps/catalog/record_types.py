"""What kind of Microsoft billing a reconciliation line is, and its term and billing plan.

Pure functions over the importers' normalised invoice lines (`ReconLine`); no I/O.

The record type follows PARTNER_CENTER.md §2 "Product category fallback" (Microsoft's own
heuristic, Learn "How do I determine the product category?"), after `ProductCategory` when
that column holds a value we recognise. Where the rules cannot decide, the answer is
`record_type=None` with a reason: reported, never guessed silently.
"""

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from apps.catalog.choices import BillingFrequencyChoices
from apps.catalog.importers.records import ReconLine
from apps.core.choices import RecordType

FIRST_PARTY_PUBLISHERS = frozenset({"microsoft", "microsoft corporation"})
BLANK_PUBLISHER_IDS = frozenset({"", "na", "n/a", "0", "none", "null"})

# Microsoft: "TermAndBillingCycle doesn't always include the keyword [Subscription]. In that
# case, use the SKU name, such as "SQL Server," "Windows Server," and so on." The server
# products sold as CSP software subscriptions.
SOFTWARE_SKU_KEYWORDS = (
    "sql server",
    "windows server",
    "remote desktop services",
    "exchange server",
    "sharepoint server",
    "skype for business server",
    "project server",
    "system center",
)

# ProductCategory values are unconfirmed (PARTNER_CENTER.md §2, column 47). These spellings,
# compared without case, spaces, hyphens or underscores, are the ones we accept; anything
# else falls through to the heuristic and the reason says so.
_CATEGORY_ALIASES = {
    RecordType.LICENSE_BASED: (
        "licensebased",
        "licencebased",
        "license",
        "licence",
        "seatbased",
        "onlineservices",
        "onlineservicesnce",
    ),
    RecordType.AZURE_PLAN: ("azureplan", "azure", "azureconsumption", "consumption"),
    RecordType.AZURE_RESERVATION: (
        "azurereservation",
        "azurereservations",
        "reservation",
        "reservations",
        "reservedinstance",
        "reservedinstances",
    ),
    RecordType.SAVINGS_PLAN: (
        "savingsplan",
        "savingsplans",
        "azuresavingsplan",
        "azuresavingsplans",
    ),
    RecordType.MARKETPLACE: (
        "marketplace",
        "azuremarketplace",
        "thirdparty",
        "thirdpartyproduct",
        "saas",
    ),
    RecordType.SOFTWARE_SUBSCRIPTION: ("softwaresubscription", "softwaresubscriptions"),
    RecordType.PERPETUAL_LICENCE: (
        "perpetual",
        "perpetualsoftware",
        "perpetuallicence",
        "perpetuallicense",
    ),
}
_CATEGORY_LOOKUP = {
    alias: record_type for record_type, aliases in _CATEGORY_ALIASES.items() for alias in aliases
}
_CATEGORY_LOOKUP.update({str(rt.value).replace("_", ""): rt for rt in RecordType})

_TERM_TEXT_MONTHS = (
    (re.compile(r"\b(one|1)[- ]?month\b", re.IGNORECASE), 1),
    (re.compile(r"\b(one|1)[- ]?year\b", re.IGNORECASE), 12),
    (re.compile(r"\b(three|3)[- ]?years?\b", re.IGNORECASE), 36),
    (re.compile(r"\bmonthly\b", re.IGNORECASE), 1),
    (re.compile(r"\bannual\b", re.IGNORECASE), 12),
    (re.compile(r"\btriennial\b", re.IGNORECASE), 36),
)
_LICENSE_TERM_PHRASES = ("one-month", "one-year", "three-year")

# How far (days) an end date may sit from the calendar answer and still count as a whole
# number of months. Microsoft's own month-end cycles drift by one or two days (bought
# Jan 30: the cycle ends Feb 26; Mar 30: ends Apr 28), while coterminous (shortened) cycles
# are several days short.
MONTH_END_SLACK_DAYS = 2


@dataclass(frozen=True, slots=True)
class RecordTypeDecision:
    """The record type of one line, or `None` when the rules cannot decide.

    `rule` names the rule that decided (stable, for tests and logs); `reason` says it in
    words. When undecided, `fallback` is what Microsoft's last-resort row ("remaining
    conditions: Azure plan") would have said, for a person to confirm.
    """

    record_type: str | None
    rule: str
    reason: str
    fallback: str | None = None

    @property
    def decided(self) -> bool:
        return self.record_type is not None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _category_key(text: str) -> str:
    return re.sub(r"[\s\-_/]", "", text).casefold()


def is_first_party(publisher_name: str) -> bool:
    """PublisherName "Microsoft" or "Microsoft Corporation" (any case)."""
    return _norm(publisher_name) in FIRST_PARTY_PUBLISHERS


def _has_publisher_id(publisher_id: str) -> bool:
    return _norm(publisher_id) not in BLANK_PUBLISHER_IDS


def _is_azure_plan_description(line: ReconLine) -> bool:
    return _norm(line.subscription_description) == "azure plan"


def _looks_like_meter(line: ReconLine) -> bool:
    """An Azure meter line: the meter columns are filled only for metered usage."""
    return bool(line.meter_description.strip() or line.unit_type.strip())


def record_type_of(line: ReconLine) -> RecordTypeDecision:
    """Decide the record type of one invoice reconciliation line.

    Order:

    0. `ProductCategory`, when it holds a value we recognise (see `_CATEGORY_ALIASES`).
    1. Publisher: another PublisherName *with* a PublisherId is third-party: Marketplace.
       Another name without a PublisherId is reported. Microsoft continues below; a blank
       publisher continues too, but cannot end in the last-resort Azure plan row.
    2. TermAndBillingCycle contains "Reservation": Azure reservation.
    3. ... contains "Savings Plan": savings plan.
    4. ... contains "Subscription": software subscription.
    5. TermAndBillingCycle blank and ChargeEndDate empty: perpetual licence. (Microsoft's
       table lists this after the SKU-name test of row 4; we test it first because a
       perpetual "SQL Server 2022 Standard" would otherwise be read as a subscription.)
    6. The SKU or product name says "SQL Server", "Windows Server", ...: software subscription.
    7. ... contains "one-month", "one-year" or "three-year": licence-based, after the
       double-check Microsoft asks for: Azure meter lines sometimes prefix the meter unit to
       that same text, so a line with meter columns or SubscriptionDescription "Azure plan"
       is an Azure plan line.
    8. SubscriptionDescription "Azure plan": Azure plan.
    9. Nothing matched: Microsoft says "Azure plan, double-check that nothing is missing".
       We accept that only for a first-party line with meter columns (MeterDescription or
       UnitType); anything else is reported undecided with `fallback=azure_plan`.
    """
    category_note = ""
    category = line.product_category.strip()
    if category:
        found = _CATEGORY_LOOKUP.get(_category_key(category))
        if found is not None:
            return RecordTypeDecision(
                str(found), "product_category", f"ProductCategory is {category!r}"
            )
        category_note = f"ProductCategory {category!r} not recognised; "

    publisher = line.publisher_name.strip()
    first_party = is_first_party(publisher)
    if publisher and not first_party:
        if _has_publisher_id(line.publisher_id):
            return RecordTypeDecision(
                RecordType.MARKETPLACE.value,
                "third_party_publisher",
                f"{category_note}third-party publisher {publisher!r} "
                f"(PublisherId {line.publisher_id.strip()})",
            )
        return RecordTypeDecision(
            None,
            "publisher_without_id",
            f"{category_note}publisher {publisher!r} is not Microsoft but has no PublisherId",
        )
    publisher_note = "" if first_party else "PublisherName blank; "
    note = category_note + publisher_note

    term = _norm(line.term_and_billing_cycle)
    if "reservation" in term:
        return RecordTypeDecision(
            RecordType.AZURE_RESERVATION.value,
            "term_reservation",
            f"{note}TermAndBillingCycle mentions Reservation",
        )
    if "savings plan" in term:
        return RecordTypeDecision(
            RecordType.SAVINGS_PLAN.value,
            "term_savings_plan",
            f"{note}TermAndBillingCycle mentions Savings Plan",
        )
    if "subscription" in term:
        return RecordTypeDecision(
            RecordType.SOFTWARE_SUBSCRIPTION.value,
            "term_subscription",
            f"{note}TermAndBillingCycle mentions Subscription",
        )
    if not term and line.charge_end_date is None:
        return RecordTypeDecision(
            RecordType.PERPETUAL_LICENCE.value,
            "perpetual",
            f"{note}TermAndBillingCycle and ChargeEndDate are both empty",
        )
    names = _norm(f"{line.sku_name} | {line.product_name}")
    for keyword in SOFTWARE_SKU_KEYWORDS:
        if keyword in names:
            return RecordTypeDecision(
                RecordType.SOFTWARE_SUBSCRIPTION.value,
                "software_sku_name",
                f"{note}SKU/product name mentions {keyword!r}",
            )
    if any(phrase in term for phrase in _LICENSE_TERM_PHRASES):
        if _is_azure_plan_description(line) or _looks_like_meter(line):
            return RecordTypeDecision(
                RecordType.AZURE_PLAN.value,
                "term_on_meter_line",
                f"{note}commitment text on an Azure meter line (meter columns or "
                "SubscriptionDescription 'Azure plan')",
            )
        return RecordTypeDecision(
            RecordType.LICENSE_BASED.value,
            "term_license",
            f"{note}TermAndBillingCycle names a one-month/one-year/three-year commitment",
        )
    if _is_azure_plan_description(line):
        return RecordTypeDecision(
            RecordType.AZURE_PLAN.value,
            "azure_plan_description",
            f"{note}SubscriptionDescription is 'Azure plan'",
        )
    if first_party and _looks_like_meter(line):
        return RecordTypeDecision(
            RecordType.AZURE_PLAN.value,
            "remaining_meter_line",
            f"{note}no other rule matched a first-party line with meter columns",
        )
    return RecordTypeDecision(
        None,
        "no_rule_matched",
        f"{note}no rule matched (TermAndBillingCycle {line.term_and_billing_cycle!r}, "
        f"SubscriptionDescription {line.subscription_description!r}); Microsoft's last "
        "resort would call it Azure plan: confirm",
        fallback=RecordType.AZURE_PLAN.value,
    )


# Dates --------------------------------------------------------------------------------


def add_months(day: dt.date, months: int, *, anchor_day: int | None = None) -> dt.date:
    """`day` moved by `months` calendar months, on `anchor_day` (default: `day.day`),
    clamped to the length of the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(anchor_day or day.day, last))


def whole_months(start: dt.date | None, end_inclusive: dt.date | None) -> int | None:
    """Months from `start` to `end_inclusive` + 1 day, when that is a whole number of
    months (1 for a monthly cycle, 12 for a year, 36 for three); else `None`.

    Microsoft's cycles follow month lengths and its month-end purchases drift by a day or
    two (Jan 31 → Feb 27, then Feb 28 → Mar 30; Jan 30 → Feb 26), so an end within
    `MONTH_END_SLACK_DAYS` of the calendar answer, anchored on the start's day or on the
    month end, counts. A coterminous first cycle (Jan 25 → Feb 20) does not.
    """
    if start is None or end_inclusive is None:
        return None
    end = end_inclusive + dt.timedelta(days=1)
    days = (end - start).days
    if days <= 0:
        return None
    months = round(days / 30.436875)
    if months < 1:
        return None
    for anchor in (start.day, 31):
        target = add_months(start, months, anchor_day=anchor)
        if abs((end - target).days) <= MONTH_END_SLACK_DAYS:
            return months
    return None


def term_months_from_text(text: str) -> int | None:
    """The term in months read from TermAndBillingCycle (no standard text): "One-Year
    commitment ..." → 12, "1 Year Subscription" → 12, "Three-Year ..." → 36."""
    for pattern, months in _TERM_TEXT_MONTHS:
        if pattern.search(text):
            return months
    return None


def term_months_of(line: ReconLine) -> int | None:
    """The subscription term in months: SubscriptionStartDate to SubscriptionEndDate + 1
    day when that is whole months, else read from the TermAndBillingCycle text (a
    coterminous term such as Apr 22, 2021 → Apr 2, 2022 is not whole months)."""
    months = whole_months(line.subscription_start_date, line.subscription_end_date)
    if months is not None:
        return months
    return term_months_from_text(line.term_and_billing_cycle)


def is_one_time(line: ReconLine) -> bool:
    """A one-time payment (PARTNER_CENTER.md §2): BillingFrequency blank, and the charge
    span is the subscription span, or there is no charge end at all (perpetual)."""
    if line.billing_frequency.strip():
        return False
    if line.charge_end_date is None:
        return True
    return (
        line.charge_start_date == line.subscription_start_date
        and line.charge_end_date == line.subscription_end_date
    )


_FREQUENCIES = {
    "monthly": BillingFrequencyChoices.MONTHLY.value,
    "annual": BillingFrequencyChoices.ANNUAL.value,
    "yearly": BillingFrequencyChoices.ANNUAL.value,
    "triennial": BillingFrequencyChoices.TRIENNIAL.value,
    "onetime": BillingFrequencyChoices.ONE_TIME.value,
    "one-time": BillingFrequencyChoices.ONE_TIME.value,
}
_FREQUENCY_BY_MONTHS = {
    1: BillingFrequencyChoices.MONTHLY.value,
    12: BillingFrequencyChoices.ANNUAL.value,
    36: BillingFrequencyChoices.TRIENNIAL.value,
}


def billing_frequency_of(line: ReconLine) -> str:
    """The billing plan as a `BillingFrequencyChoices` value, or "" when unknown.

    BillingFrequency when filled ("Monthly", "Annual"); blank with a one-time shape is
    `one_time`; otherwise the charge span (1, 12 or 36 whole months)."""
    stated = _FREQUENCIES.get(_norm(line.billing_frequency))
    if stated is not None:
        return stated
    if is_one_time(line):
        return BillingFrequencyChoices.ONE_TIME.value
    months = whole_months(line.charge_start_date, line.charge_end_date)
    return _FREQUENCY_BY_MONTHS.get(months, "") if months is not None else ""


def term_code(months: int | None) -> str:
    """An Offer's term for a number of months: 12 → "P1Y", 1 → "P1M", None → ""."""
    if not months:
        return ""
    return f"P{months // 12}Y" if months % 12 == 0 else f"P{months}M"
