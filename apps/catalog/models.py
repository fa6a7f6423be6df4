"""What Microsoft billed: organizations, offers, subscriptions, billing reports and their
lines, the monthly roll-up, and the prices syncadmin sells at."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.lookups import Exact

from apps.catalog.choices import (
    BillingFrequencyChoices,
    BillingLineKindChoices,
    ImportRunKindChoices,
    ImportRunStatusChoices,
    PriceSourceChoices,
    SubscriptionStatusChoices,
)
from apps.core.choices import RecordType
from apps.core.expressions import DayOfMonth
from apps.core.fields import queued_at_field

MONEY = {"max_digits": 20, "decimal_places": 6}
QUANTITY = {"max_digits": 24, "decimal_places": 10}


class Organization(models.Model):
    """A Microsoft customer tenant (Partner Center's CustomerId)."""

    customer_id = models.CharField(max_length=36, unique=True, verbose_name="customer id")
    name = models.CharField(max_length=255, verbose_name="name")
    domains = models.JSONField(default=list, blank=True, verbose_name="domains")
    country = models.CharField(max_length=2, blank=True, verbose_name="country")
    created_at = models.DateTimeField(auto_now_add=True, verbose_name="first imported")
    updated_at = models.DateTimeField(auto_now=True, verbose_name="updated")

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"], name="organization_name")]

    def __str__(self) -> str:
        return self.name


class Offer(models.Model):
    """What a customer buys: product + SKU + availability, with term and billing plan."""

    product_id = models.CharField(max_length=40, verbose_name="product id")
    sku_id = models.CharField(max_length=20, verbose_name="SKU id")
    availability_id = models.CharField(max_length=40, blank=True, verbose_name="availability id")
    term = models.CharField(
        max_length=10, blank=True, verbose_name="term", help_text="P1M, P1Y, P3Y or blank"
    )
    billing_frequency = models.CharField(
        max_length=10,
        choices=BillingFrequencyChoices.choices,
        blank=True,
        verbose_name="billing frequency",
    )
    product_name = models.CharField(max_length=255, blank=True, verbose_name="product")
    sku_name = models.CharField(max_length=255, blank=True, verbose_name="SKU")
    publisher = models.CharField(max_length=255, blank=True, verbose_name="publisher")
    segment = models.CharField(max_length=40, blank=True, verbose_name="segment")
    record_type = models.CharField(
        max_length=30, choices=RecordType.choices, blank=True, verbose_name="record type"
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name="first imported")

    class Meta:
        ordering = ["product_name", "sku_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product_id", "sku_id", "availability_id", "term", "billing_frequency"],
                name="offer_unique_key",
            )
        ]
        indexes = [models.Index(fields=["product_name", "sku_name", "id"], name="offer_name")]

    def __str__(self) -> str:
        plan = (
            f" ({self.get_billing_frequency_display().lower()})" if self.billing_frequency else ""
        )
        return f"{self.sku_name or self.product_name}{plan}"


class Subscription(models.Model):
    """A Microsoft subscription (SubscriptionId): one organization, one offer."""

    subscription_id = models.CharField(max_length=36, unique=True, verbose_name="subscription id")
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        verbose_name="organization",
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.PROTECT, related_name="subscriptions", verbose_name="offer"
    )
    description = models.CharField(max_length=255, blank=True, verbose_name="description")
    quantity = models.DecimalField(null=True, blank=True, verbose_name="quantity", **QUANTITY)
    status = models.CharField(
        max_length=20,
        choices=SubscriptionStatusChoices.choices,
        default=SubscriptionStatusChoices.ACTIVE,
        verbose_name="status",
    )
    term_start = models.DateField(null=True, blank=True, verbose_name="term start")
    term_end = models.DateField(null=True, blank=True, verbose_name="term end")
    billing_frequency = models.CharField(
        max_length=10,
        choices=BillingFrequencyChoices.choices,
        blank=True,
        verbose_name="billing frequency",
    )
    auto_renew = models.BooleanField(null=True, blank=True, verbose_name="auto-renew")
    record_type = models.CharField(
        max_length=30, choices=RecordType.choices, blank=True, verbose_name="record type"
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name="first imported")
    updated_at = models.DateTimeField(auto_now=True, verbose_name="updated")

    class Meta:
        ordering = ["organization__name", "offer__product_name", "id"]
        indexes = [models.Index(fields=["organization", "offer"], name="subscription_org_offer")]

    def __str__(self) -> str:
        return f"{self.offer} - {self.organization}"


class BillingReport(models.Model):
    """One month of Microsoft billing in one billing currency."""

    month = models.DateField(verbose_name="month", help_text="The first day of the month.")
    currency = models.CharField(max_length=3, verbose_name="billing currency")
    invoice_numbers = models.JSONField(default=list, blank=True, verbose_name="invoices")
    generated_on = models.DateField(
        null=True, blank=True, verbose_name="generated on", help_text="When Microsoft issued it."
    )
    imported_at = models.DateTimeField(auto_now=True, verbose_name="last imported")

    class Meta:
        ordering = ["-month", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["month", "currency"], name="report_month_currency"),
            models.CheckConstraint(
                condition=Exact(DayOfMonth("month"), 1), name="report_month_first_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%B %Y} ({self.currency})"


class BillingFile(models.Model):
    """A file imported into a report, by content hash: the same file twice changes nothing."""

    report = models.ForeignKey(
        BillingReport, on_delete=models.CASCADE, related_name="files", verbose_name="report"
    )
    name = models.CharField(max_length=255, verbose_name="file name")
    sha256 = models.CharField(max_length=64, unique=True, verbose_name="SHA-256")
    format = models.CharField(max_length=20, verbose_name="format")
    kind = models.CharField(
        max_length=10, choices=BillingLineKindChoices.choices, verbose_name="kind"
    )
    invoice_numbers = models.JSONField(default=list, blank=True, verbose_name="invoices")
    size = models.BigIntegerField(verbose_name="bytes")
    line_count = models.PositiveIntegerField(verbose_name="lines")
    imported_at = models.DateTimeField(auto_now_add=True, verbose_name="imported")
    imported_by = models.CharField(max_length=150, blank=True, verbose_name="imported by")

    class Meta:
        ordering = ["-imported_at", "id"]

    def __str__(self) -> str:
        return self.name


class BillingLine(models.Model):
    """One normalized line of a billing file, linked to what it bills."""

    # A million lines a month are copied in at once: the foreign keys of this table are not
    # database constraints (each would cost a check per row); the importer writes ids it
    # has just created in the same transaction, and deletes go through the ORM.
    report = models.ForeignKey(
        BillingReport,
        on_delete=models.CASCADE,
        related_name="lines",
        verbose_name="report",
        db_constraint=False,
    )
    file = models.ForeignKey(
        BillingFile,
        on_delete=models.CASCADE,
        related_name="lines",
        verbose_name="file",
        db_constraint=False,
    )
    line_number = models.PositiveIntegerField(verbose_name="line")
    kind = models.CharField(
        max_length=10, choices=BillingLineKindChoices.choices, verbose_name="kind"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="organization",
        db_constraint=False,
    )
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="subscription",
        db_constraint=False,
    )
    offer = models.ForeignKey(
        Offer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    charge_type = models.CharField(max_length=30, verbose_name="charge type")
    date = models.DateField(verbose_name="order or usage date")
    charge_start = models.DateField(null=True, blank=True, verbose_name="charge start")
    charge_end = models.DateField(null=True, blank=True, verbose_name="charge end")
    quantity = models.DecimalField(verbose_name="quantity", **QUANTITY)
    unit_price = models.DecimalField(null=True, blank=True, verbose_name="unit price", **MONEY)
    effective_unit_price = models.DecimalField(
        null=True, blank=True, verbose_name="effective unit price", **MONEY
    )
    amount = models.DecimalField(verbose_name="amount (billing currency)", **MONEY)
    reference_id = models.CharField(max_length=40, blank=True, verbose_name="reference id")
    detail = models.CharField(
        max_length=255, blank=True, verbose_name="detail", help_text="Azure subscription (usage)."
    )
    category = models.CharField(max_length=100, blank=True, verbose_name="meter category")
    data = models.JSONField(
        null=True,
        blank=True,
        verbose_name="all fields",
        help_text="Invoice lines keep every normalized field, so the roll-up can be redone.",
    )

    class Meta:
        ordering = ["file", "line_number"]
        indexes = [
            models.Index(fields=["report", "organization"], name="billing_line_report_org"),
            models.Index(fields=["report", "subscription"], name="billing_line_report_sub"),
        ]

    def __str__(self) -> str:
        return f"{self.file} line {self.line_number}"


class SubscriptionMonth(models.Model):
    """The monthly roll-up of one subscription: what the export writes to Autotask."""

    report = models.ForeignKey(
        BillingReport,
        on_delete=models.CASCADE,
        related_name="subscription_months",
        verbose_name="report",
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="months", verbose_name="subscription"
    )
    offer = models.ForeignKey(
        Offer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscription_months",
        verbose_name="offer",
        help_text="What the subscription was at the end of the month (an upgrade changes it).",
    )
    record_type = models.CharField(
        max_length=30, choices=RecordType.choices, blank=True, verbose_name="record type"
    )
    unit_cost = models.DecimalField(
        null=True, blank=True, verbose_name="unit cost / month", **MONEY
    )
    unit_cost_source = models.CharField(max_length=40, blank=True, verbose_name="unit cost from")
    largest_quantity = models.DecimalField(
        null=True, blank=True, verbose_name="largest quantity", **QUANTITY
    )
    end_quantity = models.DecimalField(
        null=True, blank=True, verbose_name="end-of-month quantity", **QUANTITY
    )
    total_cost = models.DecimalField(verbose_name="total cost", **MONEY)
    charge_start = models.DateField(null=True, blank=True, verbose_name="charged from")
    charge_end = models.DateField(null=True, blank=True, verbose_name="charged to")
    cancelled = models.BooleanField(default=False, verbose_name="cancelled")
    carried_forward = models.BooleanField(default=False, verbose_name="carried forward")
    warnings = models.JSONField(default=list, blank=True, verbose_name="warnings")
    figures = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="The roll-up's full result, carried into the next month's roll-up.",
    )

    class Meta:
        ordering = ["report", "subscription"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "subscription"], name="subscription_month_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription} {self.report}"


class AzureMonth(models.Model):
    """Azure plan consumption of one organization in one month: the invoice total and the
    daily usage breakdown."""

    report = models.ForeignKey(
        BillingReport, on_delete=models.CASCADE, related_name="azure_months", verbose_name="report"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="azure_months"
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invoice_total = models.DecimalField(verbose_name="invoice total", **MONEY)
    usage_total = models.DecimalField(null=True, blank=True, verbose_name="usage total", **MONEY)
    by_azure_subscription = models.JSONField(default=dict, blank=True)
    by_meter_category = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True, verbose_name="warnings")

    class Meta:
        ordering = ["report", "organization"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "organization", "subscription"], name="azure_month_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Azure {self.organization} {self.report}"


class ImportRun(models.Model):
    """One import of one or more files, carried out by a worker, with live progress."""

    status = models.CharField(
        max_length=20,
        choices=ImportRunStatusChoices.choices,
        default=ImportRunStatusChoices.QUEUED,
        verbose_name="status",
    )
    kind = models.CharField(
        max_length=20,
        choices=ImportRunKindChoices.choices,
        default=ImportRunKindChoices.BILLING,
        verbose_name="what is imported",
    )
    month = models.DateField(null=True, blank=True, verbose_name="month asked for")
    files = models.JSONField(default=list, verbose_name="files")  # [{name, path, size}]
    lines_read = models.PositiveBigIntegerField(default=0, verbose_name="lines read")
    lines_total = models.PositiveBigIntegerField(default=0, verbose_name="lines (estimate)")
    result = models.JSONField(default=dict, blank=True, verbose_name="result")
    error = models.TextField(blank=True, verbose_name="error")
    attempts = models.PositiveSmallIntegerField(
        default=0, verbose_name="attempts"
    )  # how many times a worker started it (a dead worker's run is started again)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="imported by",
    )
    queued_at = queued_at_field()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="queued")
    started_at = models.DateTimeField(null=True, blank=True, verbose_name="started")
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name="finished")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk}"


class MspPrice(models.Model):
    """The MSP's own sales price for an offer (from its price list CSV or edited here)."""

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="msp_prices", verbose_name="offer"
    )
    currency = models.CharField(max_length=3, verbose_name="currency")
    unit_price = models.DecimalField(verbose_name="sales price / unit / month", **MONEY)
    source = models.CharField(
        max_length=20, choices=PriceSourceChoices.choices, verbose_name="source"
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name="updated")

    class Meta:
        ordering = ["offer", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "currency"], name="msp_price_unique"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="msp_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.offer}: {self.unit_price} {self.currency}"


class MicrosoftPrice(models.Model):
    """A row of Microsoft's price list: the partner's cost and the estimated retail price."""

    product_id = models.CharField(max_length=40, verbose_name="product id")
    sku_id = models.CharField(max_length=20, verbose_name="SKU id")
    term = models.CharField(max_length=10, blank=True, verbose_name="term")
    billing_frequency = models.CharField(
        max_length=10, choices=BillingFrequencyChoices.choices, blank=True
    )
    market = models.CharField(max_length=10, blank=True, verbose_name="market")
    currency = models.CharField(max_length=3, verbose_name="currency")
    segment = models.CharField(max_length=40, blank=True, verbose_name="segment")
    unit_price = models.DecimalField(verbose_name="partner cost", **MONEY)
    erp_price = models.DecimalField(
        null=True, blank=True, verbose_name="estimated retail price", **MONEY
    )
    effective_start = models.DateField(null=True, blank=True, verbose_name="from")
    effective_end = models.DateField(null=True, blank=True, verbose_name="to")

    class Meta:
        ordering = ["product_id", "sku_id", "term", "billing_frequency", "-effective_start"]
        indexes = [
            models.Index(fields=["product_id", "sku_id", "currency"], name="ms_price_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.sku_id} {self.term} {self.billing_frequency}"


class MarkupRule(models.Model):
    """A markup over cost for a record type, optionally for one organization only."""

    record_type = models.CharField(
        max_length=30, choices=RecordType.choices, verbose_name="record type"
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="markup_rules",
        verbose_name="organization",
    )
    percent = models.DecimalField(max_digits=7, decimal_places=2, verbose_name="markup (%)")

    class Meta:
        ordering = ["record_type", "organization"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "organization"], name="markup_rule_unique"
            ),
            models.UniqueConstraint(
                fields=["record_type"],
                condition=Q(organization__isnull=True),
                name="markup_rule_unique_default",
            ),
            models.CheckConstraint(condition=Q(percent__gte=-100), name="markup_not_below_cost_0"),
        ]

    def __str__(self) -> str:
        target = self.organization or "everyone"
        return f"{self.get_record_type_display()} for {target}: {self.percent}%"
