"""Writes for accounts: the demo administrator, the audit entries of signing in and out,
and the second factor (enrol, verify, remove)."""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.roles import Role, role_group
from apps.accounts.signin import lockout_minutes
from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record


@dataclass(frozen=True)
class DemoAdminResult:
    username: str
    created: bool
    password_set: bool
    generated_password: str | None


@transaction.atomic
def demo_admin_ensure(*, username: str, password: str | None) -> DemoAdminResult:
    """Make sure an Administrator called ``username`` exists.

    A new user gets ``password``, or a generated one that is returned (and so shown) only
    this once. An existing user keeps its password unless ``password`` is given and
    differs.
    """
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    created = user is None
    generated = None
    password_set = False
    if created:
        if not password:
            generated = secrets.token_urlsafe(12)
        user = user_model(username=username, is_staff=True)
        user.set_password(password or generated)
        user.save()
        password_set = True
    elif password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
        password_set = True
    user.groups.add(role_group(Role.ADMINISTRATOR))
    return DemoAdminResult(
        username=username,
        created=created,
        password_set=password_set,
        generated_password=generated,
    )


# -- signing in and out: one audit entry each, never the password --

OPERATION_SIGN_IN = "Sign In"
OPERATION_SIGN_OUT = "Sign Out"
OPERATION_LOCK_OUT = "Lock Out Sign-In"
OPERATION_ENROL = "Enrol Second Factor"
OPERATION_VERIFY = "Verify Second Factor"
OPERATION_REMOVE = "Remove Second Factor"


def sign_in_record(*, user, ip_address: str | None, second_factor: bool) -> None:
    audit_record(
        operation=OPERATION_SIGN_IN,
        obj=user,
        user=user,
        details={"ip_address": ip_address, "second_factor": second_factor},
    )


def sign_out_record(*, user, ip_address: str | None) -> None:
    if user is None or not user.is_authenticated:
        return
    audit_record(
        operation=OPERATION_SIGN_OUT,
        obj=user,
        user=user,
        details={"ip_address": ip_address},
    )


def sign_in_failure_record(*, username: str, ip_address: str | None, locked_out: bool) -> None:
    """A refused sign-in: wrong password, unknown user name, or a locked-out name or
    address. The entry names the user name that was tried (as its user and object)."""
    username = str(username or "")
    user = get_user_model().objects.filter(username=username).first() if username else None
    audit_record(
        operation=OPERATION_SIGN_IN,
        obj=user,
        object_type=None if user else "auth.user",
        object_repr=None if user else username,
        status=AuditEntryStatusChoices.FAILED,
        actor_name=username or "anonymous",
        details={"username": username, "ip_address": ip_address, "locked_out": locked_out},
    )


def lock_out_record(*, username: str, ip_address: str | None, locked: list[str]) -> None:
    """A user name or an address was just locked out (``locked``: "username",
    "ip_address" or both)."""
    what = {"username": f"user name {username!r}", "ip_address": f"address {ip_address}"}
    audit_record(
        operation=OPERATION_LOCK_OUT,
        object_repr=" and ".join(what.get(name, name) for name in locked),
        status=AuditEntryStatusChoices.FAILED,
        actor_name=str(username or "anonymous"),
        details={
            "username": username,
            "ip_address": ip_address,
            "locked": locked,
            "minutes": lockout_minutes(),
        },
    )


# -- the second factor (TOTP): enrol, verify, remove --


@dataclass(frozen=True)
class CodeCheck:
    """The result of checking a code: the device that took it, or why not."""

    device: TOTPDevice | None
    throttled_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.device is not None


def second_factor_enrol_start(*, user) -> TOTPDevice:
    """A new, unconfirmed TOTP device with a fresh key; any earlier unconfirmed one goes.
    It counts only after ``second_factor_enrol_confirm``."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValueError("This user already has a second factor; remove it first.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def second_factor_enrol_confirm(*, device: TOTPDevice, code: str, ip_address: str | None):
    """Confirm an unconfirmed device with a code from the app; audited either way."""
    check = _check_code(device, code)
    if check.ok:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    audit_record(
        operation=OPERATION_ENROL,
        obj=device.user,
        user=device.user,
        status=AuditEntryStatusChoices.SUCCEEDED if check.ok else AuditEntryStatusChoices.FAILED,
        details=_code_details(check, ip_address, step="enrolment"),
    )
    return check


def second_factor_verify(*, user, code: str, ip_address: str | None, step: str) -> CodeCheck:
    """Check a code against the user's confirmed device (``step``: "sign-in" or
    "session"); audited either way. django-otp throttles: after each wrong code the next
    one is refused for 1, 2, 4, 8... seconds."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    check = _check_code(device, code) if device else CodeCheck(device=None)
    audit_record(
        operation=OPERATION_VERIFY,
        obj=user,
        user=user,
        status=AuditEntryStatusChoices.SUCCEEDED if check.ok else AuditEntryStatusChoices.FAILED,
        details=_code_details(check, ip_address, step=step),
    )
    return check


def second_factor_remove(*, user, actor=None) -> int:
    """Remove every TOTP device of ``user`` (theirs, or an Administrator's doing, e.g. for
    a lost phone); audited when there was one. Returns how many went."""
    with transaction.atomic():
        devices = list(TOTPDevice.objects.select_for_update().filter(user=user))
        if not devices:
            return 0
        TOTPDevice.objects.filter(pk__in=[device.pk for device in devices]).delete()
        audit_record(
            operation=OPERATION_REMOVE,
            obj=user,
            user=actor,
            before={"devices": [_device_text(device) for device in devices]},
            after={"devices": []},
        )
    return len(devices)


def _check_code(device: TOTPDevice, code: str) -> CodeCheck:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, data = device.verify_is_allowed()
        if not allowed:
            return CodeCheck(device=None, throttled_until=(data or {}).get("locked_until"))
        if device.verify_token(code):
            return CodeCheck(device=device)
    return CodeCheck(device=None)


def _code_details(check: CodeCheck, ip_address: str | None, *, step: str) -> dict:
    details = {"ip_address": ip_address, "step": step}
    if check.throttled_until:
        details["reason"] = "too many wrong codes, refused until " + (
            check.throttled_until.isoformat(timespec="seconds")
        )
    elif not check.ok:
        details["reason"] = "wrong code"
    return details


def _device_text(device: TOTPDevice) -> str:
    state = "confirmed" if device.confirmed else "not confirmed"
    return f"{device.name} (TOTP, {state})"
