"""A write's JSON body read onto an entity's fields, each value checked as Autotask does
(type, length, picklist, reference), user-defined fields merged, required fields checked."""

from apps.sandbox.schema import ENTITIES, Entity
from apps.sandbox.store import Store
from apps.sandbox.values import coerce, error


def picklist_values(store: Store, entity: Entity, field) -> dict | None:
    if field.picklist is None:
        return None
    if isinstance(field.picklist, str):
        return store.tenant_picklist(field.picklist)
    return field.picklist


def read_body(store: Store, entity: Entity, body, *, creating: bool) -> tuple[dict, list | None]:
    """Map a JSON body onto the entity's writable fields, converting and checking values.

    Unknown fields are an error; read-only ones are ignored. Returns the values and the
    user-defined fields (or None when the body has none).
    """
    if not isinstance(body, dict):
        raise error("The request body must be a JSON object.")
    values = {}
    udfs = None
    for key, raw in body.items():
        lowered = str(key).lower()
        if lowered == "userdefinedfields":
            udfs = read_udfs(store, entity, raw)
            continue
        field = entity.find(key)
        if field is None:
            raise error(f"Unable to find {key} in the {entity.singular} Entity.")
        if field.name == "id" or field.read_only:
            continue
        if field.create_only and not creating:
            continue
        values[field.name] = check_value(store, entity, field, raw)
    return values, udfs


def check_value(store: Store, entity: Entity, field, raw):
    value = coerce(field, raw)
    if value is None:
        return None
    if field.data_type == "string" and field.length and len(value) > field.length:
        raise error(f"String value exceeds maximum length (field:{field.name}).")
    allowed = picklist_values(store, entity, field)
    if allowed is not None and value not in allowed:
        raise error(f"Invalid value '{raw}' for the picklist field {field.name}.")
    if field.reference and store.get(field.reference, value) is None:
        referenced = ENTITIES[field.reference].singular
        raise error(f"{referenced} with id {value} does not exist (field:{field.name}).")
    return value


def read_udfs(store: Store, entity: Entity, raw) -> list:
    if not isinstance(raw, list):
        raise error("userDefinedFields must be a list of name/value pairs.")
    definitions = {
        item["name"].lower(): item["name"] for item in store.udf_definitions(entity.name)
    }
    pairs = []
    for pair in raw:
        if not isinstance(pair, dict) or "name" not in {str(k).lower() for k in pair}:
            raise error("Each user-defined field needs a name and a value.")
        lowered = {str(k).lower(): v for k, v in pair.items()}
        name = definitions.get(str(lowered["name"]).lower())
        if name is None:
            raise error(f"Unable to find {lowered['name']} in the {entity.singular} Entity.")
        value = lowered.get("value")
        pairs.append({"name": name, "value": None if value is None else str(value)})
    return pairs


def merge_udfs(store: Store, entity: Entity, current: list | None, changes: list | None) -> list:
    values = {pair["name"]: pair["value"] for pair in current or ()}
    for pair in changes or ():
        values[pair["name"]] = pair["value"]
    return [
        {"name": item["name"], "value": values.get(item["name"])}
        for item in store.udf_definitions(entity.name)
    ]


def check_required(entity: Entity, record: dict) -> None:
    for field in entity.fields:
        if field.required and field.name != "id" and record.get(field.name) in (None, ""):
            raise error(f"The field {field.name} is required.")


def blank_record(entity: Entity) -> dict:
    return {field.name: None for field in entity.fields}
