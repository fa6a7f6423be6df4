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


class ContractTypeChoices(models.IntegerChoices):
    """Autotask's `contractType` picklist, the same in every tenant (AUTOTASK_API.md §6.1).
    Only a Recurring Service contract carries services, and so subscriptions."""

    TIME_AND_MATERIALS = 1, "Time & Materials"
    FIXED_PRICE = 3, "Fixed Price"
    BLOCK_HOURS = 4, "Block Hours"
    RETAINER = 6, "Retainer"
    RECURRING_SERVICE = 7, "Recurring Service"
    PER_TICKET = 8, "Per Ticket"
