"""Filters of the mapping screens. ``is_mapped`` is the "Hide mapped" toggle: the
navigation arrives with ``?is_mapped=false``."""

from apps.catalog.filtersets import OfferFilterSet, OrganizationFilterSet, SubscriptionFilterSet
from apps.core.filtersets import tri_state
from apps.mappings.selectors import billed_in_latest_report


class HideMappedMixin:
    """``is_mapped`` has its own toggle above the list: not counted among the filters, so
    arriving from the navigation does not open the filter panel."""

    @property
    def active_filter_count(self) -> int:
        count = super().active_filter_count
        return count - 1 if self.is_bound and self.data.get("is_mapped") else count


def is_mapped_filter(source: str):
    """The "Hide mapped" filter on rows joined to their ``mapping`` (selectors). It tests
    the mapping's own key to the row (``mapping__<source>_id``), which PostgreSQL turns
    into an anti-join it estimates well; testing the mapping's id instead made it plan
    for one row and visit all 20,000 (see docs/benchmarks.md)."""

    def filter_is_mapped(queryset, name, value):
        return queryset.filter(**{f"mapping__{source}_id__isnull": not value})

    return tri_state("Mapped", filter_is_mapped)


class OrganizationMappingFilterSet(HideMappedMixin, OrganizationFilterSet):
    is_mapped = is_mapped_filter("organization")
    has_suggestion = tri_state("Has a suggestion", "filter_has_suggestion")
    billed = tri_state("Billed in the latest report", "filter_billed")

    class Meta(OrganizationFilterSet.Meta):
        fields = ["is_mapped", "has_suggestion", "billed", "country", "has_subscriptions"]

    def filter_has_suggestion(self, queryset, name, value):
        return queryset.filter(best__organization_id__isnull=not value)

    def filter_billed(self, queryset, name, value):
        billed = billed_in_latest_report()
        return queryset.filter(billed if value else ~billed)


class OfferMappingFilterSet(HideMappedMixin, OfferFilterSet):
    search_fields = (*OfferFilterSet.search_fields, "service_name")

    is_mapped = is_mapped_filter("offer")

    class Meta(OfferFilterSet.Meta):
        fields = ["is_mapped", "record_type", "billing_frequency"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every listed offer has subscriptions: that filter would only ever empty the list.
        self.filters.pop("has_subscriptions", None)


class SubscriptionMappingFilterSet(HideMappedMixin, SubscriptionFilterSet):
    is_mapped = is_mapped_filter("subscription")
    has_company = tri_state("Organization mapped", "filter_has_company")

    class Meta(SubscriptionFilterSet.Meta):
        fields = ["is_mapped", "has_company", *SubscriptionFilterSet.Meta.fields]

    def filter_has_company(self, queryset, name, value):
        return queryset.filter(company_mapping__organization_id__isnull=not value)
