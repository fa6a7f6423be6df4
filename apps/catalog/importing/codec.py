"""Billing lines and month figures as JSON, and back.

An invoice line is stored whole (`BillingLine.data`) so the roll-up can be redone from
the database; a subscription month keeps its figures (`SubscriptionMonth.figures`) so the
next month can carry them forward. Decimals and dates are kept as text, exactly.
"""

import dataclasses
import datetime as dt
import typing
from decimal import Decimal

from apps.catalog.importers.records import ReconLine
from apps.catalog.rollup import SubscriptionMonth as MonthFigures


def _kind_of(annotation) -> type:
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if args else annotation


def _kinds(cls) -> dict[str, type]:
    return {item.name: _kind_of(item.type) for item in dataclasses.fields(cls)}


RECON_KINDS = _kinds(ReconLine)
FIGURE_KINDS = _kinds(MonthFigures)


def _to_json(value):
    if isinstance(value, Decimal | dt.date):
        return str(value)  # a date's str() is its ISO form
    return list(value) if isinstance(value, tuple) else value


def _from_json(cls, kinds: dict[str, type], data: dict, *, tuples: bool):
    """``cls`` from its JSON form: Decimals and dates from text; with ``tuples``, JSON
    arrays become tuples (a ReconLine is frozen and hashable)."""
    values = {}
    for name, kind in kinds.items():
        value = data.get(name)
        if value is not None:
            if kind is Decimal:
                value = Decimal(value)
            elif kind is dt.date:
                value = dt.date.fromisoformat(value)
            elif tuples and isinstance(value, list):
                value = tuple(value)
        values[name] = value
    return cls(**values)


def recon_to_json(line: ReconLine) -> dict:
    return {name: _to_json(getattr(line, name)) for name in RECON_KINDS}


def recon_from_json(data: dict) -> ReconLine:
    return _from_json(ReconLine, RECON_KINDS, data, tuples=True)


def month_figures_to_json(figures: MonthFigures) -> dict:
    return {
        key: (str(value) if isinstance(value, Decimal | dt.date) else value)
        for key, value in dataclasses.asdict(figures).items()
    }


def month_figures_from_json(data: dict) -> MonthFigures:
    return _from_json(MonthFigures, FIGURE_KINDS, data, tuples=False)
