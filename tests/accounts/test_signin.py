"""Signing in: throttling and lock-out per user name and per address, unlocking, the
client address behind a proxy, and every sign-in, sign-out and failure in the audit log."""

import datetime as dt
import json
import subprocess

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory

from apps.accounts.signin import client_ip_address
from apps.audit.models import AuditEntry
from tests.accounts.helpers import post_password, signed_in_user_id
from tests.conftest import MANAGE, ROOT, TEST_PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "Wrong-Password-Never-Stored-7731"


def assert_locked_out(response, username: str):
    assert response.status_code == 429
    text = response.content.decode()
    assert "Sign-in is locked" in text
    assert "Try again in 15 minutes" in text
    assert f"manage.py axes_reset_username {username}" in text


def entry_text(entry: AuditEntry) -> str:
    return json.dumps(model_to_dict(entry), default=str)


def test_two_hundred_wrong_passwords_then_the_right_one_is_refused(client, administrator):
    answers = [post_password(client, "ada-admin", f"{WRONG}-{n}") for n in range(200)]
    assert [answer.status_code for answer in answers[:4]] == [200] * 4
    assert "Please enter a correct username and password" in answers[0].content.decode()
    # The fifth failure locks the user name (and this address) out.
    assert {answer.status_code for answer in answers[4:]} == {429}

    response = post_password(client, "ada-admin", TEST_PASSWORD)
    assert_locked_out(response, "ada-admin")
    assert signed_in_user_id(client) is None
    assert client.get("/").status_code == 302

    # 201 refused sign-ins, each in the audit log; one lock-out, not one per attempt.
    failures = AuditEntry.objects.filter(operation="Sign In", status="failed")
    assert failures.count() == 201
    lockouts = AuditEntry.objects.filter(operation="Lock Out Sign-In")
    assert lockouts.count() == 1
    assert lockouts.get().details["locked"] == ["username", "ip_address"]
    assert not AuditEntry.objects.filter(operation="Sign In", status="succeeded").exists()


def test_lock_out_per_address_across_user_names(client, administrator, operator):
    for n in range(5):
        post_password(client, f"guess-{n}", WRONG, ip="198.51.100.7")
    # The address is locked: even a right password for another user is refused from it.
    assert_locked_out(post_password(client, "otto-operator", ip="198.51.100.7"), "otto-operator")
    assert signed_in_user_id(client) is None
    lockout = AuditEntry.objects.get(operation="Lock Out Sign-In")
    assert lockout.details["locked"] == ["ip_address"]
    assert lockout.details["ip_address"] == "198.51.100.7"
    assert "address 198.51.100.7" in lockout.object_repr
    # From another address the same user signs in.
    response = post_password(client, "otto-operator", ip="198.51.100.8")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(operator.pk)


def test_lock_out_per_user_across_addresses(client, administrator, operator):
    for n in range(5):
        post_password(client, "ada-admin", WRONG, ip=f"203.0.113.{n + 1}")
    # The user name is locked from every address, even a new one with the right password.
    assert_locked_out(post_password(client, "ada-admin", ip="203.0.113.99"), "ada-admin")
    assert signed_in_user_id(client) is None
    lockout = AuditEntry.objects.get(operation="Lock Out Sign-In")
    assert lockout.details["locked"] == ["username"]
    assert lockout.object_repr == "user name 'ada-admin'"
    # That address is not locked: someone else signs in from it.
    assert post_password(client, "otto-operator", ip="203.0.113.99").status_code == 302
    assert signed_in_user_id(client) == str(operator.pk)


def test_an_administrator_unlocks_a_user_name_with_the_management_command(client, administrator):
    for n in range(5):
        post_password(client, "ada-admin", WRONG, ip=f"203.0.113.{n + 1}")
    assert post_password(client, "ada-admin", ip="203.0.113.50").status_code == 429

    call_command("axes_reset_username", "ada-admin", stdout=None)

    assert post_password(client, "ada-admin", ip="203.0.113.50").status_code == 302
    assert signed_in_user_id(client) == str(administrator.pk)


def test_an_administrator_unlocks_an_address_with_the_management_command(client, operator):
    for n in range(5):
        post_password(client, f"guess-{n}", WRONG, ip="198.51.100.7")
    assert post_password(client, "otto-operator", ip="198.51.100.7").status_code == 429

    call_command("axes_reset_ip", "198.51.100.7", stdout=None)

    assert post_password(client, "otto-operator", ip="198.51.100.7").status_code == 302


def test_the_lock_out_ends_after_the_cool_off(client, administrator):
    for _ in range(5):
        post_password(client, "ada-admin", WRONG)
    assert post_password(client, "ada-admin").status_code == 429
    # 16 minutes later (the failures are older than the 15-minute cool-off):
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert post_password(client, "ada-admin").status_code == 302


def test_failed_sign_ins_are_audited_with_user_name_and_address_never_the_password(
    client, administrator
):
    post_password(client, "ada-admin", WRONG, ip="192.0.2.10")
    post_password(client, "nobody-here", WRONG, ip="192.0.2.11")

    known, unknown = AuditEntry.objects.filter(operation="Sign In").order_by("pk")
    assert (known.status, known.actor_name, known.actor_id) == ("failed", "ada-admin", None)
    assert known.details == {
        "username": "ada-admin",
        "ip_address": "192.0.2.10",
        "locked_out": False,
    }
    assert (known.object_type, known.object_id) == ("auth.user", str(administrator.pk))
    assert known.context == "web"
    assert (unknown.status, unknown.actor_name, unknown.object_repr) == (
        "failed",
        "nobody-here",
        "nobody-here",
    )
    assert unknown.details["ip_address"] == "192.0.2.11"
    for entry in (known, unknown):
        assert WRONG not in entry_text(entry)


def test_sign_in_and_sign_out_are_audited(client, viewer):
    assert post_password(client, "vera-viewer", ip="192.0.2.20").status_code == 302
    assert client.post("/logout/", REMOTE_ADDR="192.0.2.20").status_code == 302

    signed_in = AuditEntry.objects.get(operation="Sign In")
    assert (signed_in.status, signed_in.actor_id, signed_in.actor_name) == (
        "succeeded",
        viewer.pk,
        "vera-viewer",
    )
    assert signed_in.details == {"ip_address": "192.0.2.20", "second_factor": False}
    signed_out = AuditEntry.objects.get(operation="Sign Out")
    assert (signed_out.actor_id, signed_out.details) == (viewer.pk, {"ip_address": "192.0.2.20"})
    for entry in (signed_in, signed_out):
        assert TEST_PASSWORD not in entry_text(entry)


def test_x_forwarded_for_is_ignored_unless_trusted(client, operator):
    # Without TRUST_X_FORWARDED_FOR a client cannot pose as other addresses.
    for n in range(5):
        client.post(
            "/login/",
            {"username": f"guess-{n}", "password": WRONG},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        )
    response = client.post(
        "/login/",
        {"username": "otto-operator", "password": TEST_PASSWORD},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="10.9.9.200",
    )
    assert response.status_code == 429
    addresses = set(
        AuditEntry.objects.filter(operation="Sign In").values_list("details__ip_address", flat=True)
    )
    assert addresses == {"198.51.100.7"}


def test_behind_a_trusted_proxy_the_address_it_added_counts(client, operator, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    for n in range(5):
        client.post(
            "/login/",
            {"username": f"guess-{n}", "password": WRONG},
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.5",  # forged part, then the real one
        )
    assert post_password(Client(), "otto-operator", ip="10.0.0.2").status_code == 302
    refused = client.post(
        "/login/",
        {"username": "otto-operator", "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    assert refused.status_code == 429
    lockout = AuditEntry.objects.get(operation="Lock Out Sign-In")
    assert (lockout.details["ip_address"], lockout.details["locked"]) == (
        "203.0.113.5",
        ["ip_address"],
    )


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        (False, "192.0.2.1", "203.0.113.5", "192.0.2.1"),
        (True, "10.0.0.2", "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (True, "10.0.0.2", "2001:db8::7", "2001:db8::7"),
        (True, "10.0.0.2", "not-an-address", "10.0.0.2"),
        (True, "10.0.0.2", "", "10.0.0.2"),
        (False, "garbage", "", None),
    ],
)
def test_client_ip_address(settings, trusted, remote, forwarded, expected):
    settings.TRUST_X_FORWARDED_FOR = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip_address(request) == expected


def test_the_admin_has_no_password_form_of_its_own(client, administrator):
    """/admin/login/ would sign in without the second factor: it sends to the sign-in page."""
    response = client.get("/admin/login/?next=/admin/auth/user/")
    assert response.headers["Location"] == "/login/?next=/admin/auth/user/"
    response = client.post(
        "/admin/login/", {"username": "ada-admin", "password": TEST_PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert signed_in_user_id(client) is None


PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'required': s.SECOND_FACTOR_REQUIRED, 'limit': s.AXES_FAILURE_LIMIT, "
    "'minutes': s.AXES_COOLOFF_TIME.total_seconds() / 60, "
    "'forwarded_for': s.TRUST_X_FORWARDED_FOR}))"
)


def settings_seen(tmp_path, **env) -> dict:
    base = {
        "PATH": "/usr/bin:/bin",
        "SYNCADMIN_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "syncadmin.settings",
        "SECRET_KEY": "k" * 60,
        "FIELD_ENCRYPTION_KEY": "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk=",
        "ALLOWED_HOSTS": "syncadmin.example.com",
    }
    result = subprocess.run(
        [MANAGE[0], "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sign_in_settings_and_their_environment_variables(tmp_path):
    production = settings_seen(tmp_path, DEBUG="0")
    assert production == {"required": True, "limit": 5, "minutes": 15, "forwarded_for": False}
    assert settings_seen(tmp_path, DEBUG="1")["required"] is False
    assert settings_seen(tmp_path, DEBUG="0", SECOND_FACTOR_REQUIRED="no")["required"] is False
    assert settings_seen(tmp_path, DEBUG="1", SECOND_FACTOR_REQUIRED="1")["required"] is True
    tuned = settings_seen(
        tmp_path,
        DEBUG="1",
        SIGNIN_FAILURE_LIMIT="8",
        SIGNIN_LOCKOUT_MINUTES="60",
        TRUST_X_FORWARDED_FOR="on",
    )
    assert (tuned["limit"], tuned["minutes"], tuned["forwarded_for"]) == (8, 60, True)
