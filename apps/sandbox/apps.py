from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The built-in Autotask REST API sandbox (no models: it keeps its own store)."""

    name = "apps.sandbox"
    label = "sandbox"
    verbose_name = "Autotask sandbox"
