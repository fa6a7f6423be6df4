"""The Django admin at /admin/, open to Administrators only (with a confirmed second
factor when ``SECOND_FACTOR_REQUIRED`` is on).

It has no sign-in form of its own: its login URL sends people to syncadmin's sign-in, so
nobody signs in without the second factor by going through /admin/login/.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from apps.accounts.roles import Role, has_role, second_factor_missing, second_factor_redirect


class SyncAdminSite(admin.AdminSite):
    site_header = "syncadmin administration"
    site_title = "syncadmin"
    index_title = "Administration"

    def has_permission(self, request):
        return has_role(request.user, Role.ADMINISTRATOR) and not second_factor_missing(request)

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request, extra_context=None):
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(next_url, reverse("accounts:login"))
        if self.has_permission(request):
            return HttpResponseRedirect(next_url)
        if has_role(request.user, Role.ADMINISTRATOR):
            return second_factor_redirect(request, next_url=next_url)
        raise PermissionDenied("The administration needs the Administrator role.")


class SyncAdminAdminConfig(AdminConfig):
    default_site = "apps.accounts.admin_site.SyncAdminSite"
