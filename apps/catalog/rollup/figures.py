"""What the roll-up gives for one subscription in one month (`SubscriptionMonth`), and
the constants and the month arithmetic the roll-up and the prices share."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

ZERO = Decimal(0)
CENT = Decimal("0.01")
UNIT_COST_PLACES = Decimal("0.0001")


class UnitCostSource:
    """Where `SubscriptionMonth.unit_cost_month` came from."""

    FULL_CYCLE = "full-cycle row"
    CARRIED = "carried forward"
    ESTIMATED = "estimated from UnitPrice"
    NONE = ""  # not applicable (Azure plan) or not known: see the warnings


class OfferKey(NamedTuple):
    product_id: str
    sku_id: str
    availability_id: str


@dataclass(frozen=True, slots=True)
class SubscriptionMonth:
    """One subscription in one month: what the export writes to Autotask.

    `unit_cost_month` is the partner's cost per unit per month in the billing currency (4
    decimals; for a perpetual licence, the one-time price per unit); `None` for Azure plan
    and when it cannot be found (a warning says so). Quantities are `None` for Azure plan
    and when unknown. `total_cost` is Σ Subtotal of the month's lines (0 when carried
    forward). `charge_start`/`charge_end` is the span the month's lines cover (the previous
    span when carried forward).
    """

    customer_id: str
    subscription_id: str
    month: dt.date
    record_type: str | None
    product_id: str
    sku_id: str
    availability_id: str
    customer_name: str
    product_name: str
    sku_name: str
    subscription_description: str
    currency: str
    unit_cost_month: Decimal | None
    unit_cost_source: str
    largest_quantity: Decimal | None
    end_quantity: Decimal | None
    total_cost: Decimal
    charge_start: dt.date | None
    charge_end: dt.date | None
    cancelled: bool
    term_end: dt.date | None
    term_months: int | None
    billing_frequency: str
    carried_forward: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def offer_key(self) -> OfferKey:
        return OfferKey(self.product_id, self.sku_id, self.availability_id)


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)
