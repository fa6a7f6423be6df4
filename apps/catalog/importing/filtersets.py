"""The imports list's quick search and filters."""

import django_filters

from apps.catalog.choices import ImportRunKindChoices, ImportRunStatusChoices
from apps.catalog.models import ImportRun
from apps.core.filtersets import SearchFilterSet


class ImportRunFilterSet(SearchFilterSet):
    search_fields = ("created_by__username", "error")

    status = django_filters.ChoiceFilter(
        choices=ImportRunStatusChoices.choices, empty_label="Any status", label="Status"
    )
    kind = django_filters.ChoiceFilter(
        choices=ImportRunKindChoices.choices, empty_label="Anything", label="What"
    )

    class Meta:
        model = ImportRun
        fields = []
