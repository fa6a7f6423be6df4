"""Model fields more than one app's models share."""

from django.db import models


def queued_at_field() -> models.DateTimeField:
    """When a run was last handed to the task queue (see ``apps/core/runs.py``)."""
    return models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="handed to a worker",
        help_text="When the run was last handed to the task queue (queued again when a "
        "worker that had taken the task died before starting it).",
    )
