"""Signing in: whose address a request comes from, the lock-out page, and the sign-in
that waits for its second factor.

django-axes counts failed sign-ins per user name and per address (settings
``AXES_LOCKOUT_PARAMETERS``) and calls ``client_ip_address`` and ``lockout_response``
from here. A user with a confirmed TOTP device is not signed in by the password alone:
the password step stores a *pending* sign-in in the session, and the code step turns it
into a real one.
"""

import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

PENDING_SESSION_KEY = "syncadmin_signin_pending"
# How long the code step waits after the right password.
PENDING_SECONDS = 5 * 60


def client_ip_address(request: HttpRequest) -> str | None:
    """The address a request comes from: ``REMOTE_ADDR``, or with
    ``TRUST_X_FORWARDED_FOR`` the last address in ``X-Forwarded-For`` (the one the proxy
    in front of syncadmin added; any before it were sent by the client and can be forged).
    Anything that is not an IP address counts as no address from that header.
    """
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if _is_ip_address(last):
            return last
    remote = request.META.get("REMOTE_ADDR", "").strip()
    return remote if _is_ip_address(remote) else None


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """The sign-in page, answered with 429, saying the user name or address is locked out,
    for how long, and how an Administrator unlocks it (``AXES_LOCKOUT_CALLABLE``)."""
    username = ""
    if credentials:
        username = str(credentials.get("username") or "")
    elif request.method == "POST":
        username = request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "lockout": {
                "minutes": lockout_minutes(),
                "username": username,
                "ip_address": client_ip_address(request) or "",
            },
        },
        status=429,
    )


@dataclass(frozen=True)
class PendingSignIn:
    user: object
    backend: str


def signin_pending_start(request: HttpRequest, *, user) -> None:
    """Remember that ``user`` gave the right password; the code step finishes the sign-in."""
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "started": time.time(),
    }


def signin_pending(request: HttpRequest) -> PendingSignIn | None:
    """The pending sign-in of this session, or None if there is none or it is too old."""
    data = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - float(data.get("started", 0)) > PENDING_SECONDS:
        signin_pending_clear(request)
        return None
    backend = data.get("backend")
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = get_user_model().objects.filter(pk=data.get("user_id"), is_active=True).first()
    if user is None:
        return None
    return PendingSignIn(user=user, backend=backend)


def signin_pending_clear(request: HttpRequest) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)
