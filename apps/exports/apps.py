from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Billing reports exported to Autotask: the plan, its application, and its runs."""

    name = "apps.exports"
    label = "exports"
    verbose_name = "Exports"
