"""The audit log's pages: read-only, for Viewers and above. There is no edit or delete."""

import json

from django.views.generic import DetailView

from apps.accounts.roles import Role, RoleRequiredMixin
from apps.audit.filtersets import AuditEntryFilterSet
from apps.audit.selectors import audit_entry_changes, audit_entry_list
from apps.audit.tables import AuditEntryTable
from apps.core.lists import ObjectListView


def _pretty(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _pretty_or_none(value) -> str | None:
    return None if value is None else _pretty(value)


class AuditEntryListView(ObjectListView):
    required_role = Role.VIEWER
    table_class = AuditEntryTable
    filterset_class = AuditEntryFilterSet
    title = "Audit log"
    empty_text = "No audit entries match these filters."
    search_placeholder = "Search operation, object, user or connection"

    def get_queryset(self):
        return audit_entry_list()


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
            changes=[
                {
                    "key": change.key,
                    "before": _pretty(change.before),
                    "after": _pretty(change.after),
                }
                for change in audit_entry_changes(entry=entry)
            ],
            panels=[
                {"name": "Before", "slug": "before", "json": _pretty_or_none(entry.before)},
                {"name": "After", "slug": "after", "json": _pretty_or_none(entry.after)},
                {
                    "name": "Details",
                    "slug": "details",
                    "json": _pretty_or_none(entry.details or None),
                },
            ],
        )
        return context
