from django.apps import AppConfig


class MappingsConfig(AppConfig):
    """Which Autotask company, service and contract each organization, offer and
    subscription goes to, per connection."""

    name = "apps.mappings"
    label = "mappings"
    verbose_name = "Mappings"
