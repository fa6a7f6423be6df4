"""Writes for the audit log: ``audit_record`` is the one call every change goes through.

Who and where come from the *audit context*, a context variable: the request middleware
sets it for every web request (context "web", the signed-in user, a request id), and
workers and management commands set it with ``audit_context(...)``. Outside any context
an entry is recorded as "system".
"""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from apps.audit.choices import AuditEntryContextChoices, AuditEntryStatusChoices
from apps.audit.models import AuditEntry

REDACTED = "[redacted]"
# A key whose name contains one of these (in any case) never has its value stored.
SECRET_KEY_PARTS = ("secret", "password", "token")


@dataclass(frozen=True)
class AuditState:
    """Who is acting and where, for every entry recorded while it is current."""

    context: str
    actor_name: str | None = None
    user: Any = None
    request_id: uuid.UUID | None = None


_audit_state: ContextVar[AuditState | None] = ContextVar("audit_state", default=None)


def audit_state_current() -> AuditState | None:
    """The audit context in force, or None outside any request, task or command."""
    return _audit_state.get()


@contextmanager
def audit_context(
    *,
    context: str,
    actor_name: str | None = None,
    user: Any = None,
    request_id: uuid.UUID | None = None,
) -> Iterator[AuditState]:
    """Record every entry inside the block with this context and actor.

    For workers and management commands, for example
    ``with audit_context(context="worker", actor_name="scheduler"): ...`` or
    ``audit_context(context="cli", actor_name=f"cli:{getpass.getuser()}")``. Entries in one
    block share a request id: the one given, else the enclosing block's, else a new one.
    """
    context = AuditEntryContextChoices(context).value
    outer = _audit_state.get()
    if request_id is None:
        request_id = outer.request_id if outer and outer.request_id else uuid.uuid4()
    state = AuditState(context=context, actor_name=actor_name, user=user, request_id=request_id)
    token = _audit_state.set(state)
    try:
        yield state
    finally:
        _audit_state.reset(token)


def audit_record(
    *,
    operation: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
    status: str = AuditEntryStatusChoices.SUCCEEDED,
    before: Any = None,
    after: Any = None,
    details: dict | None = None,
    user: Any = None,
    actor_name: str | None = None,
    context: str | None = None,
    connection_name: str = "",
) -> AuditEntry | None:
    """Write one audit entry, or nothing for a change that changed nothing.

    ``obj`` fills ``object_type`` (model label), ``object_id`` (pk) and ``object_repr``
    (``str(obj)``) unless they are given. ``before``/``after``/``details`` are stored as
    JSON (dates, decimals and UUIDs as text) with every value under a key naming a secret,
    password or token replaced by "[redacted]", at any depth.

    A succeeded change whose ``before`` equals ``after`` (both given) writes nothing and
    returns None. A failed operation is always written.

    The actor is ``actor_name`` if given, else ``user``'s user name, else the audit
    context's actor (``user`` defaults to the signed-in user of the current request).
    ``context`` defaults to the audit context's ("system" outside one).

    The entry is written in the caller's transaction: record a failure after rolling
    back, or it is rolled back with the work it describes.
    """
    if not operation or not operation.strip():
        raise ValueError("An audit entry needs an operation.")
    status = AuditEntryStatusChoices(status).value
    before = _as_json(before)
    after = _as_json(after)
    if (
        status == AuditEntryStatusChoices.SUCCEEDED
        and before is not None
        and after is not None
        and before == after
    ):
        return None

    state = _audit_state.get()
    if context is None:
        context = state.context if state else AuditEntryContextChoices.SYSTEM
    context = AuditEntryContextChoices(context).value
    if user is None and state is not None:
        user = state.user
    if not getattr(user, "is_authenticated", False):
        user = None
    if actor_name is None:
        if user is not None:
            actor_name = user.get_username()
        elif state is not None and state.actor_name:
            actor_name = state.actor_name
        else:
            actor_name = context

    if obj is not None:
        if object_type is None:
            object_type = obj._meta.label_lower
        if object_id is None and obj.pk is not None:
            object_id = obj.pk
        if object_repr is None:
            object_repr = str(obj)

    return AuditEntry.objects.create(
        actor=user,
        actor_name=_clip(actor_name, "actor_name"),
        context=context,
        request_id=state.request_id if state else None,
        connection_name=_clip(connection_name, "connection_name"),
        operation=_clip(operation, "operation"),
        object_type=_clip(object_type, "object_type"),
        object_id=_clip(object_id, "object_id"),
        object_repr=_clip(object_repr, "object_repr"),
        status=status,
        before=_redact(before),
        after=_redact(after),
        details=_redact(_as_json(details)) or {},
    )


def _as_json(value: Any) -> Any:
    """``value`` as it will read back from the database, so comparisons are fair."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _is_secret(key: Any) -> bool:
    name = str(key).lower()
    return any(part in name for part in SECRET_KEY_PARTS)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret(key) else _redact(inner) for key, inner in value.items()
        }
    if isinstance(value, list):
        return [_redact(item) for item in value]
    return value


def _clip(value: Any, field_name: str) -> str:
    """Plain text for a CharField, cut to fit (an audit entry is never refused for length)."""
    text = "" if value is None else str(value)
    max_length = AuditEntry._meta.get_field(field_name).max_length
    return text if len(text) <= max_length else text[: max_length - 1] + "…"
