"""What the mapping tests share: a sandbox connection holding the sandbox's demo companies,
services and contracts, copied into syncadmin by a real reference refresh over HTTP."""

import pytest

from apps.autotask.models import RefreshRun
from apps.autotask.services import connection_create_sandbox, refresh_run_execute


def refreshed_sandbox_connection(sandbox):
    """The demo data reset in ``sandbox``, a connection to it, and a full refresh."""
    sandbox.admin("POST", "/reset", json={"seed": "demo"})
    connection = connection_create_sandbox(url=sandbox.root)
    run = RefreshRun.objects.create(connection=connection, kind="full")
    assert refresh_run_execute(run_id=run.pk).status == "succeeded"
    return connection


@pytest.fixture
def connection(sandbox):
    return refreshed_sandbox_connection(sandbox)
