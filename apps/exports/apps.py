from django.apps import AppConfig


class ExportsConfig(AppConfig):
    """Billing reports exported to Autotask: the plan, its application, and its runs."""

    name = "apps.exports"
    label = "exports"
    verbose_name = "Exports"

    def ready(self):
        from django.db.models.signals import post_migrate

        from apps.catalog.signals import billing_imported
        from apps.exports import receivers
        from apps.exports.schedules import apply_schedules

        post_migrate.connect(apply_schedules, sender=self)
        billing_imported.connect(
            receivers.billing_imported_received, dispatch_uid="exports.billing_imported"
        )
