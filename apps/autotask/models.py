"""Connections to Autotask, and the local copy of each connection's reference data."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from apps.autotask.choices import (
    ACTIVE_REFRESH_STATUSES,
    ContractKeyFieldChoices,
    ContractTypeChoices,
    RefreshRunKindChoices,
    RefreshRunStatusChoices,
)
from apps.autotask.config import url_allowed
from apps.core.choices import RecordType
from apps.core.crypto import decrypt_text, encrypt_text
from apps.core.fields import queued_at_field

DEFAULT_API_ROOT = "https://webservices2.autotask.net/atservicesrest/"


# What an Administrator edits on the settings screen (the secret has its own).
ACCESS_FIELDS = (
    "name",
    "username",
    "integration_code",
    "api_root_url",
    "impersonation_resource_id",
    "concurrency_limit",
)
EXPORT_FIELDS = (
    "service_billing_code_id",
    "product_billing_code_id",
    "sla_id",
    "contract_category_id",
    "contract_key_field",
    "contract_key_udf",
    "export_record_types",
    "export_lag_days",
    "export_on_schedule",
    "create_missing_services",
    "fold_reservations_into_azure",
)
EDITABLE_FIELDS = ACCESS_FIELDS + EXPORT_FIELDS


def all_record_types() -> list[str]:
    return list(RecordType.values)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def http_hosts_allowed() -> tuple[str, ...]:
    """Hosts a real connection may reach over plain HTTP: none, or with
    AUTOTASK_LOOPBACK_HTTP (local use and tests) this machine itself."""
    return LOOPBACK_HOSTS if settings.AUTOTASK_LOOPBACK_HTTP else ()


class Connection(models.Model):
    """One Autotask instance (or the built-in sandbox) that syncadmin exports to."""

    name = models.CharField(max_length=100, unique=True, verbose_name="name")
    is_sandbox = models.BooleanField(default=False, verbose_name="built-in sandbox")
    api_root_url = models.URLField(
        default=DEFAULT_API_ROOT,
        verbose_name="API root URL",
        help_text="Where zone discovery is asked: Autotask's own, or the sandbox's.",
    )
    username = models.CharField(max_length=254, verbose_name="API user name")
    integration_code = models.CharField(max_length=100, verbose_name="API integration code")
    secret_encrypted = models.TextField(editable=False, verbose_name="secret (encrypted)")
    zone_url = models.URLField(blank=True, verbose_name="zone URL")
    zone_discovered_at = models.DateTimeField(null=True, blank=True, verbose_name="zone found at")
    impersonation_resource_id = models.PositiveBigIntegerField(
        null=True, blank=True, verbose_name="impersonation resource id"
    )
    concurrency_limit = models.PositiveSmallIntegerField(
        default=2,
        verbose_name="concurrent requests per entity",
        help_text="Autotask allows 3 per entity and integration; 2 leaves room for others.",
    )
    # Export defaults (used by the mapping and export features).
    service_billing_code_id = models.BigIntegerField(
        null=True, blank=True, verbose_name="billing code for created services"
    )
    product_billing_code_id = models.BigIntegerField(
        null=True, blank=True, verbose_name="billing code for created products"
    )
    sla_id = models.IntegerField(null=True, blank=True, verbose_name="service level agreement")
    contract_category_id = models.IntegerField(
        null=True, blank=True, verbose_name="contract category"
    )
    contract_key_field = models.CharField(
        max_length=20,
        choices=ContractKeyFieldChoices.choices,
        default=ContractKeyFieldChoices.CONTRACT_NUMBER,
        verbose_name="where the subscription id goes",
    )
    contract_key_udf = models.CharField(
        max_length=100, blank=True, verbose_name="contract user-defined field"
    )
    export_record_types = models.JSONField(
        default=all_record_types, verbose_name="record types to export"
    )
    export_lag_days = models.PositiveSmallIntegerField(default=4, verbose_name="export lag (days)")
    export_on_schedule = models.BooleanField(
        default=False,
        verbose_name="export on schedule",
        help_text="Every day, export each imported report at least the lag days old that is "
        "not exported yet (lag 0: right after its import). Off until you turn it on.",
    )
    create_missing_services = models.BooleanField(
        default=True, verbose_name="create missing services"
    )
    fold_reservations_into_azure = models.BooleanField(
        default=False, verbose_name="fold reservations into the Azure plan charge"
    )
    # Bookkeeping.
    requests_total = models.BigIntegerField(default=0, verbose_name="API requests made")
    refresh_watermarks = models.JSONField(default=dict, blank=True, editable=False)
    last_test_at = models.DateTimeField(null=True, blank=True, verbose_name="last tested")
    last_test_ok = models.BooleanField(null=True, blank=True, verbose_name="last test passed")
    last_test_result = models.JSONField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name="created")
    updated_at = models.DateTimeField(auto_now=True, verbose_name="updated")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concurrency_limit__gte=1) & Q(concurrency_limit__lte=3),
                name="connection_concurrency_1_to_3",
            ),
            models.CheckConstraint(
                condition=~Q(contract_key_field="udf") | ~Q(contract_key_udf=""),
                name="connection_key_udf_named",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("autotask:connection_detail", args=[self.pk])

    def clean(self):
        """A real Autotask connection speaks HTTPS only: its secret never travels in clear."""
        super().clean()
        if self.is_sandbox:
            return
        errors = {}
        for name in ("api_root_url", "zone_url"):
            value = getattr(self, name)
            if value and not url_allowed(value, https_only=True, http_hosts=http_hosts_allowed()):
                errors[name] = (
                    "An Autotask connection must use https:// (only the built-in sandbox "
                    "may use http://)."
                )
        if errors:
            raise ValidationError(errors)

    def set_secret(self, plain: str) -> None:
        self.secret_encrypted = encrypt_text(plain)

    set_secret.alters_data = True

    def secret(self) -> str:
        return decrypt_text(self.secret_encrypted)

    secret.alters_data = True  # keep templates from ever calling it


class DefaultMarkup(models.Model):
    """A connection's default markup over cost for one record type: what prices a month
    that has no MSP price and no markup rule. Read as one dict by
    `apps.autotask.markups.connection_default_markups`."""

    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="default_markup_rows",
        verbose_name="connection",
    )
    record_type = models.CharField(
        max_length=30, choices=RecordType.choices, verbose_name="record type"
    )
    percent = models.DecimalField(max_digits=7, decimal_places=2, verbose_name="markup (%)")

    class Meta:
        ordering = ["connection", "record_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "record_type"], name="default_markup_unique"
            ),
            # As for the catalog's markup rules: never below cost 0.
            models.CheckConstraint(
                condition=Q(percent__gte=-100), name="default_markup_not_below_cost_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.get_record_type_display()}: {self.percent}%"


class ConcurrencySlot(models.Model):
    """One of `concurrency_limit` slots per connection and entity. A request takes a free
    (or expired) slot with a conditional UPDATE, so every process on every host shares
    the limit through the database."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="slots", verbose_name="connection"
    )
    entity = models.CharField(max_length=60, verbose_name="entity")
    slot = models.PositiveSmallIntegerField(verbose_name="slot")
    holder = models.CharField(max_length=64, blank=True, verbose_name="holder")
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name="expires")

    class Meta:
        ordering = ["connection", "entity", "slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "slot"], name="concurrency_slot_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.entity}:{self.slot}"


class RefreshRun(models.Model):
    """One refresh of a connection's reference data."""

    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="refresh_runs",
        verbose_name="connection",
    )
    kind = models.CharField(
        max_length=20, choices=RefreshRunKindChoices.choices, verbose_name="kind"
    )
    status = models.CharField(
        max_length=20,
        choices=RefreshRunStatusChoices.choices,
        default=RefreshRunStatusChoices.QUEUED,
        verbose_name="status",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="requested by",
    )
    queued_at = queued_at_field()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="queued")
    started_at = models.DateTimeField(null=True, blank=True, verbose_name="started")
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name="finished")
    requests = models.PositiveIntegerField(default=0, verbose_name="API requests")
    counts = models.JSONField(default=dict, blank=True, verbose_name="rows")
    error = models.TextField(blank=True, verbose_name="error")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection", "-created_at"], name="refresh_run_recent")]
        constraints = [
            # Two requests cannot both queue a refresh: the second insert is refused.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=[status.value for status in ACTIVE_REFRESH_STATUSES]),
                name="refresh_run_one_active_per_connection",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection} {self.kind} refresh #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REFRESH_STATUSES


class ReferenceRow(models.Model):
    """A row copied from Autotask. Never deleted by a refresh: one that Autotask no longer
    returns is marked gone, so mappings that point at it keep working and can say so."""

    connection = models.ForeignKey(
        Connection,
        on_delete=models.CASCADE,
        related_name="%(class)s_rows",
        verbose_name="connection",
    )
    autotask_id = models.BigIntegerField(verbose_name="Autotask id")
    name = models.CharField(max_length=255, verbose_name="name")
    is_active = models.BooleanField(default=True, verbose_name="active")
    gone_at = models.DateTimeField(null=True, blank=True, verbose_name="gone from Autotask")
    refreshed_at = models.DateTimeField(auto_now=True, verbose_name="refreshed")

    class Meta:
        abstract = True
        ordering = ["name", "autotask_id"]

    def __str__(self) -> str:
        return self.name


def _reference_meta(model_name: str):
    return {
        "ordering": ["name", "autotask_id"],
        "constraints": [
            models.UniqueConstraint(
                fields=["connection", "autotask_id"], name=f"{model_name}_unique_id"
            )
        ],
        "indexes": [models.Index(fields=["connection", "name"], name=f"{model_name}_name")],
    }


class AutotaskCompany(ReferenceRow):
    """A company in Autotask (customers, prospects, vendors, ...)."""

    company_type = models.IntegerField(null=True, blank=True, verbose_name="company type")
    web_address = models.CharField(max_length=255, blank=True, verbose_name="web address")
    last_modified = models.DateTimeField(null=True, blank=True, verbose_name="last modified")

    class Meta(ReferenceRow.Meta):
        verbose_name_plural = "Autotask companies"
        constraints = _reference_meta("atcompany")["constraints"]
        indexes = _reference_meta("atcompany")["indexes"]


class AutotaskService(ReferenceRow):
    """A recurring service in Autotask's catalogue."""

    period_type = models.IntegerField(null=True, blank=True, verbose_name="period type")
    unit_cost = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, verbose_name="unit cost"
    )
    unit_price = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, verbose_name="unit price"
    )
    billing_code_id = models.BigIntegerField(null=True, blank=True, verbose_name="billing code")
    last_modified = models.DateTimeField(null=True, blank=True, verbose_name="last modified")

    class Meta(ReferenceRow.Meta):
        constraints = _reference_meta("atservice")["constraints"]
        indexes = _reference_meta("atservice")["indexes"]


class AutotaskProduct(ReferenceRow):
    """A product in Autotask (charges are made on products)."""

    unit_cost = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, verbose_name="unit cost"
    )
    unit_price = models.DecimalField(
        max_digits=18, decimal_places=4, null=True, blank=True, verbose_name="unit price"
    )
    billing_code_id = models.BigIntegerField(null=True, blank=True, verbose_name="billing code")

    class Meta(ReferenceRow.Meta):
        constraints = _reference_meta("atproduct")["constraints"]
        indexes = _reference_meta("atproduct")["indexes"]


class AutotaskBillingCode(ReferenceRow):
    """An allocation ("billing") code; services need useType 5, products a material code."""

    use_type = models.IntegerField(null=True, blank=True, verbose_name="use type")

    class Meta(ReferenceRow.Meta):
        constraints = _reference_meta("atbillingcode")["constraints"]
        indexes = _reference_meta("atbillingcode")["indexes"]


class AutotaskContract(ReferenceRow):
    """A contract in Autotask, as Autotask last showed it: every Recurring Service contract
    (what a subscription maps to, by hand or by an export), and any other syncadmin knows."""

    company_id = models.BigIntegerField(null=True, blank=True, verbose_name="company")
    contract_type = models.IntegerField(
        choices=ContractTypeChoices.choices,
        null=True,
        blank=True,
        verbose_name="contract type",
        help_text="Autotask's contractType; only Recurring Service (7) carries subscriptions.",
    )
    contract_number = models.CharField(max_length=50, blank=True, verbose_name="number")
    status = models.IntegerField(null=True, blank=True, verbose_name="status")
    start_date = models.DateField(null=True, blank=True, verbose_name="start")
    end_date = models.DateField(null=True, blank=True, verbose_name="end")
    last_modified = models.DateTimeField(null=True, blank=True, verbose_name="last modified")

    class Meta(ReferenceRow.Meta):
        constraints = _reference_meta("atcontract")["constraints"]
        indexes = _reference_meta("atcontract")["indexes"]


class AutotaskPicklistValue(models.Model):
    """A value of a tenant picklist we need (contract categories, SLAs)."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="+", verbose_name="connection"
    )
    entity = models.CharField(max_length=60, verbose_name="entity")
    field = models.CharField(max_length=100, verbose_name="field")
    value = models.IntegerField(verbose_name="value")
    label = models.CharField(max_length=255, verbose_name="label")
    is_active = models.BooleanField(default=True, verbose_name="active")
    gone_at = models.DateTimeField(null=True, blank=True, verbose_name="gone from Autotask")

    class Meta:
        ordering = ["entity", "field", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "entity", "field", "value"], name="atpicklist_unique"
            )
        ]
        indexes = [models.Index(fields=["entity", "field", "label"], name="atpicklist_order")]

    def __str__(self) -> str:
        return self.label
