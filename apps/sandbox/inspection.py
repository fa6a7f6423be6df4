"""`/_sandbox/...`: reset, seed, look inside, and set faults. Only the sandbox has these."""

import datetime as dt
import json

from apps.sandbox.body import blank_record, merge_udfs
from apps.sandbox.schema import ENTITIES_BY_LOWER
from apps.sandbox.seed import SEEDS, seed_store
from apps.sandbox.values import ApiError, coerce


def _json(body: bytes) -> dict:
    if not body.strip():
        return {}
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def inspect(app, method: str, segments: list[str], path: str, body: bytes):
    from apps.sandbox.app import Response

    try:
        data = _json(body)
    except ValueError as problem:
        return Response(400, {"errors": [f"Invalid JSON: {problem}"]})
    try:
        return _inspect(app, method, segments, data)
    except (KeyError, TypeError, ValueError) as problem:
        return Response(400, {"errors": [str(problem)]})


def _inspect(app, method, segments, data):
    from apps.sandbox.app import Response

    store = app.store
    key = "/".join(segments[:1])
    if key == "reset" and method == "POST":
        seed = data.get("seed", "empty")
        if seed not in SEEDS:
            raise ValueError(f"seed must be one of {sorted(SEEDS)}")
        with store.lock:
            store.clear()
            seed_store(store, seed)
        app.log.clear()
        app.limits.__init__(app.settings)
        return Response(body={"ok": True, "seed": seed})
    if key == "records" and len(segments) == 2:
        entity = ENTITIES_BY_LOWER.get(segments[1])
        if entity is None:
            return Response(404, {"errors": [f"unknown entity {segments[1]}"]})
        if method == "GET":
            rows = app.reader.rows_by_id(entity)
            items = [app.reader.render(entity, row) for _, row in sorted(rows.items())]
            return Response(body={"items": items})
        if method == "POST":
            if entity.name == "ContractServiceUnits":
                raise ValueError("ContractServiceUnits are derived from adjustments")
            return Response(body={"ids": _insert(store, entity, data["items"])})
    if key == "requests":
        if method == "GET":
            return Response(body={"items": list(app.log)})
        if method == "DELETE":
            app.log.clear()
            return Response(body={"ok": True})
    if key == "counters" and method == "GET":
        return Response(body=app.limits.counters())
    if key == "faults":
        if method == "POST":
            app.settings.update(data)
        if method in ("GET", "POST"):
            return Response(body=app.settings.as_dict())
    if key == "post_period" and method == "POST":
        through = dt.date.fromisoformat(str(data["through"])[:10])
        with store.lock:
            result = app.writer.post_period(int(data["contractID"]), through)
        return Response(body=result)
    return Response(404, {"errors": ["unknown sandbox inspection path"]})


def _insert(store, entity, items: list[dict]) -> list[int]:
    """Insert rows as given (field names in any case), filling the rest with nulls."""
    rows = []
    with store.lock:
        for item in items:
            record = blank_record(entity)
            for name, value in item.items():
                if name.lower() == "userdefinedfields":
                    record["userDefinedFields"] = value
                    continue
                field = entity.find(name)
                if field is None:
                    raise ValueError(f"unknown field {name} for {entity.name}")
                try:
                    record[field.name] = coerce(field, value)
                except ApiError as problem:
                    raise ValueError(str(problem)) from None
            if record.get("id") is None:
                record["id"] = store.new_id(entity.name)
            else:
                store.reserve_id(entity.name, record["id"])
            record["userDefinedFields"] = merge_udfs(
                store, entity, record.get("userDefinedFields"), None
            )
            rows.append(record)
        store.save_many(entity.name, rows)
    return [row["id"] for row in rows]
