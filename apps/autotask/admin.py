"""The Django admin shows connections and refresh runs read-only.

Connections change only through the product's own screens and `manage.py connection`,
which go through `apps.autotask.services` (audited, the zone cleared when the address
changes, the secret asked again when it would be sent somewhere new).
"""

from django.contrib import admin

from apps.autotask.models import Connection, RefreshRun
from apps.core.admin import ReadOnlyAdmin


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_sandbox", "username", "zone_url", "last_test_ok")
    search_fields = ("name", "username")
    exclude = ("secret_encrypted",)


@admin.register(RefreshRun)
class RefreshRunAdmin(ReadOnlyAdmin):
    list_display = ("connection", "kind", "status", "created_at", "requests")
    list_filter = ("status", "kind")
