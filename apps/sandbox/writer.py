"""Every write the API can make: create, update (PATCH or PUT) and delete, the steps each
takes, and the entity's own rules (`rules.py`) called on the way."""

from apps.sandbox.body import blank_record, check_required, merge_udfs, read_body
from apps.sandbox.rules import EntityRules
from apps.sandbox.schema import Entity
from apps.sandbox.values import error, now_stored

NO_MATCHING_RECORD = (
    "No message. No matching records found. The logged in Resource may not have the "
    "required permissions to delete the data."
)


class Writer(EntityRules):
    """Every write the API can make. Callers hold the store lock.

    A create runs `_before_create_<Entity>(record)` before the required fields are checked
    and `_after_create_<Entity>(record)` before it is saved; an update runs
    `_before_update_<Entity>(current, record)` (which returns the record to save) and
    `_after_update_<Entity>(current, record)` once it is saved.
    """

    def create(self, entity: Entity, body, *, parent_id: int | None = None) -> int:
        values, udfs = read_body(self.store, entity, body, creating=True)
        if parent_id is not None:
            values["contractID"] = self._parent_contract(entity, values, parent_id)["id"]
        record = blank_record(entity)
        record.update(self._defaults(entity))
        record.update(values)
        hook = getattr(self, f"_before_create_{entity.name}", None)
        if hook:
            hook(record)
        check_required(entity, record)
        record["id"] = self.store.new_id(entity.name)
        stamp = now_stored()
        if entity.created_field:
            record[entity.created_field] = stamp
        if entity.modified_field:
            record[entity.modified_field] = stamp
        record["userDefinedFields"] = merge_udfs(self.store, entity, None, udfs)
        after = getattr(self, f"_after_create_{entity.name}", None)
        if after:
            after(record)
        self.store.save(entity.name, record)
        return record["id"]

    def update(self, entity: Entity, body, *, parent_id: int | None = None, replace=False) -> int:
        if not isinstance(body, dict):
            raise error("The request body must be a JSON object.")
        record_id = {str(key).lower(): value for key, value in body.items()}.get("id")
        if record_id in (None, 0, "0"):
            raise error(f"An id is required to update a {entity.singular}.")
        try:
            record_id = int(record_id)
        except (TypeError, ValueError):
            raise error(f"Invalid id '{record_id}'.") from None
        current = self.store.get(entity.name, record_id)
        if current is None or (parent_id is not None and current.get("contractID") != parent_id):
            raise error(f"No {entity.singular} with id {record_id} was found.")
        values, udfs = read_body(self.store, entity, body, creating=False)
        record = dict(current)
        if replace:
            for field in entity.fields:
                writable = not (field.read_only or field.create_only or field.name == "id")
                if writable and field.name not in values and field.name != "contractID":
                    record[field.name] = None
        record.update(values)
        hook = getattr(self, f"_before_update_{entity.name}", None)
        if hook:
            record = hook(current, record)
        check_required(entity, record)
        if entity.modified_field:
            record[entity.modified_field] = now_stored()
        record["userDefinedFields"] = merge_udfs(
            self.store, entity, current.get("userDefinedFields"), udfs
        )
        self.store.save(entity.name, record)
        after = getattr(self, f"_after_update_{entity.name}", None)
        if after:
            after(current, record)
        return record_id

    def delete(self, entity: Entity, record_id: int, *, parent_id: int) -> int:
        current = self.store.get(entity.name, record_id)
        if current is None or current.get("contractID") != parent_id:
            raise error(NO_MATCHING_RECORD)
        if current.get("isBilled"):
            raise error("A charge that has been billed (isBilled) cannot be deleted.")
        self.store.remove(entity.name, record_id)
        return record_id

    def _defaults(self, entity: Entity) -> dict:
        return {
            "Companies": {"isActive": True},
            "Contracts": {"isCompliant": True, "isDefaultContract": False},
            "Services": {"isActive": True},
            "ContractCharges": {"isBilled": False, "isBillableToCompany": True},
            "ContractServiceAdjustments": {"allowRepeatService": False},
        }.get(entity.name, {})

    def _parent_contract(self, entity: Entity, values: dict, parent_id: int) -> dict:
        contract = self.store.get("Contracts", parent_id)
        if contract is None:
            raise error(f"Contract with id {parent_id} does not exist (field:contractID).")
        if values.get("contractID") not in (None, parent_id):
            raise error("The contractID in the body does not match the contract in the URL.")
        return contract
