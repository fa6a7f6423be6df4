"""A run's plan: read what it needs (syncadmin's database and, in bulk, Autotask), plan,
and store the plan as items and operations before anything is written."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Subscription
from apps.exports.choices import ExportItemStatusChoices
from apps.exports.inputs import (
    Scope,
    export_settings,
    ledger_for,
    mappings_for,
    missing_subscriptions,
    subscription_facts,
)
from apps.exports.models import ExportItem, ExportOperation, ExportRun
from apps.exports.planner import Plan, plan_export
from apps.exports.snapshot import read_snapshot


def to_json(value):
    """Plan values as stored (dates ISO, money as text)."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def stored_plan(op) -> dict:
    """An `Operation` as an `ExportOperation.plan`."""
    return {
        "kind": op.kind,
        "label": op.label,
        "entity": op.entity,
        "is_create": op.is_create,
        "body": to_json(op.body),
        "refs": op.refs,
        "parent_id": op.parent_id,
        "target_id": op.target_id,
        "subscription_id": op.subscription_id,
        "organization": op.organization,
        "reason": op.reason,
        "before": to_json(op.before),
        "after": to_json(op.after),
        "price_source": op.price_source,
        "flagged": op.flagged,
        "ledger_json": to_json(op.ledger or {}),
    }


def plan_digest(plan: Plan) -> str:
    """A fingerprint of what the plan writes (each operation's kind, key, target and body,
    in order): two plans with the same digest make the same requests. The reasons and
    before values are left out, so only a change of what gets written counts."""
    writes = []
    for ops in [plan.shared, *(item.operations for item in plan.items)]:
        for op in ops:
            writes.append([op.kind, op.key, op.entity, op.parent_id, op.target_id,
                           op.refs, to_json(op.body)])  # fmt: skip
    text = json.dumps(writes, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_for(run: ExportRun, client) -> Plan:
    """Read the inputs and the Autotask snapshot, and plan."""
    connection = run.connection
    scope = Scope(run.report, run.scope, run.organization, run.subscription)
    facts = subscription_facts(connection, scope)
    mappings = mappings_for(connection)
    settings = export_settings(connection)
    present = {f.subscription_id for f in facts}
    snapshot = read_snapshot(
        client,
        month=run.report.month,
        subscriptions=facts,
        mapped_contracts=mappings.contracts,
        mapped_offers=set(mappings.services),
        key_udf=settings.key_udf,
    )
    return plan_export(
        month=run.report.month,
        subscriptions=facts,
        mappings=mappings,
        settings=settings,
        snapshot=snapshot,
        ledger=ledger_for(connection, sorted(present)),
        missing=missing_subscriptions(connection, scope, present),
    )


@transaction.atomic
def store_plan(run: ExportRun, plan: Plan) -> None:
    """The plan as items and operations, counted on the run."""
    items = []
    if plan.shared:
        items.append((ExportItem(run=run, position=0, label="Products and services"), plan.shared))
    for position, item in enumerate(plan.items, start=1):
        status = (
            ExportItemStatusChoices.SKIPPED
            if item.skip
            else ExportItemStatusChoices.PLANNED
            if item.operations
            else ExportItemStatusChoices.UNCHANGED
        )
        items.append(
            (
                ExportItem(
                    run=run,
                    position=position,
                    label=item.label[:255],
                    status=status,
                    reason=item.reason,
                    notes=item.notes,
                    subscription=None,
                ),
                item,
            )
        )
    subscription_ids = {
        item.subscription_id for item in plan.items if item.subscription_id is not None
    }
    known = {
        subscription_id: (pk, organization_id)
        for subscription_id, pk, organization_id in Subscription.objects.filter(
            subscription_id__in=subscription_ids
        ).values_list("subscription_id", "pk", "organization_id")
    }
    for model, item in items[1 if plan.shared else 0 :]:
        model.subscription_id, model.organization_id = known.get(item.subscription_id, (None, None))
    ExportItem.objects.bulk_create([model for model, _ in items])
    saved = {item.position: item for item in run.items.all()}
    operations = []
    for model, source in items:
        ops = source if isinstance(source, list) else source.operations
        for sequence, op in enumerate(ops, start=1):
            operations.append(
                ExportOperation(
                    item=saved[model.position],
                    sequence=sequence,
                    kind=op.kind,
                    key=op.key,
                    entity=op.entity,
                    plan=stored_plan(op),
                )
            )
    ExportOperation.objects.bulk_create(operations, batch_size=500)
    run.counts = plan.counts()
    run.skipped = len(plan.skipped())
    run.planned_at = timezone.now()
    run.plan_digest = plan_digest(plan)
    run.save(update_fields=["counts", "skipped", "planned_at", "plan_digest"])
