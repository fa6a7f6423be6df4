"""Mapping files (issue 10): the Organizations and Offers rows downloaded as CSV and that
CSV uploaded back, previewed and confirmed over HTTP, or imported with `map import`,
against the sandbox's demo data copied by a real refresh. All or nothing, one audit entry
per changed row with its before and after, none for an unchanged row."""

import csv
import io
import subprocess
import time

import pytest
from bs4 import BeautifulSoup
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.autotask.models import AutotaskCompany, AutotaskService
from apps.catalog.models import Offer, Organization
from apps.mappings import file_forms
from apps.mappings.mapping_files import (
    MAX_FILE_BYTES,
    MappingFileRefused,
    apply_mapping_file,
    pending,
    read_mapping_file,
)
from apps.mappings.mapping_files import reading as mapping_file_reading
from apps.mappings.models import OfferMapping, OrganizationMapping
from apps.mappings.services import offer_mapping_set, organization_mapping_set
from tests.catalog.factories import OfferFactory, OrganizationFactory, SubscriptionFactory
from tests.conftest import MANAGE, ROOT, child_env, sign_in
from tests.test_csp import inline_code

pytestmark = pytest.mark.django_db

ORGANIZATIONS_HEADER = "customer_id,organization,company_id,company"
OFFERS_HEADER = "offer_key,offer,offer_id,service_id,service"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def customers(connection, count: int) -> list[AutotaskCompany]:
    """Active companies of type Customer, the ones a mapping may choose."""
    rows = AutotaskCompany.objects.filter(connection=connection, company_type=1, is_active=True)
    return list(rows.order_by("name")[:count])


def service(connection, name) -> AutotaskService:
    return AutotaskService.objects.get(connection=connection, name=name)


@pytest.fixture
def organizations():
    return [
        OrganizationFactory(customer_id=f"c-{number}", name=name)
        for number, name in enumerate(["Alpha Ltd", "Bravo Inc", "Charlie GmbH"], start=1)
    ]


def subscribed_offer(sku, billing_frequency, name) -> Offer:
    offer = OfferFactory(
        sku_id=sku, billing_frequency=billing_frequency, product_name="Microsoft 365", sku_name=name
    )
    organization = Organization.objects.get_or_create(customer_id="c-offers", name="Offers")[0]
    SubscriptionFactory(subscription_id=f"s-{sku}", organization=organization, offer=offer)
    return offer


@pytest.fixture
def offers():
    """Two offers with a subscription (on the Offers screen) and one without (not)."""
    monthly = subscribed_offer("0001", "monthly", "Business Standard")
    annual = subscribed_offer("0002", "annual", "Business Basic")
    Offer.objects.create(product_id="DZH318Z0BQ3Q", sku_id="0009", sku_name="Usage only")
    return monthly, annual


@pytest.fixture
def operating(client, operator):
    return sign_in(client, operator)


def download(client, kind: str) -> str:
    response = client.get(reverse("mappings:mapping_file_download", kwargs={"kind": kind}))
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{kind}-')
    return b"".join(response.streaming_content).decode("utf-8-sig")


def records(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def as_csv(rows: list[dict], delimiter=",") -> str:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def upload(client, kind: str, text: str | bytes):
    """Upload a file and open its preview; the preview page."""
    data = text.encode() if isinstance(text, str) else text
    response = client.post(
        reverse("mappings:mapping_file_upload", kwargs={"kind": kind}),
        {"file": SimpleUploadedFile("mapping.csv", data, content_type="text/csv")},
    )
    assert response.status_code == 302, response.content.decode()
    assert response["Location"].startswith("/mappings/files/preview/")
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    preview.url = response["Location"]
    return preview


def page(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def confirm(client, preview, action="apply"):
    digest = page(preview).select_one("input[name=digest]")["value"]
    return client.post(preview.url, {"digest": digest, "action": action})


def table_rows(preview, testid: str) -> list[list[str]]:
    table = page(preview).select_one(f"[data-testid={testid}]")
    if table is None:
        return []
    return [
        [" ".join(cell.get_text().split()) for cell in row.select("td")]
        for row in table.select("tbody tr")
    ]


def mapped(connection) -> dict[str, int]:
    return dict(
        OrganizationMapping.objects.filter(connection=connection).values_list(
            "organization__customer_id", "company__autotask_id"
        )
    )


def mapping_entries():
    return list(AuditEntry.objects.filter(operation__contains="Mapping").order_by("pk"))


# -- download ---------------------------------------------------------------------------------


def test_the_download_has_every_row_with_its_current_mapping(
    connection, organizations, offers, operator, viewer, client
):
    contoso = customers(connection, 1)[0]
    organization_mapping_set(
        connection=connection, organization=organizations[1], company=contoso, user=operator
    )
    monthly, _ = offers
    standard = service(connection, "Microsoft 365 Business Standard (monthly)")
    offer_mapping_set(connection=connection, offer=monthly, service=standard, user=operator)
    sign_in(client, viewer)

    text = download(client, "organizations")
    assert text.splitlines()[0] == ORGANIZATIONS_HEADER
    assert records(text) == [
        {"customer_id": "c-1", "organization": "Alpha Ltd", "company_id": "", "company": ""},
        {"customer_id": "c-2", "organization": "Bravo Inc",
         "company_id": str(contoso.autotask_id), "company": contoso.name},
        {"customer_id": "c-3", "organization": "Charlie GmbH", "company_id": "", "company": ""},
        {"customer_id": "c-offers", "organization": "Offers", "company_id": "", "company": ""},
    ]  # fmt: skip

    text = download(client, "offers")
    assert text.splitlines()[0] == OFFERS_HEADER
    # Only offers some subscription is on, by name; the offer id as the screen shows it.
    assert records(text) == [
        {"offer_key": "CFQ7TTC0LDPB:0002::P1Y:annual", "offer": "Business Basic (annual)",
         "offer_id": "CFQ7TTC0LDPB:0002", "service_id": "", "service": ""},
        {"offer_key": "CFQ7TTC0LDPB:0001::P1M:monthly", "offer": "Business Standard (monthly)",
         "offer_id": "CFQ7TTC0LDPB:0001", "service_id": str(standard.autotask_id),
         "service": standard.name},
    ]  # fmt: skip


def test_cells_a_spreadsheet_would_run_are_defused(connection, viewer, client):
    Organization.objects.create(customer_id="c-evil", name='=HYPERLINK("http://x","y")')
    Organization.objects.create(customer_id="c-plus", name="+1 Consulting")
    sign_in(client, viewer)

    names = [row["organization"] for row in records(download(client, "organizations"))]

    assert names == ["'+1 Consulting", '\'=HYPERLINK("http://x","y")']


def test_the_download_costs_the_same_queries_for_5_and_50_organizations(connection, viewer, client):
    companies = customers(connection, 10)
    sign_in(client, viewer)

    def queries_for(count: int) -> int:
        OrganizationMapping.objects.all().delete()
        Organization.objects.all().delete()
        for number in range(count):
            organization = Organization.objects.create(customer_id=f"c-{number}", name=f"O{number}")
            OrganizationMapping.objects.create(
                connection=connection, organization=organization, company=companies[number % 10]
            )
        with CaptureQueriesContext(db) as captured:
            assert len(records(download(client, "organizations"))) == count
        return len(captured.captured_queries)

    assert queries_for(5) == queries_for(50)


def test_without_a_connection_the_download_says_so(viewer, client):
    sign_in(client, viewer)
    response = client.get(
        reverse("mappings:mapping_file_download", kwargs={"kind": "organizations"}), follow=True
    )
    assert "There is no Autotask connection yet" in response.content.decode()


# -- upload, preview, confirm -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["organizations", "offers"])
def test_the_downloaded_file_uploaded_again_changes_nothing(
    connection, organizations, offers, operator, operating, kind
):
    organization_mapping_set(
        connection=connection,
        organization=organizations[0],
        company=customers(connection, 1)[0],
        user=operator,
    )
    offer_mapping_set(
        connection=connection,
        offer=offers[0],
        service=service(connection, "Microsoft 365 Business Standard (monthly)"),
        user=operator,
    )
    before = len(mapping_entries())

    preview = upload(operating, kind, download(operating, kind))

    assert page(preview).select_one("[data-testid=file-nothing]") is not None
    assert page(preview).select_one("[data-testid=file-confirm]") is None
    assert not page(preview).select("[data-testid=file-error]")
    response = confirm(operating, preview, action="cancel")
    assert response.status_code == 302
    assert len(mapping_entries()) == before
    # Cancelled: the kept file is gone.
    assert operating.get(preview.url).status_code == 302


def test_edited_company_ids_are_previewed_then_applied_one_audit_entry_each(
    connection, organizations, operator, operating
):
    first, second, third = customers(connection, 3)
    _, bravo, charlie = organizations
    organization_mapping_set(connection=connection, organization=bravo, company=first)
    organization_mapping_set(connection=connection, organization=charlie, company=second)
    before = len(mapping_entries())
    rows = records(download(operating, "organizations"))
    rows[0]["company_id"] = str(third.autotask_id)  # Alpha: new
    rows[1]["company_id"] = str(second.autotask_id)  # Bravo: first → second
    rows[2]["company_id"] = ""  # Charlie: unmapped

    preview = upload(operating, "organizations", as_csv(rows))

    assert table_rows(preview, "file-creates") == [
        ["2", "Alpha Ltd c-1", f"{third.name} {third.autotask_id}"]
    ]
    assert table_rows(preview, "file-changes") == [
        ["3", "Bravo Inc c-2", f"{first.name} {first.autotask_id}", "→",
         f"{second.name} {second.autotask_id}"]
    ]  # fmt: skip
    assert table_rows(preview, "file-unmaps") == [
        ["4", "Charlie GmbH c-3", f"{second.name} {second.autotask_id}"]
    ]
    assert mapped(connection) == {"c-2": first.autotask_id, "c-3": second.autotask_id}

    assert inline_code(preview.content) == []
    response = confirm(operating, preview)

    assert response.status_code == 302
    assert response["Location"] == reverse("mappings:organization_list")
    message = page(operating.get(response["Location"])).select_one("[data-testid=messages]")
    assert "1 created, 1 changed, 1 unmapped (0 unchanged)" in message.get_text()
    assert mapped(connection) == {"c-1": third.autotask_id, "c-2": second.autotask_id}
    entries = mapping_entries()[before:]
    assert [(e.operation, e.before and e.before["company_id"], e.after and e.after["company_id"])
            for e in entries] == [
        ("Create Connection Customer Mapping", None, third.autotask_id),
        ("Update Connection Customer Mapping", first.autotask_id, second.autotask_id),
        ("Delete Connection Customer Mapping", second.autotask_id, None),
    ]  # fmt: skip
    assert {(e.actor_name, e.context, e.connection_name) for e in entries} == {
        (operator.username, "web", connection.name)
    }
    assert entries[0].after["organization"] == "c-1"
    # Applied: the kept file is gone, a second confirmation finds nothing.
    assert confirm(operating, preview).status_code == 302
    assert len(mapping_entries()) == before + 3


@pytest.mark.parametrize(
    ("cells", "value", "message"),
    [
        ("c-404,Nobody,{company},", "c-404", "There is no organization with this key."),
        ("c-2,Bravo Inc,999999999,", "999999999", "There is no company with this id in"),
        ("c-2,Bravo Inc,12a,", "12a", "must be an Autotask id (a whole number)"),
        ("c-2,Bravo Inc,{inactive},", "{inactive}", "is inactive in Autotask"),
        ("c-2,Bravo Inc,{vendor},", "{vendor}", "is not of type Customer"),
        ("c-1,Alpha again,{company},", "c-1", "This organization is also on line 2"),
        ("c-2,Bravo, Inc,{company},x", "", "This line has 5 cells but the header 4"),
        ("c-2,Bravo Inc", "", "This line has 2 cells but the header 4; leave the company_id"),
    ],
)
def test_a_file_with_one_bad_row_changes_nothing_and_names_the_line(
    connection, organizations, operating, cells, value, message
):
    good = customers(connection, 1)[0]
    ids = {
        "company": good.autotask_id,
        "inactive": AutotaskCompany.objects.filter(
            connection=connection, company_type=1, is_active=False
        ).first().autotask_id,
        "vendor": AutotaskCompany.objects.filter(
            connection=connection, company_type=7
        ).first().autotask_id,
    }  # fmt: skip
    text = "\n".join(
        [ORGANIZATIONS_HEADER, f"c-1,Alpha Ltd,{good.autotask_id},", cells.format(**ids)]
    )

    preview = upload(operating, "organizations", text)

    [error] = table_rows(preview, "file-errors")
    assert error[0] == "3"
    assert error[1] == value.format(**ids)
    assert message in error[2]
    assert page(preview).select_one("[data-testid=file-confirm]") is None
    assert inline_code(preview.content) == []
    assert confirm(operating, preview).status_code == 302  # refused: back to the preview
    assert mapped(connection) == {}
    assert mapping_entries() == []


def test_an_offers_file_is_checked_against_the_rules(connection, offers, operating):
    basic_monthly = service(connection, "Microsoft 365 Business Basic (monthly)")
    standard = service(connection, "Microsoft 365 Business Standard (monthly)")
    rows = records(download(operating, "offers"))  # annual first, by name
    rows[0]["service_id"] = str(basic_monthly.autotask_id)
    rows[1]["service_id"] = str(standard.autotask_id)

    preview = upload(operating, "offers", as_csv(rows))

    [error] = table_rows(preview, "file-errors")
    assert error[0] == "2"
    assert "is billed monthly, but the offer is billed annual" in error[2]
    assert not OfferMapping.objects.exists()

    rows[0]["service_id"] = str(
        service(connection, "Microsoft 365 Business Basic (annual)").autotask_id
    )
    preview = upload(operating, "offers", as_csv(rows))
    assert confirm(operating, preview).status_code == 302
    assert dict(OfferMapping.objects.values_list("offer__sku_id", "service__name")) == {
        "0001": "Microsoft 365 Business Standard (monthly)",
        "0002": "Microsoft 365 Business Basic (annual)",
    }
    assert [e.operation for e in mapping_entries()] == ["Create Connection Offer Mapping"] * 2


def test_a_file_of_the_other_kind_is_refused(connection, offers, operating):
    preview = upload(operating, "organizations", download(operating, "offers"))
    [error] = table_rows(preview, "file-errors")
    assert "This is a file of offers" in error[2]


def test_a_mapping_changed_after_the_preview_refuses_the_file(connection, organizations, operating):
    first, second = customers(connection, 2)
    rows = records(download(operating, "organizations"))
    rows[0]["company_id"] = str(first.autotask_id)
    preview = upload(operating, "organizations", as_csv(rows))
    # Someone maps Bravo (a row the file leaves unmapped) in the meantime.
    organization_mapping_set(connection=connection, organization=organizations[1], company=second)

    response = confirm(operating, preview)

    assert response["Location"] == preview.url
    shown = operating.get(preview.url)
    assert "The mappings changed since this preview was shown" in shown.content.decode()
    assert mapped(connection) == {"c-2": second.autotask_id}
    # The new preview shows Bravo's row as an unmap now.
    assert [row[1] for row in table_rows(shown, "file-unmaps")] == ["Bravo Inc c-2"]


def test_a_change_between_the_last_check_and_applying_is_refused(connection, organizations):
    first, second = customers(connection, 2)
    text = f"{ORGANIZATIONS_HEADER}\nc-1,Alpha Ltd,{first.autotask_id},\nc-2,Bravo Inc,,\n"
    plan = read_mapping_file(connection, None, text.encode())
    assert plan.kind == "organizations" and plan.can_apply
    organization_mapping_set(connection=connection, organization=organizations[1], company=second)

    with pytest.raises(MappingFileRefused, match="The mapping on line 3 changed since"):
        apply_mapping_file(plan)

    assert mapped(connection) == {"c-2": second.autotask_id}


def test_only_the_operator_who_uploaded_sees_the_file(
    connection, organizations, operating, make_user, client
):
    from django.test import Client

    from apps.accounts.roles import Role

    preview = upload(operating, "organizations", f"{ORGANIZATIONS_HEADER}\nc-1,,,\n")
    other = sign_in(Client(), make_user("olga-operator", Role.OPERATOR))

    response = other.get(preview.url, follow=True)

    assert "That upload is no longer kept" in response.content.decode()


def test_a_kept_upload_is_private_and_expires_after_a_day(connection, operator, monkeypatch):
    token = pending.pending_file_save(
        data=b"customer_id,company_id\n", name="../../x.csv", kind="organizations",
        connection=connection, user=operator,
    )  # fmt: skip
    kept = pending.pending_file_load(token=token, user=operator)
    assert (kept.name, kept.kind, kept.data) == (
        "x.csv",
        "organizations",
        b"customer_id,company_id\n",
    )
    assert {path.stat().st_mode & 0o777 for path in pending.folder().iterdir()} == {0o600}
    assert pending.pending_file_load(token="../" + token, user=operator) is None

    later = time.time() + pending.KEEP_SECONDS + 1
    monkeypatch.setattr(pending.time, "time", lambda: later)
    assert pending.pending_file_load(token=token, user=operator) is None
    pending.pending_files_expire()
    assert list(pending.folder().iterdir()) == []


def test_a_viewer_may_download_but_not_upload(connection, organizations, viewer, client):
    sign_in(client, viewer)
    upload_url = reverse("mappings:mapping_file_upload", kwargs={"kind": "organizations"})
    text = download(client, "organizations")

    assert client.get(upload_url).status_code == 403
    file = SimpleUploadedFile("mapping.csv", text.encode(), content_type="text/csv")
    assert client.post(upload_url, {"file": file}).status_code == 403
    confirm_url = reverse("mappings:mapping_file_confirm", kwargs={"token": "x" * 43})
    assert client.post(confirm_url, {"action": "apply"}).status_code == 403


def test_the_upload_page_refuses_a_file_over_the_limit(connection, operating, monkeypatch):
    monkeypatch.setattr(file_forms, "MAX_FILE_BYTES", 10)
    response = operating.post(
        reverse("mappings:mapping_file_upload", kwargs={"kind": "organizations"}),
        {"file": SimpleUploadedFile("big.csv", b"customer_id,company_id\n" * 2)},
    )
    assert response.status_code == 200
    assert "Split it and upload the parts one by one." in response.content.decode()


# -- reading: what Excel writes, and what a file must not do ----------------------------------


def test_excel_files_are_read_semicolons_and_byte_order_mark(connection, organizations):
    company = customers(connection, 1)[0]
    text = (
        f"\ufeffcustomer_id;organization;company_id;company\r\nc-1;Alpha;{company.autotask_id};\r\n"
    )

    plan = read_mapping_file(connection, "organizations", text.encode())

    assert plan.errors == []
    assert [(c.action, c.key, c.after) for c in plan.changes] == [("create", "c-1", company)]


def test_a_file_that_is_not_utf8_is_refused_with_its_line(connection, organizations):
    data = f"{ORGANIZATIONS_HEADER}\nc-1,Alpha,,\nc-2,Bravö,,\n".encode("latin-1")

    plan = read_mapping_file(connection, "organizations", data)

    [error] = plan.errors
    assert (error.line, "is not UTF-8 text" in error.message) == (3, True)


def test_size_and_row_limits(connection, organizations, monkeypatch):
    plan = read_mapping_file(connection, "organizations", b"x" * (MAX_FILE_BYTES + 1))
    assert "the limit is 10 MB" in plan.errors[0].message

    monkeypatch.setattr(mapping_file_reading, "MAX_ROWS", 2)
    text = ORGANIZATIONS_HEADER + "".join(f"\nc-{n},,," for n in range(1, 4))
    plan = read_mapping_file(connection, "organizations", text.encode())
    assert "more than 2 rows" in plan.errors[0].message
    assert not plan.can_apply


def test_a_header_that_is_neither_layout_is_refused(connection):
    plan = read_mapping_file(connection, None, b"name,id\nContoso,1\n")
    assert plan.errors[0].line == 1
    assert "The first line must be the header" in plan.errors[0].message


def test_a_service_goes_to_one_offer(connection, offers):
    monthly, _ = offers
    other = subscribed_offer("0003", "monthly", "Exchange")
    standard = service(connection, "Microsoft 365 Business Standard (monthly)")
    basic = service(connection, "Microsoft 365 Business Basic (monthly)")
    key = "CFQ7TTC0LDPB:{}::P1M:monthly"

    twice = f"{OFFERS_HEADER}\n{key.format('0001')},,,{standard.autotask_id},\n" + (
        f"{key.format('0003')},,,{standard.autotask_id},\n"
    )
    [error] = read_mapping_file(connection, "offers", twice.encode()).errors
    assert (error.line, error.message) == (
        3,
        "This service is also on line 2; a service maps to one offer only.",
    )

    offer_mapping_set(connection=connection, offer=other, service=standard)
    held = f"{OFFERS_HEADER}\n{key.format('0001')},,,{standard.autotask_id},\n"
    [error] = read_mapping_file(connection, "offers", held.encode()).errors
    assert "is mapped to the offer CFQ7TTC0LDPB:0003::P1M:monthly" in error.message

    # The file moves the service: the offer holding it lets go first.
    moved = held + f"{key.format('0003')},,,{basic.autotask_id},\n"
    plan = read_mapping_file(connection, "offers", moved.encode())
    assert [(c.line, c.action) for c in plan.changes] == [(3, "change"), (2, "create")]
    apply_mapping_file(plan)
    assert dict(OfferMapping.objects.values_list("offer__sku_id", "service__name")) == {
        "0001": standard.name,
        "0003": basic.name,
    }

    swap = f"{OFFERS_HEADER}\n{key.format('0001')},,,{basic.autotask_id},\n" + (
        f"{key.format('0003')},,,{standard.autotask_id},\n"
    )
    [error] = read_mapping_file(connection, "offers", swap.encode()).errors
    assert "The offers on lines 2, 3 swap services" in error.message
    assert monthly.service_mappings.get().service == standard


# -- the command line -------------------------------------------------------------------------


def test_map_import_prints_the_plan_applies_it_and_refuses_a_bad_file(
    connection, organizations, tmp_path
):
    first, second = customers(connection, 2)
    good = tmp_path / "good.csv"
    good.write_text(f"{ORGANIZATIONS_HEADER}\nc-1,,{first.autotask_id},\nc-2,,,\n")
    out = io.StringIO()

    call_command("map", "import", str(good), "--connection", connection.name, stdout=out)

    printed = out.getvalue()
    assert f"line 2: create c-1 (Alpha Ltd): unmapped → {first.name}" in printed
    assert "Applied on" in printed and "1 created, 0 changed, 0 unmapped (1 unchanged)" in printed
    [entry] = mapping_entries()
    assert (entry.operation, entry.context, entry.actor_name.startswith("cli:")) == (
        "Create Connection Customer Mapping",
        "cli",
        True,
    )

    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{ORGANIZATIONS_HEADER}\nc-1,,{second.autotask_id},\nc-404,,{first.autotask_id},\n"
        "c-2,,x,\n"
    )
    with pytest.raises(CommandError) as refused:
        call_command("map", "import", str(bad), "--connection", connection.name, "--kind",
                     "organizations", stdout=io.StringIO())  # fmt: skip
    assert "nothing was changed (2 error(s))" in str(refused.value)
    assert "Line 3: There is no organization with this key. (value: 'c-404')" in str(refused.value)
    assert "Line 4: The company_id must be an Autotask id" in str(refused.value)
    assert mapped(connection) == {"c-1": first.autotask_id}
    assert len(mapping_entries()) == 1


@pytest.mark.django_db(transaction=True)
def test_map_import_exits_non_zero_on_a_refusal(connection, organizations, tmp_path):
    company = customers(connection, 1)[0]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{ORGANIZATIONS_HEADER}\nc-1,,{company.autotask_id},\nc-1,,,\n")
    good = tmp_path / "good.csv"
    good.write_text(f"{ORGANIZATIONS_HEADER}\nc-1,,{company.autotask_id},\n")

    def run(path):
        command = [*MANAGE, "map", "import", str(path), "--connection", connection.name]
        return subprocess.run(
            command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120
        )

    refused = run(bad)
    assert refused.returncode == 1
    assert "Line 3: This organization is also on line 2" in refused.stderr
    assert mapped(connection) == {}

    applied = run(good)
    assert applied.returncode == 0, applied.stderr
    assert mapped(connection) == {"c-1": company.autotask_id}
