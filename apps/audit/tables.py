import django_tables2 as tables

from apps.audit.models import AuditEntry


class AuditEntryTable(tables.Table):
    created_at = tables.DateTimeColumn(
        verbose_name="Time",
        format="Y-m-d H:i:s",
        linkify=True,
        order_by=("created_at", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    actor_name = tables.Column(
        verbose_name="User",
        order_by=("actor_name", "-created_at", "-id"),
    )
    context = tables.Column(
        verbose_name="Context",
        order_by=("context", "-created_at", "-id"),
    )
    connection_name = tables.Column(
        verbose_name="Connection",
        order_by=("connection_name", "-created_at", "-id"),
    )
    operation = tables.Column(
        verbose_name="Operation",
        order_by=("operation", "-created_at", "-id"),
    )
    object_repr = tables.Column(
        verbose_name="Object",
        empty_values=(),
        order_by=("object_repr", "-created_at", "-id"),
    )
    status = tables.TemplateColumn(
        verbose_name="Status",
        template_name="audit/includes/status_badge.html",
        order_by=("status", "-created_at", "-id"),
    )

    class Meta:
        model = AuditEntry
        fields = (
            "created_at",
            "actor_name",
            "context",
            "connection_name",
            "operation",
            "object_repr",
            "status",
        )
        attrs = {"class": "table table-sm table-hover align-middle", "data-testid": "object-table"}
        empty_text = "No audit entries."

    def render_object_repr(self, value, record):
        """The object's text, or its type and id when it had none."""
        return value or f"{record.object_type} {record.object_id}".strip() or "—"
