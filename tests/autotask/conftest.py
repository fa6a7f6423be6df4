import pytest
from django_q.conf import Conf

from apps.autotask.models import Connection


@pytest.fixture
def page_test(client, monkeypatch, django_capture_on_commit_callbacks):
    """Test connection as the page does it: the POST queues the test, django-q2 runs it at
    once in this process (its sync mode: still through async_task and the worker code) as
    the request's transaction commits, and the page then shows the card htmx polls.
    Returns the card (a response); the client must be signed in."""
    monkeypatch.setattr(Conf, "SYNC", True)

    def test(connection):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/connections/{connection.pk}/test/")
        assert response.status_code == 302
        token = response.headers["Location"].partition("?test=")[2]
        card = client.get(f"/connections/{connection.pk}/test-status/", {"token": token})
        assert card.status_code == 200
        return card

    return test


@pytest.fixture
def connection() -> Connection:
    """A saved connection (not the sandbox's), for tests of its rows and constraints."""
    connection = Connection(name="Autotask", username="u", integration_code="c")
    connection.set_secret("s")
    connection.save()
    return connection
