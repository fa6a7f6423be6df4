"""Connections: screens, CLI, test results in plain words, and a secret that never leaks."""

import io
import logging
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django_q.conf import Conf

from apps.audit.models import AuditEntry
from apps.autotask import connection_test as testing
from apps.autotask import tasks
from apps.autotask.connection_test import STEPS, connection_test, connection_test_status
from apps.autotask.markups import connection_default_markups
from apps.autotask.models import AutotaskCompany, Connection
from apps.autotask.services import connection_create, connection_create_sandbox
from apps.core.health import running_clusters
from apps.sandbox.server import DEFAULT_CREDENTIALS, Credentials, start_sandbox
from tests.conftest import sign_in
from tests.worker_processes import wait_for

pytestmark = pytest.mark.django_db

SECRET = "Tr0ub4dor&3-very-secret"


def sandbox_with_data(sandbox):
    sandbox.admin("POST", "/reset", json={"seed": "demo"})


def test_administrator_creates_a_sandbox_connection_in_the_browser_form(
    client, administrator, sandbox
):
    sign_in(client, administrator)
    response = client.post(
        "/connections/new/", {"name": "Rehearsal", "kind": "sandbox", "sandbox_url": sandbox.root}
    )
    connection = Connection.objects.get(name="Rehearsal")
    assert response.headers["Location"] == f"/connections/{connection.pk}/"
    assert connection.is_sandbox
    assert connection.zone_url == f"{sandbox.root}/ATServicesRest/"
    assert connection.secret() == "sandbox-secret"


def test_an_autotask_connection_needs_its_credentials(client, administrator):
    sign_in(client, administrator)
    response = client.post("/connections/new/", {"name": "Prod", "kind": "autotask"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["username"] == errors["secret"] == ["Required for an Autotask instance."]
    assert not Connection.objects.exists()


def test_operators_and_viewers_cannot_create_connections(client, operator):
    sign_in(client, operator)
    assert client.post("/connections/new/", {"name": "x", "kind": "sandbox"}).status_code == 403
    assert not Connection.objects.exists()


def test_test_connection_reports_access_and_budget(client, administrator, sandbox, page_test):
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, administrator)
    card = page_test(connection).content.decode()
    connection.refresh_from_db()
    assert connection.last_test_ok is True
    result = connection.last_test_result
    assert result["zone"] == f"{sandbox.root}/ATServicesRest/"
    assert result["api_versions"] == ["V1.0"]
    assert {row["entity"] for row in result["entities"]} >= {"Contracts", "ContractCharges"}
    assert all(row["ok"] for row in result["entities"])
    assert "Connection “Sandbox” works." in card
    assert "<td>ContractCharges</td><td>read and write</td><td>yes</td><td>yes</td>" in card
    assert "hx-trigger" not in card  # finished: no more polling
    entry = AuditEntry.objects.get(operation="Test Connection")
    assert entry.status == "succeeded"
    assert (entry.context, entry.actor_name) == ("worker", administrator.username)


@pytest.fixture
def queued_test(client, administrator, sandbox, django_capture_on_commit_callbacks):
    """An Administrator has pressed Test connection on a sandbox connection and no worker
    has taken the test yet: (connection, token, the callbacks that hand it to a worker)."""
    # No worker cluster of this process still reporting in (one a test before stopped):
    # with one running, a test nobody takes waits for a free worker.
    wait_for(lambda: not running_clusters(), 10, "stopped clusters to stop reporting")
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, administrator)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"/connections/{connection.pk}/test/")
    location = response.headers["Location"]
    token = location.partition("?test=")[2]
    assert location == f"/connections/{connection.pk}/?test={token}"
    return connection, token, queued


def status_url(connection, token) -> str:
    return f"/connections/{connection.pk}/test-status/?token={token}"


def test_a_test_is_queued_then_shows_its_progress_until_it_has_finished(
    client, administrator, queued_test, monkeypatch
):
    connection, token, queued = queued_test
    assert len(queued) == 1  # handed to the worker as the request commits, not before

    page = client.get(f"/connections/{connection.pk}/?test={token}").content.decode()
    assert "Test queued: waiting for a worker." in page
    assert f'hx-get="{status_url(connection, token)}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert "Test queued" in client.get(status_url(connection, token)).content.decode()
    assert not AuditEntry.objects.filter(operation="Test Connection").exists()

    monkeypatch.setattr(Conf, "SYNC", True)
    queued[0]()  # the worker takes it
    card = client.get(status_url(connection, token)).content.decode()
    assert "Connection “Sandbox” works." in card and "hx-trigger" not in card
    assert "<td>Companies</td><td>read</td><td>yes</td>" in card
    state = connection_test_status(connection=connection, token=token)
    assert state["status"] == "succeeded" and state["finished"] and state["ok"]
    assert state["done"] == state["total"] == STEPS == 12
    assert [row["entity"] for row in state["entities"]] == [
        "Companies",
        "Contracts",
        "ContractServices",
        "ContractServiceAdjustments",
        "ContractServiceUnits",
        "ContractCharges",
        "Services",
        "Products",
        "BillingCodes",
    ]  # every entity an export reads or writes (AUTOTASK_API.md)
    assert AuditEntry.objects.filter(operation="Test Connection").count() == 1
    # Delivered twice, the test runs once.
    assert tasks.connection_test_execute(connection.pk, token, administrator.pk) == "not run"
    assert AuditEntry.objects.filter(operation="Test Connection").count() == 1


def test_the_progress_shows_the_steps_done_and_the_entities_read_so_far(
    client, queued_test, monkeypatch
):
    connection, token, queued = queued_test
    seen = []
    real = testing.connection_test

    def watched(*, on_step, **kwargs):
        def step(result):
            on_step(result)
            if len(result["entities"]) == 2:
                seen.append(client.get(status_url(connection, token)).content.decode())

        return real(**kwargs, on_step=step)

    monkeypatch.setattr(testing, "connection_test", watched)
    monkeypatch.setattr(Conf, "SYNC", True)
    queued[0]()
    (card,) = seen
    assert "Testing: step 5 of 12." in card and 'hx-trigger="every 1s"' in card
    assert 'data-width="42"' in card
    assert "<td>Contracts</td>" in card and "<td>ContractServices</td>" not in card


def test_a_test_no_worker_takes_ends_saying_so_and_offers_to_try_again(
    client, queued_test, monkeypatch, settings
):
    settings.RUN_STALE_SECONDS = 1
    connection, token, queued = queued_test
    assert "Test queued" in client.get(status_url(connection, token)).content.decode()
    time.sleep(1.2)
    card = client.get(status_url(connection, token)).content.decode()
    assert "No answer from the worker after 1 s; is the worker running?" in card
    assert "hx-trigger" not in card
    assert f'action="/connections/{connection.pk}/test/"' in card and "Test again" in card
    page = client.get(f"/connections/{connection.pk}/?test={token}").content.decode()
    assert "No answer from the worker after 1 s" in page
    # A worker that turns up after the page gave up does not run it.
    monkeypatch.setattr(Conf, "SYNC", True)
    queued[0]()
    assert connection_test_status(connection=connection, token=token)["status"] == "lost"
    assert not AuditEntry.objects.filter(operation="Test Connection").exists()
    connection.refresh_from_db()
    assert connection.last_test_ok is None


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs."""


def test_a_test_whose_worker_died_ends_saying_so(
    client, administrator, queued_test, monkeypatch, settings
):
    settings.RUN_STALE_SECONDS = 1
    connection, token, _ = queued_test

    def dies(*, on_step, **kwargs):
        on_step({"entities": [], "problems": []})
        raise WorkerKilled

    monkeypatch.setattr(testing, "connection_test", dies)
    with pytest.raises(WorkerKilled):
        tasks.connection_test_execute(connection.pk, token, administrator.pk)
    assert "Testing: step 1 of 12." in client.get(status_url(connection, token)).content.decode()
    time.sleep(1.2)
    card = client.get(status_url(connection, token)).content.decode()
    assert "No answer from the worker after 1 s; is the worker running?" in card
    assert "hx-trigger" not in card and "Test again" in card


def test_a_worker_killed_as_it_takes_the_test_is_noticed_too(client, queued_test, settings):
    # The worker took the test (its claim is in the cache) and died before saying so.
    settings.RUN_STALE_SECONDS = 1
    connection, token, _ = queued_test
    assert cache.add(f"{testing._key(connection.pk, token)}:claim", time.time(), 3600)
    assert "Test queued" in client.get(status_url(connection, token)).content.decode()
    time.sleep(1.2)
    card = client.get(status_url(connection, token)).content.decode()
    assert "No answer from the worker after 1 s; is the worker running?" in card
    assert "hx-trigger" not in card and "Test again" in card


def test_an_unexpected_error_in_the_test_ends_it_with_a_sentence(
    client, administrator, sandbox, page_test, monkeypatch, caplog
):
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, administrator)

    def breaks(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(testing, "connection_test", breaks)
    card = page_test(connection).content.decode()
    assert "An unexpected error stopped the test; the details are in the worker" in card
    assert "a bug" not in card and "hx-trigger" not in card and "Test again" in card
    assert "a bug" in caplog.text  # the traceback is in the worker's log


def test_only_administrators_test_and_watch_a_test(client, operator, sandbox):
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, operator)
    assert client.post(f"/connections/{connection.pk}/test/").status_code == 403
    assert client.get(status_url(connection, "a" * 16)).status_code == 403


def test_a_wrong_secret_is_said_in_words_on_screen_and_in_the_cli(
    client, administrator, sandbox, page_test
):
    connection = connection_create(
        name="Wrong",
        username="api-user@sandbox.syncadmin.local",
        integration_code="SYNCADMIN-SANDBOX-000000001",
        secret=SECRET,
        api_root_url=f"{sandbox.root}/atservicesrest/",
    )
    sign_in(client, administrator)
    card = page_test(connection).content.decode()
    assert "Autotask refused the secret for the API user api-user@sandbox.syncadmin.local" in card
    assert "Does not work" in card and "hx-trigger" not in card
    assert AuditEntry.objects.get(operation="Test Connection").status == "failed"
    err = io.StringIO()
    with pytest.raises(CommandError, match="does not work"):
        call_command("connection", "test", "Wrong", stdout=io.StringIO(), stderr=err)
    assert "Autotask refused the secret" in err.getvalue()


def test_an_unknown_user_and_an_unreachable_autotask_are_said_in_words(sandbox):
    unknown = connection_create(
        name="Unknown user",
        username="nobody@msp.example",
        integration_code="X",
        secret="s",
        api_root_url=f"{sandbox.root}/atservicesrest/",
    )
    assert connection_test(connection=unknown)["problems"] == [
        "Autotask does not know the API user name nobody@msp.example: check the user name "
        "(the API user's e-mail address)."
    ]
    down = connection_create(
        name="Down",
        username="u@msp.example",
        integration_code="X",
        secret="s",
        api_root_url="http://127.0.0.1:9/atservicesrest/",
    )
    problems = connection_test(connection=down)["problems"]
    assert problems[0].startswith("Could not reach Autotask at http://127.0.0.1:9/")


def test_settings_and_secret_changes_are_audited_without_the_secret(client, administrator, sandbox):
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, administrator)
    page = client.get(f"/connections/{connection.pk}/settings/")
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        name="Sandbox",
        concurrency_limit=2,
        export_lag_days=0,
        contract_key_field="udf",
        contract_key_udf="Subscription ID",
        export_record_types=["license_based", "azure_plan"],
        create_missing_services="on",
        markup_azure_plan="12.5",
    )
    for name in ("username", "integration_code", "api_root_url"):
        data.pop(name, None)
    response = client.post(f"/connections/{connection.pk}/settings/", data)
    assert response.status_code == 302, response.context["form"].errors
    connection.refresh_from_db()
    assert connection.export_lag_days == 0
    assert connection.contract_key_udf == "Subscription ID"
    assert connection_default_markups(connection=connection) == {"azure_plan": Decimal("12.5")}
    change = AuditEntry.objects.get(operation="Change Connection")
    assert change.before["export_lag_days"] == 4 and change.after["export_lag_days"] == 0
    assert change.before["default_markups"] == {}
    assert change.after["default_markups"] == {"azure_plan": "12.5"}
    page = client.get(f"/connections/{connection.pk}/settings/")
    assert page.context["form"]["markup_azure_plan"].value() == Decimal("12.5")

    response = client.post(
        f"/connections/{connection.pk}/secret/", {"secret": SECRET, "confirm": SECRET}
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.secret() == SECRET
    assert SECRET not in connection.secret_encrypted
    assert AuditEntry.objects.filter(operation="Change Connection Secret").count() == 1


def test_a_mistyped_new_secret_changes_nothing(client, administrator, sandbox):
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, administrator)
    response = client.post(
        f"/connections/{connection.pk}/secret/", {"secret": SECRET, "confirm": SECRET + "x"}
    )
    assert response.status_code == 200
    assert "The two entries differ." in response.content.decode()
    connection.refresh_from_db()
    assert connection.secret() == "sandbox-secret"


def test_deleting_needs_the_name_typed(client, administrator, sandbox):
    connection = connection_create_sandbox(url=sandbox.root)
    sign_in(client, administrator)
    client.post(f"/connections/{connection.pk}/delete/", {"confirm_name": "sandbox"})
    assert Connection.objects.filter(pk=connection.pk).exists()
    client.post(f"/connections/{connection.pk}/delete/", {"confirm_name": "Sandbox"})
    assert not Connection.objects.filter(pk=connection.pk).exists()
    assert AuditEntry.objects.filter(operation="Delete Connection").count() == 1


def test_cli_create_list_test_refresh(sandbox):
    sandbox_with_data(sandbox)
    out = io.StringIO()
    call_command("connection", "create", "CLI", "--sandbox", "--url", sandbox.root, stdout=out)
    call_command("connection", "create", "CLI", "--sandbox", "--if-missing", stdout=out)
    with pytest.raises(CommandError, match="exists already"):
        call_command("connection", "create", "CLI", "--sandbox", stdout=out)
    call_command("connection", "list", stdout=out)
    call_command("connection", "test", "CLI", stdout=out)
    call_command("connection", "refresh", "CLI", stdout=out)
    text = out.getvalue()
    assert "Created connection 'CLI'." in text
    assert "Connection 'CLI' works." in text
    assert "Refreshed 'CLI'." in text
    assert AutotaskCompany.objects.filter(connection__name="CLI").count() == 301
    with pytest.raises(CommandError, match="There is no connection called 'Nope'"):
        call_command("connection", "test", "Nope")


def test_cli_reads_a_real_connections_secret_from_stdin(monkeypatch, sandbox):
    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    call_command(
        "connection",
        "create",
        "Prod",
        "--username",
        "api@msp.example",
        "--integration-code",
        "CODE",
        "--secret-stdin",
        stdout=io.StringIO(),
    )
    assert Connection.objects.get(name="Prod").secret() == SECRET
    with pytest.raises(CommandError, match="--integration-code"):
        call_command("connection", "create", "P2", "--username", "x", stdout=io.StringIO())


@pytest.fixture
def sandbox_with_our_secret():
    server = start_sandbox(
        seed="demo",
        credentials=Credentials(
            username=DEFAULT_CREDENTIALS.username,
            secret=SECRET,
            integration_code=DEFAULT_CREDENTIALS.integration_code,
        ),
    )
    yield server
    server.shutdown()


def test_the_secret_is_nowhere_in_pages_logs_or_audit(
    client, administrator, sandbox_with_our_secret, caplog, page_test
):
    root = sandbox_with_our_secret.url
    caplog.set_level(logging.DEBUG)
    sign_in(client, administrator)
    pages = []
    client.post(
        "/connections/new/",
        {
            "name": "Leaky?",
            "kind": "autotask",
            "username": "api-user@sandbox.syncadmin.local",
            "integration_code": "SYNCADMIN-SANDBOX-000000001",
            "secret": SECRET,
            "api_root_url": f"{root}/atservicesrest/",
        },
    )
    connection = Connection.objects.get(name="Leaky?")
    pk = connection.pk
    pages.append(page_test(connection))
    client.post(f"/connections/{pk}/secret/", {"secret": SECRET, "confirm": SECRET})
    call_command("connection", "refresh", "Leaky?", stdout=io.StringIO())
    for url in [
        "/connections/",
        f"/connections/{pk}/",
        f"/connections/{pk}/settings/",
        f"/connections/{pk}/secret/",
        f"/connections/{pk}/delete/",
        f"/connections/{pk}/companies/",
        f"/connections/{pk}/refresh-status/",
        "/audit/",
        f"/admin/autotask/connection/{pk}/change/",
    ]:
        pages.append(client.get(url))
    pages += [client.get(f"/audit/{entry.pk}/") for entry in AuditEntry.objects.all()]
    assert all(page.status_code == 200 for page in pages), [p.status_code for p in pages]
    assert Connection.objects.get(pk=pk).last_test_ok is True
    assert AutotaskCompany.objects.filter(connection=connection).count() == 301
    for page in pages:
        assert SECRET not in page.content.decode()
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    for entry in AuditEntry.objects.all():
        assert SECRET not in str([entry.before, entry.after, entry.details, entry.object_repr])
    assert AuditEntry.objects.filter(connection_name="Leaky?").count() >= 3
    # And it is stored, encrypted.
    assert connection.secret() == SECRET
