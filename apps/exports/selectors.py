"""Reads for the export pages: a fixed number of queries whatever the number of runs,
items or operations shown."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet

from apps.exports.choices import (
    ACTIVE_STATUSES,
    NEEDS_A_LOOK,
    ExportItemStatusChoices,
    ExportRunStatusChoices,
    OperationStateChoices,
)
from apps.exports.models import ExportItem, ExportOperation, ExportRun
from apps.exports.planner import Kind

KIND_LABELS = {
    Kind.CREATE_PRODUCT: "Create product",
    Kind.CREATE_SERVICE: "Create service",
    Kind.CREATE_CONTRACT: "Create contract",
    Kind.ADD_SERVICE_LINE: "Add service line",
    Kind.ADJUST_UNITS: "Adjust units",
    Kind.ADJUST_PRICE: "Adjust price",
    Kind.CREATE_CHARGE: "Create charge",
    Kind.UPDATE_CHARGE: "Update charge",
    Kind.CORRECT_CHARGE: "Correcting charge",
    Kind.EXTEND_END_DATE: "Extend end date",
    Kind.END_CONTRACT: "End contract",
    Kind.RESTORE_DRIFT: "Restore drifted value",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def export_run_list() -> QuerySet[ExportRun]:
    return ExportRun.objects.select_related(
        "connection", "report", "organization", "subscription__offer"
    )


def runs_per_status(runs: QuerySet[ExportRun]) -> list[dict]:
    """How many of ``runs`` ended (or stand) in each status, in the statuses' order."""
    counted = dict(runs.order_by().values_list("status").annotate(n=Count("id")))
    return [
        {"status": value, "label": label, "count": counted[value]}
        for value, label in ExportRunStatusChoices.choices
        if counted.get(value)
    ]


def export_run_detail(pk: int) -> ExportRun:
    return export_run_list().select_related("preview", "requested_by").get(pk=pk)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    percent: int
    failed: int
    kinds: list[dict]  # {"kind", "label", "planned", "done"}


def export_run_progress(run: ExportRun) -> Progress:
    """Operations done of the planned total, and per kind (one query)."""
    rows = (
        ExportOperation.objects.filter(item__run=run)
        .values("kind")
        .annotate(
            planned=Count("id"),
            done=Count("id", filter=Q(state=OperationStateChoices.DONE)),
            failed=Count("id", filter=Q(state=OperationStateChoices.FAILED)),
        )
        .order_by("kind")
    )
    kinds = [
        {"kind": row["kind"], "label": kind_label(row["kind"]), "planned": row["planned"],
         "done": row["done"], "failed": row["failed"]}
        for row in rows
    ]  # fmt: skip
    total = sum(row["planned"] for row in kinds)
    done = sum(row["done"] for row in kinds)
    if run.status == ExportRunStatusChoices.SUCCEEDED and not run.dry_run:
        percent = 100
    else:
        percent = int(done * 100 / total) if total else 0
    return Progress(done, total, percent, sum(row["failed"] for row in kinds), kinds)


def export_run_organizations(run: ExportRun) -> list[dict]:
    """The run's organizations with their items per status (one query), by name."""
    rows = (
        ExportItem.objects.filter(run=run, organization__isnull=False)
        .values("organization_id", name=F("organization__name"))
        .annotate(
            items=Count("id"),
            failed=Count("id", filter=Q(status=ExportItemStatusChoices.FAILED)),
            skipped=Count("id", filter=Q(status=ExportItemStatusChoices.SKIPPED)),
        )
        .order_by("name", "organization_id")
    )
    return list(rows)


def export_run_items(run: ExportRun, *, organization_id=None, status: str = "") -> QuerySet:
    """The run's items in the order the page groups them (shared work first, then by
    organization), each with its operations (one more query per page)."""
    items = ExportItem.objects.filter(run=run).select_related("organization", "subscription__offer")
    if organization_id:
        items = items.filter(organization_id=organization_id)
    if status:
        items = items.filter(status=status)
    return items.order_by(
        F("organization__name").asc(nulls_first=True), "organization_id", "position"
    ).prefetch_related("operations")


def runs_needing_a_look(limit: int = 10) -> list[ExportRun]:
    return list(
        export_run_list().filter(dry_run=False, status__in=NEEDS_A_LOOK, reviewed_at__isnull=True)[
            :limit
        ]
    )


def active_runs(limit: int = 10) -> list[ExportRun]:
    return list(export_run_list().filter(status__in=ACTIVE_STATUSES, dry_run=False)[:limit])
