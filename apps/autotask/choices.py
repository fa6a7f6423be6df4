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
