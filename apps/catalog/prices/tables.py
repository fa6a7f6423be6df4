"""The tables of the price screens: the offers with their prices, the markup rules."""

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.catalog.models import MarkupRule, Offer
from apps.catalog.prices import rules
from apps.catalog.prices.rules import ResolvedPriceSource

BR = mark_safe("<br>")
# "Price from" when neither an MSP price nor the ERP prices an offer: which markup applies
# depends on the organization (and the connection's defaults).
MARKUP_OVER_COST = "Markup over cost"


class OfferPriceTable(tables.Table):
    offer = tables.Column(
        accessor="product_name", verbose_name="Offer", order_by=("product_name", "sku_name")
    )
    product = tables.Column(
        accessor="product_id", verbose_name="Product / SKU", order_by=("product_id", "sku_id")
    )
    term = tables.Column(verbose_name="Term")
    billing_frequency = tables.Column(verbose_name="Billing plan")
    record_type = tables.Column(verbose_name="Record type")
    msp_price = tables.Column(
        accessor="has_msp_price", verbose_name="MSP price / month", orderable=True
    )
    erp = tables.Column(empty_values=(), verbose_name="Microsoft ERP / month", orderable=False)
    source = tables.Column(empty_values=(), verbose_name="Price from", orderable=False)
    actions = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = Offer
        fields = ()
        sequence = ("offer", "product", "term", "billing_frequency", "record_type",
                    "msp_price", "erp", "source", "actions")  # fmt: skip
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = ""

    def __init__(self, *args, can_operate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_operate = can_operate

    def render_offer(self, record):
        if record.sku_name and record.sku_name != record.product_name:
            return format_html("{}<br><small class='text-body-secondary'>{}</small>",
                               record.product_name or "—", record.sku_name)  # fmt: skip
        return record.product_name or record.sku_name or "(name not imported yet)"

    def render_product(self, record):
        availability = f" / {record.availability_id}" if record.availability_id else ""
        return f"{record.product_id}:{record.sku_id}{availability}"

    def render_msp_price(self, record):
        rows = list(record.msp_prices.all())
        if not rows:
            return "—"
        return format_html_join(
            BR,
            "{} {} <small class='text-body-secondary'>({})</small>",
            ((f"{price.unit_price:.2f}", price.currency, price.get_source_display())
             for price in rows),
        )  # fmt: skip

    def render_erp(self, record):
        found = [item for item in getattr(record, "erp_prices", []) if item.monthly is not None]
        if not found:
            return "—"
        return format_html_join(BR, "{} {}", ((item.monthly, item.currency) for item in found))

    def render_source(self, record):
        """The rules' own answer (`rules.offer_price_source`), in their words."""
        source = rules.offer_price_source(
            record,
            msp_prices=record.msp_prices.all(),
            erp=getattr(record, "erp_prices", []),
            month=timezone.localdate(),
        )
        return ResolvedPriceSource(source).label if source else MARKUP_OVER_COST

    def render_actions(self, record):
        if not self.can_operate:
            return ""
        return format_html(
            '<a class="btn btn-sm btn-outline-primary" href="{}">Edit price</a>',
            reverse("prices:price_edit", args=[record.pk]),
        )


class MarkupRuleTable(tables.Table):
    organization = tables.Column(
        verbose_name="Organization", default="Every organization", order_by="organization__name"
    )
    percent = tables.Column(verbose_name="Markup (%)")
    actions = tables.Column(empty_values=(), verbose_name="", orderable=False)

    class Meta:
        model = MarkupRule
        fields = ("record_type", "organization", "percent")
        attrs = {"class": "table table-sm table-hover align-middle"}

    def __init__(self, *args, can_operate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.can_operate = can_operate

    def render_actions(self, record):
        if not self.can_operate:
            return ""
        return format_html(
            '<a class="btn btn-sm btn-outline-primary" href="{}">Edit</a> '
            '<a class="btn btn-sm btn-outline-danger" href="{}">Delete</a>',
            reverse("prices:markuprule_edit", args=[record.pk]),
            reverse("prices:markuprule_delete", args=[record.pk]),
        )
