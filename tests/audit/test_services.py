"""audit_record(), audit_context() and the append-only audit entry."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group

from apps.audit.models import AuditEntry, AuditEntryReadOnlyError
from apps.audit.services import audit_context, audit_record
from tests.audit.factories import AuditEntryFactory

pytestmark = pytest.mark.django_db


def test_record_writes_one_entry_with_copies_of_user_and_object(operator):
    group = Group.objects.create(name="Contoso admins")

    entry = audit_record(
        operation="Create Connection Offer Mapping",
        obj=group,
        after={"name": "Contoso admins", "seats": 12},
        details={"autotask_id": 29683812},
        user=operator,
        connection_name="Contoso PSA",
    )

    assert AuditEntry.objects.count() == 1
    entry.refresh_from_db()
    assert entry.actor == operator
    assert entry.actor_name == "otto-operator"
    assert entry.context == "system"
    assert entry.request_id is None
    assert entry.connection_name == "Contoso PSA"
    assert entry.operation == "Create Connection Offer Mapping"
    assert entry.object_type == "auth.group"
    assert entry.object_id == str(group.pk)
    assert entry.object_repr == "Contoso admins"
    assert entry.status == "succeeded"
    assert entry.before is None
    assert entry.after == {"name": "Contoso admins", "seats": 12}
    assert entry.details == {"autotask_id": 29683812}
    assert str(entry) == "Create Connection Offer Mapping Contoso admins (succeeded)"


def test_history_survives_deleting_the_user_and_the_object(operator):
    group = Group.objects.create(name="Fabrikam admins")
    entry = audit_record(operation="Delete Group", obj=group, user=operator)

    group.delete()
    operator.delete()

    entry.refresh_from_db()
    assert entry.actor is None
    assert entry.actor_name == "otto-operator"
    assert entry.object_type == "auth.group"
    assert entry.object_repr == "Fabrikam admins"


def test_explicit_object_fields_and_actor_name_win():
    entry = audit_record(
        operation="Export Contract",
        object_type="autotask.contract",
        object_id=7001,
        object_repr="Microsoft 365 E3 (monthly) - Contoso",
        actor_name="scheduler",
        context="worker",
        status="failed",
        details={"error": "HTTP 429"},
    )
    entry.refresh_from_db()
    assert (entry.object_type, entry.object_id, entry.object_repr) == (
        "autotask.contract",
        "7001",
        "Microsoft 365 E3 (monthly) - Contoso",
    )
    assert (entry.actor, entry.actor_name, entry.context, entry.status) == (
        None,
        "scheduler",
        "worker",
        "failed",
    )


def test_a_no_op_change_writes_nothing():
    before = {"name": "Contoso", "start": dt.date(2025, 3, 1), "price": Decimal("9.90")}
    # The same values as they read back from JSON: still no change.
    after = {"name": "Contoso", "start": "2025-03-01", "price": "9.90"}

    assert audit_record(operation="Change Organization Mapping", before=before, after=after) is None
    assert AuditEntry.objects.count() == 0


def test_a_failed_attempt_is_written_even_without_a_change():
    entry = audit_record(
        operation="Change Organization Mapping",
        before={"company": 1},
        after={"company": 1},
        status="failed",
        details={"error": "Company is inactive"},
    )
    assert entry is not None
    assert AuditEntry.objects.count() == 1


def test_an_entry_without_before_and_after_is_written():
    entry = audit_record(operation="Import Billing Report", object_repr="February 2025")
    assert entry.before is None
    assert entry.after is None
    assert AuditEntry.objects.count() == 1


def test_secrets_are_redacted_at_any_depth():
    entry = audit_record(
        operation="Change Connection",
        before={"name": "Acme", "secret": "old-secret", "options": {"api_token": "t-1"}},
        after={"name": "Acme", "secret": "new-secret", "options": {"api_token": "t-2"}},
        details={
            "connection": {"username": "api@acme.example", "APISecret": "s3"},
            "attempts": [{"Password": "hunter2", "ok": False}, {"note": "retry"}],
            "accessToken": "eyJ0",
            "tokens": ["a", "b"],
            "integration_code": "ABC123",
        },
    )

    entry.refresh_from_db()
    assert entry.before == {
        "name": "Acme",
        "secret": "[redacted]",
        "options": {"api_token": "[redacted]"},
    }
    assert entry.after == {
        "name": "Acme",
        "secret": "[redacted]",
        "options": {"api_token": "[redacted]"},
    }
    assert entry.details == {
        "connection": {"username": "api@acme.example", "APISecret": "[redacted]"},
        "attempts": [{"Password": "[redacted]", "ok": False}, {"note": "retry"}],
        "accessToken": "[redacted]",
        "tokens": "[redacted]",
        "integration_code": "ABC123",
    }


def test_updates_are_refused():
    entry = AuditEntryFactory(operation="Export Contract", object_repr="Contoso")

    entry.operation = "Something else"
    with pytest.raises(AuditEntryReadOnlyError):
        entry.save()
    with pytest.raises(AuditEntryReadOnlyError):
        AuditEntry.objects.get(pk=entry.pk).save(update_fields=["operation"])
    with pytest.raises(AuditEntryReadOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(operation="Something else")
    with pytest.raises(AuditEntryReadOnlyError):
        AuditEntry.objects.update_or_create(pk=entry.pk, defaults={"operation": "Other"})

    assert AuditEntry.objects.get(pk=entry.pk).operation == "Export Contract"


def test_deletes_are_refused():
    entry = AuditEntryFactory()

    with pytest.raises(AuditEntryReadOnlyError):
        entry.delete()
    with pytest.raises(AuditEntryReadOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditEntryReadOnlyError):
        AuditEntry.objects.all().delete()

    assert AuditEntry.objects.count() == 1


def test_the_admin_does_not_offer_audit_entries():
    assert not admin.site.is_registered(AuditEntry)


def test_audit_context_for_workers_and_commands():
    with audit_context(context="cli", actor_name="cli:alice"):
        first = audit_record(operation="Create Connection", object_repr="Acme")
        second = audit_record(operation="Change Connection", object_repr="Acme")
    with audit_context(context="worker", actor_name="scheduler"):
        third = audit_record(operation="Export Contract", object_repr="Contoso")
    outside = audit_record(operation="Import Billing Report", object_repr="March")

    assert (first.context, first.actor_name) == ("cli", "cli:alice")
    assert isinstance(first.request_id, uuid.UUID)
    assert second.request_id == first.request_id
    assert (third.context, third.actor_name) == ("worker", "scheduler")
    assert third.request_id not in (None, first.request_id)
    assert (outside.context, outside.actor_name, outside.request_id) == ("system", "system", None)


def test_a_user_given_to_record_beats_the_context_actor(viewer):
    with audit_context(context="cli", actor_name="cli:root"):
        entry = audit_record(operation="Create Connection", user=viewer)
    assert (entry.actor, entry.actor_name, entry.context) == (viewer, "vera-viewer", "cli")


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        audit_record(operation="Export Contract", status="done")
    with pytest.raises(ValueError):
        audit_record(operation="Export Contract", context="browser")
    with pytest.raises(ValueError):
        audit_record(operation=" ")
    assert AuditEntry.objects.count() == 0


def test_long_texts_are_cut_to_fit():
    entry = audit_record(operation="Export Contract", object_repr="x" * 250)
    entry.refresh_from_db()
    assert entry.object_repr == "x" * 199 + "…"
