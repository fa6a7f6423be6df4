"""Monthly roll-up of Partner Center billing lines per subscription (PARTNER_CENTER.md
§4–§6), and the rounding allowance the Azure plan check uses (§5; the per-customer Azure
totals are summed by `importing.months.roll_up_report`, from the importer's own sums of
the usage it has just read and the database's of the rest).

Pure and deterministic: lines in, dataclasses out, no I/O, `Decimal` throughout.

Rounding. Money that Microsoft billed (Subtotal) is summed as given: Microsoft already
rounded each line down to 2 decimals. Where we repeat Microsoft's own step (a unit price
times the exchange rate, for an estimate) we round down to 2 decimals as it does. A monthly
unit cost that we derive by division (a cycle's per-unit amount / months, e.g. 229.16 / 11)
is kept to 4 decimals, rounded half up, so that 12 months of it land within a cent of the
cycle. Daily usage totals are not rounded (Microsoft does not round BillingPreTaxTotal).

The modules, by job: `figures` (what a subscription month is), `quantities` (billing rows
as events, and the seat counts they leave), `unit_cost` (the monthly unit cost), `months`
(a month's roll-up per subscription, and carrying a subscription forward) and
`azure_rounding` (the Azure plan check's allowance). The names below are the roll-up's
public ones, importable from `apps.catalog.rollup` itself.
"""

from apps.catalog.rollup.azure_rounding import rounding_allowance
from apps.catalog.rollup.figures import (
    CENT,
    OfferKey,
    SubscriptionMonth,
    UnitCostSource,
    first_of_month,
)
from apps.catalog.rollup.months import roll_up_subscriptions

__all__ = [
    "CENT",
    "OfferKey",
    "SubscriptionMonth",
    "UnitCostSource",
    "first_of_month",
    "roll_up_subscriptions",
    "rounding_allowance",
]
