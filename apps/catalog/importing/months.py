"""A report's month figures, recomputed from its stored lines after every import.

`roll_up_report` turns the report's invoice lines into subscription months (the pure
rules are in `apps.catalog.rollup`) and its daily usage into Azure months: the invoice
total per organization and Azure plan, with the usage as its breakdown.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from apps.catalog.choices import BillingLineKindChoices, SubscriptionStatusChoices
from apps.catalog.importers.records import ReconLine
from apps.catalog.importing.codec import (
    month_figures_from_json,
    month_figures_to_json,
    recon_from_json,
)
from apps.catalog.importing.outcome import ImportOutcome
from apps.catalog.models import (
    AzureMonth,
    BillingLine,
    BillingReport,
    Offer,
    Subscription,
    SubscriptionMonth,
)
from apps.catalog.record_types import term_code
from apps.catalog.rollup import SubscriptionMonth as MonthFigures
from apps.catalog.rollup import roll_up_subscriptions, rounding_allowance
from apps.core.choices import RecordType


def previous_figures(report: BillingReport) -> dict[str, MonthFigures]:
    last = (
        BillingReport.objects.filter(currency=report.currency, month__lt=report.month)
        .order_by("-month")
        .first()
    )
    if last is None:
        return {}
    return {
        row.subscription.subscription_id: month_figures_from_json(row.figures)
        for row in last.subscription_months.select_related("subscription")
        if row.figures
    }


def month_offers(figures: list[MonthFigures]) -> dict[str, Offer]:
    """The offer each subscription month ends on, by subscription id: the Offer with the
    month's product, SKU and availability, and its term and billing plan where more than
    one has those (one query)."""
    keys = {item.offer_key for item in figures}
    candidates: dict[tuple, list[Offer]] = defaultdict(list)
    if keys:
        for offer in Offer.objects.filter(
            product_id__in={key.product_id for key in keys},
            sku_id__in={key.sku_id for key in keys},
        ).order_by("pk"):
            candidates[(offer.product_id, offer.sku_id, offer.availability_id)].append(offer)
    found = {}
    for item in figures:
        offers = candidates.get(tuple(item.offer_key))
        if not offers:
            continue
        wanted = (term_code(item.term_months), item.billing_frequency)
        found[item.subscription_id] = next(
            (offer for offer in offers if (offer.term, offer.billing_frequency) == wanted),
            next(
                (offer for offer in offers if offer.billing_frequency == item.billing_frequency),
                offers[-1],
            ),
        )
    return found


def roll_up_report(
    report: BillingReport,
    outcome: ImportOutcome | None = None,
    *,
    usage_sums: dict[int, dict[tuple, dict[tuple, Decimal]]] | None = None,
) -> None:
    """Recompute the report's subscription months and Azure months from its stored lines.
    `usage_sums`: the sums of usage files just imported, by file id (see `_usage_sums`)."""
    lines = [
        recon_from_json(data)
        for data in BillingLine.objects.filter(
            report=report, kind=BillingLineKindChoices.INVOICE
        ).values_list("data", flat=True)
    ]
    figures = roll_up_subscriptions(lines, month=report.month, previous=previous_figures(report))
    subscriptions = {
        row.subscription_id: row
        for row in Subscription.objects.filter(
            subscription_id__in=[item.subscription_id for item in figures]
        )
    }
    offers = month_offers(figures)
    # A month imported late must not undo what a later month says of the subscription.
    latest = not BillingReport.objects.filter(
        currency=report.currency, month__gt=report.month
    ).exists()
    report.subscription_months.all().delete()
    rows = []
    for item in figures:
        subscription = subscriptions.get(item.subscription_id)
        if subscription is None:
            continue
        offer = offers.get(item.subscription_id)
        rows.append(
            SubscriptionMonth(
                report=report,
                subscription=subscription,
                offer=offer,
                record_type=item.record_type or "",
                unit_cost=item.unit_cost_month,
                unit_cost_source=item.unit_cost_source,
                largest_quantity=item.largest_quantity,
                end_quantity=item.end_quantity,
                total_cost=item.total_cost,
                charge_start=item.charge_start,
                charge_end=item.charge_end,
                cancelled=item.cancelled,
                carried_forward=item.carried_forward,
                warnings=list(item.warnings),
                figures=month_figures_to_json(item),
            )
        )
        if not latest:
            continue
        changes = {}
        if offer is not None and subscription.offer_id != offer.pk:
            changes["offer"] = offer
        if item.end_quantity is not None and subscription.quantity != item.end_quantity:
            changes["quantity"] = item.end_quantity
        if item.cancelled and subscription.status != SubscriptionStatusChoices.CANCELLED:
            changes["status"] = SubscriptionStatusChoices.CANCELLED
        if changes:
            Subscription.objects.filter(pk=subscription.pk).update(**changes)
    SubscriptionMonth.objects.bulk_create(rows)
    _roll_up_azure(report, rows, lines, usage_sums or {})
    if outcome is not None:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            totals[row.record_type or "unknown"] += row.total_cost
        outcome.totals_by_record_type = {key: str(value) for key, value in sorted(totals.items())}
        for row in rows:
            outcome.warnings += [f"{row.subscription.subscription_id}: {w}" for w in row.warnings]


def _roll_up_azure(
    report: BillingReport,
    months: list[SubscriptionMonth],
    lines: list[ReconLine],
    usage_sums: dict[int, dict[tuple, dict[tuple, Decimal]]],
) -> None:
    """Per organization and Azure plan: the invoice total (authoritative) and the daily
    usage as its breakdown. A difference beyond Microsoft's rounding down of each invoice
    line (`rollup.rounding_allowance`) is reported."""
    report.azure_months.all().delete()
    lines_by_plan: dict[str, list[ReconLine]] = defaultdict(list)
    for line in lines:
        lines_by_plan[line.subscription_id].append(line)
    usage_totals, breakdown = _usage_sums(report, usage_sums)
    plans = {
        (row.subscription.organization_id, row.subscription_id): row
        for row in months
        if row.record_type == RecordType.AZURE_PLAN
    }
    invoice_totals = {key: row.total_cost for key, row in plans.items()}
    rows = []
    for key in sorted(set(invoice_totals) | set(usage_totals), key=str):
        organization_id, subscription_id = key
        invoice_total = invoice_totals.get(key)
        usage_total = usage_totals.get(key)
        warnings = []
        if invoice_total is not None and usage_total is not None:
            allowed = rounding_allowance(lines_by_plan[plans[key].subscription.subscription_id])
            difference = usage_total - invoice_total
            if abs(difference) > allowed:
                warnings.append(
                    f"daily usage adds up to {usage_total:.2f}, the invoice to "
                    f"{invoice_total:.2f}: {difference:+.2f}, more than rounding explains "
                    f"(up to {allowed:.2f})"
                )
        elif invoice_total is None:
            warnings.append("daily usage without invoice lines: the total is an estimate")
        rows.append(
            AzureMonth(
                report=report,
                organization_id=organization_id,
                subscription_id=subscription_id,
                invoice_total=invoice_total if invoice_total is not None else usage_total,
                usage_total=usage_total,
                by_azure_subscription=breakdown[key]["detail"],
                by_meter_category=breakdown[key]["category"],
                warnings=warnings,
            )
        )
    AzureMonth.objects.bulk_create(rows)


def _usage_sums(report: BillingReport, known: dict[int, dict[tuple, dict]]) -> tuple:
    """The report's daily usage summed per (organization, Azure plan), and within each
    per Azure subscription ("detail") and meter category. The files the importer has just
    read are summed already (`known`: file id → (organization, subscription) → amount per
    (Azure subscription, meter category)); the lines of the report's other usage files
    are summed in the database."""
    groups: dict[tuple, Decimal] = defaultdict(Decimal)
    files = report.files.filter(kind=BillingLineKindChoices.USAGE).values_list("pk", flat=True)
    others = []
    for pk in files:
        if pk in known:
            for owner, amounts in known[pk].items():
                for (detail, category), amount in amounts.items():
                    groups[(*owner, detail, category[:100])] += amount
        else:
            others.append(pk)
    if others:
        stored = BillingLine.objects.filter(file__in=others, kind=BillingLineKindChoices.USAGE)
        for *key, total in (
            stored.values_list("organization", "subscription", "detail", "category")
            .annotate(total=Sum("amount"))
            .order_by()
        ):
            groups[tuple(key)] += total
    totals: dict[tuple, Decimal] = defaultdict(Decimal)
    parts: dict[tuple, dict] = {}
    for (organization, subscription, detail, category), total in groups.items():
        key = (organization, subscription)
        totals[key] += total
        sums = parts.setdefault(
            key, {"detail": defaultdict(Decimal), "category": defaultdict(Decimal)}
        )
        sums["detail"][detail or "(none)"] += total
        sums["category"][category or "(none)"] += total
    breakdown = defaultdict(lambda: {"detail": {}, "category": {}})
    for key, sums in parts.items():
        breakdown[key] = {
            part: {name: f"{amount.normalize():f}" for name, amount in amounts.items()}
            for part, amounts in sums.items()
        }
    return dict(totals), breakdown
