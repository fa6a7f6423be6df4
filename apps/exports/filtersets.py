import django_filters
from django import forms

from apps.autotask.models import Connection
from apps.core.filtersets import SearchFilterSet, tri_state
from apps.exports.choices import ExportRunStatusChoices, ExportTriggerChoices
from apps.exports.models import ExportRun


class ExportRunFilterSet(SearchFilterSet):
    search_fields = ("connection__name", "organization__name", "requested_by_name", "message")

    status = django_filters.ChoiceFilter(
        choices=ExportRunStatusChoices.choices, empty_label="Any status", label="Status"
    )
    connection = django_filters.ModelChoiceFilter(
        queryset=Connection.objects.order_by("name"),
        empty_label="Any connection",
        label="Connection",
    )
    month = django_filters.DateFilter(
        method="filter_month",
        label="Month",
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    trigger = django_filters.ChoiceFilter(
        choices=ExportTriggerChoices.choices, empty_label="Anyone", label="Started by"
    )
    dry_run = tri_state("Preview", "filter_dry_run")

    class Meta:
        model = ExportRun
        fields = []

    def filter_month(self, queryset, name, value):
        return queryset.filter(report__month=value.replace(day=1))

    def filter_dry_run(self, queryset, name, value):
        return queryset if value is None else queryset.filter(dry_run=value)
