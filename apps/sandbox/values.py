"""Values as Autotask reads and writes them: errors, type conversion, dates, money."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from apps.sandbox.schema import Field


class ApiError(Exception):
    """An answer other than 200: status and Autotask's JSON body."""

    def __init__(self, status: int, message: str, *, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"errors": [message]}


def error(message: str) -> ApiError:
    """Autotask answers most client mistakes with a 500 and an `errors` list."""
    return ApiError(500, message)


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405,
        f"The requested resource does not support http method '{method}'.",
        body={"Message": f"The requested resource does not support http method '{method}'."},
    )


STORED_FORMAT = "%Y-%m-%dT%H:%M:%S"


def parse_datetime(value) -> dt.datetime | None:
    """ISO-8601 date or date-time, with or without 'Z' or an offset; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def stored_datetime(moment: dt.datetime) -> str:
    text = moment.strftime(STORED_FORMAT)
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text


def stored_date(day: dt.date) -> str:
    return day.strftime("%Y-%m-%dT00:00:00")


def now_stored() -> str:
    return stored_datetime(dt.datetime.now(dt.UTC).replace(tzinfo=None))


def money(value) -> float:
    """Autotask rounds amounts to 4 decimals."""
    return float(Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def times(quantity, price) -> float | None:
    if quantity is None or price is None:
        return None
    return money(Decimal(str(quantity)) * Decimal(str(price)))


def _conversion_error(field: Field, value, type_name: str) -> ApiError:
    return error(
        f"Conversion failed when converting varchar '{value}' to data type {type_name} "
        f"(field:{field.name})."
    )


def coerce(field: Field, value):
    """Convert a JSON value to the field's type, or raise Autotask's error."""
    if value is None:
        return None
    kind = field.data_type
    if kind in ("integer", "long"):
        if isinstance(value, bool):
            raise _conversion_error(field, value, "int")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise _conversion_error(field, value, "int")
    if kind == "decimal":
        if isinstance(value, bool):
            raise _conversion_error(field, value, "decimal")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise _conversion_error(field, value, "decimal") from None
        if not number.is_finite():
            raise _conversion_error(field, value, "decimal")
        return money(number)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise error(
            f"Boolean values must be either true or false (field:{field.name}), not {value!r}."
        )
    if kind == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise error(f"Invalid date value '{value}' (field:{field.name}).")
        return stored_datetime(parsed)
    if isinstance(value, dict | list):
        raise error(f"Invalid value for a text field (field:{field.name}).")
    return str(value)
