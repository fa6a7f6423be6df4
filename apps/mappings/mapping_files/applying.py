"""Apply a mapping file's plan: all or nothing, one transaction, each changed row through
the mapping services (so one audit entry each, none for an unchanged row)."""

from django.db import transaction

from apps.mappings.mapping_files.plan import UNMAP, Change, MappingFilePlan, MappingFileRefused
from apps.mappings.services import MappingRefused, mapping_delete

CHUNK_SIZE = 2000


def apply_mapping_file(plan: MappingFilePlan, user=None) -> dict[str, int]:
    """Make the plan's changes and return their counts (created, changed, unmapped,
    unchanged). Refused as a whole (MappingFileRefused, nothing changed) when the plan has
    errors, when a mapping the file names changed since the plan was made, or when a rule
    refuses a row now."""
    if not plan.can_apply:
        raise MappingFileRefused(
            f"The file has {len(plan.errors) + plan.more_errors} error(s); nothing was "
            "changed. Correct them and upload it again."
        )
    with transaction.atomic():
        current = _locked_mappings(plan)
        _refuse_if_changed(plan, current)
        for change in plan.changes:
            _apply(plan, change, current.get(change.source.pk), user)
    return plan.counts()


def _locked_mappings(plan: MappingFilePlan) -> dict:
    """Source pk → its mapping now, locked until the transaction ends (PostgreSQL)."""
    spec = plan.spec
    sources = sorted(plan.observed)
    found = {}
    for start in range(0, len(sources), CHUNK_SIZE):
        mappings = (
            spec.mapping_model.objects.select_for_update(of=("self",))
            .filter(
                connection=plan.connection,
                **{f"{spec.source_field}_id__in": sources[start : start + CHUNK_SIZE]},
            )
            .select_related(spec.source_field, spec.target_field, "connection")
        )
        found.update({getattr(m, f"{spec.source_field}_id"): m for m in mappings})
    return found


def _refuse_if_changed(plan: MappingFilePlan, current: dict) -> None:
    target_field = f"{plan.spec.target_field}_id"
    for source_pk, seen in plan.observed.items():
        mapping = current.get(source_pk)
        if (getattr(mapping, target_field) if mapping else None) != seen:
            raise MappingFileRefused(
                f"The mapping on line {plan.lines[source_pk]} changed since the file was "
                "checked; nothing was changed. Upload the file again to see what it would "
                "change now."
            )


def _apply(plan: MappingFilePlan, change: Change, mapping, user) -> None:
    try:
        if change.action == UNMAP:
            mapping_delete(mapping=mapping, user=user)
        else:
            plan.spec.write(plan.connection, change.source, change.after, user)
    except MappingRefused as refusal:
        raise MappingFileRefused(f"Line {change.line}: {refusal} Nothing was changed.") from None
