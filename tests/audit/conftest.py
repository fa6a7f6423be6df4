"""What the audit log's page and CSV tests share: five entries on five days of March 2025,
and a signed-in Viewer."""

import datetime as dt
import uuid

import pytest

from tests.audit.factories import AuditEntryFactory
from tests.conftest import sign_in

REQUEST_ID = uuid.UUID("5f0c3d4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f")


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def signed_in(client, viewer):
    return sign_in(client, viewer)


@pytest.fixture
def entries():
    """Five entries, one a day from 1 to 5 March 2025."""
    rows = [
        (1, "vera-viewer", "web", "Contoso PSA", "Create Connection Offer Mapping",
         "Microsoft 365 E3", "101", "succeeded"),
        (2, "otto-operator", "web", "Contoso PSA", "Delete Connection Offer Mapping",
         "Microsoft 365 E5", "102", "failed"),
        (3, "scheduler", "worker", "Fabrikam PSA", "Export Contract",
         "Contoso Ltd contract", "7001", "succeeded"),
        (4, "cli:ada", "cli", "", "Import Billing Report",
         "February 2025 invoice", "55", "failed"),
        (5, "ada-admin", "web", "Fabrikam PSA", "Change Connection",
         "Fabrikam PSA", "3", "succeeded"),
    ]  # fmt: skip
    for day, actor, context, conn, operation, text, object_id, status in rows:
        AuditEntryFactory(
            created_at=at(day),
            actor_name=actor,
            context=context,
            connection_name=conn,
            operation=operation,
            object_repr=text,
            object_id=object_id,
            status=status,
            request_id=REQUEST_ID if day == 1 else None,
        )
