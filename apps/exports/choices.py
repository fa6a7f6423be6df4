from django.db import models


class ExportScopeChoices(models.TextChoices):
    REPORT = "report", "Whole report"
    ORGANIZATION = "organization", "One organization"
    SUBSCRIPTION = "subscription", "One subscription"


class ExportTriggerChoices(models.TextChoices):
    MANUAL = "manual", "Started by a person"
    SCHEDULE = "schedule", "Scheduled"
    CLI = "cli", "Command line"


class ExportRunStatusChoices(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for Autotask's hourly limit"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    INTERRUPTED = "interrupted", "Interrupted"


ACTIVE_STATUSES = (
    ExportRunStatusChoices.QUEUED,
    ExportRunStatusChoices.RUNNING,
    ExportRunStatusChoices.WAITING,
    ExportRunStatusChoices.INTERRUPTED,
)


# Ended (or stopped) runs a person should look at: on the dashboard until someone has.
NEEDS_A_LOOK = (
    ExportRunStatusChoices.PARTIAL,
    ExportRunStatusChoices.FAILED,
    ExportRunStatusChoices.INTERRUPTED,
)


class ExportItemStatusChoices(models.TextChoices):
    PLANNED = "planned", "Planned"
    DONE = "done", "Done"
    UNCHANGED = "unchanged", "Nothing to write"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class OperationStateChoices(models.TextChoices):
    PENDING = "pending", "To do"
    SENDING = "sending", "Sent, answer not recorded"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    NOT_TRIED = "not_tried", "Not tried"
