"""Organization → company suggestions (issue 10): the names and domains they compare, the
accuracy on a made-up MSP whose right answers are known, what is stored, the worker run
after each import and refresh, and ``manage.py map suggest``."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_q.conf import Conf
from django_q.signals import pre_enqueue

from apps.audit.models import AuditEntry
from apps.autotask.models import AutotaskCompany, Connection, RefreshRun
from apps.autotask.services import connection_create_sandbox, refresh_run_execute
from apps.catalog.importers.errors import ImportValidationError
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import Organization
from apps.mappings.matching import (
    host_of,
    legal_form,
    name_similarity,
    normalise_name,
    registrable_domain,
    tenant_domains,
)
from apps.mappings.models import OrganizationMapping, OrganizationSuggestion
from apps.mappings.services import organization_mapping_set
from apps.mappings.suggestions import (
    suggestions_above,
    suggestions_accept,
    suggestions_compute,
)
from apps.mappings.tasks import compute_suggestions
from tests.catalog.factories import OrganizationFactory
from tests.catalog.generator import write_recon_csv
from tests.catalog.scenarios import CUSTOMER, march_rows
from tests.mappings.suggestion_world import build_world

pytestmark = pytest.mark.django_db

TASK = "apps.mappings.tasks.compute_suggestions"


def make_connection(name="Suggest") -> Connection:
    connection = Connection(name=name, username="u", integration_code="c", is_sandbox=True)
    connection.set_secret("s")
    connection.save()
    return connection


@pytest.fixture
def connection():
    return make_connection()


def company(connection, autotask_id, name, web="", **fields) -> AutotaskCompany:
    fields = {"company_type": 1, "is_active": True, **fields}
    return AutotaskCompany.objects.create(
        connection=connection, autotask_id=autotask_id, name=name, web_address=web, **fields
    )


def organization(customer_id, name, domains=()) -> Organization:
    return OrganizationFactory(customer_id=customer_id, name=name, domains=list(domains))


def suggested(connection, org) -> list[tuple[int, str, float]]:
    return [
        (row.company.autotask_id, row.basis, row.score)
        for row in OrganizationSuggestion.objects.filter(connection=connection, organization=org)
        .select_related("company")
        .order_by("rank")
    ]


# -- names and domains -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Hughes & Whitfield Surveyors Ltd.", "HUGHES AND WHITFIELD SURVEYORS LIMITED"),
        ("Contoso, Inc.", "contoso incorporated"),
        ("Contoso LLC", "Contoso L.L.C."),
        ("Müller Logistik GmbH & Co. KG", "Muller Logistik GMBH"),
        ("Vermeulen Bouw B.V.", "Vermeulen Bouw BV"),
        ("Rossi Tessuti S.p.A.", "ROSSI TESSUTI SPA"),
        ("Kowalski Transport sp. z o.o.", "Kowalski Transport Sp.z o.o."),
        ("Dupont Conseil S.à r.l.", "Dupont Conseil SARL"),
        ("Dupont Conseil S.A.S.", "Dupont Conseil"),
        ("Hansen Byg A/S", "Hansen Byg"),
        ("Lindqvist Bygg AB", "AB Lindqvist Bygg"),
        ("Nordic Freight Oy", "Nordic Freight"),
        ("Kovács Kft.", "Kovacs"),
        ("Harbour Dental Pty. Ltd.", "Harbour Dental"),
        ("Margie's Travel", "Margies Travel"),
        ("The Alpine Ski House", "Alpine Ski House Corp"),
        ("Strauß Druck AG", "Strauss Druck"),
        ("Fabrikam Residences Company", "Fabrikam Residences Co."),
        ("Smith & Co", "Smith"),
        ("Whitfield, Hughes", "Hughes Whitfield"),
    ],
)
def test_legal_forms_punctuation_case_and_ampersands_do_not_count(first, second):
    assert name_similarity(first, second) == 1.0


def test_the_name_keeps_what_tells_businesses_apart():
    assert normalise_name("Contoso Pharmaceuticals Ltd") == "contoso pharmaceuticals"
    assert normalise_name("Bristol Zoo Ltd") == "bristol zoo"  # not a legal form
    assert normalise_name("AG") == "ag"  # nothing but a form: it stays
    assert legal_form("Contoso Limited") == legal_form("Contoso Ltd.") == "ltd"
    assert legal_form("Contoso GmbH") == "gmbh"
    assert name_similarity("Vertix Architects", "Veryx Architects") <= 0.85  # another word
    assert name_similarity("Velora Desgin Studio", "Velora Design Studio") > 0.9  # a typo


@pytest.mark.parametrize(
    ("web_address", "host"),
    [
        ("HTTPS://www.Contoso.co.uk:8443/about?x=1", "contoso.co.uk"),
        ("contoso.com", "contoso.com"),
        (" www.contoso.com/ ", "contoso.com"),
        ("http://www2.contoso.com", "contoso.com"),
        ("https://user:secret@portal.contoso.com/login", "portal.contoso.com"),
        ("contoso.com.", "contoso.com"),
        ("", ""),
        ("n/a", ""),
        ("www.contoso", ""),
    ],
)
def test_the_host_of_a_web_address(web_address, host):
    assert host_of(web_address) == host


def test_registrable_domains_and_the_tenant_domains_that_count():
    assert registrable_domain("portal.contoso.com") == "contoso.com"
    assert registrable_domain("shop.contoso.co.uk") == "contoso.co.uk"
    assert registrable_domain("contoso.com.au") == "contoso.com.au"
    assert registrable_domain("contoso.co") == "contoso.co"
    assert tenant_domains(
        ["Contoso.onmicrosoft.com", "CONTOSO.COM", "contoso.mail.onmicrosoft.com", " contoso.de "]
    ) == ["contoso.com", "contoso.de"]


# -- accuracy (the test) ---------------------------------------------------------------


def store_world(connection, world) -> dict[str, int | None]:
    """The world's rows in the database; the right company's Autotask id per customer id."""
    AutotaskCompany.objects.bulk_create(
        AutotaskCompany(
            connection=connection,
            autotask_id=spec.autotask_id,
            name=spec.name,
            web_address=spec.web_address,
            company_type=spec.company_type,
            is_active=spec.is_active,
            gone_at="2026-01-01T00:00:00Z" if spec.gone else None,
        )
        for spec in world.companies
    )
    Organization.objects.bulk_create(
        Organization(customer_id=spec.customer_id, name=spec.name, domains=spec.domains)
        for spec in world.organizations
    )
    return {
        spec.customer_id: spec.company.autotask_id if spec.company else None
        for spec in world.organizations
    }


def test_the_best_suggestion_is_right_for_95_percent_and_sure_ones_are_rarely_wrong(
    connection, capsys
):
    world = build_world(20261122)
    assert (len(world.organizations), len(world.companies)) == (500, 600)
    right_answer = store_world(connection, world)
    suggestions_compute(connection)

    rows = OrganizationSuggestion.objects.filter(connection=connection).values_list(
        "organization__customer_id", "company__autotask_id", "rank", "score"
    )
    best = {customer: company for customer, company, rank, _ in rows if rank == 1}
    with_company = [customer for customer, answer in right_answer.items() if answer]
    top_right = sum(1 for customer in with_company if best.get(customer) == right_answer[customer])
    sure = [(customer, company) for customer, company, _, score in rows if score > 0.9]
    sure_wrong = sum(1 for customer, company in sure if company != right_answer[customer])

    accuracy = top_right / len(with_company)
    wrong_share = sure_wrong / len(sure)
    with capsys.disabled():
        print(
            f"\nsuggestions: top suggestion right for {top_right}/{len(with_company)} "
            f"({accuracy:.1%}); above 90 %: {sure_wrong}/{len(sure)} wrong ({wrong_share:.2%})"
        )
    assert len(with_company) == 360
    assert accuracy >= 0.95
    assert len(sure) >= 300  # most right answers are sure enough to accept in bulk
    assert wrong_share < 0.01


# -- what is suggested and stored --------------------------------------------------------------


def test_a_vanity_domain_beats_a_company_of_the_same_name(connection):
    right = company(connection, 101, "H&W Surveyors", "https://www.hw-surveyors.co.uk/contact")
    company(connection, 102, "Hughes & Whitfield Surveyors Ltd", "hughes-whitfield.com")
    company(connection, 103, "Hughes & Whitfield Surveyors", "http://myhw-surveyors.co.uk")
    tenant = organization(
        "c-hw",
        "HUGHES AND WHITFIELD SURVEYORS LIMITED",
        ["hw.onmicrosoft.com", "hw-surveyors.co.uk"],
    )
    suggestions_compute(connection)
    [first, second, *_] = suggested(connection, tenant)
    assert first == (right.autotask_id, "domain", 1.0)
    assert second[1] == "name" and second[2] <= 0.8  # the name alone is only a maybe now


def test_a_shared_or_sub_domain_scores_less(connection):
    company(connection, 201, "Fabrikam Inc", "https://portal.fabrikam.com/login")
    sub = organization("c-fab", "Fabrikam", ["fabrikam.com"])
    company(connection, 301, "Northwind Traders", "northwind.com")
    company(connection, 302, "Northwind Health", "www.northwind.com")
    shared = organization("c-nw", "Northwind Traders Ltd", ["northwind.com"])
    suggestions_compute(connection)
    assert suggested(connection, sub)[0] == (201, "domain", 0.95)
    [(first, basis, score), (second, _, lower)] = suggested(connection, shared)
    assert (first, second, basis) == (301, 302, "domain")
    assert 0.85 < score <= 0.89 and lower < score


def test_inactive_gone_and_non_customer_companies_are_never_suggested(connection):
    now = "2026-01-01T00:00:00Z"
    company(connection, 1, "Contoso Ltd", "contoso.com", is_active=False)
    company(connection, 2, "Contoso Ltd", "contoso.com", gone_at=now)
    company(connection, 3, "Contoso Ltd", "contoso.com", company_type=3)  # a prospect
    company(connection, 4, "Contoso Ltd", "contoso.com", company_type=7)  # a vendor
    company(connection, 5, "Contoso Ltd", "contoso.com", company_type=None)
    other = make_connection("Other")
    company(other, 6, "Contoso Ltd", "contoso.com")  # another connection's copy
    tenant = organization("c-1", "Contoso Ltd", ["contoso.com"])
    assert suggestions_compute(connection) == 0
    assert suggested(connection, tenant) == []

    company(connection, 7, "Contoso Limited", "")
    suggestions_compute(connection)
    assert suggested(connection, tenant) == [(7, "name", 1.0)]


def test_at_most_three_per_organization_none_below_half(connection):
    for number, name in enumerate(
        ["Alpine Ski House", "Alpine Ski Hut", "Alpine Ski Houses", "Alpine Skis", "Alpine",
         "Ski House Alpine Resort", "Woodgrove Bank"], start=1
    ):  # fmt: skip
        company(connection, number, name)
    tenant = organization("c-a", "Alpine Ski House Ltd")
    suggestions_compute(connection)
    rows = list(OrganizationSuggestion.objects.filter(organization=tenant).order_by("rank"))
    assert [row.rank for row in rows] == [1, 2, 3]
    assert rows[0].company.name == "Alpine Ski House" and rows[0].score == 1.0
    assert all(0.5 <= row.score <= 0.85 for row in rows[1:])


def test_two_equal_names_are_a_coin_toss_unless_the_legal_form_decides(connection):
    company(connection, 1, "Velora Logistics Ltd")
    company(connection, 2, "Velora Logistics GmbH")
    german = organization("c-de", "VELORA LOGISTICS GMBH")
    neither = organization("c-x", "Velora Logistics")
    suggestions_compute(connection)
    assert suggested(connection, german) == [(2, "name", 0.85), (1, "name", 0.85)]
    assert [score for _, _, score in suggested(connection, neither)] == [0.85, 0.85]


def test_compute_replaces_the_stored_suggestions_of_its_connection_only(connection):
    contoso = company(connection, 1, "Contoso Ltd", "contoso.com")
    tenant = organization("c-1", "Contoso", ["contoso.com"])
    other = make_connection("Other")
    company(other, 9, "Contoso Limited")
    assert suggestions_compute(connection) == 1
    assert suggestions_compute(other) == 1
    first = OrganizationSuggestion.objects.get(connection=connection)
    assert (first.company, first.basis, first.score, first.rank) == (contoso, "domain", 1.0, 1)

    contoso.web_address = ""
    contoso.save()
    company(connection, 2, "Contoso Pharmaceuticals", "contoso.com")
    assert suggestions_compute(connection) == 2
    assert suggested(connection, tenant) == [(2, "domain", 1.0), (1, "name", 0.8)]
    assert not OrganizationSuggestion.objects.filter(pk=first.pk).exists()
    assert suggested(other, tenant) == [(9, "name", 1.0)]  # left as it was


def test_the_task_computes_and_tolerates_a_deleted_connection(connection):
    company(connection, 1, "Contoso Ltd")
    organization("c-1", "Contoso")
    assert compute_suggestions(connection.pk) == 1
    assert compute_suggestions(connection.pk + 1000) == 0


# -- recomputed by a worker after each import and refresh --------------------------------------


@pytest.fixture
def enqueued():
    """The tasks handed to django-q2 (its own pre_enqueue signal), as (function, args)."""
    tasks = []

    def record(sender, task, **kwargs):
        tasks.append((task["func"], tuple(task["args"])))

    pre_enqueue.connect(record, dispatch_uid="test-suggestions-enqueued")
    yield tasks
    pre_enqueue.disconnect(dispatch_uid="test-suggestions-enqueued")


@pytest.fixture
def worker_in_process(monkeypatch):
    """django-q2 runs each task at once in this process (its sync mode), so a test sees
    what the worker does; the task still goes through async_task and the worker code."""
    monkeypatch.setattr(Conf, "SYNC", True)


def test_a_billing_import_has_a_worker_recompute_every_connection(
    tmp_path, django_capture_on_commit_callbacks, enqueued, worker_in_process
):
    first, second = make_connection("First"), make_connection("Second")
    company(first, 1, "CONTOSO LIMITED")
    company(second, 2, "Contoso Ltd.", "contoso.com")
    path = write_recon_csv(tmp_path / "recon.csv", march_rows())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        import_billing([(path, path.name)], actor="tester")
    tenant = Organization.objects.get(customer_id=CUSTOMER)
    assert tenant.domains == ["contoso.onmicrosoft.com"]
    assert not OrganizationSuggestion.objects.exists()  # nothing computed in the import
    assert enqueued == []  # nor queued before the import's transaction commits

    for callback in callbacks:
        callback()
    assert sorted(enqueued) == [(TASK, (first.pk,)), (TASK, (second.pk,))]
    assert suggested(first, tenant) == [(1, "name", 1.0)]
    assert suggested(second, tenant) == [(2, "name", 1.0)]


def test_a_failed_import_queues_nothing(tmp_path, django_capture_on_commit_callbacks, enqueued):
    make_connection()
    rows = march_rows()
    rows[2]["BillableQuantity"] = "lots"
    path = write_recon_csv(tmp_path / "bad.csv", rows)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ImportValidationError):
        import_billing([(path, path.name)])
    assert enqueued == []


def test_a_reference_refresh_has_a_worker_recompute_its_connection(
    sandbox, django_capture_on_commit_callbacks, enqueued, worker_in_process
):
    sandbox.admin("POST", "/reset", json={"seed": "demo"})
    tenant = organization("c-contoso", "Contoso", ["contoso.onmicrosoft.com", "contoso.com"])
    connection = connection_create_sandbox(url=sandbox.root)
    other = make_connection("Other")
    run = RefreshRun.objects.create(connection=connection, kind="full")

    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_run_execute(run_id=run.pk).status == "succeeded"

    assert enqueued == [(TASK, (connection.pk,))]  # that connection only
    contoso = AutotaskCompany.objects.get(connection=connection, name="Contoso Ltd")
    assert suggested(connection, tenant)[0] == (contoso.autotask_id, "domain", 1.0)
    assert not OrganizationSuggestion.objects.filter(connection=other).exists()


def test_a_failed_refresh_queues_nothing(sandbox, django_capture_on_commit_callbacks, enqueued):
    connection = connection_create_sandbox(url=sandbox.root)
    connection.set_secret("wrong")
    connection.save()
    run = RefreshRun.objects.create(connection=connection, kind="full")
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_run_execute(run_id=run.pk).status == "failed"
    assert enqueued == []


# -- accepting the best suggestions ------------------------------------------------------------


@pytest.fixture
def catalogue(connection):
    """Four organizations: two sure, one unsure, one already mapped."""
    contoso = company(connection, 11, "Contoso Limited", "contoso.com")
    fabrikam = company(connection, 12, "Fabrikam Inc")
    company(connection, 13, "Tailspin Toys Holdings")
    woodgrove = company(connection, 14, "Woodgrove Bank")
    organization("c-contoso", "Contoso", ["contoso.com"])
    organization("c-fabrikam", "FABRIKAM, INC.")
    organization("c-tailspin", "Tailspin Toys")
    mapped = organization("c-woodgrove", "Woodgrove Bank")
    organization_mapping_set(connection=connection, organization=mapped, company=woodgrove)
    return {"contoso": contoso, "fabrikam": fabrikam}


def audit_count(operation="Create Connection Customer Mapping") -> int:
    return AuditEntry.objects.filter(operation=operation).count()


def test_above_lists_unmapped_organizations_by_name(connection, catalogue):
    suggestions_compute(connection)
    planned = suggestions_above(connection, 0.9)
    assert [(p.organization.customer_id, p.company.autotask_id, p.score, p.basis)
            for p in planned] == [
        ("c-contoso", 11, 1.0, "domain"),
        ("c-fabrikam", 12, 1.0, "name"),
    ]  # fmt: skip
    assert [p.organization.customer_id for p in suggestions_above(connection, 0.8)] == [
        "c-contoso",
        "c-fabrikam",
        "c-tailspin",  # "Holdings" costs a little: 88 %
    ]


def test_accept_maps_each_with_one_audit_entry_and_collects_refusals(
    connection, catalogue, operator
):
    suggestions_compute(connection)
    catalogue["fabrikam"].is_active = False  # since the suggestions were computed
    catalogue["fabrikam"].save()
    before = audit_count()

    outcome = suggestions_accept(connection, 0.9, operator)

    assert [(item.organization.customer_id, item.outcome) for item in outcome] == [
        ("c-contoso", "mapped"),
        ("c-fabrikam", "refused"),
    ]
    assert "is inactive in Autotask" in outcome[1].problem
    assert audit_count() == before + 1
    mapping = OrganizationMapping.objects.get(organization__customer_id="c-contoso")
    assert (mapping.company, mapping.mapped_by) == (catalogue["contoso"], operator)
    refused = AuditEntry.objects.get(status="failed")
    assert "is inactive in Autotask" in refused.details["error"]
    # Contoso is mapped now and no longer listed; Fabrikam is refused again.
    assert [item.outcome for item in suggestions_accept(connection, 0.9, operator)] == ["refused"]


def test_a_dry_run_accept_writes_nothing(connection, catalogue):
    suggestions_compute(connection)
    entries = AuditEntry.objects.count()
    outcome = suggestions_accept(connection, 0.9, dry_run=True)
    assert [item.outcome for item in outcome] == ["would map", "would map"]
    assert OrganizationMapping.objects.count() == 1
    assert AuditEntry.objects.count() == entries


# -- manage.py map suggest ---------------------------------------------------------------------


def map_suggest(*args) -> str:
    out = io.StringIO()
    call_command("map", "suggest", *args, stdout=out)
    return out.getvalue()


def test_map_suggest_computes_and_prints_each_suggestion(connection, catalogue):
    output = map_suggest("--connection", connection.name)
    assert "c-contoso Contoso: #1 Contoso Limited (11), 100 % by domain" in output
    assert "c-fabrikam FABRIKAM, INC.: #1 Fabrikam Inc (12), 100 % by name" in output
    assert "c-tailspin Tailspin Toys: #1 Tailspin Toys Holdings (13), 88 % by name" in output
    stored = OrganizationSuggestion.objects.filter(connection=connection).count()
    assert output.strip().endswith(f"{stored} suggestions on {connection.name}.")
    assert not OrganizationMapping.objects.filter(organization__customer_id="c-contoso").exists()


def test_map_suggest_accept_above_maps_with_one_audit_entry_each(connection, catalogue):
    before = audit_count()
    seen = list(AuditEntry.objects.values_list("pk", flat=True))
    output = map_suggest("--connection", connection.name, "--accept-above", "0.9")
    assert "Mapped c-contoso Contoso → Contoso Limited (11), 100 % by domain." in output
    assert "Mapped 2 organizations at 90 % or more." in output
    assert audit_count() == before + 2
    new = AuditEntry.objects.exclude(pk__in=seen)
    assert sorted(new.values_list("operation", "context", "after__organization")) == [
        ("Create Connection Customer Mapping", "cli", "c-contoso"),
        ("Create Connection Customer Mapping", "cli", "c-fabrikam"),
    ]
    assert sorted(
        OrganizationMapping.objects.values_list("organization__customer_id", "company__autotask_id")
    ) == [("c-contoso", 11), ("c-fabrikam", 12), ("c-woodgrove", 14)]

    again = map_suggest("--connection", connection.name, "--accept-above", "0.9")
    assert "Mapped 0 organizations" in again  # mapped ones are left as they are
    assert audit_count() == before + 2


def test_map_suggest_dry_run_writes_nothing(connection, catalogue):
    entries = AuditEntry.objects.count()
    mappings = OrganizationMapping.objects.count()
    output = map_suggest("--connection", connection.name, "--accept-above", "0.85", "--dry-run")
    assert "Would map c-tailspin Tailspin Toys → Tailspin Toys Holdings (13), 88 % by name." in (
        output
    )
    assert "Would map 3 organizations at 85 % or more. Dry run: nothing was written." in output
    assert AuditEntry.objects.count() == entries
    assert OrganizationMapping.objects.count() == mappings
    assert not OrganizationSuggestion.objects.exists()  # not even the suggestions


def test_map_suggest_refuses_a_score_that_is_not_a_fraction(connection):
    with pytest.raises(CommandError, match="not a score from 0 to 1"):
        map_suggest("--connection", connection.name, "--accept-above", "90")
    with pytest.raises(CommandError, match="No connection called 'Nowhere'"):
        map_suggest("--connection", "Nowhere")
