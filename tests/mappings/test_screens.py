"""The mapping screens over HTTP: Organizations, Offers and Subscriptions of the connection
in view, each row mapped, changed and unmapped in place, the pickers, the bulk actions
with their confirmation, the filters, and what a Viewer may not do (issue 10)."""

import datetime as dt
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.autotask.models import AutotaskCompany, AutotaskContract, AutotaskService
from apps.autotask.services import connection_create_sandbox
from apps.catalog.models import Organization, SubscriptionMonth
from apps.mappings.models import (
    ConnectionInView,
    OfferMapping,
    OrganizationMapping,
    OrganizationSuggestion,
    SubscriptionMapping,
)
from tests.catalog.factories import (
    BillingReportFactory,
    OfferFactory,
    OrganizationFactory,
    SubscriptionFactory,
)
from tests.conftest import log_in

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def company(connection, name) -> AutotaskCompany:
    return AutotaskCompany.objects.get(connection=connection, name=name)


@pytest.fixture
def organizations():
    return {
        name: OrganizationFactory(customer_id=f"c-{number}", name=name, domains=domains)
        for number, (name, domains) in enumerate(
            [
                ("Contoso", ["contoso.com"]),
                ("Fabrikam", ["fabrikam.onmicrosoft.com"]),
                ("Tailspin Toys", []),
            ]
        )
    }


def client_for(client, user):
    assert log_in(client, user.username)
    return client


def page(response) -> BeautifulSoup:
    assert response.status_code == 200, response.content[:500]
    return BeautifulSoup(response.content, "html.parser")


def rows(soup) -> list[str]:
    return [
        " ".join(row.get_text(" ").split())
        for row in soup.select("[data-testid=object-table] tbody tr")
    ]


# -- Organizations ---------------------------------------------------------------------------


def test_the_navigation_arrives_with_hide_mapped_on(client, viewer, connection, organizations):
    client_for(client, viewer)
    soup = page(client.get(reverse("core:dashboard")))
    links = {link.get_text(strip=True): link["href"] for link in soup.select("nav a")}
    assert links["Organizations"] == reverse("mappings:organization_list") + "?is_mapped=false"
    assert links["Offers"] == reverse("mappings:offer_list") + "?is_mapped=false"


def test_organizations_show_mapping_suggestion_and_counts(
    client, operator, connection, organizations
):
    contoso = company(connection, "Contoso Ltd")
    OrganizationMapping.objects.create(
        connection=connection, organization=organizations["Contoso"], company=contoso
    )
    OrganizationSuggestion.objects.create(
        connection=connection,
        organization=organizations["Tailspin Toys"],
        company=company(connection, "Tailspin Toys"),
        score=0.97,
        basis="name",
        rank=1,
    )
    report = BillingReportFactory(month=dt.date(2026, 10, 1))
    billed = SubscriptionFactory(organization=organizations["Fabrikam"])
    SubscriptionMonth.objects.create(
        subscription=billed, report=report, offer=billed.offer, total_cost=Decimal("10.00")
    )
    client_for(client, operator)
    soup = page(client.get(reverse("mappings:organization_list")))
    counts = " ".join(soup.select_one("[data-testid=mapping-counts]").get_text().split())
    assert counts == ("1 of 3 organizations mapped; 1 unmapped organization billed in October 2026")
    text = "\n".join(rows(soup))
    assert "Contoso c-0 contoso.com — Contoso Ltd" in text
    assert "Suggested: Tailspin Toys" in text and "97 % by name" in text

    hidden = page(client.get(reverse("mappings:organization_list") + "?is_mapped=false"))
    assert [row.split()[0] for row in rows(hidden)] == ["Fabrikam", "Tailspin"]
    toggle = hidden.select_one("[data-testid=hide-mapped]")
    assert toggle["aria-checked"] == "true"
    shown = page(client.get(toggle["href"]))
    assert len(rows(shown)) == 3
    assert shown.select_one("[data-testid=hide-mapped]")["aria-checked"] == "false"
    # django-filter's widget also reads 0 for "No": the toggle says so too.
    zero = page(client.get(reverse("mappings:organization_list") + "?is_mapped=0"))
    assert [row.split()[0] for row in rows(zero)] == ["Fabrikam", "Tailspin"]
    assert zero.select_one("[data-testid=hide-mapped]")["aria-checked"] == "true"
    assert len(rows(page(client.get(zero.select_one("[data-testid=hide-mapped]")["href"])))) == 3

    billed_only = page(client.get(reverse("mappings:organization_list") + "?billed=true"))
    assert [row.split()[0] for row in rows(billed_only)] == ["Fabrikam"]
    suggested = page(client.get(reverse("mappings:organization_list") + "?has_suggestion=true"))
    assert [row.split()[0] for row in rows(suggested)] == ["Tailspin"]


def test_an_organization_is_mapped_changed_and_unmapped_in_place(
    client, operator, connection, organizations
):
    client_for(client, operator)
    fabrikam = organizations["Fabrikam"]
    target = company(connection, "Fabrikam Inc")
    url = reverse("mappings:organization_map")
    cell = page(client.post(url, {"organization": fabrikam.pk, "company": target.pk}, **HTMX))
    assert cell.select_one("[data-testid=mapped-company]").get_text() == "Fabrikam Inc"
    assert OrganizationMapping.objects.get(organization=fabrikam).company == target
    [created] = AuditEntry.objects.filter(operation="Create Connection Customer Mapping")
    assert created.after["company_id"] == target.autotask_id

    other = company(connection, "Contoso Ltd")
    page(client.post(url, {"organization": fabrikam.pk, "company": other.pk}, **HTMX))
    [changed] = AuditEntry.objects.filter(operation="Update Connection Customer Mapping")
    assert (changed.before["company_id"], changed.after["company_id"]) == (
        target.autotask_id,
        other.autotask_id,
    )

    unmap = reverse("mappings:organization_unmap")
    cell = page(client.post(unmap, {"organization": fabrikam.pk}, **HTMX))
    assert cell.select_one("[data-testid=not-mapped]")
    assert not OrganizationMapping.objects.exists()
    assert AuditEntry.objects.filter(operation="Delete Connection Customer Mapping").count() == 1


def test_a_refused_company_is_said_in_the_cell_and_changes_nothing(
    client, operator, connection, organizations
):
    client_for(client, operator)
    vendor = AutotaskCompany.objects.filter(connection=connection, company_type=7).first()
    url = reverse("mappings:organization_map")
    data = {"organization": organizations["Contoso"].pk, "company": vendor.pk}
    cell = page(client.post(url, data, **HTMX))
    problem = cell.select_one("[data-testid=mapping-problem]").get_text()
    assert problem == (
        f"Company {vendor.autotask_id} ({vendor.name}) is not of type Customer in Autotask; "
        "only customers are billed."
    )
    assert not OrganizationMapping.objects.exists()


def test_the_company_picker_finds_by_any_word_web_address_or_id(
    client, operator, connection, organizations
):
    client_for(client, operator)
    url = reverse("mappings:company_picker")
    organization = organizations["Contoso"].pk

    def names(q):
        soup = page(client.get(url, {"organization": organization, "q": q}))
        return [
            " ".join(choice.get_text(" ").split())
            for choice in soup.select("[data-testid=company-choice]")
        ]

    assert any(name.startswith("Woodgrove Bank") for name in names("bank"))
    assert any(name.startswith("Woodgrove Bank") for name in names("woodgrovebank.com"))
    woodgrove = company(connection, "Woodgrove Bank")
    assert names(str(woodgrove.autotask_id))[0].startswith("Woodgrove Bank")
    # Only active customers: the MSP itself (type 8) and vendors are never offered.
    assert names("Northwind IT") == []
    assert all(
        AutotaskCompany.objects.get(
            connection=connection, autotask_id=int(name.split("#")[1].split()[0])
        ).company_type
        == 1
        for name in names("Inc")
    )


def test_several_organizations_map_to_one_company_after_a_confirmation(
    client, operator, connection, organizations
):
    client_for(client, operator)
    target = company(connection, "Contoso Ltd")
    chosen = [organizations["Contoso"].pk, organizations["Fabrikam"].pk]
    url = reverse("mappings:organization_bulk_map")
    preview = page(client.get(url, {"select": chosen, "company": target.pk}))
    assert len(preview.select("[data-testid=planned-changes] tbody tr")) == 2
    assert not OrganizationMapping.objects.exists()

    form = preview.select_one(f"main form[method=post][action='{url}']")
    data = [(field["name"], field.get("value", "")) for field in form.select("input")]
    response = client.post(url, _multi(data))
    assert response.status_code == 302
    assert set(OrganizationMapping.objects.values_list("organization_id", flat=True)) == set(chosen)
    assert AuditEntry.objects.filter(operation="Create Connection Customer Mapping").count() == 2


def _multi(pairs):
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


# -- Offers ----------------------------------------------------------------------------------


def test_offers_list_only_offers_in_use_with_their_id(client, viewer, connection, organizations):
    used = OfferFactory(sku_id="0001")
    OfferFactory(sku_id="0002", sku_name="Seen only on usage")
    SubscriptionFactory(organization=organizations["Contoso"], offer=used)
    client_for(client, viewer)
    soup = page(client.get(reverse("mappings:offer_list")))
    assert len(rows(soup)) == 1
    assert soup.select_one("[data-testid=offer-id]").get_text(strip=True) == "CFQ7TTC0LDPB:0001"


def test_the_service_picker_offers_services_of_the_offers_period_by_first_words(
    client, operator, connection, organizations
):
    monthly = OfferFactory()
    SubscriptionFactory(organization=organizations["Contoso"], offer=monthly)
    client_for(client, operator)
    url = reverse("mappings:service_picker")
    soup = page(client.get(url, {"offer": monthly.pk, "q": "microsoft 365 business"}))
    names = [
        choice.get_text(" ", strip=True).split(" #")[0]
        for choice in soup.select("[data-testid=service-choice]")
    ]
    assert names == [
        "Microsoft 365 Business Basic (monthly)",
        "Microsoft 365 Business Premium (monthly)",
        "Microsoft 365 Business Standard (monthly)",
    ]
    assert "cost 13.75" in soup.get_text() and "price 15.00" in soup.get_text()
    # "Business" is not the beginning of any name.
    assert not page(client.get(url, {"offer": monthly.pk, "q": "business"})).select(
        "[data-testid=service-choice]"
    )

    yearly = AutotaskService.objects.get(
        connection=connection, name="Microsoft 365 Business Standard (annual)"
    )
    cell = page(
        client.post(
            reverse("mappings:offer_map"), {"offer": monthly.pk, "service": yearly.pk}, **HTMX
        )
    )
    assert "is billed yearly, but the offer is billed monthly" in cell.get_text()
    assert not OfferMapping.objects.exists()

    right = AutotaskService.objects.get(
        connection=connection, name="Microsoft 365 Business Standard (monthly)"
    )
    cell = page(
        client.post(
            reverse("mappings:offer_map"), {"offer": monthly.pk, "service": right.pk}, **HTMX
        )
    )
    assert cell.select_one("[data-testid=mapped-service]").get_text() == right.name
    assert f"mapped by {operator.username}" in cell.get_text()
    assert AuditEntry.objects.filter(operation="Create Connection Offer Mapping").count() == 1


# -- Subscriptions ---------------------------------------------------------------------------


def test_a_subscription_is_mapped_by_hand_to_a_contract_of_its_company(
    client, operator, connection, organizations
):
    contoso = organizations["Contoso"]
    subscription = SubscriptionFactory(organization=contoso)
    client_for(client, operator)
    soup = page(client.get(reverse("mappings:subscription_list")))
    assert "Map the organization first" in rows(soup)[0]

    OrganizationMapping.objects.create(
        connection=connection, organization=contoso, company=company(connection, "Contoso Ltd")
    )
    picker = page(
        client.get(reverse("mappings:contract_picker"), {"subscription": subscription.pk})
    )
    choices = [c.get_text(" ", strip=True) for c in picker.select("[data-testid=contract-choice]")]
    assert len(choices) == 1 and choices[0].startswith("Managed Services Agreement 2026")
    contract = AutotaskContract.objects.get(
        connection=connection, name="Managed Services Agreement 2026 - Contoso Ltd"
    )
    cell = page(
        client.post(
            reverse("mappings:subscription_map"),
            {"subscription": subscription.pk, "contract": contract.pk},
            **HTMX,
        )
    )
    assert cell.select_one("[data-testid=mapped-contract]").get_text() == contract.name
    assert SubscriptionMapping.objects.get().contract == contract
    soup = page(client.get(reverse("mappings:subscription_list")))
    history = soup.select_one("[data-testid=history]")["href"]
    audit = page(client.get(history))
    assert "Create Connection Subscription Mapping" in audit.get_text()


# -- who may do what -------------------------------------------------------------------------


def test_a_viewer_sees_every_screen_with_no_control_that_changes_anything(
    client, viewer, connection, organizations
):
    used = OfferFactory()
    SubscriptionFactory(organization=organizations["Contoso"], offer=used)
    OrganizationSuggestion.objects.create(
        connection=connection,
        organization=organizations["Contoso"],
        company=company(connection, "Contoso Ltd"),
        score=0.99,
        basis="domain",
        rank=1,
    )
    client_for(client, viewer)
    for name in ("organization_list", "offer_list", "subscription_list"):
        soup = page(client.get(reverse(f"mappings:{name}")))
        assert len(rows(soup)) >= 1
        assert not soup.select("[hx-post], [data-testid=bulk-actions], [data-testid=upload-csv]")
        assert not soup.select("main form[method=post]"), name
        assert not soup.select("input[type=checkbox]")
    refused = [
        ("post", reverse("mappings:organization_map")),
        ("post", reverse("mappings:offer_map")),
        ("post", reverse("mappings:subscription_map")),
        ("post", reverse("mappings:organization_bulk_map")),
        ("post", reverse("mappings:suggestion_accept")),
    ]
    for method, url in refused:
        assert getattr(client, method)(url).status_code == 403, url
    assert not OrganizationMapping.objects.exists()


def test_with_several_connections_the_choice_is_remembered(
    client, operator, connection, organizations, sandbox
):
    second = connection_create_sandbox(url=sandbox.root, name="Second sandbox")
    client_for(client, operator)
    soup = page(client.get(reverse("mappings:organization_list")))
    selector = soup.select_one("[data-testid=connection-selector] select")
    assert [option.get_text() for option in selector.select("option")] == sorted(
        [connection.name, second.name]
    )
    response = client.post(
        reverse("mappings:connection_choose"),
        {"connection": second.pk, "next": reverse("mappings:offer_list")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("mappings:offer_list")
    assert ConnectionInView.objects.get(user=operator).connection == second
    soup = page(client.get(reverse("mappings:organization_list")))
    chosen = soup.select_one("[data-testid=connection-selector] option[selected]")
    assert chosen.get_text() == second.name


@pytest.mark.parametrize("name", ["organization_list", "offer_list", "subscription_list"])
def test_a_screen_costs_the_same_queries_for_25_rows_as_for_5(
    client, operator, connection, organizations, name
):
    client_for(client, operator)
    url = reverse(f"mappings:{name}") + "?sort=-company"

    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            page(client.get(url))
        return len(captured)

    _grow(connection, organizations, 5)
    few = queries()
    _grow(connection, organizations, 25)
    assert queries() == few


def _grow(connection, organizations, count):
    contoso = company(connection, "Contoso Ltd")
    for number in range(Organization.objects.count(), count):
        organization = OrganizationFactory(customer_id=f"grown-{number}", name=f"Org {number}")
        SubscriptionFactory(organization=organization, offer=OfferFactory(sku_id=f"{number:04d}"))
        OrganizationMapping.objects.create(
            connection=connection, organization=organization, company=contoso
        )
        OrganizationSuggestion.objects.create(
            connection=connection,
            organization=organization,
            company=contoso,
            score=0.6,
            basis="name",
            rank=1,
        )


def test_a_download_carries_every_filtered_row_in_the_screens_order(
    client, viewer, connection, organizations
):
    OrganizationMapping.objects.create(
        connection=connection,
        organization=organizations["Contoso"],
        company=company(connection, "Contoso Ltd"),
    )
    client_for(client, viewer)
    url = reverse("mappings:mapping_file_download", kwargs={"kind": "organizations"})

    def names(query: str) -> list[str]:
        lines = b"".join(client.get(url + query).streaming_content).decode("utf-8-sig")
        return [line.split(",")[1] for line in lines.splitlines()[1:]]

    assert names("?is_mapped=false&per_page=1") == ["Fabrikam", "Tailspin Toys"]
    assert names("?sort=-name") == ["Tailspin Toys", "Fabrikam", "Contoso"]
    assert names("?q=tailspin") == ["Tailspin Toys"]
    # The download link on the screen keeps the screen's query string.
    soup = page(client.get(reverse("mappings:organization_list") + "?is_mapped=false"))
    assert soup.select_one("[data-testid=download-csv]")["href"] == url + "?is_mapped=false"


def test_suggestions_above_a_score_are_accepted_after_a_confirmation(
    client, operator, connection, organizations
):
    def suggest(name, company_name, score):
        OrganizationSuggestion.objects.create(
            connection=connection,
            organization=organizations[name],
            company=company(connection, company_name),
            score=score,
            basis="name",
            rank=1,
        )

    suggest("Contoso", "Contoso Ltd", 0.96)
    suggest("Fabrikam", "Fabrikam Inc", 0.80)
    client_for(client, operator)
    url = reverse("mappings:suggestion_accept")
    preview = page(client.get(url, {"percent": 90}))
    planned = [
        " ".join(row.get_text(" ").split())
        for row in preview.select("[data-testid=planned-changes] tbody tr")
    ]
    assert planned == ["Contoso c-0 Contoso Ltd #1 96 % name"]
    assert not OrganizationMapping.objects.exists()

    # A suggestion that appears between the look and the confirmation stops it.
    suggest("Tailspin Toys", "Tailspin Toys", 0.99)
    response = client.post(url, {"percent": 90, "count": 1})
    assert response.status_code == 302 and "percent=90" in response["Location"]
    assert not OrganizationMapping.objects.exists()

    response = client.post(url, {"percent": 90, "count": 2})
    assert response.status_code == 302
    assert sorted(OrganizationMapping.objects.values_list("company__name", flat=True)) == [
        "Contoso Ltd",
        "Tailspin Toys",
    ]
    assert AuditEntry.objects.filter(operation="Create Connection Customer Mapping").count() == 2
    assert page(client.get(url, {"percent": 90})).select_one("[data-testid=nothing-to-do]")
    assert client.get(url, {"percent": 20}).status_code == 302  # below 50 %: refused
