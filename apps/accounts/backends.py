"""Authentication backend: Administrators hold every model permission.

The application checks roles (apps.accounts.roles); this backend lets the Django admin,
which checks model permissions, follow the same rule.
"""

from django.contrib.auth.backends import ModelBackend

from apps.accounts.roles import Role, has_role


class RoleBackend(ModelBackend):
    def has_perm(self, user_obj, perm, obj=None):
        if has_role(user_obj, Role.ADMINISTRATOR):
            return True
        return super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if has_role(user_obj, Role.ADMINISTRATOR):
            return True
        return super().has_module_perms(user_obj, app_label)
