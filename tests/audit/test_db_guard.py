"""The database itself refuses to change or delete audit entries (apps/audit/db_guard.py).

Each refused statement runs in its own savepoint: on PostgreSQL an error breaks the
surrounding test transaction otherwise.
"""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from apps.audit import db_guard
from apps.audit.models import AuditEntry
from apps.audit.services import audit_record
from tests.audit.factories import AuditEntryFactory

pytestmark = pytest.mark.django_db


def refused(sql: str, params=()):
    """Run ``sql`` and assert the guard refuses it with its message."""
    with (
        pytest.raises(IntegrityError, match=db_guard.MESSAGE),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def snapshot() -> list[dict]:
    return list(AuditEntry.objects.order_by("pk").values())


@pytest.fixture
def entries(operator):
    first = AuditEntryFactory(actor=operator, actor_name=operator.username)
    second = AuditEntryFactory(details={"autotask_id": 29683812})
    return first, second


def test_the_migration_installed_the_triggers():
    names = db_guard.installed(connection)
    if connection.vendor == "postgresql":
        assert names == ["audit_entry_refuse_truncate", "audit_entry_refuse_update_delete"]
    else:
        assert names == sorted(db_guard._SQLITE_TRIGGERS)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite names the columns")
def test_the_sqlite_update_trigger_covers_every_column_but_actor():
    """A migration that adds a column or rebuilds the table must install the guard again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
            ["audit_entry_refuse_update"],
        )
        (sql,) = cursor.fetchone()
    covered = sql.split(" OF ", 1)[1].split(" ON ", 1)[0]
    columns = {name.strip().strip('"') for name in covered.split(",")}
    model_columns = {field.column for field in AuditEntry._meta.concrete_fields}
    assert columns == model_columns - {"actor_id"}


def test_raw_update_is_refused_and_changes_nothing(entries):
    first, _ = entries
    before = snapshot()

    refused("UPDATE audit_auditentry SET operation = %s WHERE id = %s", ["Forged", first.pk])
    refused("UPDATE audit_auditentry SET details = %s", ['{"forged": true}'])

    assert snapshot() == before


def test_raw_delete_with_and_without_where_is_refused(entries):
    first, _ = entries
    before = snapshot()

    refused("DELETE FROM audit_auditentry WHERE id = %s", [first.pk])
    refused("DELETE FROM audit_auditentry")

    assert snapshot() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_truncate_is_refused(entries):
    before = snapshot()
    # The foreign-key checks of the rows inserted in this test transaction are deferred;
    # PostgreSQL refuses a TRUNCATE with pending checks before the guard is even asked.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    refused("TRUNCATE audit_auditentry")
    refused("TRUNCATE audit_auditentry, auth_user CASCADE")

    assert snapshot() == before


def test_the_base_manager_cannot_update_or_delete(entries):
    first, _ = entries
    before = snapshot()

    with pytest.raises(IntegrityError, match=db_guard.MESSAGE), transaction.atomic():
        AuditEntry._base_manager.filter(pk=first.pk).update(operation="Forged")
    with pytest.raises(IntegrityError, match=db_guard.MESSAGE), transaction.atomic():
        AuditEntry._base_manager.all().delete()
    with pytest.raises(IntegrityError, match=db_guard.MESSAGE), transaction.atomic():
        AuditEntry._base_manager.filter(pk=first.pk).delete()

    assert snapshot() == before


def test_nulling_the_actor_is_allowed_only_on_its_own(entries, make_user):
    first, second = entries
    other = make_user("mallory", None)
    before = snapshot()

    # Nulling the actor together with another column, giving the entry another user, or
    # "nulling" an actor that is already NULL: all refused.
    refused(
        "UPDATE audit_auditentry SET actor_id = NULL, actor_name = %s WHERE id = %s",
        ["someone else", first.pk],
    )
    refused("UPDATE audit_auditentry SET actor_id = %s WHERE id = %s", [other.pk, first.pk])
    refused("UPDATE audit_auditentry SET actor_id = %s WHERE id = %s", [other.pk, second.pk])
    refused("UPDATE audit_auditentry SET actor_id = NULL WHERE id = %s", [second.pk])
    assert snapshot() == before

    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET actor_id = NULL WHERE id = %s", [first.pk])

    after = snapshot()
    assert after[0] == {**before[0], "actor_id": None}
    assert after[1] == before[1]


def test_deleting_a_user_keeps_the_entries_with_the_name_copied(operator):
    entries = [
        audit_record(operation="Create Connection", object_repr="Contoso PSA", user=operator),
        audit_record(operation="Delete Connection", object_repr="Contoso PSA", user=operator),
    ]

    operator.delete()

    rows = AuditEntry.objects.filter(pk__in=[entry.pk for entry in entries])
    assert [(row.actor_id, row.actor_name) for row in rows] == [(None, "otto-operator")] * 2


def test_new_entries_can_still_be_written(entries):
    entry = audit_record(operation="Export Contract", object_repr="Microsoft 365 E3")

    assert AuditEntry.objects.count() == 3
    assert AuditEntry.objects.get(pk=entry.pk).operation == "Export Contract"


@pytest.mark.django_db(transaction=True)
def test_the_test_suites_flush_empties_the_table_and_puts_the_guard_back(entries):
    """tests/conftest.py lets ``flush`` past the guard; the guard is back afterwards."""
    guard = db_guard.installed(connection)

    call_command("flush", verbosity=0, interactive=False)

    assert AuditEntry.objects.count() == 0
    assert db_guard.installed(connection) == guard
    entry = AuditEntryFactory()
    refused("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
