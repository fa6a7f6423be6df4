"""The sandbox's data: rows per entity, kept in memory and written through to SQLite.

The sandbox never touches syncadmin's database. Without a file the data lives only as
long as the server; with one it survives restarts. Every read and write holds one lock,
so concurrent requests see consistent data while their network time still overlaps.
"""

import json
import sqlite3
import threading
from pathlib import Path

from apps.sandbox.schema import ENTITIES

STORED_ENTITIES = [name for name in ENTITIES if name != "ContractServiceUnits"]
# First id handed out per entity when a store is new (Autotask ids are large numbers).
FIRST_IDS = {
    "Companies": 1,
    "Contracts": 29683300,
    "ContractServices": 4100000,
    "ContractServiceAdjustments": 5200000,
    "ContractServiceUnits": 6300000,
    "ContractCharges": 7400000,
    "ContractNotes": 8500000,
    "Services": 31000,
    "Products": 32000,
    "BillingCodes": 29682800,
}


class Store:
    """Rows by entity and id, tenant settings, and posted periods."""

    def __init__(self, path: str | Path | None = None):
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in STORED_ENTITIES}
        self.meta: dict = {}
        self.version = 0  # bumped on every write; derived data is cached per version
        self._db = None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (entity TEXT NOT NULL, id INTEGER NOT NULL,"
                " data TEXT NOT NULL, PRIMARY KEY (entity, id))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            self._load()
        self.meta.setdefault("next_ids", dict(FIRST_IDS))
        self.meta.setdefault("udfs", {})
        self.meta.setdefault("picklists", {})
        self.meta.setdefault("posted", {})
        self.meta.setdefault("unit_ids", {})

    # -- persistence -------------------------------------------------------------------

    def _load(self) -> None:
        for entity, record_id, data in self._db.execute("SELECT entity, id, data FROM records"):
            if entity in self.tables:
                self.tables[entity][record_id] = json.loads(data)
        for key, value in self._db.execute("SELECT key, value FROM meta"):
            self.meta[key] = json.loads(value)

    def is_empty(self) -> bool:
        return not any(self.tables.values()) and not self.meta.get("seeded")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _persist_row(self, entity: str, record: dict) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT OR REPLACE INTO records (entity, id, data) VALUES (?, ?, ?)",
                (entity, record["id"], json.dumps(record)),
            )

    def set_meta(self, key: str, value) -> None:
        with self.lock:
            self.meta[key] = value
            self.version += 1
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (key, json.dumps(value)),
                )

    # -- rows --------------------------------------------------------------------------

    def new_id(self, entity: str) -> int:
        with self.lock:
            next_ids = self.meta["next_ids"]
            value = next_ids.get(entity, FIRST_IDS.get(entity, 1))
            next_ids[entity] = value + 1
            self.set_meta("next_ids", next_ids)
            return value

    def reserve_id(self, entity: str, record_id: int) -> None:
        """After a row was stored with an id of its own, never hand that id out again."""
        with self.lock:
            next_ids = self.meta["next_ids"]
            if record_id >= next_ids.get(entity, FIRST_IDS.get(entity, 1)):
                next_ids[entity] = record_id + 1
                self.set_meta("next_ids", next_ids)

    def save(self, entity: str, record: dict) -> None:
        with self.lock:
            self.tables[entity][record["id"]] = record
            self.version += 1
            self._persist_row(entity, record)

    def save_many(self, entity: str, records: list[dict]) -> None:
        with self.lock:
            for record in records:
                self.tables[entity][record["id"]] = record
            self.version += 1
            if self._db is not None:
                self._db.execute("BEGIN")
                for record in records:
                    self._persist_row(entity, record)
                self._db.execute("COMMIT")

    def remove(self, entity: str, record_id: int) -> None:
        with self.lock:
            self.tables[entity].pop(record_id, None)
            self.version += 1
            if self._db is not None:
                self._db.execute(
                    "DELETE FROM records WHERE entity = ? AND id = ?", (entity, record_id)
                )

    def get(self, entity: str, record_id: int) -> dict | None:
        return self.tables[entity].get(record_id)

    def rows(self, entity: str) -> list[dict]:
        return list(self.tables[entity].values())

    def clear(self) -> None:
        with self.lock:
            for table in self.tables.values():
                table.clear()
            self.meta = {
                "next_ids": dict(FIRST_IDS),
                "udfs": {},
                "picklists": {},
                "posted": {},
                "unit_ids": {},
            }
            self.version += 1
            if self._db is not None:
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM meta")

    # -- tenant settings ---------------------------------------------------------------

    def udf_definitions(self, entity: str) -> list[dict]:
        return self.meta["udfs"].get(entity, [])

    def tenant_picklist(self, name: str) -> dict[int, str]:
        return {int(value): label for value, label in self.meta["picklists"].get(name, {}).items()}

    def posted_through(self, contract_id: int) -> str | None:
        """ISO date up to which the contract's periods are approved and posted."""
        return self.meta["posted"].get(str(contract_id))
