import calendar
import re

import django_filters
from django.db.models import Exists, OuterRef, Q

from apps.catalog.choices import BillingFrequencyChoices, SubscriptionStatusChoices
from apps.catalog.models import BillingFile, BillingReport, Offer, Organization, Subscription
from apps.core.choices import RecordType
from apps.core.filtersets import SearchFilterSet, tri_state


def filter_has_subscriptions(queryset, name, value):
    """For a queryset annotated with ``subscription_count``."""
    return (
        queryset.filter(subscription_count__gt=0)
        if value
        else queryset.filter(subscription_count=0)
    )


class OrganizationFilterSet(SearchFilterSet):
    search_fields = ("name", "customer_id", "domains", "country")

    country = django_filters.CharFilter(lookup_expr="iexact", label="Country (two letters)")
    has_subscriptions = tri_state("Has subscriptions", filter_has_subscriptions)

    class Meta:
        model = Organization
        fields = ["country", "has_subscriptions"]


class OfferFilterSet(SearchFilterSet):
    search_fields = ("product_name", "sku_name", "product_id", "sku_id", "publisher")

    has_subscriptions = tri_state("Has subscriptions", filter_has_subscriptions)
    record_type = django_filters.ChoiceFilter(
        choices=RecordType.choices, empty_label="Any record type", label="Record type"
    )
    billing_frequency = django_filters.ChoiceFilter(
        choices=BillingFrequencyChoices.choices,
        empty_label="Any billing frequency",
        label="Billing frequency",
    )

    class Meta:
        model = Offer
        fields = ["has_subscriptions", "record_type", "billing_frequency"]


class SubscriptionFilterSet(SearchFilterSet):
    search_fields = (
        "subscription_id",
        "description",
        "organization__name",
        "offer__product_name",
        "offer__sku_name",
    )

    status = django_filters.ChoiceFilter(
        choices=SubscriptionStatusChoices.choices, empty_label="Any status", label="Status"
    )
    record_type = django_filters.ChoiceFilter(
        choices=RecordType.choices, empty_label="Any record type", label="Record type"
    )
    billing_frequency = django_filters.ChoiceFilter(
        choices=BillingFrequencyChoices.choices,
        empty_label="Any billing frequency",
        label="Billing frequency",
    )
    organization = django_filters.CharFilter(
        method="filter_organization", label="Organization (name, customer id or domain)"
    )

    class Meta:
        model = Subscription
        fields = ["status", "record_type", "billing_frequency", "organization"]

    def filter_organization(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            condition &= (
                Q(organization__name__icontains=word)
                | Q(organization__customer_id__iexact=word)
                | Q(organization__domains__icontains=word)
            )
        return queryset.filter(condition)


MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


class BillingReportFilterSet(SearchFilterSet):
    """Quick search: a year (2022), a month (2022-03, March, mar), a currency, an invoice
    number or a file name."""

    currency = django_filters.CharFilter(lookup_expr="iexact", label="Currency")

    class Meta:
        model = BillingReport
        fields = ["currency"]

    def search(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(self._word(word))
        return queryset

    @staticmethod
    def _word(word: str) -> Q:
        condition = (
            Q(currency__iexact=word)
            | Q(invoice_numbers__icontains=word)
            | Q(
                Exists(
                    BillingFile.objects.filter(
                        Q(name__icontains=word) | Q(invoice_numbers__icontains=word),
                        report=OuterRef("pk"),
                    )
                )
            )
        )
        if word.isdigit() and len(word) == 4:
            condition |= Q(month__year=int(word))
        if match := YEAR_MONTH.match(word):
            condition |= Q(month__year=int(match[1]), month__month=int(match[2]))
        if len(word) >= 3 and word.isalpha():
            months = [n for full, n in MONTH_NAMES.items() if full.startswith(word.lower())]
            if months:
                condition |= Q(month__month__in=months)
        return condition
