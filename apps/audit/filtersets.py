import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from apps.audit.choices import AuditEntryContextChoices, AuditEntryStatusChoices
from apps.audit.models import AuditEntry
from apps.audit.selectors import audit_entry_operations
from apps.core.filtersets import SearchFilterSet


class AuditEntryFilterSet(SearchFilterSet):
    search_fields = ("operation", "object_repr", "actor_name", "connection_name")

    operation = django_filters.ChoiceFilter(
        choices=(),  # the operations that have entries, filled in per request
        empty_label="Any operation",
        label="Operation",
    )
    status = django_filters.ChoiceFilter(
        choices=AuditEntryStatusChoices.choices,
        empty_label="Any status",
        label="Status",
    )
    context = django_filters.ChoiceFilter(
        choices=AuditEntryContextChoices.choices,
        empty_label="Any context",
        label="Context",
    )
    user = django_filters.CharFilter(
        field_name="actor_name",
        lookup_expr="icontains",
        label="User",
    )
    object = django_filters.CharFilter(
        method="filter_object",
        label="Object",
    )
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label="From",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label="To",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    run = django_filters.NumberFilter(
        method="filter_run",
        label="Export run",
        min_value=1,
    )
    request_id = django_filters.UUIDFilter(
        field_name="request_id",
        label="Request id",
    )

    class Meta:
        model = AuditEntry
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One query per page, used both to validate and to render the choices.
        self.filters["operation"].extra["choices"] = [
            (operation, operation) for operation in audit_entry_operations()
        ]

    def filter_run(self, queryset, name, value):
        """The entries of one export run (its start and end, and each of its writes)."""
        return queryset.filter(details__run=int(value))

    def filter_object(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(object_repr__icontains=value) | Q(object_id__icontains=value))

    # Dates are days in the site's time zone, compared as a range of times so the
    # database can use the index on created_at.
    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of_day(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of_day(value + dt.timedelta(days=1)))


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
