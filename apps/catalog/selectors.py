"""Reads for the billing screens: the lists with what their tables show, a report's totals,
and the monthly cost series of the charts.

Every list is annotated here (counts and sums as subqueries, so no join multiplies rows)
and its foreign keys selected, so a page costs a fixed number of queries whatever its size.

Cost is what Microsoft billed: the sum of the month's `SubscriptionMonth.total_cost`, per
billing currency (amounts in two currencies are never added up). Sales are the same
months priced by `apps/catalog/prices/month_prices.py`.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.module_loading import import_string

from apps.catalog.models import (
    AzureMonth,
    BillingFile,
    BillingReport,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from apps.catalog.prices.month_prices import month_sales_amount, priced_months
from apps.catalog.prices.rules import Markups
from apps.core.choices import RecordType

CHART_MONTHS = 12
_MONEY = DecimalField(max_digits=20, decimal_places=6)


def _sum_of(queryset: QuerySet, group_by: str, field: str, output_field) -> Subquery:
    """One summed value per outer row: `queryset` filtered on OuterRef and grouped by
    `group_by`, as a scalar subquery (NULL when there are no rows)."""
    return Subquery(
        queryset.order_by().values(group_by).annotate(value=Sum(field)).values("value")[:1],
        output_field=output_field,
    )


def _count_of(queryset: QuerySet, group_by: str) -> Coalesce:
    counted = queryset.order_by().values(group_by).annotate(value=Count("pk")).values("value")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# -- lists ---------------------------------------------------------------------------


def latest_report_month() -> dt.date | None:
    """The month of the newest billing report (any currency), or None before any import."""
    return BillingReport.objects.order_by("-month").values_list("month", flat=True).first()


def organization_list(*, month: dt.date | None) -> QuerySet[Organization]:
    """Organizations with their number of subscriptions and their cost in ``month``
    (``month_cost``, in ``month_currency``; ``month_currencies`` > 1 means the cost adds up
    amounts in several currencies and must not be shown as one figure)."""
    months = SubscriptionMonth.objects.filter(
        subscription__organization=OuterRef("pk"), report__month=month
    )
    group = "subscription__organization"
    currencies = (
        months.order_by()
        .values(group)
        .annotate(value=Count("report__currency", distinct=True))
        .values("value")[:1]
    )
    first_currency = months.order_by("report__currency").values("report__currency")[:1]
    return Organization.objects.annotate(
        subscription_count=_count_of(
            Subscription.objects.filter(organization=OuterRef("pk")), "organization"
        ),
        month_cost=_sum_of(months, group, "total_cost", _MONEY),
        month_currency=Subquery(first_currency),
        month_currencies=Coalesce(Subquery(currencies, output_field=IntegerField()), Value(0)),
    )


def offer_list() -> QuerySet[Offer]:
    """Every offer with the number of subscriptions to it (``subscription_count``)."""
    return Offer.objects.annotate(
        subscription_count=_count_of(Subscription.objects.filter(offer=OuterRef("pk")), "offer")
    )


def subscription_list() -> QuerySet[Subscription]:
    return Subscription.objects.select_related("organization", "offer")


def billing_report_list() -> QuerySet[BillingReport]:
    """Reports with their number of files (``file_count``), lines (``line_count``, as
    counted at import), cost (``total_cost``) and files' invoice numbers (``file_invoices``,
    for `report_invoice_numbers`)."""
    files = BillingFile.objects.filter(report=OuterRef("pk"))
    invoices = BillingFile.objects.only("id", "report_id", "invoice_numbers").order_by("id")
    return BillingReport.objects.prefetch_related(
        Prefetch("files", queryset=invoices, to_attr="file_invoices")
    ).annotate(
        file_count=_count_of(files, "report"),
        line_count=Coalesce(_sum_of(files, "report", "line_count", IntegerField()), Value(0)),
        total_cost=Coalesce(
            _sum_of(
                SubscriptionMonth.objects.filter(report=OuterRef("pk")),
                "report",
                "total_cost",
                _MONEY,
            ),
            Value(Decimal(0)),
            output_field=_MONEY,
        ),
    )


def report_invoice_numbers(report: BillingReport) -> list[str]:
    """The invoices of the report: those its files were imported with (the importer keeps
    them per file), sorted. Needs a report from `billing_report_list`."""
    numbers = set(report.invoice_numbers or [])
    for billing_file in report.file_invoices:
        numbers.update(billing_file.invoice_numbers or [])
    return sorted(numbers)


# -- detail pages ----------------------------------------------------------------------


def subscription_month_list(*, subscription: Subscription) -> QuerySet[SubscriptionMonth]:
    """The subscription's monthly roll-ups, newest first."""
    return (
        SubscriptionMonth.objects.filter(subscription=subscription)
        .select_related("report")
        .order_by("-report__month", "report__currency")
    )


def report_files(*, report: BillingReport) -> QuerySet[BillingFile]:
    return report.files.order_by("name", "id")


def report_record_type_totals(*, report: BillingReport) -> list[dict]:
    """Per record type: the number of subscriptions and their cost, in RecordType order."""
    rows = {
        row["record_type"]: row
        for row in SubscriptionMonth.objects.filter(report=report)
        .order_by()
        .values("record_type")
        .annotate(subscriptions=Count("pk"), total=Sum("total_cost"))
    }
    labels = dict(RecordType.choices)
    return [
        {
            "record_type": key,
            "label": labels.get(key, key) if key else "Not decided",
            "subscriptions": rows[key]["subscriptions"],
            "total": rows[key]["total"],
        }
        for key in [*RecordType.values, ""]
        if key in rows
    ]


def record_type_column(record_type: str) -> str:
    """The name of the per-record-type total in `report_organization_totals` rows."""
    return f"cost_{record_type or 'undecided'}"


def report_organization_totals(*, report: BillingReport, record_types: list[str]) -> QuerySet:
    """Per organization (dicts): ``organization_pk``, ``organization_name``,
    ``subscriptions``, ``total`` and one total per record type (`record_type_column`)."""
    per_type = {
        record_type_column(record_type): Sum("total_cost", filter=Q(record_type=record_type))
        for record_type in record_types
    }
    return (
        SubscriptionMonth.objects.filter(report=report)
        .values(
            organization_pk=F("subscription__organization_id"),
            organization_name=F("subscription__organization__name"),
        )
        .annotate(subscriptions=Count("pk"), total=Sum("total_cost"), **per_type)
        .order_by("organization_name", "organization_pk")
    )


def report_azure_months(*, report: BillingReport) -> QuerySet[AzureMonth]:
    return report.azure_months.select_related("organization", "subscription").order_by(
        "organization__name", "organization_id", "subscription__subscription_id"
    )


@dataclass(frozen=True)
class RollupWarning:
    """One warning of the roll-up, with what it is about."""

    organization: Organization
    subscription: Subscription | None
    text: str


def report_warnings(*, report: BillingReport) -> list[RollupWarning]:
    """Every warning the roll-up left on the report's subscription months and Azure months."""
    found = []
    months = (
        report.subscription_months.exclude(warnings=[])
        .select_related("subscription__organization", "subscription__offer")
        .order_by("subscription__organization__name", "subscription__subscription_id")
    )
    for month in months:
        for text in month.warnings:
            found.append(RollupWarning(month.subscription.organization, month.subscription, text))
    for azure in report_azure_months(report=report).exclude(warnings=[]):
        for text in azure.warnings:
            found.append(RollupWarning(azure.organization, azure.subscription, f"Azure: {text}"))
    return found


# -- charts --------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthlyCost:
    """Cost (or sales) per report month, per billing currency, over the last reports.

    ``months`` oldest first; ``by_currency[currency][month]`` is the amount, 0 for a month
    whose report had nothing for the organization, and missing where there was no report in
    that currency that month. For sales, ``unpriced[(currency, month)]`` counts the
    subscription months without a sales price, which add nothing to the amount."""

    months: list[dt.date]
    by_currency: dict[str, dict[dt.date, Decimal]]
    unpriced: dict[tuple[str, dt.date], int] = field(default_factory=dict)

    @property
    def unpriced_total(self) -> int:
        return sum(self.unpriced.values())


def _chart_window(until: dt.date | None) -> tuple[list[dt.date], list[tuple]]:
    """The last `CHART_MONTHS` report months up to ``until`` (newest first), and every
    (month, currency) report among them. One query."""
    reports = BillingReport.objects.order_by("-month", "currency")
    if until is not None:
        reports = reports.filter(month__lte=until)
    pairs = list(reports.values_list("month", "currency"))
    window = sorted({month for month, _ in pairs}, reverse=True)[:CHART_MONTHS]
    return window, [(month, currency) for month, currency in pairs if month in window]


def _by_currency(
    pairs: list[tuple], sums: dict[tuple, Decimal], *, every: bool
) -> dict[str, dict[dt.date, Decimal]]:
    """Fill the months of each currency: every report's currency (``every``), else only the
    currencies that have an amount."""
    currencies = None if every else {currency for _, currency in sums}
    by_currency: dict[str, dict[dt.date, Decimal]] = defaultdict(dict)
    for month, currency in pairs:
        if currencies is not None and currency not in currencies:
            continue
        by_currency[currency][month] = sums.get((month, currency)) or Decimal(0)
    return dict(sorted(by_currency.items()))


def default_markups() -> Markups | None:
    """The default markups (record type → percent) that price the charts, or None, from
    the function ``settings.CATALOG_DEFAULT_MARKUPS`` names by its dotted path.

    Which markups apply depends on connections and, later, on which connection each
    organization is mapped to: knowledge of the apps downstream of the billing data. So
    the catalog does not choose; it asks the function the project configures (by
    default `apps.mappings.pricing.default_markups`) and never imports those apps, so
    the dependencies stay one-way: mappings reads the catalog and the connections, never
    the reverse (tests/catalog/test_layers.py checks it). A setting rather than a hook
    registered at start-up: the wiring is visible in one place, like the other callables
    in settings, and a test or a deployment can point it elsewhere."""
    return import_string(settings.CATALOG_DEFAULT_MARKUPS)()


def monthly_cost_and_sales(
    *,
    organization: Organization | None = None,
    until: dt.date | None = None,
    markups: Markups | None = None,
) -> tuple[MonthlyCost, MonthlyCost]:
    """Cost and sales of the whole MSP (or of one organization) in each of the last
    `CHART_MONTHS` report months up to and including ``until`` (default: the newest).

    Cost is Σ ``total_cost``; a whole-MSP chart shows every report's currency, an
    organization's only those it was billed in. Sales are Σ `month_prices.month_sales_amount` of
    the same subscription months, priced by the rules of ``prices`` (``markups``: the
    default markup per record type, or None); a currency shows only where some month has
    a price, and months without one are counted in ``unpriced``, never guessed. Six
    queries whatever the number of months and subscriptions."""
    window, pairs = _chart_window(until)
    if not window:
        return MonthlyCost(months=[], by_currency={}), MonthlyCost(months=[], by_currency={})
    rows = SubscriptionMonth.objects.filter(report__month__in=window)
    if organization is not None:
        rows = rows.filter(subscription__organization=organization)
    cost = {
        (row["report__month"], row["report__currency"]): row["total"]
        for row in rows.order_by()
        .values("report__month", "report__currency")
        .annotate(total=Sum("total_cost"))
    }
    sales: dict[tuple, Decimal] = {}
    unpriced: dict[tuple, int] = defaultdict(int)
    for row, price in priced_months(rows, markups):
        amount = month_sales_amount(row, price)
        if amount is None:
            unpriced[(row.currency, row.month)] += 1
        else:
            key = (row.month, row.currency)
            sales[key] = sales.get(key, Decimal("0.00")) + amount
    months = sorted(window)
    return (
        MonthlyCost(
            months=months, by_currency=_by_currency(pairs, cost, every=organization is None)
        ),
        MonthlyCost(
            months=months,
            by_currency=_by_currency(pairs, sales, every=False),
            unpriced=dict(unpriced),
        ),
    )
