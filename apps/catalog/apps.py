from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Microsoft billing: organizations, offers, subscriptions, reports, roll-up, prices."""

    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Microsoft billing"

    def ready(self):
        from django.db.models.signals import post_migrate

        from apps.catalog.schedules import apply_schedules

        post_migrate.connect(apply_schedules, sender=self)
