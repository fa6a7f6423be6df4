"""The rounding allowance of the Azure plan check (§5): how far Σ daily usage may sit
from Σ invoice Subtotal by rounding alone."""

from collections.abc import Iterable
from decimal import Decimal

from apps.catalog.importers.records import ReconLine
from apps.catalog.rollup.figures import CENT, ZERO


def rounding_allowance(lines: Iterable[ReconLine], tolerance: Decimal = CENT) -> Decimal:
    """How far Σ daily usage may sit from Σ invoice Subtotal by rounding alone.

    Each invoice line is `ROUNDDOWN(ROUNDDOWN(EUP × BillableQuantity, 2) × rate, 2)`, so it
    loses less than one cent to the last rounding, plus less than one cent of the pricing
    currency (× rate) to the first when the rate is not 1. The allowance is therefore
    `tolerance` (one cent) per invoice line, or `tolerance × (1 + rate)` for a line with an
    exchange rate other than 1. Daily usage is not rounded.
    """
    total = ZERO
    for line in lines:
        rate = line.pc_to_bc_exchange_rate
        total += tolerance * (1 + rate) if rate is not None and rate != 1 else tolerance
    return total
