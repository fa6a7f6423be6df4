"""Export runs, what each one planned and did, and the ledger of what syncadmin wrote."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.autotask.models import Connection
from apps.catalog.models import BillingReport, Organization, Subscription
from apps.core.fields import queued_at_field
from apps.exports.choices import (
    ACTIVE_STATUSES,
    ExportItemStatusChoices,
    ExportRunStatusChoices,
    ExportScopeChoices,
    ExportTriggerChoices,
    OperationStateChoices,
)


class ExportRun(models.Model):
    """One export of a billing report (or one organization or subscription of it) to one
    connection: planned first, then applied, resumable from its operations."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="export_runs", verbose_name="connection"
    )
    report = models.ForeignKey(
        BillingReport, on_delete=models.CASCADE, related_name="export_runs", verbose_name="report"
    )
    scope = models.CharField(
        max_length=20,
        choices=ExportScopeChoices.choices,
        default=ExportScopeChoices.REPORT,
        verbose_name="scope",
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="organization",
    )
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="subscription",
    )
    scope_key = models.CharField(
        max_length=80,
        editable=False,
        help_text="Report, scope and target in one value (which run the command continues).",
    )
    trigger = models.CharField(
        max_length=20,
        choices=ExportTriggerChoices.choices,
        default=ExportTriggerChoices.MANUAL,
        verbose_name="started by",
    )
    dry_run = models.BooleanField(default=False, verbose_name="dry run")
    preview = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="confirmed_runs",
        verbose_name="confirmed preview",
        help_text="The dry run a person read and confirmed: this run writes only that plan.",
    )
    plan_digest = models.CharField(
        max_length=64, blank=True, editable=False, verbose_name="plan fingerprint"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="requested by",
    )
    requested_by_name = models.CharField(max_length=150, blank=True, verbose_name="requested by")
    status = models.CharField(
        max_length=20,
        choices=ExportRunStatusChoices.choices,
        default=ExportRunStatusChoices.QUEUED,
        verbose_name="status",
    )
    planned_at = models.DateTimeField(null=True, blank=True, verbose_name="planned")
    counts = models.JSONField(default=dict, blank=True, verbose_name="operations by kind")
    done_counts = models.JSONField(default=dict, blank=True, verbose_name="done by kind")
    skipped = models.PositiveIntegerField(default=0, verbose_name="skipped")
    failed = models.PositiveIntegerField(default=0, verbose_name="failed")
    requests = models.PositiveIntegerField(default=0, verbose_name="API requests")
    writes = models.PositiveIntegerField(default=0, verbose_name="API writes")
    message = models.TextField(blank=True, verbose_name="message")
    resume_at = models.DateTimeField(null=True, blank=True, verbose_name="continues at")
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name="attempts")
    in_process = models.BooleanField(
        default=False, editable=False, verbose_name="carried out by the command itself",
        help_text="The last attempt ran in the command's own process, not in a worker: "
        "stopped, it is the command's to continue.",
    )  # fmt: skip
    queued_at = queued_at_field()
    reviewed_at = models.DateTimeField(null=True, blank=True, verbose_name="looked at")
    reviewed_by_name = models.CharField(max_length=150, blank=True, verbose_name="looked at by")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="queued")
    started_at = models.DateTimeField(null=True, blank=True, verbose_name="started")
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name="finished")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One export at a time per connection, whatever its scope: two runs (two
            # reports, or a report and one of its organizations) would both create what
            # neither has seen yet. The command line finds the one to continue by scope.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES])
                & Q(dry_run=False),
                name="export_run_one_active_per_connection",
            ),
            models.CheckConstraint(
                condition=(
                    Q(scope=ExportScopeChoices.REPORT)
                    | Q(scope=ExportScopeChoices.ORGANIZATION, organization__isnull=False)
                    | Q(scope=ExportScopeChoices.SUBSCRIPTION, subscription__isnull=False)
                ),
                name="export_run_scope_has_target",
            ),
        ]
        indexes = [
            models.Index(fields=["connection", "-created_at"], name="export_run_recent"),
            models.Index(fields=["status", "-created_at"], name="export_run_by_status"),
        ]

    def __str__(self) -> str:
        return f"Export #{self.pk} of {self.report} to {self.connection}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ExportItem(models.Model):
    """One subscription of a run (or the run's shared work: products and services)."""

    run = models.ForeignKey(
        ExportRun, on_delete=models.CASCADE, related_name="items", verbose_name="run"
    )
    position = models.PositiveIntegerField(verbose_name="position")
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="subscription",
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="organization",
    )
    label = models.CharField(max_length=255, verbose_name="what")
    status = models.CharField(
        max_length=20,
        choices=ExportItemStatusChoices.choices,
        default=ExportItemStatusChoices.PLANNED,
        verbose_name="status",
    )
    reason = models.TextField(blank=True, verbose_name="why skipped")
    notes = models.JSONField(default=list, blank=True, verbose_name="notes")
    autotask_ids = models.JSONField(default=dict, blank=True, verbose_name="Autotask ids")
    error = models.TextField(blank=True, verbose_name="error")

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="export_item_position")
        ]

    def __str__(self) -> str:
        return self.label


class ExportOperation(models.Model):
    """One planned Autotask write, with its reason, and what became of it."""

    item = models.ForeignKey(
        ExportItem, on_delete=models.CASCADE, related_name="operations", verbose_name="item"
    )
    sequence = models.PositiveIntegerField(verbose_name="order")
    kind = models.CharField(max_length=40, verbose_name="operation")
    key = models.CharField(max_length=200, verbose_name="ledger key")
    entity = models.CharField(max_length=60, verbose_name="entity")
    plan = models.JSONField(verbose_name="planned operation")
    state = models.CharField(
        max_length=20,
        choices=OperationStateChoices.choices,
        default=OperationStateChoices.PENDING,
        verbose_name="state",
    )
    autotask_id = models.BigIntegerField(null=True, blank=True, verbose_name="Autotask id")
    note = models.TextField(blank=True, verbose_name="note")
    error = models.TextField(blank=True, verbose_name="error")
    done_at = models.DateTimeField(null=True, blank=True, verbose_name="done")

    class Meta:
        ordering = ["item__run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["item", "sequence"], name="export_operation_order")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class ExportObject(models.Model):
    """The ledger: each Autotask object syncadmin created or last wrote, by our own key,
    with the values we wrote. Recorded before an export moves on, so a later run (or a
    run started again after its worker died) knows what exists and what is ours."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="+", verbose_name="connection"
    )
    key = models.CharField(max_length=200, verbose_name="key")
    subscription_key = models.CharField(
        max_length=36,
        blank=True,
        db_index=True,
        verbose_name="subscription id",
        help_text="The Microsoft subscription the object belongs to (blank: shared).",
    )
    entity = models.CharField(max_length=60, verbose_name="entity")
    autotask_id = models.BigIntegerField(null=True, blank=True, verbose_name="Autotask id")
    values = models.JSONField(default=dict, blank=True, verbose_name="values we wrote")
    created_by_export = models.BooleanField(default=True, verbose_name="created by syncadmin")
    run = models.ForeignKey(
        ExportRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="last written by",
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name="updated")

    class Meta:
        ordering = ["connection", "key"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "key"], name="export_object_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.entity} {self.autotask_id}"
