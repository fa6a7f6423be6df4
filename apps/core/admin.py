"""The Django admin may show the worker's queue, never let anyone name code to run.

django-q2 registers its models with full rights: a schedule or a resubmitted task names a
Python callable (``os.system`` included) that a worker then runs. Administrators of
syncadmin are MSP staff, not operators of its server, so here those models are read-only
and without actions; the schedules the product needs are created by the product itself
(``apps/*/schedules.py``). ``tests/test_admin_registry.py`` holds every registered model
to this rule.
"""

from django.contrib import admin
from django_q import admin as q_admin
from django_q.models import Failure, OrmQ, Schedule, Success


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows rows; adds, changes, deletes and actions are refused."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TaskResultAdmin(ReadOnlyAdmin, q_admin.TaskAdmin):
    """Finished worker tasks, to read."""


class TaskFailureAdmin(ReadOnlyAdmin, q_admin.FailAdmin):
    """Failed worker tasks, to read (retrying is done by each run's own Retry button)."""


class ScheduleReadOnlyAdmin(ReadOnlyAdmin, q_admin.ScheduleAdmin):
    """The product's schedules, to read: when each one runs next and how it went."""


for model in (Schedule, Success, Failure, OrmQ):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.register(Success, TaskResultAdmin)
admin.site.register(Failure, TaskFailureAdmin)
admin.site.register(Schedule, ScheduleReadOnlyAdmin)
# The queue itself (OrmQ) is not shown: deleting a queued task would strand its run.
