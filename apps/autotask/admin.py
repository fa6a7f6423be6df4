"""The Django admin for connections: everything but the secret, which has its own screen."""

from django.contrib import admin
from django.db import models

from apps.autotask.models import Connection, RefreshRun


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("name", "is_sandbox", "username", "zone_url", "last_test_ok")
    search_fields = ("name", "username")
    exclude = ("secret_encrypted",)
    readonly_fields = ("zone_discovered_at", "requests_total", "last_test_at", "last_test_ok")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = ("connection", "kind", "status", "created_at", "requests")
    list_filter = ("status", "kind")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
