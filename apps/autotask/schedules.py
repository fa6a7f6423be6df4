"""django-q2 schedules of this app, applied idempotently after every migrate."""

from django_q.models import Schedule

REFRESH_SCHEDULE = "autotask: refresh reference data of every connection"


def apply_schedules(**kwargs) -> None:
    Schedule.objects.update_or_create(
        name=REFRESH_SCHEDULE,
        defaults={
            "func": "apps.autotask.tasks.connection_refresh_all",
            "schedule_type": Schedule.HOURLY,
            "repeats": -1,
        },
    )
