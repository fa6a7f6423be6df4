from django.apps import AppConfig


class AutotaskConfig(AppConfig):
    """Connections to Autotask, the HTTP client, and the local copy of reference data."""

    name = "apps.autotask"
    label = "autotask"
    verbose_name = "Autotask"

    def ready(self):
        from django.db.models.signals import post_migrate

        from apps.autotask.schedules import apply_schedules

        post_migrate.connect(apply_schedules, sender=self)
