"""What the database refuses in the catalog, whatever writes it: a negative MSP price, a
billing report whose month is not the first of a month."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from apps.catalog.models import BillingReport, MspPrice, Offer

pytestmark = pytest.mark.django_db


def refused(write) -> bool:
    try:
        with transaction.atomic():
            write()
    except IntegrityError:
        return True
    return False


def test_an_msp_price_is_never_negative():
    offer = Offer.objects.create(product_id="CFQ7TTC0LH18", sku_id="0001")
    price = MspPrice.objects.create(offer=offer, currency="EUR", unit_price=0, source="manual")
    assert refused(lambda: MspPrice.objects.filter(pk=price.pk).update(unit_price=Decimal("-0.01")))
    assert refused(
        lambda: MspPrice.objects.create(
            offer=offer, currency="USD", unit_price=Decimal("-5"), source="manual"
        )
    )
    MspPrice.objects.filter(pk=price.pk).update(unit_price=Decimal("12.50"))


@pytest.mark.parametrize("day", [2, 15, 28, 31])
def test_a_billing_report_month_is_the_first_of_a_month(day):
    assert refused(
        lambda: BillingReport.objects.create(month=dt.date(2025, 1, day), currency="EUR")
    )
    report = BillingReport.objects.create(month=dt.date(2025, 1, 1), currency="EUR")
    assert refused(
        lambda: BillingReport.objects.filter(pk=report.pk).update(month=dt.date(2025, 3, day))
    )
    BillingReport.objects.filter(pk=report.pk).update(month=dt.date(2024, 12, 1))


def test_a_raw_insert_is_refused_too():
    sql = (
        "INSERT INTO catalog_billingreport (month, currency, invoice_numbers, imported_at) "
        "VALUES (%s, 'EUR', '[]', %s)"
    )
    now = dt.datetime(2025, 2, 3, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        assert refused(lambda: cursor.execute(sql, ["2025-02-03", now]))
        cursor.execute(sql, ["2025-02-01", now])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own schema text")
def test_sqlite_checks_call_no_function_only_django_registers():
    """A CHECK that called django_date_extract() would refuse every write from a client
    other than Django (the sqlite3 shell): "no such function"."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE name IN (%s, %s)",
            [BillingReport._meta.db_table, MspPrice._meta.db_table],
        )
        schema = " ".join(sql for (sql,) in cursor.fetchall())
    assert "report_month_first_day" in schema and "msp_price_not_negative" in schema
    assert "django_" not in schema
