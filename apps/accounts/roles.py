"""The three roles, kept as Django groups, and the checks every view uses.

Roles are ordered: an Administrator can do everything an Operator can, and an Operator
everything a Viewer can. A signed-in user in none of the groups has no role and sees
nothing but a page saying so.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db import models


class Role(models.TextChoices):
    VIEWER = "Viewer", "Viewer"
    OPERATOR = "Operator", "Operator"
    ADMINISTRATOR = "Administrator", "Administrator"


RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMINISTRATOR: 3}
ROLE_DESCRIPTIONS = {
    Role.VIEWER: "Reads everything, changes nothing.",
    Role.OPERATOR: "Maps organizations and offers, imports billing files, runs exports.",
    Role.ADMINISTRATOR: "Everything an Operator does, plus connections and users.",
}
_CACHE_ATTR = "_syncadmin_role"


def user_role(user) -> Role | None:
    """The highest role the user holds, or None. Superusers are Administrators."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if hasattr(user, _CACHE_ATTR):
        return getattr(user, _CACHE_ATTR)
    if user.is_superuser:
        role = Role.ADMINISTRATOR
    else:
        names = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
        held = [Role(name) for name in names]
        role = max(held, key=RANK.__getitem__) if held else None
    setattr(user, _CACHE_ATTR, role)
    return role


def role_group(role: Role):
    """The group that stands for ``role`` (re-created if someone deleted it)."""
    from django.contrib.auth.models import Group

    return Group.objects.get_or_create(name=role.value)[0]


def has_role(user, role: Role) -> bool:
    held = user_role(user)
    return held is not None and RANK[held] >= RANK[role]


def role_required(role: Role):
    """Decorator for function views: 403 unless the user holds ``role`` or higher."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role.label} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin:
    """Class-based views: set ``required_role``; 403 unless the user holds it or higher."""

    required_role: Role = Role.VIEWER

    def dispatch(self, request, *args, **kwargs):
        if not has_role(request.user, self.required_role):
            raise PermissionDenied(f"This page needs the {self.required_role.label} role.")
        return super().dispatch(request, *args, **kwargs)
