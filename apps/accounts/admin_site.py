"""The Django admin at /admin/, open to Administrators only."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from apps.accounts.roles import Role, has_role


class SyncAdminSite(admin.AdminSite):
    site_header = "syncadmin administration"
    site_title = "syncadmin"
    index_title = "Administration"

    def has_permission(self, request):
        return has_role(request.user, Role.ADMINISTRATOR)


class SyncAdminAdminConfig(AdminConfig):
    default_site = "apps.accounts.admin_site.SyncAdminSite"
