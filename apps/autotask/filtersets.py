import django_filters

from apps.autotask.models import (
    AutotaskBillingCode,
    AutotaskCompany,
    AutotaskProduct,
    AutotaskService,
    Connection,
)
from apps.autotask.tables import COMPANY_TYPES, PERIOD_TYPES, USE_TYPES
from apps.core.filtersets import SearchFilterSet

STATES = [("active", "Active"), ("inactive", "Inactive"), ("gone", "Gone from Autotask")]


class ConnectionFilterSet(SearchFilterSet):
    search_fields = ("name", "username", "zone_url")

    class Meta:
        model = Connection
        fields = ["is_sandbox"]


class ReferenceFilterSet(SearchFilterSet):
    search_fields = ("name",)
    state = django_filters.ChoiceFilter(choices=STATES, method="filter_state", label="State")

    def filter_state(self, queryset, name, value):
        if value == "gone":
            return queryset.filter(gone_at__isnull=False)
        return queryset.filter(gone_at__isnull=True, is_active=value == "active")


class CompanyFilterSet(ReferenceFilterSet):
    search_fields = ("name", "web_address")
    company_type = django_filters.ChoiceFilter(choices=sorted(COMPANY_TYPES.items()), label="Type")

    class Meta:
        model = AutotaskCompany
        fields = ["company_type", "state"]


class ServiceFilterSet(ReferenceFilterSet):
    period_type = django_filters.ChoiceFilter(choices=sorted(PERIOD_TYPES.items()), label="Period")

    class Meta:
        model = AutotaskService
        fields = ["period_type", "state"]


class ProductFilterSet(ReferenceFilterSet):
    class Meta:
        model = AutotaskProduct
        fields = ["state"]


class BillingCodeFilterSet(ReferenceFilterSet):
    use_type = django_filters.ChoiceFilter(choices=sorted(USE_TYPES.items()), label="Use type")

    class Meta:
        model = AutotaskBillingCode
        fields = ["use_type", "state"]
