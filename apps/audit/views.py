"""The audit log's pages: read-only, for Viewers and above. There is no edit or delete."""

import json

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView

from apps.accounts.roles import Role, RoleRequiredMixin
from apps.audit.csv_export import audit_csv_filename, audit_csv_lines
from apps.audit.diff import audit_diff
from apps.audit.filtersets import AuditEntryFilterSet
from apps.audit.models import AuditEntry
from apps.audit.selectors import audit_entry_list
from apps.audit.tables import AuditEntryTable
from apps.core.lists import ObjectListView


def _pretty_or_none(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _entries_as_listed(request) -> QuerySet[AuditEntry]:
    """Every entry the list page shows for this query string, on all its pages, in the
    table's order: the same filter set (nothing when a filter is invalid, as on the
    page) and the same ``sort``."""
    filterset = AuditEntryFilterSet(
        data=request.GET or None, queryset=audit_entry_list(), request=request
    )
    if filterset.is_bound and not filterset.is_valid():
        return filterset.queryset.none()
    # The table turns ``sort`` into the queryset's order_by, as on the page; its data is
    # that queryset, still unevaluated.
    table = AuditEntryTable(filterset.qs, order_by=request.GET.get("sort"))
    return table.data.data


class AuditEntryListView(ObjectListView):
    required_role = Role.VIEWER
    template_name = "audit/auditentry_list.html"
    table_class = AuditEntryTable
    filterset_class = AuditEntryFilterSet
    title = "Audit log"
    empty_text = "No audit entries match these filters."
    search_placeholder = "Search operation, object, user or connection"

    def get_queryset(self):
        return audit_entry_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["csv_url"] = _csv_url(self.request)
        return context


def _csv_url(request) -> str:
    """The CSV download with this page's search, filters and sort (not its page)."""
    query = request.GET.copy()
    for name in ("page", "per_page"):
        query.pop(name, None)
    url = reverse("audit:auditentry_csv")
    return f"{url}?{query.urlencode()}" if query else url


class AuditEntryCsvView(RoleRequiredMixin, View):
    """The entries the list shows for the same query string, all of them, as a CSV file
    written while it is sent (``apps/audit/csv_export.py``)."""

    required_role = Role.VIEWER

    def get(self, request):
        response = StreamingHttpResponse(
            audit_csv_lines(entries=_entries_as_listed(request)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{audit_csv_filename()}"'
        return response


class AuditEntryDetailView(RoleRequiredMixin, DetailView):
    required_role = Role.VIEWER
    template_name = "audit/auditentry_detail.html"
    context_object_name = "entry"

    def get_queryset(self):
        return audit_entry_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entry = self.object
        context.update(
            title=f"Audit entry {entry.pk}",
            diff=audit_diff(before=entry.before, after=entry.after),
            panels=[
                {"name": "Before", "slug": "before", "json": _pretty_or_none(entry.before)},
                {"name": "After", "slug": "after", "json": _pretty_or_none(entry.after)},
            ],
            details_json=_pretty_or_none(entry.details or None),
        )
        return context
