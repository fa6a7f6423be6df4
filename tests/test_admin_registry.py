"""Every model in the Django admin, and what an Administrator may change there.

Administrators are MSP staff, not operators of the server: no admin page may let them name
code for a worker to run (a schedule's or task's ``func``/``hook``), and connections change
only through the product's audited services. A model registered without a decision here
fails test_every_admin_model_has_a_decision.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django_q.models import Schedule

from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

READ_ONLY = "read-only"
# Model fields that hold the dotted path of something to call, or its arguments.
CODE_FIELDS = {"func", "hook", "args", "kwargs", "cluster"}

# Model label -> READ_ONLY, or the set of fields an Administrator may edit.
DECISIONS = {
    "auth.Group": {"name", "permissions"},
    "auth.User": {
        "username",
        "password",
        "password1",
        "password2",
        "usable_password",
        "first_name",
        "last_name",
        "email",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "last_login",
        "date_joined",
    },
    "django_q.Schedule": READ_ONLY,
    "django_q.Success": READ_ONLY,
    "django_q.Failure": READ_ONLY,
    "autotask.Connection": READ_ONLY,
    "autotask.RefreshRun": READ_ONLY,
    # Sign-in: nothing to edit; deleting a failure count unlocks, deleting a TOTP device
    # removes a lost second factor (audited).
    "axes.AccessAttempt": set(),
    "otp_totp.TOTPDevice": set(),
}


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def editable_fields(model_admin, request) -> set[str]:
    """Form fields on the add and change pages the Administrator is allowed to use."""
    fields: set[str] = set()
    if model_admin.has_add_permission(request):
        fields |= set(model_admin.get_form(request, None).base_fields)
    instance = model_admin.model()
    if model_admin.has_change_permission(request, instance):
        fields |= set(model_admin.get_form(request, instance).base_fields)
        fields -= set(model_admin.get_readonly_fields(request, instance))
    return fields


def test_every_admin_model_has_a_decision():
    registered = {model._meta.label for model in admin.site._registry}
    assert registered == set(DECISIONS), (
        f"undecided: {sorted(registered - set(DECISIONS))}; "
        f"no longer registered: {sorted(set(DECISIONS) - registered)}"
    )


@pytest.mark.parametrize("label", sorted(DECISIONS))
def test_admin_model_allows_only_what_is_decided(label, administrator):
    request = admin_request(administrator)
    model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label == label)
    editable = editable_fields(model_admin, request)
    names_code = CODE_FIELDS & {field.name for field in model_admin.model._meta.get_fields()}
    assert not (editable & CODE_FIELDS), f"{label} lets an Administrator name code to run"
    if DECISIONS[label] == READ_ONLY or names_code:
        assert editable == set()
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, model_admin.model())
        assert not model_admin.has_delete_permission(request, model_admin.model())
        assert not model_admin.get_actions(request), f"{label} offers actions"
    else:
        assert editable == DECISIONS[label]


def test_a_schedule_naming_a_shell_command_cannot_be_posted(client, administrator):
    """The probe's attack, over HTTP: an Administrator posts a schedule for os.system."""
    sign_in(client, administrator)
    response = client.post(
        "/admin/django_q/schedule/add/",
        {
            "name": "pwn",
            "func": "os.system",
            "args": "'touch /tmp/pwned'",
            "schedule_type": "O",
            "repeats": "-1",
            "next_run_0": "2026-01-01",
            "next_run_1": "00:00:00",
        },
    )
    assert response.status_code == 403
    assert not Schedule.objects.filter(func="os.system").exists()


def test_a_schedule_cannot_be_changed_to_run_other_code(client, administrator):
    schedule = Schedule.objects.create(name="product", func="apps.core.tasks.worker_echo")
    sign_in(client, administrator)
    response = client.post(
        f"/admin/django_q/schedule/{schedule.pk}/change/",
        {"name": "product", "func": "os.system", "schedule_type": "O", "repeats": "-1"},
    )
    assert response.status_code == 403
    schedule.refresh_from_db()
    assert schedule.func == "apps.core.tasks.worker_echo"


def test_a_connection_cannot_be_changed_or_deleted_in_the_admin(client, administrator):
    from apps.autotask.models import Connection

    connection = Connection(
        name="Prod", username="api@msp.example", integration_code="C", zone_url="https://z/"
    )
    connection.set_secret("s")
    connection.save()
    sign_in(client, administrator)
    changed = client.post(
        f"/admin/autotask/connection/{connection.pk}/change/",
        {"name": "Prod", "api_root_url": "http://evil.example/", "username": "x"},
    )
    deleted = client.post(f"/admin/autotask/connection/{connection.pk}/delete/", {"post": "yes"})
    assert (changed.status_code, deleted.status_code) == (403, 403)
    connection.refresh_from_db()
    assert connection.api_root_url.startswith("https://")
    assert connection.zone_url == "https://z/"
    # Reading is still allowed.
    assert client.get(f"/admin/autotask/connection/{connection.pk}/change/").status_code == 200
