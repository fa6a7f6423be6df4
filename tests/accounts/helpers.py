"""Signing in through the real form, and TOTP codes computed from a device's key."""

import time

from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import TEST_PASSWORD


def post_password(client, username: str, password: str = TEST_PASSWORD, ip="127.0.0.1", **data):
    return client.post(
        "/login/", {"username": username, "password": password, **data}, REMOTE_ADDR=ip
    )


def post_code(client, code: str, ip="127.0.0.1", **data):
    return client.post("/login/code/", {"code": code, **data}, REMOTE_ADDR=ip)


def signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def next_code(device: TOTPDevice) -> str:
    """The code an authenticator app shows now, or (if that one was used already) the next
    one, which the device still accepts (it allows one step of clock drift)."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step) + device.drift
    step = max(now_step, device.last_t + 1)
    return f"{hotp(device.bin_key, step, digits=device.digits):0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    right = {next_code(device)}
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step) + device.drift
    for offset in range(-1, 3):
        right.add(f"{hotp(device.bin_key, now_step + offset, digits=device.digits):06d}")
    return next(code for code in ("000000", "123456", "999999", "314159") if code not in right)


def enrol(client, user) -> TOTPDevice:
    """Set up an authenticator app on the two-factor page, as the user would."""
    assert client.post("/account/two-factor/", {"action": "start"}).status_code == 302
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/account/two-factor/", {"action": "confirm", "code": next_code(device)})
    assert response.status_code == 302, response.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    return device
