"""Reads for the audit log."""

from django.db.models import QuerySet

from apps.audit.models import AuditEntry


def audit_entry_list() -> QuerySet[AuditEntry]:
    """Every entry, newest first, with what a list or detail page shows loaded."""
    return AuditEntry.objects.select_related("actor")


def audit_entry_operations() -> list[str]:
    """The operations that have entries, alphabetically (the operation filter's choices)."""
    return list(
        AuditEntry.objects.order_by("operation").values_list("operation", flat=True).distinct()
    )
