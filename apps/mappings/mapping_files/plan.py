"""The two layouts and what reading a file produces: a plan of changes, or its errors."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from apps.autotask.models import AutotaskCompany, AutotaskService, Connection
from apps.catalog.models import Offer, Organization
from apps.mappings.models import OfferMapping, OrganizationMapping
from apps.mappings.services import (
    check_company,
    check_service,
    offer_mapping_set,
    organization_mapping_set,
)

ORGANIZATIONS, OFFERS = "organizations", "offers"
KINDS = (ORGANIZATIONS, OFFERS)
HEADERS = {
    ORGANIZATIONS: ("customer_id", "organization", "company_id", "company"),
    OFFERS: ("offer_key", "offer", "offer_id", "service_id", "service"),
}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
MAX_ERRORS = 200  # listed; the rest are counted
CREATE, CHANGE, UNMAP = "create", "change", "unmap"


class MappingFileRefused(Exception):
    """The file cannot be applied; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class Kind:
    """One layout: its key column and source model, its id column and Autotask model, the
    rule that checks a new target and the service that writes it."""

    name: str
    key_column: str
    target_column: str
    mapping_model: type
    source_field: str
    target_field: str
    target_model: type
    source_noun: str
    target_noun: str
    check: Callable[..., None]
    write: Callable[..., object]

    @property
    def header(self) -> tuple[str, ...]:
        return HEADERS[self.name]


def _check_company(connection, source, target) -> None:
    check_company(connection=connection, company=target)


def _check_service(connection, source, target) -> None:
    check_service(connection=connection, offer=source, service=target)


def _write_organization(connection, source, target, user):
    return organization_mapping_set(
        connection=connection, organization=source, company=target, user=user
    )


def _write_offer(connection, source, target, user):
    return offer_mapping_set(connection=connection, offer=source, service=target, user=user)


SPECS = {
    ORGANIZATIONS: Kind(
        name=ORGANIZATIONS,
        key_column="customer_id",
        target_column="company_id",
        mapping_model=OrganizationMapping,
        source_field="organization",
        target_field="company",
        target_model=AutotaskCompany,
        source_noun="organization",
        target_noun="company",
        check=_check_company,
        write=_write_organization,
    ),
    OFFERS: Kind(
        name=OFFERS,
        key_column="offer_key",
        target_column="service_id",
        mapping_model=OfferMapping,
        source_field="offer",
        target_field="service",
        target_model=AutotaskService,
        source_noun="offer",
        target_noun="service",
        check=_check_service,
        write=_write_offer,
    ),
}


@dataclass(frozen=True)
class FileError:
    """What is wrong, on which line (None: the file as a whole), and the value at fault."""

    line: int | None
    value: str
    message: str

    def __str__(self) -> str:
        where = f"Line {self.line}: " if self.line else ""
        shown = f" (value: {self.value!r})" if self.value else ""
        return f"{where}{self.message}{shown}"


@dataclass(frozen=True)
class Change:
    """One row that changes a mapping; ``before`` and ``after`` are the company or
    service (None: unmapped)."""

    line: int
    action: str
    key: str
    source: Organization | Offer
    before: AutotaskCompany | AutotaskService | None
    after: AutotaskCompany | AutotaskService | None


@dataclass
class MappingFilePlan:
    """What a mapping file would change on its connection, or why it cannot."""

    connection: Connection
    kind: str
    rows: int = 0
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)  # in the order they are applied
    errors: list[FileError] = field(default_factory=list)
    more_errors: int = 0
    # Every row's source pk → the target pk mapped when the file was read (None: unmapped),
    # and → its line.
    observed: dict[int, int | None] = field(default_factory=dict)
    lines: dict[int, int] = field(default_factory=dict)
    # Offers: each service the file gives → the offer pk it is mapped to now.
    holders: dict[int, int] = field(default_factory=dict)

    @property
    def spec(self) -> Kind:
        return SPECS[self.kind]

    @property
    def can_apply(self) -> bool:
        return not self.errors

    def error(self, line: int | None, value: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FileError(line, value, message))
        else:
            self.more_errors += 1

    def _of(self, action: str) -> list[Change]:
        return sorted((c for c in self.changes if c.action == action), key=lambda c: c.line)

    @property
    def creates(self) -> list[Change]:
        return self._of(CREATE)

    @property
    def updates(self) -> list[Change]:
        return self._of(CHANGE)

    @property
    def unmaps(self) -> list[Change]:
        return self._of(UNMAP)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.creates),
            "changed": len(self.updates),
            "unmapped": len(self.unmaps),
            "unchanged": self.unchanged,
        }

    @property
    def digest(self) -> str:
        """Stands for what the plan saw and would do: the same file read again after a
        mapping it names changed gives another digest."""
        content = {
            "kind": self.kind,
            "connection": self.connection.pk,
            "observed": sorted(self.observed.items()),
            "changes": [
                [c.line, c.action, c.source.pk, c.after.pk if c.after else None]
                for c in self.changes
            ],
            "errors": [str(error) for error in self.errors] + [self.more_errors],
        }
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def counts_sentence(counts: dict[str, int]) -> str:
    """The counts in words: 2 created, 1 changed, 0 unmapped (40 unchanged)."""
    return (
        f"{counts['created']} created, {counts['changed']} changed, "
        f"{counts['unmapped']} unmapped ({counts['unchanged']} unchanged)"
    )
