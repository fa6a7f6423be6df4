import django_tables2 as tables
from django.utils.html import format_html

from apps.autotask.choices import BillingCodeUseTypeChoices
from apps.autotask.models import (
    AutotaskBillingCode,
    AutotaskCompany,
    AutotaskProduct,
    AutotaskService,
    Connection,
)

COMPANY_TYPES = {1: "Customer", 2: "Lead", 3: "Prospect", 4: "Dead", 6: "Cancellation",
                 7: "Vendor", 8: "Partner"}  # fmt: skip
PERIOD_TYPES = {2: "Monthly", 3: "Quarterly", 4: "Semi-annual", 5: "Yearly"}
USE_TYPES = dict(BillingCodeUseTypeChoices.choices)


def _state(record) -> str:
    if record.gone_at:
        colour, label = "danger", "gone from Autotask"
    elif not record.is_active:
        colour, label = "secondary", "inactive"
    else:
        colour, label = "success", "active"
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, label)


class ConnectionTable(tables.Table):
    name = tables.Column(linkify=True)
    kind = tables.Column(accessor="is_sandbox", verbose_name="Kind", orderable=False)
    username = tables.Column(verbose_name="API user")
    zone_url = tables.Column(verbose_name="Zone")
    last_test_ok = tables.Column(verbose_name="Last test")
    companies = tables.Column(verbose_name="Companies", orderable=False)

    class Meta:
        model = Connection
        fields = ("name", "kind", "username", "zone_url", "last_test_ok", "companies")
        attrs = {"class": "table table-hover align-middle"}

    def render_kind(self, value):
        return "Sandbox" if value else "Autotask"

    def render_last_test_ok(self, value, record):
        if value is None:
            return "never tested"
        badge = "success" if value else "danger"
        label = "passed" if value else "failed"
        return format_html('<span class="badge text-bg-{}">{}</span>', badge, label)


class ReferenceTable(tables.Table):
    autotask_id = tables.Column(verbose_name="Autotask id")
    state = tables.Column(empty_values=(), verbose_name="State", orderable=False)

    def render_state(self, record):
        return _state(record)


class CompanyTable(ReferenceTable):
    class Meta:
        model = AutotaskCompany
        fields = ("name", "company_type", "web_address", "autotask_id", "state")
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_company_type(self, value):
        return COMPANY_TYPES.get(value, value)


class ServiceTable(ReferenceTable):
    class Meta:
        model = AutotaskService
        fields = ("name", "period_type", "unit_cost", "unit_price", "autotask_id", "state")
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_period_type(self, value):
        return PERIOD_TYPES.get(value, value)


class ProductTable(ReferenceTable):
    class Meta:
        model = AutotaskProduct
        fields = ("name", "unit_cost", "unit_price", "billing_code_id", "autotask_id", "state")
        attrs = {"class": "table table-sm table-hover align-middle"}


class BillingCodeTable(ReferenceTable):
    class Meta:
        model = AutotaskBillingCode
        fields = ("name", "use_type", "autotask_id", "state")
        attrs = {"class": "table table-sm table-hover align-middle"}

    def render_use_type(self, value):
        return USE_TYPES.get(value, value)
