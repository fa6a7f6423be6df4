from decimal import Decimal

import django_tables2 as tables
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.catalog.models import (
    BillingReport,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from apps.catalog.selectors import report_invoice_numbers

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle", "data-testid": "object-table"}
NUMBER = {"td": {"class": "text-end text-nowrap"}, "th": {"class": "text-end"}}


def money(value) -> str:
    """An amount with at least 2 decimals and at most 4 (unit costs are kept to 4):
    12.000000 -> 12.00, 10.416700 -> 10.4167, 1234.5 -> 1,234.50."""
    if value is None:
        return "—"
    value = Decimal(value)
    places = max(2, min(4, -value.normalize().as_tuple().exponent))
    return f"{value:,.{places}f}"


def quantity(value) -> str:
    """A seat count without trailing zeros: 30.0000000000 -> 30, 10.5000 -> 10.5."""
    if value is None:
        return "—"
    text = f"{Decimal(value).normalize():f}"
    return text


class NullsLastMixin:
    """Sorts rows without a value last in both directions (SQLite and PostgreSQL put NULL
    at opposite ends). Needs an explicit ``order_by``."""

    def order(self, queryset, is_descending):
        if not self.order_by:
            return queryset, False
        terms = [term.opposite if is_descending else term for term in self.order_by]
        first = F(terms[0].bare)
        first = (
            first.desc(nulls_last=True) if terms[0].is_descending else first.asc(nulls_last=True)
        )
        return queryset.order_by(first, *(term.for_queryset() for term in terms[1:])), True


class MoneyColumn(NullsLastMixin, tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUMBER)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return money(value)


class QuantityColumn(NullsLastMixin, tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUMBER)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return quantity(value)


class NullsLastColumn(NullsLastMixin, tables.Column):
    pass


class NullsLastDateColumn(NullsLastMixin, tables.DateColumn):
    pass


class CountColumn(tables.Column):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", NUMBER)
        super().__init__(*args, **kwargs)


def organization_url(organization) -> str:
    return reverse("catalog:organization_detail", args=[organization.pk])


def subscription_url(subscription) -> str:
    return reverse("catalog:subscription_detail", args=[subscription.pk])


def report_url(report) -> str:
    return reverse("catalog:billingreport_detail", args=[report.pk])


def warning_list(warnings: list[str]):
    if not warnings:
        return ""
    return format_html(
        '<ul class="list-unstyled small text-warning-emphasis mb-0" data-testid="warnings">{}</ul>',
        format_html_join("", "<li>{}</li>", ((text,) for text in warnings)),
    )


class OrganizationTable(tables.Table):
    name = tables.Column(
        verbose_name="Name",
        linkify=lambda record: organization_url(record),
        order_by=("name", "id"),
    )
    customer_id = tables.Column(verbose_name="Customer id", attrs={"td": {"class": "small"}})
    domains = tables.Column(verbose_name="Domains", orderable=False)
    country = tables.Column(verbose_name="Country", order_by=("country", "name", "id"))
    subscription_count = CountColumn(
        verbose_name="Subscriptions", order_by=("subscription_count", "name", "id")
    )
    month_cost = NullsLastColumn(
        verbose_name="Last month's cost",
        attrs=NUMBER,
        order_by=("month_cost", "name", "id"),
    )

    class Meta:
        model = Organization
        fields = ("name", "customer_id", "domains", "country", "subscription_count", "month_cost")
        attrs = TABLE_ATTRS

    def __init__(self, *args, month=None, **kwargs):
        super().__init__(*args, **kwargs)
        if month is not None:
            self.columns["month_cost"].column.verbose_name = f"Cost {month:%B %Y}"

    def render_domains(self, value):
        return ", ".join(value) if value else "—"

    def render_month_cost(self, value, record):
        if record.month_currencies > 1:
            return format_html(
                '<span title="Billed in {} currencies: see the reports">several currencies</span>',
                record.month_currencies,
            )
        return f"{money(value)} {record.month_currency}"


class OfferTable(tables.Table):
    product_name = tables.Column(
        verbose_name="Product", order_by=("product_name", "sku_name", "id")
    )
    sku_name = tables.Column(verbose_name="SKU", order_by=("sku_name", "product_name", "id"))
    term = tables.Column(verbose_name="Term", order_by=("term", "product_name", "id"))
    billing_frequency = tables.Column(
        verbose_name="Billing frequency", order_by=("billing_frequency", "product_name", "id")
    )
    record_type = tables.Column(
        verbose_name="Record type", order_by=("record_type", "product_name", "id")
    )
    publisher = tables.Column(verbose_name="Publisher", order_by=("publisher", "product_name"))
    subscription_count = CountColumn(
        verbose_name="Subscriptions", order_by=("subscription_count", "product_name", "id")
    )

    class Meta:
        model = Offer
        fields = (
            "product_name",
            "sku_name",
            "term",
            "billing_frequency",
            "record_type",
            "publisher",
            "subscription_count",
        )
        attrs = TABLE_ATTRS


class SubscriptionTable(tables.Table):
    organization = tables.Column(
        verbose_name="Organization",
        linkify=lambda record: organization_url(record.organization),
        order_by=("organization__name", "offer__product_name", "id"),
    )
    offer = tables.Column(
        verbose_name="Offer",
        linkify=lambda record: subscription_url(record),
        order_by=("offer__product_name", "offer__sku_name", "organization__name", "id"),
    )
    quantity = QuantityColumn(verbose_name="Quantity", order_by=("quantity", "id"))
    status = tables.Column(verbose_name="Status", order_by=("status", "id"))
    term_end = NullsLastDateColumn(
        verbose_name="Term end", format="Y-m-d", order_by=("term_end", "id")
    )
    billing_frequency = tables.Column(
        verbose_name="Billing frequency", order_by=("billing_frequency", "id")
    )
    record_type = tables.Column(verbose_name="Record type", order_by=("record_type", "id"))

    class Meta:
        model = Subscription
        fields = (
            "organization",
            "offer",
            "quantity",
            "status",
            "term_end",
            "billing_frequency",
            "record_type",
        )
        attrs = TABLE_ATTRS

    def render_status(self, value, record):
        colour = "success" if record.status == "active" else "secondary"
        return format_html('<span class="badge text-bg-{}">{}</span>', colour, value)


class BillingReportTable(tables.Table):
    month = tables.DateColumn(
        verbose_name="Month",
        format="F Y",
        linkify=lambda record: report_url(record),
        order_by=("month", "currency"),
    )
    currency = tables.Column(verbose_name="Currency", order_by=("currency", "-month"))
    invoice_numbers = tables.Column(verbose_name="Invoices", empty_values=(), orderable=False)
    file_count = CountColumn(verbose_name="Files", order_by=("file_count", "-month"))
    line_count = CountColumn(verbose_name="Lines", order_by=("line_count", "-month"))
    total_cost = MoneyColumn(verbose_name="Total cost", order_by=("total_cost", "-month"))

    class Meta:
        model = BillingReport
        fields = ("month", "currency", "invoice_numbers", "file_count", "line_count")
        sequence = ("month", "currency", "invoice_numbers", "file_count", "line_count", "...")
        attrs = TABLE_ATTRS

    def render_invoice_numbers(self, record):
        return ", ".join(report_invoice_numbers(record)) or "—"

    def render_line_count(self, value):
        return f"{value:,}"


class SubscriptionMonthTable(tables.Table):
    """A subscription's history: one roll-up per report."""

    report = tables.Column(
        verbose_name="Month",
        linkify=lambda record: report_url(record.report),
        order_by=("report__month", "report__currency"),
    )
    record_type = tables.Column(verbose_name="Record type", orderable=False)
    unit_cost = MoneyColumn(verbose_name="Unit cost / month", orderable=False)
    unit_cost_source = tables.Column(verbose_name="Unit cost from", orderable=False)
    largest_quantity = QuantityColumn(verbose_name="Largest quantity", orderable=False)
    end_quantity = QuantityColumn(verbose_name="End quantity", orderable=False)
    total_cost = MoneyColumn(verbose_name="Total", order_by=("total_cost", "report__month"))
    notes = tables.Column(verbose_name="Notes", empty_values=(), orderable=False)
    warnings = tables.Column(verbose_name="Warnings", orderable=False)

    class Meta:
        model = SubscriptionMonth
        fields = (
            "report",
            "record_type",
            "unit_cost",
            "unit_cost_source",
            "largest_quantity",
            "end_quantity",
            "total_cost",
            "notes",
            "warnings",
        )
        attrs = {**TABLE_ATTRS, "data-testid": "month-table"}

    def render_report(self, value):
        return f"{value.month:%B %Y} ({value.currency})"

    def render_notes(self, record):
        notes = []
        if record.carried_forward:
            notes.append("carried forward")
        if record.cancelled:
            notes.append("cancelled")
        if record.charge_start and record.charge_end:
            notes.append(f"charged {record.charge_start:%Y-%m-%d} to {record.charge_end:%Y-%m-%d}")
        return "; ".join(notes) or "—"

    def render_warnings(self, value):
        return warning_list(value) or "—"


class OrganizationTotalsTable(tables.Table):
    """A report's cost per organization; one more column per record type is added by the
    view (`extra_columns`), named by `selectors.record_type_column`."""

    organization_name = tables.Column(
        verbose_name="Organization",
        linkify=lambda record: reverse(
            "catalog:organization_detail", args=[record["organization_pk"]]
        ),
        order_by=("organization_name", "organization_pk"),
    )
    subscriptions = CountColumn(verbose_name="Subscriptions", order_by=("subscriptions",))
    total = MoneyColumn(verbose_name="Total cost", order_by=("total", "organization_name"))

    class Meta:
        attrs = {**TABLE_ATTRS, "data-testid": "organization-totals"}
        sequence = ("organization_name", "subscriptions", "...", "total")


class RecordTypeTotalsTable(tables.Table):
    """A report's cost per record type (rows from `selectors.report_record_type_totals`)."""

    label = tables.Column(verbose_name="Record type", footer="Total")
    subscriptions = CountColumn(verbose_name="Subscriptions")
    total = MoneyColumn(
        verbose_name="Cost",
        footer=lambda table: money(sum((row["total"] for row in table.data), Decimal(0))),
    )

    class Meta:
        orderable = False
        attrs = {**TABLE_ATTRS, "data-testid": "record-type-totals"}


class AzureMonthTable(tables.Table):
    organization = tables.Column(
        verbose_name="Organization", linkify=lambda record: organization_url(record.organization)
    )
    subscription = tables.Column(
        verbose_name="Azure plan",
        accessor="subscription__subscription_id",
        linkify=lambda record: subscription_url(record.subscription),
        attrs={"td": {"class": "small"}},
    )
    invoice_total = MoneyColumn(verbose_name="Invoice total")
    usage_total = MoneyColumn(verbose_name="Daily usage total")
    difference = tables.Column(verbose_name="Difference", empty_values=(), attrs=NUMBER)
    warnings = tables.Column(verbose_name="Warnings")

    class Meta:
        orderable = False
        attrs = {**TABLE_ATTRS, "data-testid": "azure-months"}

    def render_difference(self, record):
        if record.usage_total is None:
            return "—"
        return f"{record.usage_total - record.invoice_total:+,.3f}"

    def render_warnings(self, value):
        return warning_list(value) or "—"


class BillingFileTable(tables.Table):
    name = tables.Column(verbose_name="File", attrs={"td": {"class": "text-break"}})
    kind = tables.Column(verbose_name="Kind")
    format = tables.Column(verbose_name="Format")
    invoice_numbers = tables.Column(verbose_name="Invoices", attrs={"td": {"class": "small"}})
    line_count = CountColumn(verbose_name="Lines")
    imported_at = tables.DateTimeColumn(verbose_name="Imported", format="Y-m-d H:i")
    imported_by = tables.Column(verbose_name="By")

    class Meta:
        orderable = False
        attrs = {**TABLE_ATTRS, "data-testid": "report-files"}

    def render_invoice_numbers(self, value):
        return ", ".join(value) if value else "—"

    def render_line_count(self, value):
        return f"{value:,}"
