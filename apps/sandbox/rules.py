"""Autotask's business rules per entity: contracts and their posted periods, contract
services and their adjustments, charges, the catalogue, and posting a period.

The `_before_*`/`_after_*` hooks are found by name by `Writer` (`writer.py`), which
holds the store lock around each write.
"""

import datetime as dt

from apps.sandbox.body import blank_record
from apps.sandbox.schema import ENTITIES, RECURRING_SERVICE, USE_TYPE_RECURRING_SERVICE
from apps.sandbox.store import Store
from apps.sandbox.units import UnitRows, current_prices
from apps.sandbox.values import error, now_stored, parse_datetime, times

POSTED_PERIOD_MESSAGE = (
    "Unable to make changes as it would result in the deletion/modification of an already "
    "approved and posted contract period"
)


def day_of(value) -> dt.date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def in_posted_period(store: Store, contract_id: int, day: dt.date) -> bool:
    posted = store.posted_through(contract_id)
    return posted is not None and day <= dt.date.fromisoformat(posted)


class EntityRules:
    """The per-entity hooks around `Writer`'s creates and updates, and posting a period."""

    def __init__(self, store: Store, units: UnitRows):
        self.store = store
        self.units = units
        self._pending_service = None

    # -- contracts -------------------------------------------------------------------

    def _before_create_Contracts(self, record: dict) -> None:
        if record.get("contractType") == RECURRING_SERVICE and not record.get("contractPeriodType"):
            raise error("The field contractPeriodType is required for Recurring Service contracts.")
        self._check_dates(record)

    def _before_update_Contracts(self, current: dict, record: dict) -> dict:
        self._check_dates(record)
        new_start, old_start = day_of(record.get("startDate")), day_of(current.get("startDate"))
        if new_start != old_start:
            # Billing periods start on the start date: moving it either way deletes or
            # re-cuts every period from the earlier of the two dates on.
            earliest = min(day for day in (new_start, old_start) if day is not None)
            if in_posted_period(self.store, current["id"], earliest):
                raise error(POSTED_PERIOD_MESSAGE)
        new_end, old_end = day_of(record.get("endDate")), day_of(current.get("endDate"))
        shortened = new_end and old_end and new_end < old_end
        if shortened and in_posted_period(self.store, current["id"], new_end):
            raise error(POSTED_PERIOD_MESSAGE)
        return record

    def _after_update_Contracts(self, current: dict, record: dict) -> None:
        new_end, old_end = day_of(record.get("endDate")), day_of(current.get("endDate"))
        if new_end and old_end and new_end < old_end:
            self._remove_after(record["id"], new_end)

    def _remove_after(self, contract_id: int, end: dt.date) -> None:
        """A shortened contract loses what was added after its new end: the adjustments
        dated after it, and the unit rows past it (extending again makes new ones)."""
        services = {
            row["id"]: row
            for row in self.store.rows("ContractServices")
            if row["contractID"] == contract_id
        }
        touched = set()
        for adjustment in self.store.rows("ContractServiceAdjustments"):
            if (
                adjustment["contractServiceID"] in services
                and day_of(adjustment["effectiveDate"]) > end
            ):
                self.store.remove("ContractServiceAdjustments", adjustment["id"])
                touched.add(adjustment["contractServiceID"])
        unit_ids = self.store.meta["unit_ids"]
        kept = {
            key: row_id
            for key, row_id in unit_ids.items()
            if not (
                int(key.split(":")[0]) in services
                and dt.date.fromisoformat(key.split(":")[1]) > end
            )
        }
        if len(kept) != len(unit_ids):
            self.store.set_meta("unit_ids", kept)
        for service_id in touched:
            # A price set by a removed adjustment goes with it.
            service = services[service_id]
            remaining = [
                item
                for item in self.store.rows("ContractServiceAdjustments")
                if item["contractServiceID"] == service_id
            ]
            unit_price, unit_cost = current_prices(service, remaining)
            if (unit_price, unit_cost) != (service.get("unitPrice"), service.get("unitCost")):
                self.store.save(
                    "ContractServices", {**service, "unitPrice": unit_price, "unitCost": unit_cost}
                )

    @staticmethod
    def _check_dates(record: dict) -> None:
        start, end = day_of(record.get("startDate")), day_of(record.get("endDate"))
        if start and end and end < start:
            raise error("The contract endDate must be on or after its startDate.")

    # -- contract services -------------------------------------------------------------

    def _require_recurring(self, contract_id: int) -> dict:
        contract = self.store.get("Contracts", contract_id)
        if contract is None:
            raise error(f"Contract with id {contract_id} does not exist (field:contractID).")
        if contract.get("contractType") != RECURRING_SERVICE:
            raise error(
                "Services can only be added to a Recurring Service contract (contractType 7)."
            )
        return contract

    def _before_create_ContractServices(self, record: dict) -> None:
        self._require_recurring(record["contractID"])
        service = self.store.get("Services", record.get("serviceID"))
        if service is None:
            return  # check_required reports the missing serviceID
        for existing in self.store.rows("ContractServices"):
            if (
                existing["contractID"] == record["contractID"]
                and existing["serviceID"] == record["serviceID"]
            ):
                raise error("This service is already on the contract.")
        self._service_defaults(record, service)

    @staticmethod
    def _service_defaults(record: dict, service: dict) -> None:
        if record.get("unitPrice") is None:
            record["unitPrice"] = service.get("unitPrice")
        if record.get("unitCost") is None:
            record["unitCost"] = service.get("unitCost")
        if record.get("invoiceDescription") is None:
            record["invoiceDescription"] = service.get("invoiceDescription")

    def _before_update_ContractServices(self, current: dict, record: dict) -> dict:
        # On update only the price and the invoice description may change.
        updated = {
            **current,
            "unitPrice": record.get("unitPrice"),
            "invoiceDescription": record.get("invoiceDescription"),
        }
        if updated["unitPrice"] != current.get("unitPrice"):
            # The new price applies to every period not yet approved and posted, after any
            # change made before it; posted rows keep the price they were posted with.
            updated.setdefault("_baseUnitPrice", current.get("unitPrice"))
            updated.setdefault("_baseUnitCost", current.get("unitCost"))
            made_before = [
                item["id"]
                for item in self.store.rows("ContractServiceAdjustments")
                if item["contractServiceID"] == current["id"]
            ]
            edit = {
                "unitPrice": updated["unitPrice"],
                "postedThrough": self.store.posted_through(current["contractID"]),
                "afterAdjustment": max(made_before, default=0),
            }
            updated["_priceEdits"] = [*(current.get("_priceEdits") or ()), edit]
        return updated

    # -- adjustments -----------------------------------------------------------------

    def _before_create_ContractServiceAdjustments(self, record: dict) -> None:
        self._pending_service = None
        if record.get("contractID") is None:
            raise error("The field contractID is required.")
        contract = self._require_recurring(record["contractID"])
        if record.get("effectiveDate") is None:
            raise error("The field effectiveDate is required.")
        if record.get("unitChange") is None:
            record["unitChange"] = 0
        effective = day_of(record["effectiveDate"])
        start, end = day_of(contract.get("startDate")), day_of(contract.get("endDate"))
        if start and end and not start <= effective <= end:
            raise error("The effectiveDate must fall within the contract's start and end dates.")
        if in_posted_period(self.store, contract["id"], effective):
            raise error(POSTED_PERIOD_MESSAGE)
        contract_service = self._adjusted_service(record, contract)
        record["contractServiceID"] = contract_service["id"]
        record["serviceID"] = contract_service["serviceID"]
        if self._pending_service is not None:
            if record["unitChange"] < 0:
                raise error(
                    "The adjustment would leave the contract service with fewer than 0 units."
                )
            return
        future = [
            day_of(item["effectiveDate"])
            for item in self.store.rows("ContractServiceAdjustments")
            if item["contractServiceID"] == contract_service["id"]
        ]
        for day in [effective, *[day for day in future if day > effective]]:
            if self.units.units_on(contract_service["id"], day, [record]) < 0:
                raise error(
                    "The adjustment would leave the contract service with fewer than 0 units."
                )

    def _adjusted_service(self, record: dict, contract: dict) -> dict:
        if record.get("contractServiceID") is not None:
            found = self.store.get("ContractServices", record["contractServiceID"])
            if found is None or found["contractID"] != contract["id"]:
                raise error("The contractServiceID does not belong to this contract.")
            return found
        service = self.store.get("Services", record.get("serviceID"))
        if service is None:
            raise error("Either serviceID or contractServiceID is required.")
        for existing in self.store.rows("ContractServices"):
            if existing["contractID"] == contract["id"] and existing["serviceID"] == service["id"]:
                return existing
        created = blank_record(ENTITIES["ContractServices"])
        created.update(contractID=contract["id"], serviceID=service["id"])
        self._service_defaults(created, service)
        created["id"] = self.store.new_id("ContractServices")
        created["userDefinedFields"] = []
        self._pending_service = created  # saved only if the adjustment is
        return created

    def _after_create_ContractServiceAdjustments(self, record: dict) -> None:
        if self._pending_service is not None:
            self.store.save("ContractServices", self._pending_service)
        # A price given with an adjustment becomes the contract service's current price.
        changes = {}
        if record.get("adjustedUnitPrice") is not None:
            changes["unitPrice"] = record["adjustedUnitPrice"]
        if record.get("adjustedUnitCost") is not None:
            changes["unitCost"] = record["adjustedUnitCost"]
        if changes:
            contract_service = dict(self.store.get("ContractServices", record["contractServiceID"]))
            # Rows before the first priced adjustment keep the price the line had then.
            contract_service.setdefault("_baseUnitPrice", contract_service.get("unitPrice"))
            contract_service.setdefault("_baseUnitCost", contract_service.get("unitCost"))
            contract_service.update(changes)
            self.store.save("ContractServices", contract_service)

    # -- charges ---------------------------------------------------------------------

    def _before_create_ContractCharges(self, record: dict) -> None:
        self._charge_amounts(record)

    def _before_update_ContractCharges(self, current: dict, record: dict) -> dict:
        if current.get("isBilled"):
            raise error("A charge that has been billed (isBilled) cannot be changed.")
        self._charge_amounts(record)
        return record

    def _charge_amounts(self, record: dict) -> None:
        if record.get("productID") is None and record.get("billingCodeID") is None:
            raise error("ContractCharge must have either a productID or billingCodeID.")
        if record.get("unitPrice") is None:
            source = (
                self.store.get("BillingCodes", record["billingCodeID"])
                if record.get("billingCodeID") is not None
                else self.store.get("Products", record["productID"])
            )
            record["unitPrice"] = (source or {}).get("unitPrice")
        record["billableAmount"] = times(record.get("unitQuantity"), record.get("unitPrice"))
        record["internalCurrencyBillableAmount"] = record["billableAmount"]
        record["internalCurrencyUnitPrice"] = record.get("unitPrice")
        record["extendedCost"] = times(record.get("unitQuantity"), record.get("unitCost"))

    # -- catalogue -------------------------------------------------------------------

    def _check_service_billing_code(self, record: dict) -> None:
        code = self.store.get("BillingCodes", record.get("billingCodeID"))
        if code is not None and not (
            code.get("isActive") and code.get("useType") == USE_TYPE_RECURRING_SERVICE
        ):
            raise error(
                "The billingCodeID must be an active Recurring Contract Service allocation "
                "code (useType 5)."
            )

    def _before_create_Services(self, record: dict) -> None:
        self._check_service_billing_code(record)

    def _before_update_Services(self, current: dict, record: dict) -> dict:
        if record.get("billingCodeID") != current.get("billingCodeID"):
            self._check_service_billing_code(record)
        return record

    def _before_create_Products(self, record: dict) -> None:
        code = self.store.get("BillingCodes", record.get("productBillingCodeID"))
        if code is not None and not code.get("isActive"):
            raise error("The productBillingCodeID must be an active allocation code.")

    # -- posting ---------------------------------------------------------------------

    def post_period(self, contract_id: int, through: dt.date) -> dict:
        if self.store.get("Contracts", contract_id) is None:
            raise error(f"Contract with id {contract_id} does not exist (field:contractID).")
        posted = dict(self.store.meta["posted"])
        current = posted.get(str(contract_id))
        if current is None or through.isoformat() > current:
            posted[str(contract_id)] = through.isoformat()
        posted_at = dict(self.store.meta.get("posted_at", {}))
        posted_at[str(contract_id)] = now_stored()
        self.store.set_meta("posted", posted)
        self.store.set_meta("posted_at", posted_at)
        billed = 0
        for charge in self.store.rows("ContractCharges"):
            if charge["contractID"] != contract_id or charge.get("isBilled"):
                continue
            if day_of(charge["datePurchased"]) <= through:
                self.store.save("ContractCharges", {**charge, "isBilled": True})
                billed += 1
        return {
            "contractID": contract_id,
            "postedThrough": posted[str(contract_id)],
            "billed": billed,
        }
