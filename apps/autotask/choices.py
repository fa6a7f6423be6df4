from django.db import models


class ContractKeyFieldChoices(models.TextChoices):
    CONTRACT_NUMBER = "contract_number", "Contract number (contractNumber)"
    UDF = "udf", "A contract user-defined field"


class RefreshRunKindChoices(models.TextChoices):
    FULL = "full", "Full"
    INCREMENTAL = "incremental", "Incremental"


class RefreshRunStatusChoices(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DEFERRED = "deferred", "Deferred (API budget)"
    INTERRUPTED = "interrupted", "Interrupted"


# A connection has at most one refresh in these (the database refuses a second). A deferred
# run waits for API budget and does not count: a new refresh may start meanwhile, and the
# deferred one resumes only once no other is active (`services._claim`).
ACTIVE_REFRESH_STATUSES = (RefreshRunStatusChoices.QUEUED, RefreshRunStatusChoices.RUNNING)


class ConnectionTestStatusChoices(models.TextChoices):
    """Where a connection test handed to a worker is (kept in the cache, not in a model:
    `apps/autotask/connection_test.py`)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Works"
    FAILED = "failed", "Does not work"
    LOST = "lost", "No answer from the worker"


class BillingCodeUseTypeChoices(models.IntegerChoices):
    """Autotask's billing code `useType` picklist."""

    GENERAL = 1, "General"
    EXPENSE = 2, "Expense"
    INTERNAL = 3, "Internal"
    MATERIAL = 4, "Material"
    RECURRING_SERVICE = 5, "Recurring service"
    MILESTONE = 6, "Milestone"
    PRODUCT = 7, "Product"


class ContractTypeChoices(models.IntegerChoices):
    """Autotask's `contractType` picklist, the same in every tenant (AUTOTASK_API.md §6.1).
    Only a Recurring Service contract carries services, and so subscriptions."""

    TIME_AND_MATERIALS = 1, "Time & Materials"
    FIXED_PRICE = 3, "Fixed Price"
    BLOCK_HOURS = 4, "Block Hours"
    RETAINER = 6, "Retainer"
    RECURRING_SERVICE = 7, "Recurring Service"
    PER_TICKET = 8, "Per Ticket"
