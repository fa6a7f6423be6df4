"""Billing imports: the parsing layer. One module per file format, each turning a file into
typed records (`records.py`) as it is read, without Django:

- `recon_csv`: new-commerce invoice reconciliation CSV (47 columns) → ReconLine
- `usage_csv`: new-commerce daily rated usage CSV (55 columns) → UsageLine
- `pricelist_csv`: Microsoft's new-commerce licence-based price list CSV → PriceListRow
- `jsonl`: the Graph billing exports (JSON Lines, plain or gzip) of the reconciliation and
  usage data sets → ReconLine / UsageLine
- `detect`: which of these a file is (`detect_format`), and `read_any`
- `cells`: the cell parsers; `errors`: `ImportValidationError`
- the machinery the format modules share: `formats` (`Field`, `Format`), `source` (opening,
  decompressing and decoding a file), `building` (header binding, row → record),
  `csv_reading` and `jsonl_reading` (the loops), `stream` (`RowStream`, with progress)

Every reader streams (a million-line file is never held in memory), binds columns by name,
and stops at the first problem with an `ImportValidationError` naming the file, line,
column and what was expected; the caller runs the import in one transaction, so a file
that fails changes nothing.
"""

from . import jsonl, pricelist_csv, recon_csv, usage_csv
from .detect import FORMAT_NAMES, detect_format, read_any
from .errors import ImportValidationError
from .records import PriceListRow, ReconLine, UsageLine
from .stream import RowStream, estimate_rows

__all__ = [
    "FORMAT_NAMES",
    "ImportValidationError",
    "PriceListRow",
    "ReconLine",
    "RowStream",
    "UsageLine",
    "detect_format",
    "estimate_rows",
    "jsonl",
    "pricelist_csv",
    "read_any",
    "recon_csv",
    "usage_csv",
]
