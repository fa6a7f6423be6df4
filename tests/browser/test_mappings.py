"""In a real browser, with a real worker (issue 10): the worker suggests companies after
an import; an Operator maps an organization with the picker, toggles "Hide mapped" and
sees the row leave and return, accepts the suggestions above 90 % after the confirmation,
maps an offer (a monthly offer is offered no yearly service), uploads a mapping file and
confirms it, and finds each action in the audit log with its details. A Viewer sees
every screen with no control that changes anything."""

import time

import pytest

from apps.autotask.models import AutotaskCompany
from apps.catalog.importing.billing import import_billing
from apps.mappings.models import OfferMapping, OrganizationMapping, OrganizationSuggestion
from tests.browser.conftest import sign_in
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import march_rows
from tests.conftest import TEST_PASSWORD
from tests.mappings.conftest import refreshed_sandbox_connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CUSTOMERS = [
    # customer id, name, tenant domain
    ("0b7a0f5e-0000-4000-8000-000000000001", "Contoso Ltd", "contoso.onmicrosoft.com"),
    ("0b7a0f5e-0000-4000-8000-000000000002", "Fabrikam, Inc.", "fabrikam.onmicrosoft.com"),
    ("0b7a0f5e-0000-4000-8000-000000000003", "Tailspin Toys Limited", "tailspin.onmicrosoft.com"),
    ("0b7a0f5e-0000-4000-8000-000000000004", "Blue Yonder Bakery", "blueyonder.onmicrosoft.com"),
]


@pytest.fixture
def billed(sandbox, tmp_path, worker):
    """The sandbox's demo companies refreshed, then four customers' March billing
    imported; the worker computes the suggestions after each."""
    connection = refreshed_sandbox_connection(sandbox)
    rows = []
    for number, (customer, name, domain) in enumerate(CUSTOMERS):
        for row in march_rows(
            CustomerId=customer,
            CustomerName=name,
            CustomerDomainName=domain,
            SubscriptionId=f"5d3c0f5e-0000-4000-8000-00000000000{number}",
        ):
            rows.append(row)
    path = write_recon_csv(tmp_path / "march.csv", rows)
    import_billing([(path, path.name)], actor="test")
    deadline = time.monotonic() + 90
    while OrganizationSuggestion.objects.filter(connection=connection, rank=1).count() < 3:
        assert time.monotonic() < deadline, "the worker computed no suggestions"
        time.sleep(0.5)
    return connection


def row_of(page, name: str):
    return page.get_by_test_id("object-table").locator("tbody tr", has_text=name)


def test_an_operator_maps_with_pickers_bulk_and_a_file_and_reads_the_audit_log(
    page, live_server, billed, operator, tmp_path
):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url, operator.username, TEST_PASSWORD)
    nav = page.get_by_test_id("main-nav")
    nav.get_by_role("link", name="Organizations").click()
    assert "is_mapped=false" in page.url
    assert page.get_by_test_id("hide-mapped").get_attribute("aria-checked") == "true"
    # Suggestions from the worker: Contoso by its name.
    assert (
        "Contoso Ltd"
        in row_of(page, "Contoso Ltd").get_by_test_id("suggested-company").inner_text()
    )

    # The picker: Blue Yonder has no company of its own; map it to Woodgrove by a word.
    bakery = row_of(page, "Blue Yonder Bakery")
    bakery.get_by_text("Choose…").click()
    bakery.get_by_test_id("company-search").fill("woodgrove")
    woodgrove = bakery.get_by_test_id("company-choice").filter(has_text="Woodgrove Bank")
    woodgrove.wait_for()
    woodgrove.get_by_test_id("choose-company").click()
    row_of(page, "Blue Yonder Bakery").get_by_test_id("mapped-company").wait_for()
    assert OrganizationMapping.objects.get(
        organization__name="Blue Yonder Bakery"
    ).company.name == ("Woodgrove Bank")

    # Hide mapped: off shows the mapped row, on hides it again.
    page.get_by_test_id("hide-mapped").click()
    page.wait_for_url("**/organizations/")
    assert row_of(page, "Blue Yonder Bakery").count() == 1
    page.get_by_test_id("hide-mapped").click()
    page.wait_for_url("**is_mapped=false**")
    assert row_of(page, "Blue Yonder Bakery").count() == 0

    # Accept every suggestion of 90 % or more, after reading the list.
    page.get_by_label("Accept every best suggestion scoring at least").fill("90")
    page.get_by_test_id("accept-review").click()
    planned = page.get_by_test_id("planned-changes").inner_text()
    assert "Contoso Ltd" in planned and "Tailspin Toys" in planned and "Fabrikam" in planned
    assert "Blue Yonder" not in planned
    page.get_by_test_id("confirm").click()
    page.get_by_test_id("messages").wait_for()
    assert "Mapped" in page.get_by_test_id("messages").inner_text()
    mapped = dict(OrganizationMapping.objects.values_list("organization__name", "company__name"))
    assert mapped["Contoso Ltd"] == "Contoso Ltd"
    assert mapped["Tailspin Toys Limited"] == "Tailspin Toys"

    # An offer: the monthly Business Standard is offered monthly services only.
    nav.get_by_role("link", name="Offers").click()
    offer = row_of(page, "Microsoft 365 Business Standard")
    offer.get_by_text("Choose…").click()
    offer.get_by_test_id("service-search").fill("Microsoft 365 Business")
    offer.get_by_test_id("service-choice").filter(has_text="Business Basic").first.wait_for()
    choices = offer.get_by_test_id("service-choices").inner_text()
    assert "Business Standard (monthly)" in choices
    assert "(annual)" not in choices
    offer.get_by_test_id("service-choice").filter(
        has_text="Business Standard (monthly)"
    ).get_by_test_id("choose-service").click()
    row_of(page, "Microsoft 365 Business Standard").get_by_test_id("mapped-service").wait_for()
    assert OfferMapping.objects.get().service.name == "Microsoft 365 Business Standard (monthly)"

    # A mapping file moves Fabrikam (accepted above) to Woodgrove, after the preview.
    woodgrove = AutotaskCompany.objects.get(connection=billed, name="Woodgrove Bank")
    upload = tmp_path / "organizations.csv"
    upload.write_text(
        "customer_id,organization,company_id,company\n"
        f"{CUSTOMERS[1][0]},Fabrikam,{woodgrove.autotask_id},Woodgrove Bank\n"
    )
    nav.get_by_role("link", name="Organizations").click()
    page.get_by_test_id("upload-csv").click()
    page.get_by_label("Mapping file").set_input_files(str(upload))
    page.get_by_role("button", name="Check the file").click()
    change = page.get_by_test_id("file-changes").inner_text()
    assert "Fabrikam" in change and "Woodgrove Bank" in change
    page.get_by_test_id("file-confirm").click()
    page.get_by_test_id("messages").wait_for()
    assert OrganizationMapping.objects.get(organization__name="Fabrikam, Inc.").company == woodgrove

    # Each action in the audit log, with its details.
    nav.get_by_role("link", name="Audit log").click()
    log = page.get_by_test_id("object-table").inner_text()
    assert log.count("Create Connection Customer Mapping") == 4
    assert log.count("Update Connection Customer Mapping") == 1
    assert "Create Connection Offer Mapping" in log
    page.get_by_test_id("object-table").locator("tbody tr", has_text="Blue Yonder").get_by_role(
        "link"
    ).first.click()
    details = page.locator("main").inner_text()
    assert "Woodgrove Bank" in details and operator.username in details


def test_a_viewer_sees_the_mapping_screens_without_controls(page, live_server, billed, viewer):
    sign_in(page, live_server.url, viewer.username, TEST_PASSWORD)
    # The download follows the quick search (which reloads only the list).
    page.get_by_test_id("main-nav").get_by_role("link", name="Organizations").click()
    page.get_by_test_id("quick-search").fill("tailspin")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=download-csv]').href.includes('q=tailspin')"
    )
    assert page.get_by_test_id("result-count").inner_text().startswith("1 result")
    for entry in ("Organizations", "Offers", "Subscriptions"):
        page.get_by_test_id("main-nav").get_by_role("link", name=entry).click()
        page.get_by_test_id("object-table").wait_for()
        main = page.locator("main")
        assert main.locator("[hx-post], form[method=post], input[type=checkbox]").count() == 0
        assert main.get_by_test_id("upload-csv").count() == 0
        assert main.get_by_text("Choose…").count() == 0


def test_an_operator_maps_every_selected_organization_to_one_company(
    page, live_server, billed, operator
):
    sign_in(page, live_server.url, operator.username, TEST_PASSWORD)
    page.get_by_test_id("main-nav").get_by_role("link", name="Organizations").click()
    # "Select every row", then leave Contoso out.
    page.get_by_label("Select every row on the page").check()
    row_of(page, "Contoso Ltd").locator("input[type=checkbox]").uncheck()
    page.get_by_test_id("bulk-company-search").fill("woodgrove")
    choice = page.locator("#bulk-company-results").get_by_test_id("company-choice")
    choice.filter(has_text="Woodgrove Bank").locator("input[type=radio]").check()
    page.get_by_test_id("bulk-review").click()
    planned = page.get_by_test_id("planned-changes").inner_text()
    assert "Contoso" not in planned
    assert all(name in planned for name in ("Fabrikam", "Tailspin", "Blue Yonder"))
    page.get_by_test_id("confirm").click()
    page.get_by_test_id("messages").wait_for()
    assert (
        "Mapped 3 organizations to Woodgrove Bank" in page.get_by_test_id("messages").inner_text()
    )
    assert set(OrganizationMapping.objects.values_list("company__name", flat=True)) == {
        "Woodgrove Bank"
    }
