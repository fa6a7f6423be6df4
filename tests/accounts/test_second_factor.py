"""The second factor (TOTP): enrolling, signing in with a code, wrong codes, removing a
lost device, and Administrators kept from connections and users until they have one."""

import datetime as dt
import re
from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.selectors import second_factor_secret
from apps.audit.models import AuditEntry
from apps.autotask.models import Connection
from tests.accounts.helpers import (
    enrol,
    next_code,
    post_code,
    post_password,
    signed_in_user_id,
    wrong_code,
)
from tests.conftest import TEST_PASSWORD, sign_in

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)


def signed_in_with_form(client, user) -> Client:
    assert post_password(client, user.username).status_code == 302
    assert signed_in_user_id(client) == str(user.pk)
    return client


def test_enrolment_shows_an_inline_svg_qr_code_and_the_key_and_counts_once_confirmed(
    client, viewer
):
    signed_in_with_form(client, viewer)
    page = client.get("/account/two-factor/").content.decode()
    assert 'data-testid="two-factor-off"' in page
    assert "It is optional for your role." in page

    assert client.post("/account/two-factor/", {"action": "start"}).status_code == 302
    device = TOTPDevice.objects.get(user=viewer)
    assert not device.confirmed
    page = client.get("/account/two-factor/").content.decode()
    qr = page.split('data-testid="qr-code">', 1)[1].split("</div>", 1)[0]
    assert qr.startswith("<svg") and "<path" in qr
    # Works under a strict Content-Security-Policy: no data: image, no inline style or script.
    assert "<img" not in page and "data:" not in page
    assert "style=" not in page and "<style" not in page
    assert not INLINE_SCRIPT.search(page)
    assert second_factor_secret(device) in page
    assert len(second_factor_secret(device).replace(" ", "")) == 32  # 20 bytes in base32

    # An unconfirmed device does not count: signing in still needs only the password.
    assert post_password(Client(), viewer.username).headers["Location"] == "/"

    response = client.post(
        "/account/two-factor/", {"action": "confirm", "code": wrong_code(device)}
    )
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()  # the wrong code made django-otp wait a second

    response = client.post("/account/two-factor/", {"action": "confirm", "code": next_code(device)})
    assert response.headers["Location"] == "/account/two-factor/"
    device.refresh_from_db()
    assert device.confirmed
    page = client.get("/account/two-factor/").content.decode()
    assert 'data-testid="two-factor-on"' in page
    assert second_factor_secret(device) not in page  # the key is shown only while enrolling

    enrolments = AuditEntry.objects.filter(operation="Enrol Second Factor").order_by("pk")
    assert [(entry.status, entry.details.get("reason")) for entry in enrolments] == [
        ("failed", "wrong code"),
        ("succeeded", None),
    ]
    assert {entry.actor_name for entry in enrolments} == {"vera-viewer"}
    for entry in enrolments:
        assert device.key not in str(entry.details) + str(entry.after)


def test_sign_in_with_a_device_needs_the_code_and_wrong_codes_are_throttled_and_audited(
    client, operator
):
    device = enrol(signed_in_with_form(client, operator), operator)
    client.post("/logout/")

    response = post_password(client, operator.username, ip="192.0.2.30")
    assert response.headers["Location"] == "/login/code/"
    assert signed_in_user_id(client) is None  # the password alone signs nobody in
    assert client.get("/").headers["Location"] == "/login/?next=/"
    page = client.get("/login/code/").content.decode()
    assert "Signing in as <strong>otto-operator</strong>" in page

    response = post_code(client, wrong_code(device), ip="192.0.2.30")
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert signed_in_user_id(client) is None
    # django-otp's throttling: right after a wrong code even the right one is refused.
    response = post_code(client, next_code(device), ip="192.0.2.30")
    assert "Too many wrong codes. Wait" in response.content.decode()
    assert signed_in_user_id(client) is None
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - dt.timedelta(seconds=10)
    )

    response = post_code(client, next_code(device), ip="192.0.2.30")
    assert response.headers["Location"] == "/"
    assert signed_in_user_id(client) == str(operator.pk)
    assert client.get("/").status_code == 200

    checks = AuditEntry.objects.filter(operation="Verify Second Factor").order_by("pk")
    assert [(entry.status, entry.details.get("reason", "")[:20]) for entry in checks] == [
        ("failed", "wrong code"),
        ("failed", "too many wrong codes"),
        ("succeeded", ""),
    ]
    assert {entry.actor_name for entry in checks} == {"otto-operator"}
    assert {entry.details["ip_address"] for entry in checks} == {"192.0.2.30"}
    assert {entry.details["step"] for entry in checks} == {"sign-in"}
    signed_in = AuditEntry.objects.filter(operation="Sign In").latest("pk")
    assert signed_in.details == {"ip_address": "192.0.2.30", "second_factor": True}


def test_the_code_step_keeps_next_and_needs_the_password_first(client, operator):
    assert client.get("/login/code/").headers["Location"] == "/login/"
    device = enrol(sign_in(client, operator), operator)
    client.post("/logout/")

    response = post_password(client, operator.username, next="/prices/")
    assert response.headers["Location"] == "/login/code/?next=%2Fprices%2F"
    response = post_code(client, next_code(device), next="/prices/")
    assert response.headers["Location"] == "/prices/"


def test_a_pending_sign_in_expires(client, operator):
    device = enrol(sign_in(client, operator), operator)
    client.post("/logout/")
    post_password(client, operator.username)
    session = client.session
    session["syncadmin_signin_pending"]["started"] -= 6 * 60
    session.save()

    response = post_code(client, next_code(device))
    assert response.headers["Location"] == "/login/"
    assert signed_in_user_id(client) is None


def test_a_user_removes_their_device_after_confirming(client, viewer):
    device = enrol(signed_in_with_form(client, viewer), viewer)
    assert client.get("/account/two-factor/remove/").status_code == 200

    response = client.post("/account/two-factor/remove/")
    assert response.headers["Location"] == "/account/two-factor/"
    assert not TOTPDevice.objects.filter(user=viewer).exists()
    removed = AuditEntry.objects.get(operation="Remove Second Factor")
    assert (removed.actor_name, removed.object_repr) == ("vera-viewer", "vera-viewer")
    assert removed.before == {"devices": ["Authenticator app (TOTP, confirmed)"]}
    assert device.key not in str(removed.before)

    client.post("/logout/")
    assert post_password(client, viewer.username).headers["Location"] == "/"


def test_removing_needs_a_confirmed_session(client, viewer):
    enrol(sign_in(client, viewer), viewer)
    other = sign_in(Client(), viewer)  # password only (signed in before enrolling, say)
    response = other.post("/account/two-factor/remove/")
    assert response.headers["Location"] == "/account/two-factor/"
    assert TOTPDevice.objects.filter(user=viewer, confirmed=True).exists()


def test_an_administrator_removes_a_lost_device_in_the_django_admin(client, administrator, viewer):
    device = enrol(sign_in(Client(), viewer), viewer)
    sign_in(client, administrator)
    listing = client.get("/admin/otp_totp/totpdevice/")
    assert listing.status_code == 200
    assert device.key not in listing.content.decode()
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").status_code == 200
    assert (
        device.key
        not in client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    )

    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=viewer).exists()
    removed = AuditEntry.objects.get(operation="Remove Second Factor")
    assert (removed.actor_name, removed.object_repr) == ("ada-admin", "vera-viewer")


def test_remove_second_factor_command(viewer):
    enrol(sign_in(Client(), viewer), viewer)
    out = StringIO()
    call_command("remove_second_factor", "vera-viewer", stdout=out)
    assert "removed for vera-viewer" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=viewer).exists()
    removed = AuditEntry.objects.get(operation="Remove Second Factor")
    assert removed.context == "cli" and removed.actor_name.startswith("cli:")


# -- SECOND_FACTOR_REQUIRED: Administrators change connections and users only with it --

NEW_CONNECTION = {"name": "Rehearsal", "kind": "sandbox", "sandbox_url": "http://127.0.0.1:9"}


@pytest.fixture
def required(settings):
    settings.SECOND_FACTOR_REQUIRED = True


def test_required_an_administrator_without_a_device_is_sent_to_enrol(
    client, administrator, required
):
    signed_in_with_form(client, administrator)
    response = client.get("/connections/new/")
    assert response.headers["Location"] == "/account/two-factor/?next=" + quote(
        "/connections/new/", safe=""
    )
    page = client.get(response.headers["Location"]).content.decode()
    assert "Administrators must set up two-factor authentication" in page
    response = client.post("/connections/new/", NEW_CONNECTION)
    assert response.headers["Location"] == "/account/two-factor/"
    assert not Connection.objects.exists()
    # The Django admin, where users are managed, too.
    response = client.get("/admin/auth/user/", follow=True)
    assert response.redirect_chain[-1][0] == "/account/two-factor/?next=" + quote(
        "/admin/auth/user/", safe=""
    )
    assert client.post("/admin/auth/user/add/", {"username": "eve"}).status_code == 302
    assert not administrator._meta.model.objects.filter(username="eve").exists()
    # Reading connections needs no second factor.
    assert client.get("/connections/").status_code == 200
    assert client.get("/audit/").status_code == 200


def test_required_after_enrolling_the_administrator_goes_on(client, administrator, required):
    signed_in_with_form(client, administrator)
    assert client.post("/account/two-factor/", {"action": "start"}).status_code == 302
    device = TOTPDevice.objects.get(user=administrator)
    response = client.post(
        "/account/two-factor/",
        {"action": "confirm", "code": next_code(device), "next": "/connections/new/"},
    )
    assert response.headers["Location"] == "/connections/new/"
    assert client.get("/connections/new/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200
    response = client.post("/connections/new/", NEW_CONNECTION)
    assert response.status_code in (200, 302)
    assert "two-factor" not in response.headers.get("Location", "")


def test_required_an_enrolled_administrator_signs_in_with_the_code_and_goes_on(
    client, administrator, required
):
    device = enrol(sign_in(Client(), administrator), administrator)
    post_password(client, administrator.username)
    post_code(client, next_code(device))
    assert client.get("/connections/new/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_required_a_session_without_the_code_confirms_it_first(client, administrator, required):
    device = enrol(sign_in(Client(), administrator), administrator)
    sign_in(client, administrator)  # this session never gave a code
    response = client.get("/connections/new/")
    assert response.headers["Location"].startswith("/account/two-factor/?next=")
    page = client.get(response.headers["Location"]).content.decode()
    assert "Enter a code from your authenticator app to confirm this session" in page
    assert 'data-testid="two-factor-confirm-session"' in page

    response = client.post(
        "/account/two-factor/",
        {"action": "verify", "code": next_code(device), "next": "/connections/new/"},
    )
    assert response.headers["Location"] == "/connections/new/"
    assert client.get("/connections/new/").status_code == 200
    verified = AuditEntry.objects.filter(operation="Verify Second Factor").latest("pk")
    assert (verified.status, verified.details["step"]) == ("succeeded", "session")


def test_required_does_not_touch_operators_and_viewers(client, operator, required):
    signed_in_with_form(client, operator)
    assert client.get("/imports/new/").status_code == 200
    assert client.get("/connections/").status_code == 200
    assert client.get("/connections/new/").status_code == 403


def test_not_required_administrators_work_without_a_device(client, administrator, settings):
    settings.SECOND_FACTOR_REQUIRED = False
    signed_in_with_form(client, administrator)
    assert client.get("/connections/new/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/").status_code == 200
    page = client.get("/account/two-factor/").content.decode()
    assert "It is optional for your role." in page


def test_the_user_menu_links_to_the_two_factor_page(client, viewer):
    page = sign_in(client, viewer).get("/").content.decode()
    assert 'href="/account/two-factor/" data-testid="account-link"' in page


def test_the_password_is_in_no_audit_entry(client, administrator):
    device = enrol(signed_in_with_form(client, administrator), administrator)
    client.post("/logout/")
    post_password(client, administrator.username)
    post_code(client, next_code(device))
    assert AuditEntry.objects.exists()
    for entry in AuditEntry.objects.all():
        text = f"{entry.before} {entry.after} {entry.details} {entry.object_repr}"
        assert TEST_PASSWORD not in text
        assert device.key not in text
