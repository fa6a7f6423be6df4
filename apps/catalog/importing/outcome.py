"""What an import did: per file, and in all (the import page and the command show it)."""

import dataclasses
from dataclasses import dataclass, field

from apps.catalog.models import BillingReport


@dataclass
class FileOutcome:
    name: str
    status: str  # "imported" or "already imported"
    format: str = ""
    lines: int = 0
    invoice_numbers: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class ImportOutcome:
    files: list[FileOutcome] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)
    organizations_new: int = 0
    organizations_changed: int = 0
    offers_new: int = 0
    subscriptions_new: int = 0
    subscriptions_changed: int = 0
    totals_by_record_type: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add_report(self, report: BillingReport) -> None:
        self.reports.append(str(report))
        self.report_ids.append(report.pk)

    @property
    def changed_anything(self) -> bool:
        return any(item.status == "imported" for item in self.files)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)
