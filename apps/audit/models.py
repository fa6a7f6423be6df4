"""The audit log: one append-only row per change syncadmin made, or tried to make."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone

from apps.audit.choices import AuditEntryContextChoices, AuditEntryStatusChoices


class AuditEntryReadOnlyError(Exception):
    """Raised on any attempt to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    """Refuses bulk changes: entries are written once and never edited or deleted.

    Setting ``actor`` to NULL when a user is deleted still works: Django's deletion
    collector goes through the model's base manager, which is a plain ``QuerySet``.
    """

    def update(self, **kwargs):
        raise AuditEntryReadOnlyError("Audit entries are never changed.")

    update.alters_data = True
    update.queryset_only = True

    def delete(self):
        raise AuditEntryReadOnlyError("Audit entries are never deleted.")

    delete.alters_data = True
    delete.queryset_only = True


class AuditEntry(models.Model):
    """A change syncadmin made or tried to make: a mapping, a connection, an import, an
    export write.

    Who, what and which object are copied into plain text so the history survives the
    deletion of the user, the connection or the object. Written only by
    ``apps.audit.services.audit_record``; never edited or deleted from the application.
    """

    # Indexed as the first column of the ordering index (see Meta.indexes), which also
    # serves the date filters; a second index on it alone would only slow inserts.
    created_at = models.DateTimeField(
        default=timezone.now,
        editable=False,
        verbose_name="time",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name="user",
    )
    actor_name = models.CharField(
        max_length=150,
        blank=True,
        verbose_name="user name",
        help_text='The user name at the time, or "scheduler", "cli:<user>", "system".',
    )
    context = models.CharField(
        max_length=16,
        choices=AuditEntryContextChoices.choices,
        default=AuditEntryContextChoices.SYSTEM,
        verbose_name="context",
    )
    request_id = models.UUIDField(
        null=True,
        blank=True,
        verbose_name="request id",
        help_text="Shared by every entry of one web request, task or command.",
    )
    connection_name = models.CharField(
        max_length=200,
        blank=True,
        verbose_name="connection",
    )
    operation = models.CharField(
        max_length=100,
        verbose_name="operation",
        help_text='For example "Create Connection Offer Mapping".',
    )
    object_type = models.CharField(
        max_length=100,
        blank=True,
        verbose_name="object type",
        help_text='The model label, for example "mappings.offermapping".',
    )
    object_id = models.CharField(
        max_length=64,
        blank=True,
        verbose_name="object id",
    )
    object_repr = models.CharField(
        max_length=200,
        blank=True,
        verbose_name="object",
    )
    status = models.CharField(
        max_length=16,
        choices=AuditEntryStatusChoices.choices,
        default=AuditEntryStatusChoices.SUCCEEDED,
        verbose_name="status",
    )
    before = models.JSONField(
        null=True,
        blank=True,
        encoder=DjangoJSONEncoder,
        verbose_name="before",
    )
    after = models.JSONField(
        null=True,
        blank=True,
        encoder=DjangoJSONEncoder,
        verbose_name="after",
    )
    details = models.JSONField(
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        verbose_name="details",
        help_text="Autotask ids, the error text and anything else worth keeping.",
    )

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="audit_entry_ordering_idx"),
            models.Index(fields=["operation"], name="audit_entry_operation_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_entry_object_idx"),
            models.Index(fields=["request_id"], name="audit_entry_request_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AuditEntryStatusChoices.values),
                name="audit_entry_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(context__in=AuditEntryContextChoices.values),
                name="audit_entry_context_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(operation=""),
                name="audit_entry_operation_not_empty",
            ),
        ]

    def __str__(self):
        subject = f" {self.object_repr}" if self.object_repr else ""
        return f"{self.operation}{subject} ({self.get_status_display().lower()})"

    def save(self, *args, **kwargs):
        """Insert a new entry; refuse to update an existing one."""
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise AuditEntryReadOnlyError("Audit entries are never changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    save.alters_data = True

    def get_absolute_url(self):
        return reverse("audit:auditentry_detail", kwargs={"pk": self.pk})

    def delete(self, *args, **kwargs):
        raise AuditEntryReadOnlyError("Audit entries are never deleted.")

    delete.alters_data = True
