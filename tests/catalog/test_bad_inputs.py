"""Bad billing files: each gives a clear message naming where, and changes nothing.

A good file of the same month is imported in the same call first, so "changes nothing"
also covers the lines that were fine.
"""

import pytest

from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing.billing import import_billing
from tests.catalog.generator import (
    RECON_COLUMNS,
    azure_plan_recon_row,
    usage_row,
    write_csv,
    write_jsonl,
    write_recon_csv,
    write_usage_csv,
)
from tests.catalog.scenarios import counts, march_rows

pytestmark = pytest.mark.django_db


def recon_with(tmp_path, change):
    rows = march_rows()
    change(rows)
    path = tmp_path / "bad.csv"
    write_recon_csv(path, rows)
    return path


def set_cell(column, value, row=3):
    def change(rows):
        rows[row][column] = value

    return change


def raw(tmp_path, data: bytes, name="bad.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def header_only(tmp_path, columns):
    path = tmp_path / "bad.csv"
    write_csv(path, columns, [])
    return path


def truncated(tmp_path):
    good = tmp_path / "whole.csv"
    write_recon_csv(good, march_rows())
    data = good.read_bytes()
    return raw(tmp_path, data[: len(data) - 40])  # cut in the middle of the last line


def truncated_gzip(tmp_path):
    path = tmp_path / "bad.jsonl.gz"
    write_jsonl(path, march_rows(), gzip=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def duplicated_column(tmp_path):
    path = tmp_path / "bad.csv"
    write_csv(path, [*RECON_COLUMNS, "Subtotal"], march_rows())
    return path


def missing_column(tmp_path):
    path = tmp_path / "bad.csv"
    write_csv(path, [c for c in RECON_COLUMNS if c != "SubscriptionId"], march_rows())
    return path


def jsonl_not_an_object(tmp_path):
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, march_rows())
    with open(path, "a") as handle:
        handle.write("[1, 2, 3]\n")
    return path


def usage_other_month(tmp_path):
    path = tmp_path / "bad.csv"
    write_usage_csv(path, [usage_row(), usage_row(UsageDate="12/01/2025")])
    return path


def usage_without_a_known_customer(tmp_path):
    # A blank CustomerId on a subscription no other line or import has.
    path = tmp_path / "bad.csv"
    unknown = "77777777-0000-4000-8000-000000000007"
    write_usage_csv(path, [usage_row(), usage_row(CustomerId="", SubscriptionId=unknown)])
    return path


def mixed_currency(tmp_path):
    rows = march_rows()
    rows[5]["Currency"] = "USD"
    path = tmp_path / "bad.csv"
    write_recon_csv(path, rows)
    return path


CASES = {
    "empty file": (lambda p: raw(p, b""), ["bad.csv: the file is empty"]),
    "binary file": (lambda p: raw(p, bytes(range(256)) * 20), ["bad.csv", "not a text file"]),
    "wrong encoding": (
        lambda p: raw(p, ("Kunde,Ãœ\n" * 3).encode("utf-16")),
        ["bad.csv", "UTF-16", "expected UTF-8"],
    ),
    "unknown header": (lambda p: raw(p, b"a,b,c\n1,2,3\n"), ["bad.csv", "unknown format"]),
    "header without lines": (lambda p: header_only(p, RECON_COLUMNS), ["bad.csv", "no lines"]),
    "missing column": (missing_column, ["bad.csv, line 1, column SubscriptionId", "missing"]),
    "duplicated column": (duplicated_column, ["bad.csv, line 1, column Subtotal", "twice"]),
    "unknown charge type": (
        lambda p: recon_with(p, set_cell("ChargeType", "refundEverything")),
        ["bad.csv, line 5, column ChargeType"],
    ),
    "unparsable date": (
        lambda p: recon_with(p, set_cell("OrderDate", "31/31/2022")),
        ["bad.csv, line 5, column OrderDate"],
    ),
    "unparsable number": (
        lambda p: recon_with(p, set_cell("Subtotal", "12,34,5x")),
        ["bad.csv, line 5, column Subtotal"],
    ),
    "quantity of 10^12": (
        lambda p: recon_with(p, set_cell("BillableQuantity", "1000000000000")),
        ["bad.csv, line 5, column BillableQuantity"],
    ),
    "negative billable quantity": (
        lambda p: recon_with(p, set_cell("BillableQuantity", "-3")),
        ["bad.csv, line 5, column BillableQuantity"],
    ),
    "customer id that is not a GUID": (
        lambda p: recon_with(p, set_cell("CustomerId", "contoso")),
        ["bad.csv, line 5, column CustomerId"],
    ),
    "line of another month": (
        lambda p: recon_with(p, set_cell("OrderDate", "4/1/2022")),
        ["bad.csv, line 5, column OrderDate", "2022-03"],
    ),
    "two currencies in one file": (mixed_currency, ["bad.csv, line 7, column Currency"]),
    "file cut in the middle": (truncated, ["bad.csv, line 12", "truncated"]),
    "gzip cut in the middle": (truncated_gzip, ["bad.jsonl.gz", "truncated"]),
    "JSON line that is not an object": (jsonl_not_an_object, ["bad.jsonl, line 12"]),
    "usage line of another month": (usage_other_month, ["bad.csv, line 3, column UsageDate"]),
    "usage line without a customer nobody owns": (
        usage_without_a_known_customer,
        ["bad.csv, line 3, column CustomerId: blank", "whose usage this is cannot be told"],
    ),
    "price list given as a billing file": (lambda p: _price_list(p), ["prices.csv", "price list"]),
    "blank subscription id": (
        lambda p: recon_with(p, set_cell("SubscriptionId", "")),
        ["bad.csv, line 5, column SubscriptionId"],
    ),
}


def _price_list(tmp_path):
    from tests.catalog.generator import pricelist_row, write_pricelist_csv

    path = tmp_path / "prices.csv"
    write_pricelist_csv(path, [pricelist_row()])
    return path


def azure_invoice_file(tmp_path):
    """The invoice (G127575010, November 2025) the usage rows of the generator belong to."""
    path = tmp_path / "good-recon-azure.csv"
    write_recon_csv(path, [azure_plan_recon_row()])
    return path


def good_files(tmp_path, case: str):
    """Good files of the same month as the bad one, imported first in the same call. Daily
    usage is imported with its invoice: usage whose invoice is in no import is refused
    (its report is its invoice's), which would hide the problem the bad file has."""
    if case.startswith("usage line"):
        path = tmp_path / "good-usage.csv"
        write_usage_csv(path, [usage_row(), usage_row(UsageDate="11/05/2025")])
        return [azure_invoice_file(tmp_path), path]
    path = tmp_path / "good-recon.csv"
    write_recon_csv(path, march_rows(InvoiceNumber="G000000009"))
    return [path]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_file_changes_nothing(tmp_path, case):
    make, expected = CASES[case]
    good = good_files(tmp_path, case)
    bad = make(tmp_path)
    before = counts()
    with pytest.raises(ImportValidationError) as problem:
        import_billing([*((path, path.name) for path in good), (bad, bad.name)])
    message = str(problem.value)
    for words in expected:
        assert words in message, message
    assert counts() == before


def test_the_good_files_alone_import(tmp_path):
    # The usage file alone follows its invoice, imported in an earlier call (alone with no
    # invoice imported it is refused: tests/catalog/test_usage_follows_invoice.py).
    [recon] = good_files(tmp_path, "any")
    invoice, usage = good_files(tmp_path, "usage line of another month")
    assert import_billing([(recon, recon.name)]).files[0].lines == 11
    assert import_billing([(invoice, invoice.name)]).files[0].lines == 1
    assert import_billing([(usage, usage.name)]).files[0].lines == 2
