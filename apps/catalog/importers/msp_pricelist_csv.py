"""The MSP's own price list CSV → `MspPriceListRow`: the sales price per unit per month the
MSP charges for an offer, in a currency.

    ProductId,SkuId,AvailabilityId,Term,BillingFrequency,Currency,UnitPrice
    CFQ7TTC0LH18,0001,CFQ7TTC0K59S,P1Y,Monthly,USD,7.50

- ProductId, SkuId: required (a numeric SkuId that lost its leading zeros in Excel is
  padded back, "1" → "0001", as in Microsoft's files).
- AvailabilityId: may be blank; the import then prices every availability of the offer.
- Term: P1M, P1Y, P3Y (any ISO 8601 length; P12M is read as P1Y, P36M as P3Y, the way
  offers are keyed) or blank.
- BillingFrequency: Monthly, Annual, Triennial or OneTime (any case), or blank for an
  offer whose billing plan is unknown; read as the `BillingFrequencyChoices` value.
- Currency: a three-letter code; UnitPrice: a number, not negative, at most 6 decimals.

The reader works like the others (`formats`, `csv_reading`): streamed, columns bound by
name (order and extra columns do not matter), and the first problem raises
`ImportValidationError` with the file, line and column. It is not one of
`detect.FORMAT_NAMES`: billing imports never take it; `is_msp_price_list()` tells it from
Microsoft's price list by its header.
"""

import csv
from dataclasses import dataclass
from decimal import Decimal

from . import cells
from .errors import CellError, ImportValidationError
from .formats import Field, Format, register
from .source import Source, SourceFile

COLUMNS = ("ProductId", "SkuId", "AvailabilityId", "Term", "BillingFrequency", "Currency",
           "UnitPrice")  # fmt: skip
"""The header of the MSP price list, in its documented order."""

BILLING_FREQUENCIES = {
    "monthly": "monthly",
    "annual": "annual",
    "triennial": "triennial",
    "onetime": "one_time",
}
"""BillingFrequency (lower-cased) → the offer's `billing_frequency` value."""

MAX_DECIMALS = 6  # the MONEY fields store 6 decimals


@dataclass(frozen=True, slots=True)
class MspPriceListRow:
    """One row of the MSP's price list."""

    source_line: int
    product_id: str
    sku_id: str
    availability_id: str  # "" = every availability
    term: str  # "P1M", "P1Y", "P3Y" or ""
    billing_frequency: str  # "monthly", "annual", "triennial", "one_time" or ""
    currency: str
    unit_price: Decimal  # sales price per unit per month


def parse_id(text: str) -> str:
    value = text.strip().lstrip("'").strip()
    if not value:
        raise CellError("expected an id, got a blank cell")
    return value


def parse_sku_id(text: str) -> str:
    return cells.normalize_sku_id(parse_id(text))


def parse_optional_id(text: str) -> str:
    return text.strip().lstrip("'").strip()


def parse_term(text: str) -> str:
    """P1M, P1Y, P3Y or blank; a whole number of years in months is written in years."""
    if not text.strip():
        return ""
    term = cells.parse_term_duration(text)
    number, unit = int(term[1:-1]), term[-1]
    if unit == "M" and number and number % 12 == 0:
        return f"P{number // 12}Y"
    return term


def parse_billing_frequency(text: str) -> str:
    key = text.strip().replace("-", "").replace(" ", "").lower()
    if not key:
        return ""
    value = BILLING_FREQUENCIES.get(key)
    if value is None:
        raise CellError(
            f"expected a billing frequency, one of Monthly, Annual, Triennial, OneTime "
            f"(or blank); got {text!r}"
        )
    return value


def parse_unit_price(text: str) -> Decimal:
    """Not negative, at most 6 decimals (trailing zeros do not count); the cell parser
    already refuses 10^12 and more."""
    value = cells.parse_nonnegative_decimal(text)
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise CellError(f"expected at most {MAX_DECIMALS} decimals, got {text!r}")
    return value


FORMAT = register(
    Format(
        name="msp_pricelist_csv",
        title="MSP price list",
        record=MspPriceListRow,
        columns=COLUMNS,
        signature=("Term", "BillingFrequency", "UnitPrice"),
        fields=(
            Field("product_id", "ProductId", parse_id),
            Field("sku_id", "SkuId", parse_sku_id),
            Field("availability_id", "AvailabilityId", parse_optional_id),
            Field("term", "Term", parse_term),
            Field("billing_frequency", "BillingFrequency", parse_billing_frequency),
            Field("currency", "Currency", cells.parse_currency),
            Field("unit_price", "UnitPrice", parse_unit_price),
        ),
    )
)


read = FORMAT.read


def is_msp_price_list(source: Source, *, file_name: str | None = None) -> bool:
    """Whether the file's header (its first non-blank line) has every column of the MSP
    price list. Microsoft's price list has TermDuration and BillingPlan instead of Term and
    BillingFrequency, so it never passes. A file that cannot be opened or decoded is "not
    this": the caller's other reader reports the problem."""
    try:
        opened = SourceFile(source, file_name)
    except ImportValidationError:
        return False
    try:
        for line in opened.lines():
            if line.strip():
                header = next(csv.reader([line]))
                return not FORMAT.matches_header(header)[1]
        return False
    except (ImportValidationError, csv.Error):
        return False
    finally:
        opened.close()
