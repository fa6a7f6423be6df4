"""The three roles, kept as Django groups, and the checks every view uses.

Roles are ordered: an Administrator can do everything an Operator can, and an Operator
everything a Viewer can. A signed-in user in none of the groups has no role and sees
nothing but a page saying so.

With ``SECOND_FACTOR_REQUIRED`` on, Administrator-only pages (every one of them changes
connections or users) also need a session confirmed with a second factor: an
Administrator without one is sent to the two-factor page first.
"""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.urls import reverse


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


def second_factor_missing(request) -> bool:
    """True when ``SECOND_FACTOR_REQUIRED`` is on and this session's user has not confirmed
    a second factor (django-otp's ``OTPMiddleware`` sets ``user.is_verified``)."""
    if not getattr(settings, "SECOND_FACTOR_REQUIRED", False):
        return False
    is_verified = getattr(request.user, "is_verified", None)
    return not (callable(is_verified) and is_verified())


def second_factor_redirect(request, next_url: str | None = None) -> HttpResponseRedirect:
    """To the two-factor page (enrol, or confirm this session with a code), with a word on
    why; ``next_url``, or the page asked for with GET, is opened again afterwards."""
    from apps.accounts.selectors import second_factor_device

    if second_factor_device(request.user) is None:
        text = (
            "Administrators must set up two-factor authentication before they change "
            "connections or users."
        )
    else:
        text = (
            "Enter a code from your authenticator app to confirm this session before "
            "changing connections or users."
        )
    messages.warning(request, text)
    url = reverse("accounts:two_factor")
    if next_url is None and request.method == "GET":
        next_url = request.get_full_path()
    if next_url:
        url += "?" + urlencode({"next": next_url})
    return HttpResponseRedirect(url)


def _refusal(request, role: Role):
    """None if the user may open a page for ``role``, else the answer (raises 403)."""
    if not has_role(request.user, role):
        raise PermissionDenied(f"This page needs the {role.label} role.")
    if role == Role.ADMINISTRATOR and second_factor_missing(request):
        return second_factor_redirect(request)
    return None


def role_required(role: Role):
    """Decorator for function views: 403 unless the user holds ``role`` or higher (and,
    for Administrator pages, the second factor when it is required)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            refusal = _refusal(request, role)
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin:
    """Class-based views: set ``required_role``; 403 unless the user holds it or higher
    (and, for Administrator pages, the second factor when it is required)."""

    required_role: Role = Role.VIEWER

    def dispatch(self, request, *args, **kwargs):
        refusal = _refusal(request, self.required_role)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)
