"""Cell parsers: text from a CSV cell or a JSON Lines value in, a typed value out.

Each parser takes the cell's text and returns the value, or raises `CellError` with what
was expected ("expected a date as M/D/YYYY or YYYY-MM-DD, got '13/45/2025'"); the reader
adds the file, line and column. The rules are those of PARTNER_CENTER.md §8:

- numbers: plain decimals, scientific notation (7.10833E-05), thousands separators
  (1,209.6) and a leading apostrophe ('10.00, an Excel text marker) are read; money is
  always `Decimal`, never float; a quantity or amount of 10^12 or more (absolute value) is
  refused, it is a broken cell, not a bill;
- dates: M/D/YYYY and MM/DD/YYYY (the portal CSV and the Graph export, optionally followed
  by a time, as in the price list's "2/1/2023 0:00"), ISO dates, and ISO date-times with
  "Z" or an offset (the v1 API), which are turned into the UTC calendar date;
- GUIDs are lower-cased; SkuIds that lost their leading zeros ("1") get them back ("0001").

The parsers are called once per cell of files of a million lines, so the common case
takes a fast path (one `Decimal()` call, or a cache hit for the few distinct dates and
ids a file holds) and the slow, careful path runs only when the fast one fails.
"""

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from .errors import CellError

__all__ = [
    "MAX_ABS",
    "CellError",
    "charge_type_parser",
    "choice_parser",
    "date_in_month",
    "normalize_sku_id",
    "parse_currency",
    "parse_currency_or_blank",
    "parse_date",
    "parse_date_or_none",
    "parse_decimal",
    "parse_decimal_cached",
    "parse_decimal_or_none",
    "parse_decimal_or_none_cached",
    "parse_guid",
    "parse_guid_or_blank",
    "parse_json_array",
    "parse_nonnegative_decimal",
    "parse_percent_from_fraction",
    "parse_product_qualifiers",
    "parse_term_duration",
]

MAX_ABS = Decimal(10) ** 12
"""No quantity or amount reaches this (absolute value): a cell that does is refused."""

# ---------------------------------------------------------------------------- numbers

# What the slow path accepts once an apostrophe and surrounding blanks are gone: digits
# with an optional fraction and exponent, commas only as thousands separators.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,6})?", re.ASCII
)


def _number_expected(text: object) -> CellError:
    return CellError(f"expected a number, got {text!r}")


def _too_large(text: object) -> CellError:
    return CellError(f"expected a number below 10^12 in absolute value, got {text!r}")


def _parse_decimal_slow(text: object) -> Decimal:
    if not isinstance(text, str):
        raise _number_expected(text)
    s = text.strip()
    if s.startswith("'"):
        s = s[1:].strip()
    if not _NUMBER.fullmatch(s):
        raise _number_expected(text)
    value = Decimal(s.replace(",", ""))
    if value.copy_abs() >= MAX_ABS:
        raise _too_large(text)
    return value


def parse_decimal(text: str) -> Decimal:
    """A required number: '16', '-9.408', '7.10833E-05', '1,209.6', "'10.00"."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return _parse_decimal_slow(text)
    # Decimal() also takes 'NaN', 'Infinity' and '1_000'; the exponent check is the fast
    # form of abs(value) < 10^12 (zero with a large exponent goes the slow way, and passes).
    if value.is_finite() and value.adjusted() < 12 and "_" not in text:
        return value
    return _parse_decimal_slow(text)


def parse_decimal_or_none(text: str) -> Decimal | None:
    """An optional number: a blank cell is None."""
    if not text:
        return None
    try:
        return parse_decimal(text)
    except CellError:
        if text.strip() in ("", "'"):
            return None
        raise


def parse_nonnegative_decimal(text: str) -> Decimal:
    """A required number that cannot be negative (BillableQuantity: on refund rows it is
    the quantity being reversed, and it is positive)."""
    value = parse_decimal(text)
    if value < 0:
        raise CellError(f"expected a number that is not negative, got {text!r}")
    return value


# For columns with few distinct values in a file (unit prices, exchange rates, PEC %):
# a cache hit is cheaper than parsing. Decimals are immutable, so sharing them is safe.
parse_decimal_cached = lru_cache(maxsize=4096)(parse_decimal)
parse_decimal_or_none_cached = lru_cache(maxsize=4096)(parse_decimal_or_none)


def parse_percent_from_fraction(text: str) -> Decimal | None:
    """The v1 API's `rateOfPartnerEarnedCredit` is a fraction (0.15) where the CSV's
    PartnerEarnedCreditPercentage is a percentage (15): read the former as the latter."""
    value = parse_decimal_or_none(text)
    if value is None:
        return None
    return (value * 100).normalize() if value else Decimal(0)


# ------------------------------------------------------------------------------ dates

_DATE_EXPECTED = "expected a date as M/D/YYYY or YYYY-MM-DD"
_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:\s*([AaPp])[Mm])?)?",
    re.ASCII,
)
_ISO_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})?)?)?",
    re.ASCII,
)


def _check_time(hour: str | None, minute: str | None, second: str | None, ampm: str | None):
    if hour is None:
        return
    h, m, s = int(hour), int(minute or 0), int(second or 0)
    if ampm and not 1 <= h <= 12:
        raise ValueError("hour out of range")
    if not (h <= 23 and m <= 59 and s <= 59):
        raise ValueError("time out of range")


@lru_cache(maxsize=8192)
def parse_date(text: str) -> dt.date:
    """A required date, as a UTC calendar date.

    '11/01/2025', '10/3/2020', '2/1/2023 0:00', '3/1/2018 12:00:00 AM' (a time without a
    zone is already UTC), '2025-11-01', '2021-05-20T18:30:06.6045692Z',
    '2019-02-04T09:22:40.1767993-08:00' (→ 2019-02-04, 17:22 UTC).
    """
    if not isinstance(text, str):
        raise CellError(f"{_DATE_EXPECTED}, got {text!r}")
    s = text.strip().lstrip("'")
    try:
        if m := _US_DATE.fullmatch(s):
            month, day, year, hour, minute, second, ampm = m.groups()
            _check_time(hour, minute, second, ampm)
            return dt.date(int(year), int(month), int(day))
        if m := _ISO_DATE.fullmatch(s):
            year, month, day, hour, minute, second, _zulu, sign, off_h, off_m = m.groups()
            _check_time(hour, minute, second, None)
            date = dt.date(int(year), int(month), int(day))
            if sign is None:  # no offset, or "Z": the date is already the UTC date
                return date
            offset = dt.timedelta(hours=int(off_h), minutes=int(off_m or 0))
            if offset >= dt.timedelta(hours=24):
                raise ValueError("offset out of range")
            local = dt.datetime.combine(date, dt.time(int(hour), int(minute), int(second or 0)))
            try:
                return (local - offset if sign == "+" else local + offset).date()
            except OverflowError:  # 9999-12-31T23:59:59-08:00, a "no end" placeholder
                return date
    except ValueError:
        pass
    raise CellError(f"{_DATE_EXPECTED}, got {text!r}")


@lru_cache(maxsize=8192)
def parse_date_or_none(text: str) -> dt.date | None:
    """An optional date: a blank cell is None."""
    if not text or text.isspace():
        return None
    return parse_date(text)


def date_in_month(
    parse: Callable[[str], dt.date | None], year: int, month: int
) -> Callable[[str], dt.date | None]:
    """Wrap a date parser so that a date outside the report's month is refused."""

    @lru_cache(maxsize=8192)
    def parse_in_month(text: str) -> dt.date | None:
        value = parse(text)
        if value is not None and (value.month != month or value.year != year):
            raise CellError(
                f"expected a date in {year:04d}-{month:02d}, the report's month, got {text!r}"
            )
        return value

    return parse_in_month


# -------------------------------------------------------------------------------- ids

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)


@lru_cache(maxsize=65536)
def parse_guid(text: str) -> str:
    """A required GUID, lower-cased ('9D7D1F3D-…' → '9d7d1f3d-…'); braces are dropped."""
    if isinstance(text, str):
        s = text.strip().lower()
        if s.startswith("{") and s.endswith("}"):
            s = s[1:-1]
        if _GUID.fullmatch(s):
            return s
    raise CellError(
        "expected a GUID such as 0e195b37-4574-4539-bc42-0e539b9684c0 "
        f"(8-4-4-4-12 hexadecimal digits), got {text!r}"
    )


@lru_cache(maxsize=65536)
def parse_guid_or_blank(text: str) -> str:
    """An optional GUID: a blank cell is ''."""
    if not text or text.isspace():
        return ""
    return parse_guid(text)


@lru_cache(maxsize=4096)
def normalize_sku_id(text: str) -> str:
    """SkuIds stay text; a numeric one that lost its leading zeros in Excel ("1", "33")
    is padded back to 4 characters ("0001", "0033"). "000C" is left alone."""
    s = text.strip().lstrip("'") if text[:1] in " '" or text[-1:] == " " else text
    if len(s) < 4 and s.isdigit() and s.isascii():
        return s.zfill(4)
    return s


_CURRENCY = re.compile(r"[A-Za-z]{3}", re.ASCII)


@lru_cache(maxsize=256)
def parse_currency(text: str) -> str:
    """A required ISO 4217 currency code, upper-cased: 'usd' → 'USD'."""
    s = text.strip() if isinstance(text, str) else ""
    if _CURRENCY.fullmatch(s):
        return s.upper()
    raise CellError(f"expected a three-letter currency code such as USD or EUR, got {text!r}")


@lru_cache(maxsize=256)
def parse_currency_or_blank(text: str) -> str:
    """An optional currency code: a blank cell is ''."""
    if not text or text.isspace():
        return ""
    return parse_currency(text)


_TERM = re.compile(r"P\d{1,3}[DWMY]", re.ASCII)


def parse_term_duration(text: str) -> str:
    """An ISO 8601 term length as the price list gives it: P1M, P1Y, P3Y."""
    s = text.strip().upper()
    if _TERM.fullmatch(s):
        return s
    raise CellError(f"expected a term duration such as P1M, P1Y or P3Y, got {text!r}")


# ------------------------------------------------------------------------ JSON arrays


@lru_cache(maxsize=1024)
def parse_json_array(text: str) -> tuple[str, ...]:
    """A cell holding a JSON array of strings, '["AddOn","Trial"]'; blank is ()."""
    s = text.strip() if isinstance(text, str) else text
    if not s:
        return ()
    try:
        value = json.loads(s)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CellError(f'expected a JSON array of strings such as ["AddOn","Trial"], got {text!r}')
    return tuple(value)


_QUALIFIERS = {"addon": "AddOn", "trial": "Trial"}


@lru_cache(maxsize=1024)
def parse_product_qualifiers(text: str) -> tuple[str, ...]:
    """ProductQualifiers: '["AddOn","Trial"]' → ("AddOn", "Trial"). The docs also spell
    it "Add-on"; known qualifiers get one spelling, others are kept as they are."""
    return tuple(
        _QUALIFIERS.get(item.strip().replace("-", "").lower(), item.strip())
        for item in parse_json_array(text)
        if item.strip()
    )


# ---------------------------------------------------------------------- enumerations


def choice_parser(
    allowed: Iterable[str], what: str, *, blank: str | None = None, keep_unknown: bool = False
) -> Callable[[str], str]:
    """A parser for a closed set of words, matched without regard to case, returning the
    canonical spelling. `blank`: the value for a blank cell (None: blank is refused).
    `keep_unknown`: pass other values through unchanged instead of refusing them."""
    allowed = tuple(allowed)
    lookup = {value: value for value in allowed}
    lookup.update({value.lower(): value for value in allowed})
    expected = ", ".join(allowed)

    def parse_choice(text: str) -> str:
        value = lookup.get(text)
        if value is not None:
            return value
        key = text.strip().lower() if isinstance(text, str) else ""
        value = lookup.get(key)
        if value is not None:
            return value
        if not key and blank is not None:
            return blank
        if keep_unknown and key:
            return text.strip()
        raise CellError(f"expected {what}, one of {expected}; got {text!r}")

    return parse_choice


def charge_type_parser(allowed: Iterable[str]) -> Callable[[str], str]:
    """ChargeType, case-insensitive ("New" → "new", "usage" → "Usage"); an unknown value
    is refused with the list of the allowed ones."""
    return choice_parser(allowed, "a charge type")
