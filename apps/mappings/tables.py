"""Tables of the mapping screens: the catalog's columns plus the mapping cell, which is a
template (``templates/mappings/_*_mapping.html``) that htmx swaps in place after a map,
change or unmap. Operators get a selection column for the bulk actions."""

import django_tables2 as tables
from django.template import Context
from django.template.loader import get_template

from apps.catalog.tables import (
    NUMBER,
    NullsLastColumn,
    OfferTable,
    OrganizationTable,
    SubscriptionTable,
)

SELECT = {
    "th__input": {"data-select-all": "row-select", "aria-label": "Select every row on the page"},
    # The rows' boxes belong to the bulk form above the table (the table is no form).
    "td__input": {
        "class": "form-check-input",
        "data-row-select": "row-select",
        "form": "bulk-form",
    },
}


class CellColumn(tables.TemplateColumn):
    """A cell drawn by a template with the page's context as it is. django-tables2's own
    TemplateColumn renders each cell with the request, which runs every context
    processor again (the navigation, the user's role) once per cell: a third of a
    25-row page's time."""

    def render(self, record, table, value, bound_column, **kwargs):
        parent = getattr(table, "context", None) or Context()
        context = self.get_context_data(
            record=record, table=table, value=value, bound_column=bound_column, **kwargs
        )
        with parent.update(context):
            return get_template(self.template_name).render(parent.flatten())


def selection_column() -> tables.CheckBoxColumn:
    return tables.CheckBoxColumn(accessor="pk", attrs=SELECT)


class OrganizationMappingTable(OrganizationTable):
    select = selection_column()
    company = CellColumn(
        template_name="mappings/_organization_mapping.html",
        verbose_name="Autotask company",
        accessor="company_name",
        order_by=("company_name", "name", "id"),
        empty_values=(),
        attrs={"td": {"class": "mapping-cell"}},
    )
    suggestion_score = NullsLastColumn(
        verbose_name="Best match",
        attrs=NUMBER,
        order_by=("suggestion_score", "name", "id"),
    )

    class Meta(OrganizationTable.Meta):
        fields = ("select", "name", "customer_id", "domains", "country", "company")
        sequence = (
            "select",
            "name",
            "customer_id",
            "domains",
            "country",
            "company",
            "suggestion_score",
            "subscription_count",
            "month_cost",
        )

    def __init__(self, *args, can_map=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_map:
            self.columns.hide("select")

    def render_suggestion_score(self, value, record):
        if record.mapping_pk is not None:
            return "—"
        return f"{value:.0%}"


class OfferMappingTable(OfferTable):
    product_name = CellColumn(
        template_name="mappings/_offer_name.html",
        verbose_name="Offer",
        order_by=("product_name", "sku_name", "id"),
    )
    service = CellColumn(
        template_name="mappings/_offer_mapping.html",
        verbose_name="Autotask service",
        accessor="service_name",
        order_by=("service_name", "product_name", "id"),
        empty_values=(),
        attrs={"td": {"class": "mapping-cell"}},
    )

    class Meta(OfferTable.Meta):
        fields = ("product_name", "billing_frequency", "term", "record_type", "service")
        sequence = (
            "product_name",
            "billing_frequency",
            "term",
            "record_type",
            "subscription_count",
            "service",
        )
        exclude = ("sku_name", "publisher")


class SubscriptionMappingTable(SubscriptionTable):
    company = tables.Column(
        verbose_name="Company",
        accessor="company_name",
        order_by=("company_name", "organization__name", "id"),
        default="— not mapped",
    )
    contract = CellColumn(
        template_name="mappings/_subscription_mapping.html",
        verbose_name="Autotask contract",
        accessor="contract_name",
        order_by=("contract_name", "organization__name", "id"),
        empty_values=(),
        attrs={"td": {"class": "mapping-cell"}},
    )
    history = CellColumn(
        template_name="mappings/_subscription_history.html",
        verbose_name="History",
        orderable=False,
        empty_values=(),
    )

    class Meta(SubscriptionTable.Meta):
        sequence = ("...", "company", "contract", "history")
