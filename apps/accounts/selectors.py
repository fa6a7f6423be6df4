"""Reads for accounts: a user's second-factor device, and what the enrolment page shows."""

from base64 import b32encode

import segno
from django.utils.safestring import SafeString, mark_safe
from django_otp.plugins.otp_totp.models import TOTPDevice


def second_factor_device(user, *, confirmed: bool = True) -> TOTPDevice | None:
    """The user's confirmed TOTP device (or, with ``confirmed=False``, the one being
    enrolled), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def second_factor_secret(device: TOTPDevice) -> str:
    """The key as an authenticator app asks for it: base32, in groups of four."""
    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[start : start + 4] for start in range(0, len(text), 4))


def second_factor_qr_svg(device: TOTPDevice) -> SafeString:
    """The device's otpauth:// URL as a QR code, inline SVG markup (no image URL, no style
    attribute, so a strict Content-Security-Policy allows it)."""
    code = segno.make(device.config_url, error="m")
    svg = code.svg_inline(scale=5, dark="#000", light="#fff")
    return mark_safe(svg)  # noqa: S308 - segno's markup: path data, no text from the URL
