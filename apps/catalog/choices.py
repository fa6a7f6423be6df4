from django.db import models


class BillingFrequencyChoices(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"
    TRIENNIAL = "triennial", "Every three years"
    ONE_TIME = "one_time", "One-time"


class SubscriptionStatusChoices(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class BillingLineKindChoices(models.TextChoices):
    INVOICE = "invoice", "Invoice reconciliation"
    USAGE = "usage", "Daily rated usage"


class ImportRunKindChoices(models.TextChoices):
    BILLING = "billing", "Billing files"
    PRICE_LIST = "price_list", "Price list"


class ImportRunStatusChoices(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted"
    CANCELLED = "cancelled", "Cancelled"


class PriceSourceChoices(models.TextChoices):
    PRICE_LIST = "price_list", "MSP price list (CSV)"
    EDITED = "edited", "Edited in syncadmin"
