"""Mapping files: the Organizations and Offers screens' rows as CSV, and that CSV back, so
that hundreds of rows can be mapped at once (issue 10, "Mapping files").

Two layouts, each with a header row; the names are for people, the ids decide, and a
blank id means unmapped:

    organizations: customer_id,organization,company_id,company
    offers:        offer_key,offer,offer_id,service_id,service

- ``writing``: every row of a filtered, sorted queryset with the connection's current
  mapping, as CSV lines, in one query (``mapping_file_lines``, ``write_*_csv``).
- ``reading``: ``read_mapping_file`` checks every row and plans the changes (create,
  change, unmap); a plan with an error cannot be applied.
- ``applying``: ``apply_mapping_file`` applies a plan all or nothing, each changed row
  through the mapping services (one audit entry each).
- ``pending``: an upload kept between the screen's preview and its confirmation.
"""

from apps.mappings.mapping_files.applying import apply_mapping_file
from apps.mappings.mapping_files.plan import (
    HEADERS,
    KINDS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    OFFERS,
    ORGANIZATIONS,
    Change,
    FileError,
    MappingFilePlan,
    MappingFileRefused,
    counts_sentence,
)
from apps.mappings.mapping_files.reading import read_mapping_file
from apps.mappings.mapping_files.writing import (
    mapping_file_lines,
    offers_csv_lines,
    organizations_csv_lines,
    write_offers_csv,
    write_organizations_csv,
)

__all__ = [
    "HEADERS",
    "KINDS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "OFFERS",
    "ORGANIZATIONS",
    "Change",
    "FileError",
    "MappingFilePlan",
    "MappingFileRefused",
    "apply_mapping_file",
    "counts_sentence",
    "mapping_file_lines",
    "offers_csv_lines",
    "organizations_csv_lines",
    "read_mapping_file",
    "write_offers_csv",
    "write_organizations_csv",
]
