"""The billing importers: every format read into typed records, detection, the v1 API
examples from Microsoft's docs, bad inputs (each error must say file, line and column),
and streaming of a big file.

Expected values are worked out by hand from the rows written, never by running the
importer.
"""

import datetime as dt
import io
import json
import os
import re
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from apps.catalog.importers import (
    ImportValidationError,
    detect_format,
    estimate_rows,
    jsonl,
    pricelist_csv,
    read_any,
    recon_csv,
    usage_csv,
)
from apps.catalog.importers import cells as c
from apps.catalog.importers.records import PriceListRow, ReconLine, UsageLine

from . import generator as g
from .scenarios import march_rows

SAMPLES = Path(__file__).resolve().parents[3] / "shared/samples/partner-center"

D = Decimal


def read_all(reader, path, **options) -> list:
    with reader.read(path, **options) as rows:
        return list(rows)


def failure(reader, path, **options) -> ImportValidationError:
    with pytest.raises(ImportValidationError) as caught:
        read_all(reader, path, **options)
    return caught.value


def assert_error(error, file_name, line, column, fragment):
    """The error names the file, line and column, in its attributes and in its text."""
    assert (error.file_name, error.line, error.column) == (file_name, line, column)
    where = ", ".join(
        [file_name]
        + ([f"line {line}"] if line is not None else [])
        + ([f"column {column}"] if column is not None else [])
    )
    assert str(error).startswith(where + ": "), str(error)
    assert fragment in str(error), str(error)


def samples_dir() -> Path:
    if not SAMPLES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the Partner Center samples are missing: {SAMPLES}")
        pytest.skip(reason=f"the Partner Center samples are not in this checkout: {SAMPLES}")
    return SAMPLES


def array_to_jsonl(text: str) -> str:
    """A JSON array (the docs' `items`) as JSON Lines, every number kept digit for digit
    (json.loads would turn 0.1999968000511991808131 into a float)."""
    mark = "\u0001"
    items = json.loads(text, parse_float=lambda s: f"{mark}{s}{mark}")
    lines = [json.dumps(item) for item in items]
    number = re.compile(r'"\\u0001([^"\\]*)\\u0001"')
    return "".join(number.sub(r"\1", line) + "\n" for line in lines)


# ------------------------------------------------------------------ the column lists


def test_documented_headers_are_the_importers_headers():
    assert len(g.RECON_COLUMNS) == 47
    assert len(g.USAGE_COLUMNS) == 55
    assert recon_csv.COLUMNS == g.RECON_COLUMNS
    assert usage_csv.COLUMNS == g.USAGE_COLUMNS
    assert pricelist_csv.COLUMNS == g.PRICELIST_COLUMNS
    assert pricelist_csv.COLUMNS[-2:] == ("ERP Price", "Segment")


def test_generator_refuses_a_column_the_file_does_not_have():
    with pytest.raises(KeyError, match="UsageDate"):
        g.recon_row(UsageDate="11/01/2025")


# ------------------------------------------------------------------ reconciliation CSV


def test_recon_csv_reads_every_column_into_types(tmp_path):
    row = g.recon_row(
        CustomerId="196E2273-9651-43A3-BA7E-7CBCD918FC40",
        Tier2MpnId="6048879",
        OrderDate="11/3/2025",
        SkuId="1",
        ChargeType="NEW",
        UnitPrice="16",
        Quantity="50",
        Subtotal="720",
        TaxTotal="73",
        Total="793",
        Currency="eur",
        ChargeStartDate="11/3/2025",
        ChargeEndDate="12/2/2025",
        EffectiveUnitPrice="14.4",
        BillableQuantity="50",
        BillingFrequency="monthly",
        PCToBCExchangeRate="0.846202666",
        PCToBCExchangeRateDate="10/31/2025",
        ReservationOrderId="55EEBD03-0000-4d6c-ab4b-7e182fa06aff",
        SubscriptionStartDate="2025-11-03",
        SubscriptionEndDate="2026-11-02",
        ProductQualifiers='["Add-on","Trial"]',
        PromotionId="CFQ7TTC0LDPB:1:CFQ7TTC0GZQJ",
    )
    path = g.write_recon_csv(tmp_path / "G002297372.csv", [row])

    (line,) = read_all(recon_csv, path, month="2025-11")

    assert line == ReconLine(
        source_line=2,
        partner_id=g.PARTNER_ID,
        customer_id="196e2273-9651-43a3-ba7e-7cbcd918fc40",
        customer_name="Contoso Ltd",
        customer_domain_name="contoso.onmicrosoft.com",
        customer_country="US",
        invoice_number="G127575010",
        mpn_id="6034453",
        tier2_mpn_id="6048879",
        order_id="6dc5c039750a",
        order_date=dt.date(2025, 11, 3),
        product_id="CFQ7TTC0LDPB",
        sku_id="0001",
        availability_id="CFQ7TTC0K5BF",
        sku_name="Microsoft 365 Business Standard",
        product_name="Microsoft 365 Business Standard",
        charge_type="new",
        unit_price=D("16"),
        quantity=D("50"),
        subtotal=D("720"),
        tax_total=D("73"),
        total=D("793"),
        currency="EUR",
        price_adjustment_description='["Price for given billing period"]',
        publisher_name="Microsoft Corporation",
        publisher_id="",
        subscription_description="",
        subscription_id=g.SUBSCRIPTION_ID,
        charge_start_date=dt.date(2025, 11, 3),
        charge_end_date=dt.date(2025, 12, 2),
        term_and_billing_cycle="One-Year commitment for monthly/yearly billing",
        effective_unit_price=D("14.4"),
        unit_type="",
        alternate_id="6dc5c039750a",
        billable_quantity=D("50"),
        billing_frequency="Monthly",
        pricing_currency="USD",
        pc_to_bc_exchange_rate=D("0.846202666"),
        pc_to_bc_exchange_rate_date=dt.date(2025, 10, 31),
        meter_description="",
        reservation_order_id="55eebd03-0000-4d6c-ab4b-7e182fa06aff",
        credit_reason_code="",
        subscription_start_date=dt.date(2025, 11, 3),
        subscription_end_date=dt.date(2026, 11, 2),
        reference_id=g.REFERENCE_ID,
        product_qualifiers=("AddOn", "Trial"),
        promotion_id="CFQ7TTC0LDPB:1:CFQ7TTC0GZQJ",
        product_category="",
    )
    assert isinstance(line.unit_price, Decimal)
    assert not any(isinstance(getattr(line, f), float) for f in line.__slots__)


def test_recon_csv_bom_crlf_quotes_apostrophes_and_thousands(tmp_path):
    rows = [
        g.recon_row(
            ProductName='Office 365 E3, "Trial"',
            UnitPrice="1,209.6",
            Subtotal="12,096",
            Total="12,096.00",
            BillableQuantity="10",
        ),
        g.recon_row(OrderDate="2025-11-30", ChargeStartDate="2025-11-30T00:00:00Z"),
    ]
    path = g.write_recon_csv(
        tmp_path / "recon.csv",
        rows,
        bom=True,
        crlf=True,
        quote_all=True,
        apostrophes=["UnitPrice", "Subtotal", "TaxTotal", "SkuId"],
    )
    assert path.read_bytes().startswith(b'\xef\xbb\xbf"PartnerId","CustomerId"')

    first, second = read_all(recon_csv, path, month=dt.date(2025, 11, 1))

    assert first.partner_id == g.PARTNER_ID  # the BOM is not part of the first column name
    assert first.product_name == 'Office 365 E3, "Trial"'
    assert first.unit_price == D("1209.6")
    assert first.subtotal == D("12096")
    assert first.total == D("12096.00")
    assert first.tax_total == D("0")  # "'0"
    assert first.sku_id == "0001"  # "'0001"
    assert (second.order_date, second.charge_start_date) == (dt.date(2025, 11, 30),) * 2
    assert [first.source_line, second.source_line] == [2, 3]


@pytest.mark.parametrize("name", ["ResellerMpnId", "ResellerMPNID", "tier2mpnid"])
def test_recon_reseller_column_has_several_names(tmp_path, name):
    columns = [name if col == "Tier2MpnId" else col for col in g.RECON_COLUMNS]
    row = g.recon_row(Tier2MpnId="6048879")
    row[name] = row.pop("Tier2MpnId")
    path = g.write_recon_csv(tmp_path / "recon.csv", [row], columns=columns)

    (line,) = read_all(recon_csv, path)

    assert (line.mpn_id, line.tier2_mpn_id) == ("6034453", "6048879")


def test_columns_are_bound_by_name_reordered_and_extra(tmp_path):
    rows = [g.recon_row(), g.recon_row(ChargeType="addQuantity", BillableQuantity="15")]
    plain = g.write_recon_csv(tmp_path / "plain.csv", rows)
    columns = ["SomethingNew", *reversed(g.RECON_COLUMNS), "AnotherOne"]
    extra_rows = [{**row, "SomethingNew": "x", "AnotherOne": "1,2"} for row in rows]
    shuffled = g.write_recon_csv(tmp_path / "shuffled.csv", extra_rows, columns=columns)

    assert read_all(recon_csv, shuffled) == read_all(recon_csv, plain)
    assert detect_format(shuffled) == "recon_csv"


def test_recon_columns_of_the_basic_attribute_set_may_be_absent(tmp_path):
    dropped = {"Quantity", "BillingFrequency", "UnitType", "CustomerDomainName"}
    dropped |= {"ProductQualifiers", "ProductCategory", "PCToBCExchangeRateDate"}
    columns = [col for col in g.RECON_COLUMNS if col not in dropped]
    path = g.write_recon_csv(tmp_path / "basic.csv", [g.recon_row()], columns=columns)

    (line,) = read_all(recon_csv, path)

    assert line.quantity is None
    assert line.pc_to_bc_exchange_rate_date is None
    assert (line.billing_frequency, line.unit_type, line.customer_domain_name) == ("", "", "")
    assert line.product_qualifiers == ()
    assert line.billable_quantity == D("10")


def test_recon_microsofts_seat_changes_example(tmp_path):
    """Learn's March 2022 example (PARTNER_CENTER.md §4, example 11 in the samples):
    11 rows, Σ Subtotal = 275.23, largest quantity 30."""
    rows = march_rows()
    path = g.write_recon_csv(tmp_path / "march-2022.csv", rows)

    lines = read_all(recon_csv, path, month="2022-03")

    assert sum(line.subtotal for line in lines) == D("275.23")
    assert max(ln.billable_quantity for ln in lines if ln.effective_unit_price > 0) == 30
    assert [line.charge_type for line in lines[:2]] == ["new", "addQuantity"]
    assert lines[-1].order_date == dt.date(2022, 3, 25)


# ------------------------------------------------------------------------- usage CSV


def test_usage_csv_reads_the_fields_the_rollup_needs(tmp_path):
    row = g.usage_row(
        CustomerId="835A59A7-3172-47B5-BDEF-D9CC65F4D0E4",
        SkuId="5",
        UsageDate="11/7/2025",
        ChargeStartDate="2025-11-01",
        Quantity="0.001045",
        UnitPrice="0.08",
        EffectiveUnitPrice="0.068",
        BillingPreTaxTotal="7.10833E-05",
        PricingPreTaxTotal="7.1060E-05",
        ChargeType="usage",
        EntitlementId="66BADA28-271E-4B7A-AAF5-C0EAD6312345",
        PartnerEarnedCreditPercentage="",
        CreditType="Credit Not Applied",
    )
    path = g.write_usage_csv(tmp_path / "usage-2025-11.csv", [row])

    (line,) = read_all(usage_csv, path, month="2025-11")

    assert isinstance(line, UsageLine)
    assert line.customer_id == "835a59a7-3172-47b5-bdef-d9cc65f4d0e4"
    assert line.entitlement_id == g.ENTITLEMENT_ID
    assert line.subscription_id == g.AZURE_PLAN_ID
    assert line.sku_id == "0005"
    assert line.usage_date == dt.date(2025, 11, 7)
    assert line.charge_start_date == dt.date(2025, 11, 1)
    assert line.charge_end_date == dt.date(2025, 11, 30)
    assert line.quantity == D("0.001045")
    assert line.billing_pre_tax_total == D("0.0000710833")
    assert line.pricing_pre_tax_total == D("0.000071060")
    assert line.effective_unit_price == D("0.068")
    assert line.partner_earned_credit_percentage is None
    assert line.charge_type == "Usage"
    assert (line.unit, line.meter_category, line.meter_id) == (
        "1 Hour",
        "Virtual Machines",
        g.METER_ID,
    )
    assert (line.billing_currency, line.pricing_currency) == ("USD", "USD")
    assert line.credit_type == "Credit Not Applied"


def test_usage_line_numbers_count_physical_lines(tmp_path):
    rows = [
        g.usage_row(ResourceGroup="a", Tags='{"note":"two\nlines"}'),
        g.usage_row(ResourceGroup="b"),
    ]
    path = g.write_usage_csv(tmp_path / "usage.csv", rows)

    first, second = read_all(usage_csv, path)

    assert (first.source_line, second.source_line) == (2, 4)


def test_concatenated_blobs_repeat_the_header_and_it_is_skipped(tmp_path):
    one = g.write_usage_csv(tmp_path / "one.csv", [g.usage_row(ResourceGroup="a")], bom=True)
    two = g.write_usage_csv(tmp_path / "two.csv", [g.usage_row(ResourceGroup="b")], bom=True)
    both = tmp_path / "both.csv"
    both.write_bytes(one.read_bytes() + two.read_bytes())

    lines = read_all(usage_csv, both)

    assert [(ln.resource_group, ln.source_line) for ln in lines] == [("a", 2), ("b", 4)]


def test_mixed_customers_in_one_file_are_fine(tmp_path):
    path = g.write_usage_csv(tmp_path / "usage.csv", g.usage_rows(6, customers=3))

    lines = read_all(usage_csv, path)

    assert [line.customer_id for line in lines] == list(g.CUSTOMER_IDS) * 2


# ----------------------------------------------------------------------- price list


def test_pricelist_csv_reads_rows(tmp_path):
    rows = [
        g.pricelist_row(),
        g.pricelist_row(
            ProductId="CFQ7TTC0HD7P",
            SkuId="1",
            TermDuration="p1m",
            BillingPlan="monthly",
            UnitPrice="7.20",
            EffectiveStartDate="2021-10-01T00:00:00.0000000Z",
            EffectiveEndDate="2021-11-03T06:57:30.0682597Z",
            Segment="Education",
            **{"ERP Price": ""},
        ),
        g.pricelist_row(BillingPlan="None", UnitPrice="0", TermDuration="P1M"),
    ]
    path = g.write_pricelist_csv(tmp_path / "prices.csv", rows)

    annual, monthly, trial = read_all(pricelist_csv, path)

    assert annual == PriceListRow(
        source_line=2,
        product_id="CFQ7TTC0LH18",
        sku_id="0001",
        availability_id="",
        product_title="Microsoft 365 Business Basic",
        sku_title="Microsoft 365 Business Basic",
        publisher="Microsoft Corporation",
        term_duration="P1Y",
        billing_plan="Annual",
        market="US",
        currency="USD",
        unit_price=D("72"),
        erp_price=D("86.4"),
        effective_start_date=dt.date(2025, 2, 1),
        effective_end_date=dt.date(9999, 11, 30),
        segment="Commercial",
    )
    assert (monthly.sku_id, monthly.term_duration, monthly.billing_plan) == (
        "0001",
        "P1M",
        "Monthly",
    )
    assert (monthly.unit_price, monthly.erp_price) == (D("7.20"), None)
    assert monthly.effective_start_date == dt.date(2021, 10, 1)
    assert monthly.effective_end_date == dt.date(2021, 11, 3)
    assert monthly.segment == "Education"
    assert (trial.billing_plan, trial.unit_price) == ("None", D("0"))


def test_pricelist_in_a_zip_as_microsoft_ships_it(tmp_path):
    csv_path = g.write_pricelist_csv(tmp_path / "prices.csv", [g.pricelist_row()])
    archive = tmp_path / "NCE_LicenseBasedPL_US.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv_path, "NCE_LicenseBasedPL_US.csv")

    assert detect_format(archive) == "pricelist_csv"
    assert read_all(pricelist_csv, archive) == read_all(pricelist_csv, csv_path)


# ------------------------------------------------------------------------ JSON Lines


def test_jsonl_pascal_case_plain(tmp_path):
    rows = [g.usage_row(Quantity="2.5", BillingPreTaxTotal="0.17"), g.usage_row()]
    path = g.write_jsonl(tmp_path / "usage.jsonl", rows)

    with jsonl.read(path, month="2025-11") as stream:
        lines = list(stream)
        assert stream.format == "usage_jsonl"

    assert [line.quantity for line in lines] == [D("2.5"), D("24")]
    assert [line.source_line for line in lines] == [1, 2]
    assert lines[0].billing_pre_tax_total == D("0.17")


def test_jsonl_gzip_with_several_members(tmp_path):
    rows = [g.recon_row(BillableQuantity=str(n), Subtotal=str(n * 12)) for n in range(1, 8)]
    path = g.write_jsonl(tmp_path / "recon.json.gz", rows, gzip=True, members=3)
    assert path.read_bytes().count(b"\x1f\x8b\x08") == 3

    lines = read_all(jsonl, path)

    assert [line.billable_quantity for line in lines] == [D(n) for n in range(1, 8)]
    assert sum(line.subtotal for line in lines) == D(12 * 28)
    assert lines[-1].source_line == 7


def test_jsonl_v1_camel_case_names_and_json_numbers(tmp_path):
    text = (
        '{"partnerId":"934f3416-bc2f-47f3-b492-77e517d4e572",'
        '"customerId":"C139C4BF-2E8B-4AB5-8BED-D9F50DCCA7A2","customerName":"Test",'
        '"invoiceNumber":"G000773581","productId":"DZH318Z0BNVV","skuId":"000C",'
        '"skuName":"D2 v3","productName":"Dv3","publisherName":"Microsoft",'
        '"subscriptionId":"12345678-9d62-4a85-8fd0-91a87c261bc4",'
        '"chargeStartDate":"2025-11-01T00:00:00Z","chargeEndDate":"2025-11-30T00:00:00Z",'
        '"usageDate":"2025-11-13T23:30:00-02:00","meterCategory":"Virtual Machines",'
        '"meterName":"D2 v3","meterId":"1core","unitOfMeasure":"1 Hour","chargeType":"Usage",'
        '"unitPrice":0.0209496384791679,"quantity":23.200004,'
        '"billingPreTaxTotal":7.10833E-05,"billingCurrency":"USD",'
        '"pricingPreTaxTotal":0.486031696515249,"pricingCurrency":"USD",'
        '"rateOfPartnerEarnedCredit":0.15,"resellerMpnId":0,'
        '"attributes":{"objectType":"DailyRatedUsageLineItem"}}\n'
    )
    path = tmp_path / "usage.jsonl"
    path.write_text(text)

    (line,) = read_all(jsonl, path)

    assert line.customer_id == "c139c4bf-2e8b-4ab5-8bed-d9f50dcca7a2"
    assert line.unit == "1 Hour"
    assert line.unit_price == D("0.0209496384791679")
    assert line.quantity == D("23.200004")
    assert line.billing_pre_tax_total == D("0.0000710833")
    assert line.partner_earned_credit_percentage == D("15")
    assert line.usage_date == dt.date(2025, 11, 14)  # 23:30 at UTC-2 is 01:30 UTC next day
    assert line.effective_unit_price is None  # key absent


def test_jsonl_generator_camel_case_round_trip(tmp_path):
    row = g.recon_row(Tier2MpnId="6048879", Total="125")
    path = g.write_jsonl(tmp_path / "recon.jsonl", [row], camel_case=True)
    keys = json.loads(path.read_text())
    assert {"resellerMpnId", "totalForCustomer", "pcToBCExchangeRate"} <= set(keys)

    (line,) = read_all(jsonl, path)

    assert (line.tier2_mpn_id, line.total) == ("6048879", D("125"))


def test_v1_api_examples_from_microsofts_docs(tmp_path):
    samples = samples_dir()
    recon_path = tmp_path / "billinglineitems.jsonl"
    recon_path.write_text(
        array_to_jsonl(
            (samples / "get-invoiceline-items.response-example-4.items.json").read_text()
        )
    )
    usage_path = tmp_path / "usagelineitems.jsonl"
    usage_path.write_text(
        array_to_jsonl(
            (
                samples / "get-invoice-billed-consumption-lineitems.response-example.items.json"
            ).read_text()
        )
    )

    assert detect_format(recon_path) == "recon_jsonl"
    assert detect_format(usage_path) == "usage_jsonl"
    trial, power_bi, marketplace = read_all(jsonl, recon_path)
    windows, linux = read_all(jsonl, usage_path)

    assert trial.product_qualifiers == ("AddOn", "Trial")
    assert trial.order_date == dt.date(2021, 5, 20)  # "2021-05-20T18:30:06.6045692Z"
    assert trial.tier2_mpn_id == "4649221"  # resellerMpnId
    assert trial.pc_to_bc_exchange_rate_date == dt.date(2021, 5, 1)  # no zone: already UTC
    assert trial.billing_frequency == ""  # "billingFrequency": ""

    assert (power_bi.unit_price, power_bi.effective_unit_price) == (D("16"), D("14.4"))
    assert (power_bi.subtotal, power_bi.tax_total, power_bi.total) == (D(720), D(73), D(793))
    assert power_bi.billable_quantity == D(50)
    assert power_bi.billing_frequency == "Monthly"
    assert power_bi.promotion_id == "78bcf906-b945-4210-8818-cfb93caf12a1"
    assert power_bi.product_qualifiers == ()

    assert marketplace.charge_type == "new"  # "New"
    assert marketplace.tier2_mpn_id == "0"  # the JSON number 0
    assert (marketplace.unit_price, marketplace.billable_quantity) == (D(820), D("3.1618"))
    assert marketplace.total == D(0)
    # "2019-02-04T09:22:40.1767993-08:00" is 17:22 UTC, the same day
    assert marketplace.charge_start_date == dt.date(2019, 2, 4)
    assert marketplace.charge_end_date == dt.date(2019, 3, 3)
    assert marketplace.billing_frequency == ""  # key absent
    assert (marketplace.reference_id, marketplace.promotion_id) == ("", "")

    assert windows.customer_id == ""  # blank in Microsoft's marketplace example
    assert windows.unit == "1 Hour"  # unitOfMeasure
    assert windows.meter_id == "1core"
    assert windows.usage_date == dt.date(2018, 11, 13)
    assert windows.quantity == D("23.200004")
    assert windows.billing_pre_tax_total == D("0.486031696515249")
    assert windows.charge_type == "new"
    assert windows.entitlement_id == ""
    assert linux.effective_unit_price == D("0.1999968000511991808131")
    assert linux.entitlement_id == "66bada28-271e-4b7a-aaf5-c0ead6312345"
    assert linux.partner_earned_credit_percentage == D(0)  # rateOfPartnerEarnedCredit 0
    assert linux.credit_type == "Azure Credit Applied"


# ------------------------------------------------------------------------- detection


def test_detect_every_format(tmp_path):
    recon = g.write_recon_csv(tmp_path / "a.bin", [g.recon_row()])
    usage = g.write_usage_csv(tmp_path / "b.bin", [g.usage_row()], bom=True)
    prices = g.write_pricelist_csv(tmp_path / "c.bin", [g.pricelist_row()])
    recon_gz = g.write_recon_csv(tmp_path / "d.bin", [g.recon_row()], gzip=True)
    recon_json = g.write_jsonl(tmp_path / "e.bin", [g.recon_row()], gzip=True)
    usage_json = g.write_jsonl(tmp_path / "f.bin", [g.usage_row()], camel_case=True)

    assert detect_format(recon) == "recon_csv"
    assert detect_format(usage) == "usage_csv"
    assert detect_format(prices) == "pricelist_csv"
    assert detect_format(recon_gz) == "recon_csv"
    assert detect_format(recon_json) == "recon_jsonl"
    assert detect_format(usage_json) == "usage_jsonl"


def test_read_any_detects_and_reads_a_stream(tmp_path):
    path = g.write_usage_csv(tmp_path / "usage.csv", g.usage_rows(4))
    upload = io.BytesIO(path.read_bytes())

    with read_any(upload, file_name="upload.csv", month="2025-11") as stream:
        lines = list(stream)
        assert stream.format == "usage_csv"
        assert stream.progress == 1.0

    assert [line.usage_date.day for line in lines] == [1, 2, 3, 4]
    assert lines[0].sku_id == "000C" and lines[1].sku_id == "0001"


class Pipe(io.RawIOBase):
    """A stream that cannot seek, like an HTTP response body."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_gzip_stream_that_cannot_seek(tmp_path):
    rows = [g.usage_row(Quantity=str(n)) for n in (1, 2, 3)]
    path = g.write_jsonl(tmp_path / "blob.json.gz", rows, gzip=True, members=2)

    with jsonl.read(Pipe(path.read_bytes()), file_name="blob.json.gz") as stream:
        lines = list(stream)
        assert stream.progress is None  # the size of a pipe is not known

    assert [line.quantity for line in lines] == [D(1), D(2), D(3)]


def test_detect_names_what_it_expected_for_an_unknown_header(tmp_path):
    # A table of worked examples, shaped like the one in Microsoft's billing docs: billing
    # columns, but not the header of any export.
    path = tmp_path / "examples.csv"
    path.write_text(
        "ExampleNo,OrderDate,ChargeType,EffectiveUnitPrice,BillableQuantity,Subtotal\n"
        "1,3/5/2022,new,12.00,10,120\n"
    )

    with pytest.raises(ImportValidationError) as caught:
        detect_format(path)

    assert_error(caught.value, path.name, 1, None, "unknown format")
    for expected in ("invoice reconciliation", "UsageDate", "TermDuration", "ExampleNo"):
        assert expected in str(caught.value)


def test_detect_a_known_header_short_of_columns_lists_them(tmp_path):
    columns = [col for col in g.USAGE_COLUMNS if col not in {"Quantity", "MeterName"}]
    path = g.write_usage_csv(tmp_path / "usage.csv", [g.usage_row()], columns=columns)

    with pytest.raises(ImportValidationError) as caught:
        detect_format(path)

    assert_error(caught.value, "usage.csv", 1, "MeterName", "also missing: Quantity")


def test_progress_and_row_estimate(tmp_path):
    path = g.write_usage_csv(tmp_path / "usage.csv", g.usage_rows(50))

    assert estimate_rows(path) == 50
    with usage_csv.read(path) as stream:
        assert stream.total_bytes == path.stat().st_size
        next(stream)
        count = 1 + sum(1 for _ in stream)
        assert (count, stream.rows_read, stream.progress) == (50, 50, 1.0)
        assert stream.estimated_rows == 50


# ---------------------------------------------------------------------- cell parsers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("16", D("16")),
        ("-9.408", D("-9.408")),
        ("7.10833E-05", D("0.0000710833")),
        ("1,209.6", D("1209.6")),
        ("-1,234,567.891", D("-1234567.891")),
        ("'10.00", D("10.00")),
        (" 42 ", D("42")),
        ("999999999999.99", D("999999999999.99")),
        ("0E+20", D("0")),
    ],
)
def test_parse_decimal(text, value):
    assert c.parse_decimal(text) == value
    assert isinstance(c.parse_decimal(text), Decimal)


@pytest.mark.parametrize(
    "text", ["", "abc", "1,2", "12,34", "1.2.3", "NaN", "Infinity", "1_000", "1e12", "-1E+12"]
)
def test_parse_decimal_refuses(text):
    with pytest.raises(c.CellError):
        c.parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("11/01/2025", dt.date(2025, 11, 1)),
        ("10/3/2020", dt.date(2020, 10, 3)),
        ("2/1/2023 0:00", dt.date(2023, 2, 1)),
        ("3/1/2018 12:00:00 AM", dt.date(2018, 3, 1)),
        ("2025-11-01", dt.date(2025, 11, 1)),
        ("2021-05-20T18:30:06.6045692Z", dt.date(2021, 5, 20)),
        ("2019-02-04T09:22:40.1767993-08:00", dt.date(2019, 2, 4)),
        ("2019-02-04T18:00:00-08:00", dt.date(2019, 2, 5)),
        ("2019-02-05T01:00:00+02:00", dt.date(2019, 2, 4)),
        ("2021-05-01T00:00:00", dt.date(2021, 5, 1)),
        ("9999-12-31T23:59:59-08:00", dt.date(9999, 12, 31)),
    ],
)
def test_parse_date(text, value):
    assert c.parse_date(text) == value


@pytest.mark.parametrize(
    "text",
    ["13/45/2025", "2/30/2024", "2025-13-01", "June 18, 2021", "11/01/25", "", "1/1/2025 25:00"],
)
def test_parse_date_refuses(text):
    with pytest.raises(c.CellError, match="expected a date as M/D/YYYY or YYYY-MM-DD"):
        c.parse_date(text)


def test_ids_and_json_cells():
    assert c.parse_guid("9D7D1F3D-C8DE-461C-DB6D-91DEBD5129F0") == g.SUBSCRIPTION_ID
    assert c.parse_guid("{9d7d1f3d-c8de-461c-db6d-91debd5129f0}") == g.SUBSCRIPTION_ID
    assert c.parse_guid_or_blank("") == ""
    with pytest.raises(c.CellError, match="expected a GUID"):
        c.parse_guid("9d7d1f3d-c8de-461c-db6d-91debd5129f")
    assert [c.normalize_sku_id(s) for s in ("1", "33", "0001", "000C", "'0002", "")] == [
        "0001",
        "0033",
        "0001",
        "000C",
        "0002",
        "",
    ]
    assert c.parse_product_qualifiers('["AddOn","Trial"]') == ("AddOn", "Trial")
    assert c.parse_product_qualifiers('["Add-on"]') == ("AddOn",)
    assert c.parse_product_qualifiers("") == ()
    with pytest.raises(c.CellError, match="JSON array"):
        c.parse_product_qualifiers("AddOn")


def test_charge_types_are_canonical_and_case_insensitive():
    assert [recon_csv.parse_charge_type(s) for s in ("New", "CYCLECHARGE", "usage")] == [
        "new",
        "cycleCharge",
        "Usage",
    ]
    with pytest.raises(c.CellError) as caught:
        recon_csv.parse_charge_type("upgrade")
    assert "got 'upgrade'" in caught.value.message
    assert "new, renew, cycleCharge, addQuantity" in caught.value.message


def test_error_text():
    assert str(ImportValidationError("a.csv", None, None, "the file is empty")) == (
        "a.csv: the file is empty."
    )
    assert str(ImportValidationError("a.csv", 3, None, "bad.")) == "a.csv, line 3: bad."


# ------------------------------------------------------------------------ bad inputs


def test_bad_date_error_text_exactly(tmp_path):
    rows = [g.usage_row() for _ in range(15)] + [g.usage_row(UsageDate="13/45/2025")]
    path = g.write_usage_csv(tmp_path / "usage-2025-11.csv", rows)

    error = failure(usage_csv, path)

    assert str(error) == (
        "usage-2025-11.csv, line 17, column UsageDate: "
        "expected a date as M/D/YYYY or YYYY-MM-DD, got '13/45/2025'."
    )


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert_error(failure(usage_csv, path), "empty.csv", None, None, "the file is empty")


def test_blank_file_has_no_header(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n  \r\n")
    assert_error(failure(recon_csv, path), "blank.csv", None, None, "no header row")


def test_binary_file(tmp_path):
    path = tmp_path / "logo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert_error(failure(recon_csv, path), "logo.csv", None, None, "not a text file")


def test_excel_workbook(tmp_path):
    path = tmp_path / "recon.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert_error(failure(recon_csv, path), "recon.xlsx", None, None, "Excel workbook")


def test_zip_with_two_files(tmp_path):
    path = tmp_path / "prices.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.csv", ",".join(g.PRICELIST_COLUMNS))
        zf.writestr("b.csv", ",".join(g.PRICELIST_COLUMNS))
    assert_error(failure(pricelist_csv, path), "prices.zip", None, None, "holds 2 files")


def test_windows_1252_text(tmp_path):
    path = g.write_recon_csv(tmp_path / "recon.csv", [g.recon_row(), g.recon_row()])
    data = path.read_bytes().replace(b"Contoso Ltd", b"Caf\xe9 Ltd", 2)
    path.write_bytes(data)
    error = failure(recon_csv, path)
    assert_error(error, "recon.csv", 2, None, "expected UTF-8 text, found the byte 0xE9")


def test_utf16_text(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_bytes(",".join(g.USAGE_COLUMNS).encode("utf-16"))
    assert_error(failure(usage_csv, path), "usage.csv", None, None, "UTF-16")


def test_missing_column(tmp_path):
    columns = [col for col in g.USAGE_COLUMNS if col != "UsageDate"]
    path = g.write_usage_csv(tmp_path / "usage.csv", [g.usage_row()], columns=columns)
    error = failure(usage_csv, path)
    assert_error(error, "usage.csv", 1, "UsageDate", "column is missing from the header")


def test_missing_column_of_a_file_of_another_format_says_which(tmp_path):
    path = g.write_usage_csv(tmp_path / "usage.csv", [g.usage_row()])
    error = failure(recon_csv, path)
    assert_error(error, "usage.csv", 1, "OrderId", "daily rated usage file")


def test_duplicated_column(tmp_path):
    columns = [*g.RECON_COLUMNS, "UnitPrice"]
    path = g.write_recon_csv(tmp_path / "recon.csv", [g.recon_row()], columns=columns)
    error = failure(recon_csv, path)
    assert_error(
        error, "recon.csv", 1, "UnitPrice", "appears twice in the header (fields 17 and 48)"
    )


def test_two_names_of_one_column(tmp_path):
    columns = [*g.RECON_COLUMNS, "ResellerMpnId"]
    path = g.write_recon_csv(tmp_path / "recon.csv", [g.recon_row()], columns=columns)
    error = failure(recon_csv, path)
    assert_error(error, "recon.csv", 1, "ResellerMpnId", "Tier2MpnId and ResellerMpnId")


def test_unknown_charge_type(tmp_path):
    rows = [g.recon_row(), g.recon_row(ChargeType="upgrade")]
    path = g.write_recon_csv(tmp_path / "recon.csv", rows)
    error = failure(recon_csv, path)
    assert_error(error, "recon.csv", 3, "ChargeType", "got 'upgrade'")
    assert "cancelImmediate" in str(error)


def test_usage_charge_type_of_the_invoice_file_is_refused(tmp_path):
    path = g.write_usage_csv(tmp_path / "u.csv", [g.usage_row(ChargeType="cycleCharge")])
    assert_error(failure(usage_csv, path), "u.csv", 2, "ChargeType", "one of Usage, new")


def test_unparsable_number(tmp_path):
    rows = [g.usage_row(), g.usage_row(), g.usage_row(Quantity="12,34")]
    path = g.write_usage_csv(tmp_path / "u.csv", rows)
    assert_error(failure(usage_csv, path), "u.csv", 4, "Quantity", "expected a number, got '12,34'")


def test_quantity_of_ten_to_the_twelfth(tmp_path):
    path = g.write_recon_csv(tmp_path / "r.csv", [g.recon_row(BillableQuantity="1000000000000")])
    error = failure(recon_csv, path)
    assert_error(error, "r.csv", 2, "BillableQuantity", "below 10^12 in absolute value")


def test_amount_of_minus_ten_to_the_twelfth_in_scientific_notation(tmp_path):
    path = g.write_usage_csv(tmp_path / "u.csv", [g.usage_row(BillingPreTaxTotal="-1E+12")])
    error = failure(usage_csv, path)
    assert_error(error, "u.csv", 2, "BillingPreTaxTotal", "got '-1E+12'")


def test_not_a_number(tmp_path):
    path = g.write_recon_csv(tmp_path / "r.csv", [g.recon_row(Subtotal="NaN")])
    assert_error(failure(recon_csv, path), "r.csv", 2, "Subtotal", "expected a number, got 'NaN'")


def test_blank_required_amount(tmp_path):
    path = g.write_recon_csv(tmp_path / "r.csv", [g.recon_row(Subtotal="")])
    assert_error(failure(recon_csv, path), "r.csv", 2, "Subtotal", "expected a number, got ''")


def test_negative_billable_quantity(tmp_path):
    rows = [g.recon_row(EffectiveUnitPrice="-11.23", BillableQuantity="-10")]
    path = g.write_recon_csv(tmp_path / "r.csv", rows)
    error = failure(recon_csv, path)
    assert_error(error, "r.csv", 2, "BillableQuantity", "not negative, got '-10'")


def test_guid_that_is_not_a_guid(tmp_path):
    rows = [g.usage_row(), g.usage_row(CustomerId="contoso.onmicrosoft.com")]
    path = g.write_usage_csv(tmp_path / "u.csv", rows)
    assert_error(failure(usage_csv, path), "u.csv", 3, "CustomerId", "expected a GUID")


def test_bad_currency(tmp_path):
    path = g.write_recon_csv(tmp_path / "r.csv", [g.recon_row(Currency="US Dollar")])
    assert_error(failure(recon_csv, path), "r.csv", 2, "Currency", "three-letter currency code")


def test_usage_line_of_another_month(tmp_path):
    rows = [g.usage_row(), g.usage_row(UsageDate="10/31/2025")]
    path = g.write_usage_csv(tmp_path / "usage-2025-11.csv", rows)
    error = failure(usage_csv, path, month="2025-11")
    assert_error(error, "usage-2025-11.csv", 3, "UsageDate", "in 2025-11, the report's month")
    assert len(read_all(usage_csv, path)) == 2  # without a month, both are read


def test_recon_line_of_another_month(tmp_path):
    rows = [g.recon_row(OrderDate="12/1/2025")]
    path = g.write_recon_csv(tmp_path / "r.csv", rows)
    error = failure(recon_csv, path, month=(2025, 11))
    assert_error(error, "r.csv", 2, "OrderDate", "got '12/1/2025'")


def test_unknown_billing_plan_in_price_list(tmp_path):
    path = g.write_pricelist_csv(tmp_path / "p.csv", [g.pricelist_row(BillingPlan="Weekly")])
    assert_error(failure(pricelist_csv, path), "p.csv", 2, "BillingPlan", "got 'Weekly'")


def test_row_with_too_many_fields(tmp_path):
    path = g.write_recon_csv(tmp_path / "r.csv", [g.recon_row(), g.recon_row()])
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("Contoso Ltd", "Contoso, Ltd")
    path.write_text("".join(lines))
    assert_error(
        failure(recon_csv, path), "r.csv", 3, None, "expected 47 fields, as in the header, found 48"
    )


def test_truncated_last_line(tmp_path):
    path = g.write_usage_csv(tmp_path / "u.csv", g.usage_rows(3))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 300])
    error = failure(usage_csv, path)
    assert_error(error, "u.csv", 4, None, "the last line is cut short: the file looks truncated")


def test_truncated_inside_a_quoted_value(tmp_path):
    path = g.write_usage_csv(tmp_path / "u.csv", [g.usage_row(), g.usage_row()], quote_all=True)
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b"Production") + 4])
    error = failure(usage_csv, path)
    assert_error(error, "u.csv", 3, None, "a quoted value is never closed")


def test_truncated_gzip(tmp_path):
    path = g.write_jsonl(tmp_path / "usage.json.gz", list(g.usage_rows(200)), gzip=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    error = failure(jsonl, path)
    assert_error(error, "usage.json.gz", None, None, "the file looks truncated")


def test_damaged_gzip(tmp_path):
    path = g.write_jsonl(tmp_path / "usage.json.gz", list(g.usage_rows(50)), gzip=True)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    error = failure(jsonl, path)
    assert_error(error, "usage.json.gz", None, None, "damaged")


def test_unknown_format(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("Name,Email,Phone\nAda,ada@example.com,123\n")
    with pytest.raises(ImportValidationError) as caught:
        detect_format(path)
    assert_error(caught.value, "contacts.csv", 1, None, "found 3 columns: Name, Email, Phone")


def test_json_array_instead_of_json_lines(tmp_path):
    path = tmp_path / "items.json"
    path.write_text(json.dumps([g.usage_row()], indent=2))
    with pytest.raises(ImportValidationError) as caught:
        detect_format(path)
    assert_error(caught.value, "items.json", 1, None, "expected JSON Lines")


def test_jsonl_line_that_is_not_an_object(tmp_path):
    path = tmp_path / "usage.jsonl"
    path.write_text(g.jsonl_text([g.usage_row()]) + "[1, 2]\n" + g.jsonl_text([g.usage_row()]))
    error = failure(jsonl, path)
    assert_error(error, "usage.jsonl", 2, None, "expected a JSON object, got an array")


def test_jsonl_line_that_is_not_json(tmp_path):
    path = tmp_path / "usage.jsonl"
    text = g.jsonl_text([g.usage_row()] * 3)
    path.write_text(text.replace('"Quantity": "24"', '"Quantity": 24,,', 1))
    error = failure(jsonl, path)
    assert_error(error, "usage.jsonl", 1, None, "not valid JSON")
    assert "truncated" not in str(error)


def test_jsonl_truncated_last_line(tmp_path):
    path = tmp_path / "usage.jsonl"
    text = g.jsonl_text([g.usage_row()] * 3)
    path.write_text(text[: len(text) - 100])
    error = failure(jsonl, path)
    assert_error(error, "usage.jsonl", 3, None, "the last line is cut short")


def test_jsonl_missing_required_key(tmp_path):
    row = g.usage_row()
    del row["UsageDate"]
    path = g.write_jsonl(tmp_path / "usage.jsonl", [g.usage_row(), row])
    error = failure(jsonl, path)
    assert_error(error, "usage.jsonl", 2, "UsageDate", "the key is missing; expected a date")


def test_jsonl_bad_value_names_the_key_as_spelled(tmp_path):
    row = g.usage_row(Quantity="lots")
    path = g.write_jsonl(tmp_path / "usage.jsonl", [row], camel_case=True)
    assert_error(failure(jsonl, path), "usage.jsonl", 1, "quantity", "got 'lots'")


def test_jsonl_of_the_other_data_set(tmp_path):
    path = g.write_jsonl(tmp_path / "usage.jsonl", [g.usage_row()])
    error = failure(jsonl, path, data_set="recon")
    assert_error(error, "usage.jsonl", 1, None, "daily rated usage data set")


def test_jsonl_object_of_neither_data_set(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text('{"id": 1, "name": "x"}\n')
    error = failure(jsonl, path)
    assert_error(error, "other.jsonl", 1, None, "unknown format")


def test_header_only_file_has_no_lines(tmp_path):
    path = g.write_recon_csv(tmp_path / "r.csv", [])
    assert read_all(recon_csv, path) == []


# ------------------------------------------------------------------------- streaming


def test_a_big_usage_file_streams_in_little_memory(tmp_path):
    count = 40_000
    path = g.write_usage_csv(tmp_path / "usage-big.csv", g.usage_rows(count))
    assert path.stat().st_size > 30_000_000  # the file is far bigger than the limit below

    tracemalloc.start()
    try:
        lines = 0
        quantity = Decimal(0)
        customers = set()
        with usage_csv.read(path, month="2025-11") as stream:
            for line in stream:
                lines += 1
                quantity += line.quantity
                customers.add(line.customer_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert lines == count
    # usage_rows: row i has quantity (i % 997 + 1) / 100
    full, rest = divmod(count, 997)
    expected = D(full * 997 * 998 // 2 + rest * (rest + 1) // 2) / 100
    assert quantity == expected
    assert customers == set(g.CUSTOMER_IDS)
