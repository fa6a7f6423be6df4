"""Roles, the demo administrator, signing in and out."""

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from apps.accounts.roles import Role, has_role, user_role
from tests.conftest import TEST_PASSWORD, log_in

pytestmark = pytest.mark.django_db


def ensure_demo_admin(monkeypatch, **env) -> str:
    for name in ("DEMO_ADMIN_USERNAME", "DEMO_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = StringIO()
    call_command("ensure_demo_admin", stdout=out)
    return out.getvalue()


def test_the_three_roles_exist_as_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "Viewer",
        "Operator",
        "Administrator",
    }


def test_roles_are_ordered(viewer, operator, administrator, make_user):
    nobody = make_user("nobody", None)
    assert user_role(nobody) is None
    assert [has_role(viewer, role) for role in Role] == [True, False, False]
    assert [has_role(operator, role) for role in Role] == [True, True, False]
    assert [has_role(administrator, role) for role in Role] == [True, True, True]


def test_an_inactive_user_has_no_role(viewer):
    viewer.is_active = False
    assert user_role(viewer) is None


def test_demo_admin_with_a_generated_password_shown_once(monkeypatch, client):
    first = ensure_demo_admin(monkeypatch)
    match = re.search(r"password:\s+(\S+)", first)
    assert match, first
    password = match.group(1)
    user = get_user_model().objects.get(username="admin")
    assert user_role(user) == Role.ADMINISTRATOR
    assert log_in(client, "admin", password)

    second = ensure_demo_admin(monkeypatch)
    assert password not in second
    assert "exists; its password is unchanged" in second


def test_demo_admin_from_the_environment(monkeypatch, client):
    out = ensure_demo_admin(
        monkeypatch, DEMO_ADMIN_USERNAME="msp-admin", DEMO_ADMIN_PASSWORD="from-the-env-42"
    )
    assert "from-the-env-42" not in out
    assert "'msp-admin' created with DEMO_ADMIN_PASSWORD" in out
    assert log_in(client, "msp-admin", "from-the-env-42")

    out = ensure_demo_admin(
        monkeypatch, DEMO_ADMIN_USERNAME="msp-admin", DEMO_ADMIN_PASSWORD="changed-in-env-43"
    )
    assert "password set from DEMO_ADMIN_PASSWORD" in out
    assert log_in(client, "msp-admin", "changed-in-env-43")


def test_sign_in_and_out(client, viewer):
    response = client.post(
        "/login/", {"username": viewer.username, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert response.context["user"] == viewer
    response = client.post("/logout/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/"
    assert not response.context["user"].is_authenticated
    assert client.get("/").status_code == 302


def test_a_wrong_password_shows_an_error_and_makes_no_session(client, viewer):
    response = client.post("/login/", {"username": viewer.username, "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_returns_to_the_page_asked_for(client, viewer):
    response = client.get("/")
    assert response.headers["Location"] == "/login/?next=/"
    response = client.post(
        "/login/?next=/", {"username": viewer.username, "password": TEST_PASSWORD, "next": "/"}
    )
    assert response.headers["Location"] == "/"


def test_a_user_without_a_role_is_told_so(client, make_user):
    make_user("nora", None)
    log_in(client, "nora")
    response = client.get("/")
    assert response.status_code == 403
    assert "Your account has no role yet" in response.content.decode()
