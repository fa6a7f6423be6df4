"""JSON Lines exports of the reconciliation and daily usage data sets → `ReconLine` /
`UsageLine`.

The Graph billing API (v2) export delivers gzip-compressed JSON Lines blobs, one object
per line, keys named like the CSV columns (PascalCase); blobs concatenated make a
multi-member gzip, which is read as one file. Plain (not compressed) files are read too.
Objects of the v1 Partner Center API (camelCase keys) are accepted as well, with its
different names (PARTNER_CENTER.md §10): resellerMpnId (Tier2MpnId), totalForCustomer
(Total), unitOfMeasure (Unit), a real array for productQualifiers, and
rateOfPartnerEarnedCredit, a fraction (0.15) where the CSV has a percentage (15).

Keys are matched without regard to case. A key an object lacks reads as a blank cell (the
v1 objects leave out keys freely), so a required value that is missing is refused with
"the key is missing". Which data set a file holds is decided from its first object.
"""

import datetime as dt
from typing import Any

from . import cells, recon_csv, usage_csv
from .errors import ImportValidationError
from .formats import Format, year_month
from .jsonl_reading import read_jsonl
from .records import ReconLine, UsageLine
from .source import Source, SourceFile
from .stream import RowStream

DATA_SETS: dict[str, Format] = {"recon": recon_csv.FORMAT, "usage": usage_csv.FORMAT}
"""The data sets a JSON Lines file can hold, by name; `read(..., data_set=...)`."""

FORMAT_NAMES = {"recon": "recon_jsonl", "usage": "usage_jsonl"}

_OBJECT_TYPES = {"oneTimeInvoiceLineItem": "recon", "dailyRatedUsageLineItem": "usage"}
_OBJECT_TYPES = {key.lower(): value for key, value in _OBJECT_TYPES.items()}

_FRACTION_KEYS = {"rateofpartnerearnedcredit"}


def data_set_of(obj: dict[str, Any]) -> str | None:
    """ "recon" or "usage" for an object of either data set (by the keys only one of them
    has, or the v1 `attributes.objectType`), None for anything else."""
    attributes = obj.get("attributes")
    if isinstance(attributes, dict):
        kind = _OBJECT_TYPES.get(str(attributes.get("objectType", "")).lower())
        if kind:
            return kind
    scores = {name: fmt.signature_score(obj) for name, fmt in DATA_SETS.items()}
    best = max(scores, key=scores.__getitem__)
    if scores[best] >= 2 and list(scores.values()).count(scores[best]) == 1:
        return best
    return None


def expected_keys() -> str:
    return "; ".join(f"{fmt.title}: {', '.join(fmt.signature)}" for fmt in DATA_SETS.values())


def _json_parsers(fmt: Format, key: str):
    if key.lower() in _FRACTION_KEYS:
        return cells.parse_percent_from_fraction
    return None


def read(
    source: Source,
    *,
    file_name: str | None = None,
    data_set: str | None = None,
    month: dt.date | str | tuple[int, int] | None = None,
) -> RowStream[ReconLine | UsageLine]:
    """The records of a JSON Lines export (plain, gzip, or multi-member gzip), read as
    they are iterated.

    `data_set`: "recon" or "usage"; None to decide from the first object. `month`: the
    report's month; a line whose OrderDate (recon) or UsageDate (usage) is in another
    month is refused. Problems raise `ImportValidationError`, at the latest while iterating.
    """
    if data_set is not None and data_set not in DATA_SETS:
        raise ValueError(f"data_set must be one of {', '.join(DATA_SETS)}, got {data_set!r}")
    opened = SourceFile(source, file_name)

    def choose(obj: dict, line: int) -> Format:
        found = data_set_of(obj)
        wanted = data_set or found
        if wanted is None:
            raise ImportValidationError(
                opened.file_name,
                line,
                None,
                "unknown format: the object has the keys of neither billing data set; "
                f"expected the keys of one of them ({expected_keys()})",
            )
        if found is not None and found != wanted:
            raise ImportValidationError(
                opened.file_name,
                line,
                None,
                f"expected {DATA_SETS[wanted].title} objects, but this object is one of the "
                f"{DATA_SETS[found].title} data set",
            )
        opened.format_name = FORMAT_NAMES[wanted]
        return DATA_SETS[wanted]

    rows = read_jsonl(opened, choose, year_month(month), json_parsers=_json_parsers)
    return RowStream(opened, rows)
