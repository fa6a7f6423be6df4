"""The concurrency limit per connection and entity, shared through the database.

Each (connection, entity) has `limit` slot rows. A request takes a slot whose holder is
empty (or whose lease expired, if its process died) with one conditional UPDATE, and
frees it afterwards. Every process on every host that uses the same database shares the
same slots, so two workers refreshing one connection never pass the limit together.
Keep Autotask calls outside database transactions, or other processes cannot see the
slot being taken.
"""

import random
import time
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.autotask.errors import AutotaskThrottled
from apps.autotask.models import ConcurrencySlot

HARD_LIMIT = 3  # Autotask's own thread limit per integration code and entity


class DatabaseLimiter:
    def __init__(
        self,
        connection_id: int,
        limit: int,
        *,
        lease_seconds: float = 300.0,
        wait_seconds: float = 600.0,
        poll_seconds: float = 0.02,
    ):
        self.connection_id = connection_id
        self.limit = max(1, min(int(limit), HARD_LIMIT))
        self.lease = timedelta(seconds=lease_seconds)
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds
        self._ready: set[str] = set()
        self._random = random.Random()  # noqa: S311 - polling jitter

    def _ensure_slots(self, entity: str) -> None:
        if entity in self._ready:
            return
        existing = set(
            ConcurrencySlot.objects.filter(
                connection_id=self.connection_id, entity=entity
            ).values_list("slot", flat=True)
        )
        for number in range(1, self.limit + 1):
            if number in existing:
                continue
            try:
                with transaction.atomic():
                    ConcurrencySlot.objects.create(
                        connection_id=self.connection_id, entity=entity, slot=number
                    )
            except IntegrityError:
                pass  # another process made it first
        self._ready.add(entity)

    def try_acquire(self, entity: str, *, owner: str = ""):
        """A free slot of ``entity`` now, or None when all are taken. One statement: the
        first free slot, taken only if it is still free (of two processes choosing the
        same slot, one takes it and the other tries again). ``owner`` prefixes the
        holder, so `release_owner` can give back what a dead process of it held."""
        self._ensure_slots(entity)
        holder = f"{owner}{uuid.uuid4().hex}"
        now = timezone.now()
        free = Q(holder="") | Q(expires_at__lt=now)
        first_free = (
            ConcurrencySlot.objects.filter(
                connection_id=self.connection_id, entity=entity, slot__lte=self.limit
            )
            .filter(free)
            .order_by("slot")
            .values("id")[:1]
        )
        taken = (
            ConcurrencySlot.objects.filter(pk__in=first_free)
            .filter(free)
            .update(holder=holder, expires_at=now + self.lease)
        )
        return holder if taken else None

    def acquire(self, entity: str, *, owner: str = ""):
        """A slot of ``entity``, waiting for one to be free (up to ``wait_seconds``)."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            token = self.try_acquire(entity, owner=owner)
            if token is not None:
                return token
            if time.monotonic() > deadline:
                raise AutotaskThrottled(
                    f"No free request slot for {entity} after {self.wait_seconds:g}s: other "
                    "work is using this connection's concurrency limit.",
                    scope="thread",
                )
            time.sleep(self.poll_seconds * (1 + self._random.random()))

    def release(self, token) -> None:
        ConcurrencySlot.objects.filter(connection_id=self.connection_id, holder=token).update(
            holder="", expires_at=None
        )

    def release_owner(self, owner: str) -> int:
        """Free every slot ``owner`` holds: what a process that died while working for it
        (an export run, carried on by one process at a time) left taken."""
        return ConcurrencySlot.objects.filter(
            connection_id=self.connection_id, holder__startswith=owner
        ).update(holder="", expires_at=None)
