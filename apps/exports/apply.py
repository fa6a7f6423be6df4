"""Carry out a stored plan, exactly once.

The main thread owns the database: it marks each operation "sending" before the request
leaves, takes one of the connection's concurrency slots (shared with every process), and
records the result (the ledger entry with the Autotask id, the operation, the audit
entry) before the subscription's next operation starts. Worker threads only speak HTTP,
each with its own client.

Exactly once: a create without an answer is looked up by our key before it is tried
again (`apps.exports.sending`), and an operation found "sending" when a run is started
again after its worker died is looked up first. A subscription whose operation fails is
recorded with the error and the run goes on with the others. Autotask's hourly limit
stops the run (`HourlyLimitReached`) with every unfinished operation still to do.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.autotask.client import AutotaskClient
from apps.autotask.errors import AutotaskError, AutotaskThrottled
from apps.autotask.models import AutotaskService, Connection
from apps.catalog.models import Offer
from apps.exports.choices import (
    ExportItemStatusChoices,
    ExportRunStatusChoices,
    OperationStateChoices,
)
from apps.exports.models import ExportItem, ExportObject, ExportOperation, ExportRun
from apps.exports.planner import Kind
from apps.exports.sending import Outcome, send
from apps.mappings.services import MappingRefused, offer_mapping_set

logger = logging.getLogger(__name__)

AUDIT_OPERATIONS = {
    Kind.CREATE_PRODUCT: "Export Product Created",
    Kind.CREATE_SERVICE: "Export Service Created",
    Kind.CREATE_CONTRACT: "Export Contract Created",
    Kind.ADD_SERVICE_LINE: "Contract Service Line Added",
    Kind.ADJUST_UNITS: "Contract Service Units Adjusted",
    Kind.ADJUST_PRICE: "Contract Service Price Adjusted",
    Kind.CREATE_CHARGE: "Contract Charge Created",
    Kind.UPDATE_CHARGE: "Contract Charge Updated",
    Kind.CORRECT_CHARGE: "Correcting Contract Charge Posted",
    Kind.EXTEND_END_DATE: "Contract End Date Extended",
    Kind.END_CONTRACT: "Contract Ended",
    Kind.RESTORE_DRIFT: "Drifted Value Restored",
}


BUDGET_EVERY = 200  # requests between two looks at Autotask's hourly budget


class RunCancelled(Exception):
    """Someone cancelled the run: no new operation starts."""


class RunTakenOver(Exception):
    """The run is no longer this process's: it was thought dead (no heartbeat for too
    long, e.g. a frozen machine) and another attempt took it over. Stop at once, record
    nothing more: the other attempt looks up what is in flight."""


class HourlyLimitReached(Exception):
    def __init__(self, problem: AutotaskThrottled):
        super().__init__(str(problem))
        self.retry_after = problem.retry_after or 15 * 60


# -- the run's operations (main thread: all database work) ---------------------------------


@dataclass
class _Step:
    op: ExportOperation
    item: ExportItem
    check_first: bool = False


class Applier:
    """Apply the pending operations of ``run``. ``clients`` make one client per worker
    thread; ``limiter`` is the connection's shared concurrency limiter (or None);
    ``on_progress(done, total)`` is called as operations finish; ``after_send(op)`` runs
    right after a request came back, before anything is recorded (tests kill the run
    there); ``budget()`` reads Autotask's hourly budget (raising `AutotaskThrottled` when
    it is spent); ``cancelled()`` says whether someone cancelled the run (checked before
    each request: what is in flight finishes and is recorded)."""

    def __init__(
        self,
        run: ExportRun,
        *,
        clients: list[AutotaskClient],
        limiter=None,
        on_progress: Callable[[int, int], None] | None = None,
        after_send: Callable[[ExportOperation], None] | None = None,
        budget: Callable[[], object] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ):
        self.run = run
        self.budget = budget
        self.cancelled = cancelled or (lambda: False)
        self.sent = 0
        self.stop: Exception | None = None
        self.connection = run.connection
        self.clients = clients
        self.limiter = limiter
        self.on_progress = on_progress or (lambda done, total: None)
        self.after_send = after_send
        self.ids: dict[str, int | None] = {}
        self.done = 0
        self.total = 0
        self.resuming = run.attempts > 1
        self.limit = max(1, self.connection.concurrency_limit)
        self.owner = f"export-{run.pk}:"

    # -- setup -------------------------------------------------------------------

    def _load(self) -> list[deque[_Step]]:
        items = {item.pk: item for item in self.run.items.all()}
        ops = ExportOperation.objects.filter(item__run=self.run).order_by(
            "item__position", "sequence"
        )
        chains: dict[int, deque[_Step]] = {}
        refs = set()
        for op in ops:
            self.total += 1
            if op.state in (OperationStateChoices.DONE,):
                self.done += 1
                self.ids[op.key] = op.autotask_id
                continue
            if op.state in (OperationStateChoices.FAILED, OperationStateChoices.NOT_TRIED):
                continue
            chains.setdefault(op.item_id, deque()).append(_Step(op, items[op.item_id]))
            refs.update(op.plan.get("refs", {}).values())
        for obj in ExportObject.objects.filter(connection=self.connection, key__in=refs):
            self.ids.setdefault(obj.key, obj.autotask_id)
        return [chains[key] for key in sorted(chains, key=lambda pk: items[pk].position)]

    # -- the loop ------------------------------------------------------------------

    def apply(self) -> None:
        if self.limiter is not None:
            # Only one process carries a run on: slots still held in its name were left
            # by an attempt whose process died, and need not wait for their lease.
            self.limiter.release_owner(self.owner)
        chains = self._load()
        shared = [chain for chain in chains if chain[0].item.subscription_id is None]
        others = [chain for chain in chains if chain[0].item.subscription_id is not None]
        self.on_progress(self.done, self.total)
        self._drive(shared, width=1)
        self._drive(others, width=len(self.clients))

    def _drive(self, chains: list[deque[_Step]], *, width: int) -> None:
        """Run the chains (each a subscription's operations, in order) side by side:
        at most ``self.limit`` requests in flight per entity (Autotask's thread limit is
        per endpoint), each holding one of the connection's shared slots."""
        waiting = deque(chains)
        free = deque(self.clients[:width])
        running: dict[Future, tuple[deque[_Step], _Step, AutotaskClient, object]] = {}
        busy: Counter = Counter()
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="export") as pool:
            try:
                self._loop(waiting, free, running, busy, pool)
            finally:
                # Leaving early (an error here, or the process being stopped): what is in
                # flight finishes unrecorded ("sending": looked up when started again),
                # and its slots are given back. A killed process cannot; its slots free
                # themselves when their lease ends.
                for future, (_, _, _, token) in list(running.items()):
                    future.cancel()
                    if token is not None:
                        self.limiter.release(token)

    def _loop(self, waiting, free, running, busy, pool) -> None:
        while waiting or running:
            if self.stop is None:
                self._start_some(waiting, free, running, busy, pool)
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                chain, step, client, token = running.pop(future)
                if token is not None:
                    self.limiter.release(token)
                busy[step.op.entity] -= 1
                free.append(client)
                try:
                    outcome = future.result()
                except AutotaskThrottled as problem:
                    if problem.scope != "hourly":
                        self._fail(chain, step, problem)
                        continue
                    # Left "sending": an attempt may have reached Autotask before the
                    # limit did, so the next one looks it up first.
                    waiting.append(chain)
                    self.stop = self.stop or HourlyLimitReached(problem)
                    continue
                except AutotaskError as problem:
                    self._fail(chain, step, problem)
                    continue
                if self.after_send:
                    self.after_send(step.op)
                self._record(step, outcome)
                chain.popleft()
                if chain:
                    waiting.append(chain)
                else:
                    self._finish_item(step.item)
        if self.stop is not None:
            raise self.stop

    def _within_budget(self) -> bool:
        """Every `BUDGET_EVERY` requests started (and before the first), ask Autotask how
        much of its hourly budget is used: past half, every client slows down; past the
        client's stop share, no new request starts and the run waits."""
        if self.budget is None or self.sent % BUDGET_EVERY:
            return True
        try:
            self.budget()
        except AutotaskThrottled as problem:
            self.stop = HourlyLimitReached(problem)
            return False
        return True

    def _start_some(self, waiting, free, running, busy, pool) -> None:
        """Start every waiting chain whose next operation's entity has a free slot, while
        clients are free. With nothing running and no slot free (other processes hold
        them), wait for one."""
        for _ in range(len(waiting)):
            if not free:
                return
            chain = waiting.popleft()
            step = self._skip_recorded(chain)
            if step is None:
                continue
            entity = step.op.entity
            if busy[entity] >= self.limit:
                waiting.append(chain)
                continue
            if self.cancelled():
                self.stop = RunCancelled()
            if self.stop is not None or not self._within_budget():
                waiting.appendleft(chain)
                return
            token = None
            if self.limiter is not None:
                token = self.limiter.try_acquire(entity, owner=self.owner)
                if token is None and not running:
                    token = self.limiter.acquire(entity, owner=self.owner)
                if token is None:
                    waiting.append(chain)
                    continue
            self.sent += 1
            try:
                self._mark_sending(step)
            except RunTakenOver:
                if token is not None:
                    self.limiter.release(token)
                raise
            busy[entity] += 1
            client = free.popleft()
            running[pool.submit(self._send, client, step)] = (chain, step, client, token)

    def _skip_recorded(self, chain: deque[_Step]) -> _Step | None:
        """The chain's next operation to send; one this run already recorded in the
        ledger (before it could record the operation itself) is completed instead."""
        while chain:
            step = chain[0]
            op = step.op
            entry = None
            if self.resuming:
                entry = ExportObject.objects.filter(
                    connection=self.connection, key=op.key, run=self.run
                ).first()
            if entry is not None and entry.values == op.plan.get("ledger_json"):
                self._complete(step, entry.autotask_id, "Already recorded in the ledger.")
                chain.popleft()
                if not chain:
                    self._finish_item(step.item)
                continue
            return step
        return None

    def _mark_sending(self, step: _Step) -> None:
        op = step.op
        # Sent before, answer unknown: look first. An adjustment of a run started again
        # also works its change out from the units the line has now.
        step.check_first = op.state == OperationStateChoices.SENDING or (
            self.resuming and op.entity == "ContractServiceAdjustments"
        )
        # Only while the run is this attempt's (one statement): a process frozen long
        # enough to be thought dead must not send what the attempt that took over sends.
        marked = ExportOperation.objects.filter(
            pk=op.pk,
            item__run__status=ExportRunStatusChoices.RUNNING,
            item__run__attempts=self.run.attempts,
        ).update(state=OperationStateChoices.SENDING)
        if not marked:
            raise RunTakenOver
        op.state = OperationStateChoices.SENDING

    def _body(self, op: ExportOperation) -> tuple[dict, int | None]:
        plan = op.plan
        body = dict(plan["body"])
        parent_id = plan.get("parent_id")
        for name, key in (plan.get("refs") or {}).items():
            value = self.ids.get(key)
            if value is None:
                raise AutotaskError(f"{key} was not created, so this operation cannot be made.")
            if name == "parent":
                parent_id = value
            else:
                body[name] = value
        return body, parent_id

    def _send(self, client: AutotaskClient, step: _Step) -> Outcome:
        body, parent_id = self._body(step.op)
        return send(client, step.op.plan, body, parent_id, check_first=step.check_first)

    # -- recording -------------------------------------------------------------------

    @transaction.atomic
    def _record(self, step: _Step, outcome: Outcome) -> None:
        op = step.op
        plan = op.plan
        autotask_id = outcome.autotask_id or plan.get("target_id")
        # One INSERT ... ON CONFLICT DO UPDATE: the ledger entry of this key, new or not.
        ExportObject.objects.bulk_create(
            [
                ExportObject(
                    connection=self.connection,
                    key=op.key,
                    entity=plan["entity"],
                    subscription_key=plan.get("subscription_id") or "",
                    autotask_id=autotask_id or self.ids.get(op.key),
                    values=plan.get("ledger_json") or {},
                    created_by_export=True,
                    run=self.run,
                    updated_at=timezone.now(),
                )
            ],
            update_conflicts=True,
            unique_fields=["connection", "key"],
            update_fields=["entity", "autotask_id", "values", "run", "updated_at"],
        )
        self._complete(step, autotask_id, outcome.note)
        if plan["kind"] == Kind.CREATE_SERVICE:
            record_created_service(self.connection, plan, autotask_id)
        audit_record(
            operation=AUDIT_OPERATIONS[plan["kind"]],
            object_type=f"autotask.{plan['entity'].lower()}",
            object_id=autotask_id or "",
            object_repr=plan["reason"][:200],
            before=plan.get("before"),
            after={**(plan.get("after") or {}), "id": autotask_id},
            details={
                "run": self.run.pk,
                "subscription": plan.get("subscription_id"),
                "reason": plan["reason"],
                "price_source": plan.get("price_source", ""),
                "flagged": plan.get("flagged", False),
                "note": outcome.note,
            },
            connection_name=self.connection.name,
        )

    def _complete(self, step: _Step, autotask_id, note: str) -> None:
        op = step.op
        self.ids[op.key] = autotask_id if autotask_id is not None else self.ids.get(op.key)
        ExportOperation.objects.filter(pk=op.pk).update(
            state=OperationStateChoices.DONE,
            autotask_id=autotask_id,
            note=note,
            done_at=timezone.now(),
        )
        op.state = OperationStateChoices.DONE
        if autotask_id is not None:
            ids = step.item.autotask_ids or {}
            ids[op.kind] = autotask_id
            step.item.autotask_ids = ids
        self.done += 1
        self.on_progress(self.done, self.total)

    def _fail(self, chain: deque[_Step], step: _Step, problem: AutotaskError) -> None:
        message = "; ".join(problem.messages) if problem.messages else str(problem)
        with transaction.atomic():
            ExportOperation.objects.filter(pk=step.op.pk).update(
                state=OperationStateChoices.FAILED, error=message, done_at=timezone.now()
            )
            later = [other.op.pk for other in list(chain)[1:]]
            ExportOperation.objects.filter(pk__in=later).update(
                state=OperationStateChoices.NOT_TRIED,
                note="Not tried: an earlier operation of this subscription failed.",
            )
            item = step.item
            item.status = ExportItemStatusChoices.FAILED
            item.error = f"{step.op.plan['label']}: {message}"
            item.save(update_fields=["status", "error", "autotask_ids"])
        audit_record(
            operation=AUDIT_OPERATIONS[step.op.kind],
            status=AuditEntryStatusChoices.FAILED,
            object_type=f"autotask.{step.op.entity.lower()}",
            object_id=step.op.plan.get("target_id") or "",
            object_repr=step.op.plan["reason"][:200],
            after=step.op.plan.get("after"),
            details={
                "run": self.run.pk,
                "subscription": step.op.plan.get("subscription_id"),
                "error": message,
            },
            connection_name=self.connection.name,
        )
        chain.clear()

    def _finish_item(self, item: ExportItem) -> None:
        if item.status == ExportItemStatusChoices.FAILED:
            return
        item.status = ExportItemStatusChoices.DONE
        item.save(update_fields=["status", "autotask_ids"])


def record_created_service(connection: Connection, plan: dict, autotask_id: int) -> None:
    """A service the export created is mapped to its offer, as a person would have."""
    body = plan["body"]
    service, _ = AutotaskService.objects.update_or_create(
        connection=connection,
        autotask_id=autotask_id,
        defaults={
            "name": body["name"],
            "is_active": True,
            "period_type": body["periodType"],
            "unit_price": body.get("unitPrice"),
            "unit_cost": body.get("unitCost"),
            "billing_code_id": body.get("billingCodeID"),
        },
    )
    offer = Offer.objects.filter(pk=plan["ledger_json"].get("offer_pk")).first()
    if offer is None:
        return
    try:
        offer_mapping_set(connection=connection, offer=offer, service=service)
    except MappingRefused:
        logger.warning("The created service %s could not be mapped to %s", autotask_id, offer)
