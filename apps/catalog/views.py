"""Billing screens: organizations, offers, subscriptions and billing reports, read-only, for
Viewers and above. Thin: selectors read, tables and templates show."""

import json

from django.views.generic import DetailView
from django_tables2 import RequestConfig

from apps.accounts.roles import Role, RoleRequiredMixin, has_role
from apps.catalog import selectors
from apps.catalog.filtersets import (
    BillingReportFilterSet,
)
from apps.catalog.models import Organization
from apps.catalog.tables import (
    AzureMonthTable,
    BillingFileTable,
    BillingReportTable,
    MoneyColumn,
    OrganizationTotalsTable,
    RecordTypeTotalsTable,
    SubscriptionMonthTable,
    SubscriptionTable,
    money,
    quantity,
)
from apps.core.choices import RecordType
from apps.core.lists import ObjectListView, table_pagination

DETAIL_PAGE_SIZE = 50


def chart_context(cost: selectors.MonthlyCost, sales: selectors.MonthlyCost) -> dict:
    """What `catalog/_cost_chart.html` shows: the cost and sales series (a sales series
    only for a currency where some month has a price), how many subscription months have
    no sales price, and the chart itself: Chartkick's chart type, series and options as
    JSON, which `static/js/charts.js` draws with chartkick and Chart.js served from
    /static/ (no inline script, so the Content-Security-Policy needs nothing but 'self')."""
    cost_series = series_of(cost, "Cost")
    sales_series = series_of(sales, "Sales")
    series = cost_series + sales_series
    chart = None
    if cost_series:
        chart = json.dumps(
            {
                "type": "ColumnChart",
                "data": series,
                "options": {"thousands": ",", "round": 2, "zeros": True, "legend": "bottom"},
            }
        )
    figures = {(entry["name"], label): value for entry in series for label, value in entry["data"]}
    labels = [f"{month:%b %Y}" for month in cost.months]
    return {
        "sales_series": sales_series,
        "unpriced_months": sales.unpriced_total,
        "chart": chart,
        "chart_months": cost.months,
        # The chart's figures as a table, for reading them exactly (and without script).
        "chart_columns": [entry["name"] for entry in series],
        "chart_rows": [
            (label, [figures.get((entry["name"], label)) for entry in series]) for label in labels
        ],
    }


def charts(*, organization=None, until=None) -> dict:
    """The cost and sales chart of the last report months (see `chart_context`), sales
    with the default markups the project's configured provider gives
    (`selectors.default_markups`)."""
    cost, sales = selectors.monthly_cost_and_sales(
        organization=organization, until=until, markups=selectors.default_markups()
    )
    return chart_context(cost, sales)


def series_of(monthly: selectors.MonthlyCost, label: str) -> list[dict]:
    """Chartkick series, one per currency: [{"name": "Cost (EUR)", "data": [[label, "1.00"],
    ...]}]; amounts as text so no figure goes through a float on our side."""
    return [
        {
            "name": f"{label} ({currency})",
            "data": [
                [f"{month:%b %Y}", f"{by_month[month]:.2f}"]
                for month in monthly.months
                if month in by_month
            ],
        }
        for currency, by_month in monthly.by_currency.items()
    ]


class BillingReportListView(ObjectListView):
    title = "Billing reports"
    table_class = BillingReportTable
    filterset_class = BillingReportFilterSet
    template_name = "catalog/billingreport_list.html"
    empty_text = "No billing reports match. Operators import Partner Center files under Imports."
    search_placeholder = "Search month (2022-03, March), currency, invoice or file name"

    def get_queryset(self):
        return selectors.billing_report_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            can_import=has_role(self.request.user, Role.OPERATOR),
            **charts(),
        )
        return context


class OrganizationDetailView(RoleRequiredMixin, DetailView):
    required_role = Role.VIEWER
    model = Organization
    template_name = "catalog/organization_detail.html"
    context_object_name = "organization"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organization = self.object
        subscriptions = SubscriptionTable(
            selectors.subscription_list().filter(organization=organization),
            exclude=("organization",),
            prefix="subscriptions-",
            attrs={"data-testid": "subscription-table", "class": "table table-sm align-middle"},
        )
        RequestConfig(self.request, paginate=table_pagination(DETAIL_PAGE_SIZE)).configure(
            subscriptions
        )
        context.update(
            subscriptions=subscriptions,
            can_export=has_role(self.request.user, Role.OPERATOR),
            **charts(organization=organization),
        )
        return context


class SubscriptionDetailView(RoleRequiredMixin, DetailView):
    required_role = Role.VIEWER
    template_name = "catalog/subscription_detail.html"
    context_object_name = "subscription"

    def get_queryset(self):
        return selectors.subscription_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        months = SubscriptionMonthTable(
            selectors.subscription_month_list(subscription=self.object), prefix="months-"
        )
        RequestConfig(self.request, paginate=table_pagination(DETAIL_PAGE_SIZE)).configure(months)
        context.update(
            months=months,
            quantity=quantity(self.object.quantity),
            can_export=has_role(self.request.user, Role.OPERATOR),
        )
        return context


class BillingReportDetailView(RoleRequiredMixin, DetailView):
    required_role = Role.VIEWER
    template_name = "catalog/billingreport_detail.html"
    context_object_name = "report"

    def get_queryset(self):
        return selectors.billing_report_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = self.object
        record_type_totals = selectors.report_record_type_totals(report=report)
        record_types = [row["record_type"] for row in record_type_totals]
        labels = dict(RecordType.choices)
        organizations = OrganizationTotalsTable(
            selectors.report_organization_totals(report=report, record_types=record_types),
            extra_columns=[
                (
                    selectors.record_type_column(record_type),
                    MoneyColumn(
                        verbose_name=labels.get(record_type, "Not decided"),
                        order_by=(selectors.record_type_column(record_type), "organization_name"),
                    ),
                )
                for record_type in record_types
            ],
            prefix="organizations-",
        )
        RequestConfig(self.request, paginate=table_pagination(DETAIL_PAGE_SIZE)).configure(
            organizations
        )
        context.update(
            total_cost=money(report.total_cost),
            invoice_numbers=selectors.report_invoice_numbers(report),
            files=BillingFileTable(selectors.report_files(report=report)),
            record_type_totals=RecordTypeTotalsTable(record_type_totals),
            organizations=organizations,
            azure_months=AzureMonthTable(selectors.report_azure_months(report=report)),
            warnings=selectors.report_warnings(report=report),
            can_export=has_role(self.request.user, Role.OPERATOR),
            **charts(until=report.month),
        )
        return context
