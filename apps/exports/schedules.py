"""django-q2 schedules of this app, applied idempotently after every migrate."""

from django_q.models import Schedule

STALE_EXPORTS_SCHEDULE = "exports: notice exports whose worker died"


def apply_schedules(**kwargs) -> None:
    Schedule.objects.update_or_create(
        name=STALE_EXPORTS_SCHEDULE,
        defaults={
            "func": "apps.exports.tasks.export_run_interrupt_stale",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
