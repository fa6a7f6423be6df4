"""Mapping files in: parse, check every row, and plan the changes.

UTF-8 with or without a byte order mark; comma- or semicolon-separated (what Excel writes
where the comma is the decimal mark), told apart by the header. Columns are found by
name, so their order does not matter and extra columns are ignored. Rules are checked
only on rows that change something: a file downloaded and uploaded again changes nothing,
even where a mapped company has since become inactive."""

import csv
import io
from dataclasses import dataclass

from apps.autotask.models import Connection
from apps.catalog.models import Offer, Organization
from apps.mappings.mapping_files.plan import (
    CHANGE,
    CREATE,
    HEADERS,
    KINDS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    OFFERS,
    SPECS,
    UNMAP,
    Change,
    Kind,
    MappingFilePlan,
)
from apps.mappings.models import OfferMapping
from apps.mappings.services import MappingRefused, offer_key

CHUNK_SIZE = 2000


@dataclass(frozen=True)
class Row:
    line: int
    key: str
    target_id: int | None


def read_mapping_file(
    connection: Connection, kind: str | None, uploaded_bytes: bytes
) -> MappingFilePlan:
    """The plan for ``uploaded_bytes`` on ``connection``: its changes, or its errors (each
    with its line and the value at fault). ``kind`` None: told by the header."""
    plan = MappingFilePlan(connection=connection, kind=kind or KINDS[0])
    if len(uploaded_bytes) > MAX_FILE_BYTES:
        plan.error(
            None,
            "",
            f"The file is {len(uploaded_bytes) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB. Split it and upload the parts one by one.",
        )
        return plan
    text = _decoded(uploaded_bytes, plan)
    records = _records(text, plan) if text is not None else []
    if not records:
        if not plan.errors:
            plan.error(None, "", "The file is empty.")
        return plan
    columns = _columns(records[0][1], kind, plan)
    if columns is None:
        return plan
    rows = _rows(records[1:], columns, plan)
    if rows is not None:
        _plan_rows(plan, rows)
    return plan


# -- the text -------------------------------------------------------------------------------


def _decoded(data: bytes, plan: MappingFilePlan) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        plan.error(
            data.count(b"\n", 0, problem.start) + 1,
            "",
            "The file is not UTF-8 text. In Excel, save it as “CSV UTF-8 (Comma delimited)”; "
            "elsewhere, choose the UTF-8 encoding; then upload it again.",
        )
        return None


def _records(text: str, plan: MappingFilePlan) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank record, the header first."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((reader.line_num, cells))
            if len(records) > MAX_ROWS + 1:
                plan.error(
                    None,
                    "",
                    f"The file has more than {MAX_ROWS:,} rows; split it and upload the "
                    "parts one by one.",
                )
                return []
    except csv.Error as problem:
        plan.error(reader.line_num, "", f"This line cannot be read as CSV: {problem}.")
        return []
    return records


def _plain(cell: str) -> str:
    """A cell without spaces around it and without the apostrophe a download puts before
    a value a spreadsheet would take for a formula."""
    cell = cell.strip()
    return cell[1:].strip() if cell.startswith("'") else cell


def _columns(header: list[str], kind: str | None, plan: MappingFilePlan) -> dict | None:
    names = [_plain(cell).lower().replace(" ", "_") for cell in header]
    told = [name for name in KINDS if SPECS[name].key_column in names]
    layouts = " or ".join(f"{','.join(HEADERS[name])} ({name})" for name in KINDS)
    if len(told) != 1:
        plan.error(1, "", f"The first line must be the header: {layouts}.")
        return None
    if kind is not None and told[0] != kind:
        plan.error(
            1,
            "",
            f"This is a file of {told[0]} (its header has {SPECS[told[0]].key_column}), "
            f"not of {kind}: upload it on the {told[0].capitalize()} screen.",
        )
        return None
    plan.kind = told[0]
    spec = plan.spec
    doubled = sorted({name for name in names if name and names.count(name) > 1})
    if doubled:
        plan.error(1, ", ".join(doubled), "The header names a column twice.")
        return None
    if spec.target_column not in names:
        plan.error(1, "", f"The header has no {spec.target_column} column: {layouts}.")
        return None
    return {"key": names.index(spec.key_column), "target": names.index(spec.target_column),
            "width": len(names)}  # fmt: skip


def _rows(records, columns: dict, plan: MappingFilePlan) -> list[Row] | None:
    spec = plan.spec
    rows = []
    for line, cells in records:
        plan.rows += 1
        if any(cell.strip() for cell in cells[columns["width"] :]):
            plan.error(
                line,
                "",
                f"This line has {len(cells)} cells but the header {columns['width']}: is a "
                "name with a comma or semicolon missing its quotes?",
            )
            continue
        if len(cells) <= max(columns["key"], columns["target"]):
            # A blank cell unmaps; a missing one is a damaged line, not a wish to unmap.
            plan.error(
                line,
                "",
                f"This line has {len(cells)} cells but the header {columns['width']}; leave "
                f"the {spec.target_column} cell blank to unmap, but keep it.",
            )
            continue
        key = _plain(cells[columns["key"]])
        target = _plain(cells[columns["target"]])
        if not key:
            plan.error(line, "", f"The {spec.key_column} is missing.")
        elif spec.name == OFFERS and key.count(":") != 4:
            plan.error(line, key, "This is not an offer key: PRODUCT:SKU:AVAILABILITY:TERM:PLAN.")
        elif target and not (target.isascii() and target.isdigit()):
            plan.error(
                line,
                target,
                f"The {spec.target_column} must be an Autotask id (a whole number), or blank "
                "to unmap.",
            )
        else:
            rows.append(Row(line=line, key=key, target_id=int(target) if target else None))
    return rows


# -- the database ---------------------------------------------------------------------------


def _chunks(values) -> list[list]:
    values = sorted(set(values))
    return [values[start : start + CHUNK_SIZE] for start in range(0, len(values), CHUNK_SIZE)]


def _sources(spec: Kind, keys: list[str]) -> dict:
    found = {}
    if spec.name == OFFERS:
        for products in _chunks(key.split(":", 1)[0] for key in keys):
            offers = Offer.objects.filter(product_id__in=products)
            found.update({offer_key(offer): offer for offer in offers})
    else:
        for chunk in _chunks(keys):
            found.update(Organization.objects.in_bulk(chunk, field_name="customer_id"))
    return found


def _targets(spec: Kind, connection: Connection, ids: list[int]) -> dict:
    found = {}
    for chunk in _chunks(ids):
        rows = spec.target_model.objects.filter(connection=connection, autotask_id__in=chunk)
        found.update({row.autotask_id: row for row in rows})
    return found


def _current(spec: Kind, connection: Connection, source_pks: list[int]) -> dict:
    """Source pk → the company or service it maps to now."""
    found = {}
    for chunk in _chunks(source_pks):
        mappings = spec.mapping_model.objects.filter(
            connection=connection, **{f"{spec.source_field}_id__in": chunk}
        ).select_related(spec.target_field)
        found.update(
            {getattr(m, f"{spec.source_field}_id"): getattr(m, spec.target_field) for m in mappings}
        )
    return found


def _holders(connection: Connection, service_pks: list[int]) -> dict[int, Offer]:
    """Service pk → the offer it is mapped to now."""
    found = {}
    for chunk in _chunks(service_pks):
        mappings = OfferMapping.objects.filter(
            connection=connection, service_id__in=chunk
        ).select_related("offer")
        found.update({mapping.service_id: mapping.offer for mapping in mappings})
    return found


# -- the plan -------------------------------------------------------------------------------


def _plan_rows(plan: MappingFilePlan, rows: list[Row]) -> None:
    spec, connection = plan.spec, plan.connection
    sources = _sources(spec, [row.key for row in rows])
    targets = _targets(spec, connection, [row.target_id for row in rows if row.target_id])
    current = _current(spec, connection, [source.pk for source in sources.values()])
    key_lines: dict[str, int] = {}
    target_lines: dict[int, int] = {}
    for row in rows:
        if row.key in key_lines:
            plan.error(
                row.line,
                row.key,
                f"This {spec.source_noun} is also on line {key_lines[row.key]}; each may be "
                "in the file once.",
            )
            continue
        key_lines[row.key] = row.line
        source = sources.get(row.key)
        if source is None:
            plan.error(row.line, row.key, f"There is no {spec.source_noun} with this key.")
            continue
        target = targets.get(row.target_id) if row.target_id else None
        if row.target_id and target is None:
            plan.error(
                row.line,
                str(row.target_id),
                f"There is no {spec.target_noun} with this id in {connection.name}'s copy of "
                "Autotask; refresh the connection if it is new.",
            )
            continue
        if spec.name == OFFERS and target is not None:
            if target.pk in target_lines:
                plan.error(
                    row.line,
                    str(row.target_id),
                    f"This service is also on line {target_lines[target.pk]}; a service maps "
                    "to one offer only.",
                )
                continue
            target_lines[target.pk] = row.line
        _plan_row(plan, row, source, current.get(source.pk), target)
    if spec.name == OFFERS:
        _check_service_holders(plan)
        plan.changes = _in_safe_order(plan)


def _plan_row(plan: MappingFilePlan, row: Row, source, before, after) -> None:
    plan.observed[source.pk] = before.pk if before else None
    plan.lines[source.pk] = row.line
    if (before.pk if before else None) == (after.pk if after else None):
        plan.unchanged += 1
        return
    if after is None:
        action = UNMAP
    else:
        try:
            plan.spec.check(plan.connection, source, after)
        except MappingRefused as refusal:
            plan.error(row.line, str(row.target_id), str(refusal))
            return
        action = CREATE if before is None else CHANGE
    plan.changes.append(
        Change(line=row.line, action=action, key=row.key, source=source, before=before,
               after=after)
    )  # fmt: skip


def _check_service_holders(plan: MappingFilePlan) -> None:
    """A service the file gives an offer may still be mapped to another offer: fine if the
    file changes that offer too, refused if it leaves it as it is."""
    holders = _holders(plan.connection, [c.after.pk for c in plan.changes if c.after])
    for change in plan.changes:
        holder = holders.get(change.after.pk) if change.after else None
        if holder is not None and holder.pk != change.source.pk and holder.pk not in plan.lines:
            plan.error(
                change.line,
                str(change.after.autotask_id),
                f"Service {change.after.autotask_id} ({change.after.name}) is mapped to the "
                f"offer {offer_key(holder)} ({holder}), which this file leaves as it is; a "
                "service maps to one offer only. Add that offer's row (with another "
                "service_id, or blank to unmap it), or choose another service.",
            )
    plan.holders = {pk: offer.pk for pk, offer in holders.items()}


def _in_safe_order(plan: MappingFilePlan) -> list[Change]:
    """The offers' changes in an order the one-offer-per-service constraint accepts: an
    offer takes a service after the offer holding it has let go. Offers that swap services
    cannot be ordered and are refused."""
    by_source = {change.source.pk: change for change in plan.changes}

    def waits_for(change: Change) -> Change | None:
        holder = plan.holders.get(change.after.pk) if change.after else None
        return by_source.get(holder) if holder != change.source.pk else None

    ordered, placed = [], set()
    for change in plan.changes:
        chain: list[Change] = []
        link = change
        while link is not None and link.source.pk not in placed:
            pks = [item.source.pk for item in chain]
            if link.source.pk in pks:
                lines = sorted(item.line for item in chain[pks.index(link.source.pk) :])
                plan.error(
                    lines[0],
                    "",
                    f"The offers on lines {', '.join(map(str, lines))} swap services; a service "
                    "maps to one offer at a time, so make the swap in two uploads (the first "
                    "unmaps one of them).",
                )
                break
            chain.append(link)
            link = waits_for(link)
        for item in reversed(chain):
            ordered.append(item)
            placed.add(item.source.pk)
    return ordered
