"""A stored plan in words: what each organization's subscriptions will get, and why."""

from itertools import groupby

from apps.catalog.prices.rules import ResolvedPriceSource
from apps.exports.models import ExportItem, ExportRun


def counts_in_words(counts: dict[str, int]) -> str:
    """Operations per kind as the command prints them: "2 add service line, 3 create
    contract" (by kind), "" for none."""
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items()))


def plan_lines(run: ExportRun) -> list[str]:
    """The run's plan as text, grouped by organization (shared work first)."""
    items = list(
        ExportItem.objects.filter(run=run)
        .select_related("organization")
        .prefetch_related("operations")
        .order_by("position")
    )
    lines = [f"Plan of export #{run.pk}: {run.report} to {run.connection}"]

    def organization(item: ExportItem) -> str:
        if item.position == 0:
            return "Shared"
        return item.organization.name if item.organization else item.label.split(" - ")[-1]

    for name, group in groupby(items, key=organization):
        lines.append("")
        lines.append(name)
        for item in group:
            lines.append(f"  {item.label}")
            if item.reason:
                lines.append(f"    skipped: {item.reason}")
            for op in item.operations.all():
                plan = op.plan
                flag = " [flagged]" if plan.get("flagged") else ""
                lines.append(f"    {plan['label']}{flag}: {plan['reason']}")
            for note in item.notes:
                lines.append(f"    note: {note}")
    total = sum(run.counts.values())
    kinds = counts_in_words(run.counts)
    lines.append("")
    lines.append(f"{total} operation(s){': ' + kinds if kinds else ''}; {run.skipped} skipped.")
    return lines


def operation_changes(plan: dict) -> list[dict]:
    """An operation's before and after, one row per field it writes (for the run page).
    A create has no before: its rows are the values it writes."""
    before = plan.get("before") or {}
    after = plan.get("after") or {}
    rows = []
    for name in list(dict.fromkeys([*before, *after])):
        old, new = before.get(name), after.get(name)
        rows.append({"field": name, "before": "—" if old is None else old,
                     "after": "—" if new is None else new,
                     "changed": bool(before) and old != new})  # fmt: skip
    return rows


def price_source_label(value: str) -> str:
    """Where a price came from, in words ("Connection's default markup")."""
    try:
        return ResolvedPriceSource(value).label
    except ValueError:
        return value


def page_items(page) -> list[ExportItem]:
    """The page's items, each operation with its changes and price source in words."""
    items = list(page.object_list)
    for item in items:
        item.shown_operations = [
            (op, operation_changes(op.plan), price_source_label(op.plan.get("price_source", "")))
            for op in item.operations.all()
        ]
    return items
