"""The Django admin shows connections and refresh runs read-only.

Connections change only through the product's own screens and `manage.py connection`,
which go through `apps.autotask.services` (audited, the zone cleared when the address
changes, the secret asked again when it would be sent somewhere new).
"""

from django.contrib import admin

from apps.autotask.models import Connection, DefaultMarkup, RefreshRun
from apps.core.admin import ReadOnlyAdmin


class DefaultMarkupInline(admin.TabularInline):
    """The connection's default markups, to read."""

    model = DefaultMarkup
    fields = ("record_type", "percent")
    extra = 0
    has_add_permission = ReadOnlyAdmin.has_add_permission
    has_change_permission = ReadOnlyAdmin.has_change_permission
    has_delete_permission = ReadOnlyAdmin.has_delete_permission


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_sandbox", "username", "zone_url", "last_test_ok")
    search_fields = ("name", "username")
    exclude = ("secret_encrypted",)
    inlines = [DefaultMarkupInline]


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdmin):
    list_display = ("connection", "kind", "status", "created_at", "requests")
    list_filter = ("status", "kind")
