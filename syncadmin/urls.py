"""Top-level URLs. Every pattern here must have a decision in tests/test_access.py."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.accounts.urls")),
    path("audit/", include("apps.audit.urls")),
    path("connections/", include("apps.autotask.urls")),
    path("imports/", include("apps.catalog.importing.urls")),
    path("exports/", include("apps.exports.urls")),
    path("", include("apps.mappings.urls")),
    path("", include("apps.catalog.urls")),
    path("prices/", include("apps.catalog.prices.urls")),
    path("admin/", admin.site.urls),
]
