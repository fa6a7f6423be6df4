"""A stored secret never follows a changed address, and a real connection speaks HTTPS
only (issue 9, "a stored secret follows a changed URL"). Driven through the settings page
and the test button, as the probe did."""

import http.server
import threading

import pytest

from apps.audit.models import AuditEntry
from apps.autotask.models import Connection
from apps.autotask.services import SECRET_AGAIN, connection_create
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SECRET = "stored-secret-Xy7"
NEW_SECRET = "entered-again-Qw3"


@pytest.fixture
def listener():
    """A plain HTTP server that records every request it gets (a stand-in for an
    attacker's host)."""
    seen = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, dict(self.headers)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"url": "http://attacker.example/ATServicesRest/"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@pytest.fixture
def production():
    return connection_create(
        name="Production",
        username="api@msp.example",
        integration_code="CODE",
        secret=SECRET,
        zone_url="https://webservices15.autotask.net/ATServicesRest/",
    )


def settings_data(client, connection, **changes) -> dict:
    form = client.get(f"/connections/{connection.pk}/settings/").context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(export_record_types=list(form.initial["export_record_types"]), **changes)
    return data


def test_changing_the_address_needs_the_secret_again(client, administrator, production):
    sign_in(client, administrator)
    new_root = "https://webservices.attacker.example/atservicesrest/"
    response = client.post(
        f"/connections/{production.pk}/settings/",
        settings_data(client, production, api_root_url=new_root),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["secret"] == [SECRET_AGAIN]
    production.refresh_from_db()
    assert production.api_root_url != new_root
    assert production.zone_url.startswith("https://webservices15.")

    response = client.post(
        f"/connections/{production.pk}/settings/",
        settings_data(client, production, api_root_url=new_root, secret=NEW_SECRET),
    )
    assert response.status_code == 302
    production.refresh_from_db()
    assert production.api_root_url == new_root
    assert production.secret() == NEW_SECRET
    assert (production.zone_url, production.zone_discovered_at) == ("", None)
    change = AuditEntry.objects.get(operation="Change Connection")
    assert change.after["api_root_url"] == new_root and change.after["zone_url"] == ""
    assert change.details == {"replaced": ["secret"]}
    assert NEW_SECRET not in str([change.before, change.after, change.details])


def test_other_settings_change_without_the_secret(client, administrator, production):
    sign_in(client, administrator)
    response = client.post(
        f"/connections/{production.pk}/settings/",
        settings_data(client, production, export_lag_days=7),
    )
    assert response.status_code == 302
    production.refresh_from_db()
    assert (production.export_lag_days, production.secret()) == (7, SECRET)


def test_a_real_connection_refuses_plain_http(client, administrator, production, settings):
    settings.AUTOTASK_LOOPBACK_HTTP = False  # as in production (DEBUG off)
    sign_in(client, administrator)
    response = client.post(
        f"/connections/{production.pk}/settings/",
        settings_data(
            client, production, api_root_url="http://127.0.0.1:8765/x/", secret=NEW_SECRET
        ),
    )
    assert response.status_code == 200
    assert "must use https://" in str(response.context["form"].errors)
    production.refresh_from_db()
    assert production.api_root_url.startswith("https://") and production.secret() == SECRET

    response = client.post(
        "/connections/new/",
        {
            "name": "Plain",
            "kind": "autotask",
            "username": "api@msp.example",
            "integration_code": "CODE",
            "secret": SECRET,
            "api_root_url": "http://autotask.example/atservicesrest/",
        },
    )
    assert response.status_code == 200
    assert "must use https://" in response.content.decode()
    assert not Connection.objects.filter(name="Plain").exists()


def test_test_never_sends_the_secret_over_plain_http(
    client, administrator, listener, settings, page_test
):
    """Even a connection stored with an http address (made before this rule, or written to
    the database by hand) sends nothing there: the client refuses before connecting."""
    root, seen = listener
    settings.AUTOTASK_LOOPBACK_HTTP = False
    connection = connection_create(
        name="Old", username="api@msp.example", integration_code="CODE", secret=SECRET
    )
    Connection.objects.filter(pk=connection.pk).update(
        api_root_url=f"{root}/atservicesrest/", zone_url=f"{root}/ATServicesRest/"
    )
    sign_in(client, administrator)
    page = page_test(connection).content.decode()
    assert seen == []
    assert "an Autotask connection uses HTTPS only" in page


def test_a_discovered_zone_on_plain_http_is_refused(listener, settings):
    """Zone discovery answered by a host that points at an http:// zone: the secret is
    never sent to it."""
    from apps.autotask.connection_test import connection_test

    root, seen = listener
    settings.AUTOTASK_LOOPBACK_HTTP = True  # let discovery itself reach the local listener
    connection = connection_create(
        name="Zoned",
        username="api@msp.example",
        integration_code="CODE",
        secret=SECRET,
        api_root_url=f"{root}/atservicesrest/",
    )
    result = connection_test(connection=connection)
    assert not result["ok"]
    assert "attacker.example" in result["problems"][0]
    assert "HTTPS only" in result["problems"][0]
    assert len(seen) == 1 and "zoneInformation" in seen[0][0]  # discovery only
    assert SECRET not in str(seen)
    connection.refresh_from_db()
    assert connection.zone_url == ""  # the http zone was not remembered
