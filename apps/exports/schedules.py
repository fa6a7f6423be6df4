"""django-q2 schedules of this app, applied idempotently after every migrate."""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

STALE_EXPORTS_SCHEDULE = "exports: notice exports whose worker died"
DAILY_EXPORTS_SCHEDULE = "exports: export the reports that are due"


def daily_time() -> dt.time:
    """``EXPORT_DAILY_AT`` (HH:MM, the site's time zone)."""
    hours, _, minutes = settings.EXPORT_DAILY_AT.partition(":")
    return dt.time(int(hours), int(minutes or 0))


def next_daily_run(now: dt.datetime | None = None) -> dt.datetime:
    """The next time of day ``EXPORT_DAILY_AT``, today or tomorrow."""
    now = timezone.localtime(now)
    at = timezone.make_aware(dt.datetime.combine(now.date(), daily_time()))
    return at if at > now else at + dt.timedelta(days=1)


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
    daily = Schedule.objects.filter(name=DAILY_EXPORTS_SCHEDULE).first()
    # Kept as it is unless the time of day changed: django-q moves next_run on by a day.
    if daily is not None and timezone.localtime(daily.next_run).time() == daily_time():
        return
    Schedule.objects.update_or_create(
        name=DAILY_EXPORTS_SCHEDULE,
        defaults={
            "func": "apps.exports.tasks.export_due_reports",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
            "next_run": next_daily_run(),
        },
    )
