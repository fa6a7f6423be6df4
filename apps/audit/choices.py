from django.db import models


class AuditEntryStatusChoices(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class AuditEntryContextChoices(models.TextChoices):
    """Where the change was made: who started it is in the entry's actor fields."""

    WEB = "web", "Web"
    WORKER = "worker", "Worker"
    CLI = "cli", "Command line"
    SYSTEM = "system", "System"
