from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Microsoft billing: organizations, offers, subscriptions, reports, roll-up, prices."""

    name = "apps.catalog"
    label = "catalog"
    verbose_name = "Microsoft billing"
