from django.apps import AppConfig


class MappingsConfig(AppConfig):
    """Which Autotask company, service and contract each organization, offer and
    subscription goes to, per connection."""

    name = "apps.mappings"
    label = "mappings"
    verbose_name = "Mappings"

    def ready(self):
        from apps.autotask.signals import references_refreshed
        from apps.catalog.signals import billing_imported
        from apps.mappings import receivers

        # Suggestions are recomputed by a worker after each import and each refresh.
        billing_imported.connect(
            receivers.billing_imported_received, dispatch_uid="mappings.billing_imported"
        )
        references_refreshed.connect(
            receivers.references_refreshed_received, dispatch_uid="mappings.references_refreshed"
        )
