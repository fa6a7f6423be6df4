"""`entityInformation`: what an entity supports, its fields and its user-defined fields."""

from apps.sandbox.body import picklist_values
from apps.sandbox.routes import Route
from apps.sandbox.schema import ENTITIES, ROOT_QUERYABLE, Entity
from apps.sandbox.store import Store


def information(store: Store, route: Route) -> dict:
    entity = route.entity
    if route.detail == "fields":
        return {"fields": [field_info(store, entity, field) for field in entity.fields]}
    if route.detail == "userdefinedfields":
        return {"fields": [udf_info(item) for item in store.udf_definitions(entity.name)]}
    # What the entity supports, wherever it is written (children through Contracts).
    can_query = route.parent_id is not None or entity.name in ROOT_QUERYABLE
    can_create = entity.can_create
    can_update = entity.can_update

    def access(flag):
        return "All" if flag else "None"

    return {
        "info": {
            "name": entity.name,
            "canCreate": can_create,
            "canDelete": entity.can_delete,
            "canQuery": can_query,
            "canUpdate": can_update,
            "userAccessForCreate": access(can_create),
            "userAccessForDelete": access(entity.can_delete),
            "userAccessForQuery": access(can_query),
            "userAccessForUpdate": access(can_update),
            "hasUserDefinedFields": entity.has_udfs,
            "supportsWebhookCallouts": False,
        }
    }


def field_info(store: Store, entity: Entity, field) -> dict:
    values = picklist_values(store, entity, field)
    return {
        "name": field.name,
        "dataType": field.data_type,
        "length": field.length if field.data_type == "string" else 0,
        "isRequired": field.required,
        "isReadOnly": field.read_only,
        "isQueryable": True,
        "isReference": field.reference is not None,
        "referenceEntityType": ENTITIES[field.reference].singular if field.reference else "",
        "isPickList": values is not None,
        "picklistValues": None
        if values is None
        else [
            {
                "value": str(value),
                "label": label,
                "isDefaultValue": False,
                "sortOrder": position,
                "parentValue": "",
                "isActive": True,
                "isSystem": not isinstance(field.picklist, str),
            }
            for position, (value, label) in enumerate(sorted(values.items()), start=1)
        ],
        "picklistParentValueField": "",
        "isSupportedWebhookField": False,
    }


def udf_info(definition: dict) -> dict:
    return {
        "name": definition["name"],
        "label": definition.get("label", definition["name"]),
        "type": definition.get("type", "string"),
        "length": definition.get("length", 100),
        "description": definition.get("description", ""),
        "isRequired": False,
        "isReadOnly": False,
        "isQueryable": True,
        "isReference": False,
        "referenceEntityType": "",
        "isPickList": False,
        "picklistValues": None,
        "picklistParentValueField": "",
        "defaultValue": None,
        "isSupportedWebhookField": False,
    }
