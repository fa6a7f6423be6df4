"""Signing in, out, failing and being locked out, each written to the audit log.

Django's auth signals and django-axes' ``user_locked_out`` are connected in
``AccountsConfig.ready()``; each receiver hands over to a service in
``apps.accounts.services``. Django passes failed credentials with the password already
replaced by stars; only the user name is read from them.
"""

from axes.conf import settings as axes_settings
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_failure_limit, get_lockout_parameters

from apps.accounts import services
from apps.accounts.signin import client_ip_address

SIGN_IN_DISPATCH_UID = "apps.accounts.signals.in"


def _address(request) -> str | None:
    return client_ip_address(request) if request is not None else None


def on_user_logged_in(sender, request, user, **kwargs):
    services.sign_in_record(
        user=user,
        ip_address=_address(request),
        second_factor=getattr(user, "otp_device", None) is not None,
    )


def on_user_logged_out(sender, request, user, **kwargs):
    services.sign_out_record(user=user, ip_address=_address(request))


def on_user_login_failed(sender, credentials, request=None, **kwargs):
    services.sign_in_failure_record(
        username=(credentials or {}).get("username", ""),
        ip_address=_address(request),
        # Set by axes' own receiver, connected before this one (axes comes first in
        # INSTALLED_APPS): the limit is reached with this failure or was before it.
        locked_out=bool(getattr(request, "axes_locked_out", False)),
    )


def on_user_locked_out(sender, request, username, ip_address, **kwargs):
    """axes sends this on every failure at or past the limit; the audit log gets one entry
    when a user name or an address reaches the limit, not one per further attempt."""
    locked = _limits_just_reached(request)
    if locked:
        services.lock_out_record(username=username, ip_address=ip_address, locked=locked)


def _limits_just_reached(request) -> list[str]:
    """Which lock-out parameters ("username", "ip_address") have exactly reached the
    failure limit with this attempt (axes' database handler counts them)."""
    credentials = getattr(request, "axes_credentials", None)
    limit = get_failure_limit(request, credentials)
    handler = AxesProxyHandler.get_implementation()
    if not hasattr(handler, "get_user_attempts"):  # another AXES_HANDLER: every time
        return [str(parameter) for parameter in axes_settings.AXES_LOCKOUT_PARAMETERS]
    reached = []
    parameters = get_lockout_parameters(request, credentials)
    for parameter, attempts in zip(
        parameters, handler.get_user_attempts(request, credentials), strict=True
    ):
        failures = sum(attempts.values_list("failures_since_start", flat=True))
        if failures == limit:
            reached.append(parameter if isinstance(parameter, str) else "+".join(parameter))
    return reached
