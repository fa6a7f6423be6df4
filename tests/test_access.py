"""Every URL pattern, fetched as each kind of user, answers as decided here.

A URL added without a decision in DECISIONS fails test_every_pattern_has_a_decision.
"""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import log_in

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "norole", "viewer", "operator", "administrator")

# What an answer must look like.
OK = "200"
LOGIN = "redirect to sign-in"
ANY_LOGIN = "redirect to sign-in, ours or the admin's"
ADMIN_LOGIN = "redirect to the admin sign-in"
HOME = "redirect to the dashboard"
FORBIDDEN = "403"
NOT_ALLOWED = "405"
OBJECT = "200, or 302/404 for an object that does not exist"
TWO_FACTOR = "redirect to the two-factor page"


def everyone(answer):
    return dict.fromkeys(PERSONAS, answer)


def from_role(role: str, granted: str = OK) -> dict[str, str]:
    """Pages for `role` and above: sign-in for anonymous, 403 below the role."""
    order = ("viewer", "operator", "administrator")
    answers = {"anonymous": LOGIN, "norole": FORBIDDEN}
    for persona in order:
        answers[persona] = granted if order.index(persona) >= order.index(role) else FORBIDDEN
    return answers


def admin_only(granted: str) -> dict[str, str]:
    return {
        "anonymous": ANY_LOGIN,
        "norole": ADMIN_LOGIN,
        "viewer": ADMIN_LOGIN,
        "operator": ADMIN_LOGIN,
        "administrator": granted,
    }


# URL name (namespace:name) -> expected answer per persona, for a GET.
DECISIONS: dict[str, dict[str, str]] = {
    "core:dashboard": from_role("viewer"),
    "core:healthz": everyone(OK),
    "accounts:login": {**everyone(HOME), "anonymous": OK},
    "accounts:logout": {**everyone(NOT_ALLOWED), "anonymous": LOGIN},
    # The code step needs a right password first; without one it sends back to sign-in.
    "accounts:login_code": {**everyone(HOME), "anonymous": LOGIN},
    "accounts:two_factor": {**everyone(OK), "anonymous": LOGIN},
    # Nobody here has a second factor: nothing to remove.
    "accounts:two_factor_remove": {**everyone(TWO_FACTOR), "anonymous": LOGIN},
    # The admin has no sign-in form of its own (it would skip the second factor).
    "admin:login": {
        **everyone(FORBIDDEN),
        "anonymous": LOGIN,
        "administrator": HOME,
    },
    # Django sends anyone the admin does not admit from its logout URL to its index.
    "admin:logout": {**everyone(HOME), "anonymous": ANY_LOGIN, "administrator": NOT_ALLOWED},
    # Autocomplete needs app_label, model_name and field_name; without them: 403.
    "admin:autocomplete": admin_only(FORBIDDEN),
    # Task results and the queue are written by workers only: no "add" page.
    "admin:django_q_success_add": admin_only(FORBIDDEN),
    "admin:django_q_failure_add": admin_only(FORBIDDEN),
    "admin:autotask_refreshrun_add": admin_only(FORBIDDEN),
    # Nothing in the admin names code to run, and connections change only through the
    # product's audited screens (tests/test_admin_registry.py).
    "admin:django_q_schedule_add": admin_only(FORBIDDEN),
    "admin:autotask_connection_add": admin_only(FORBIDDEN),
    "admin:django_q_success_delete": admin_only(FORBIDDEN),
    "admin:django_q_failure_delete": admin_only(FORBIDDEN),
    "admin:django_q_schedule_delete": admin_only(FORBIDDEN),
    "admin:autotask_connection_delete": admin_only(FORBIDDEN),
    "admin:autotask_refreshrun_delete": admin_only(FORBIDDEN),
    # Failure counts come from failed sign-ins; TOTP devices from their owner's enrolment,
    # and the admin never shows their keys.
    "admin:axes_accessattempt_add": admin_only(FORBIDDEN),
    "admin:otp_totp_totpdevice_add": admin_only(FORBIDDEN),
    "admin:otp_totp_totpdevice_config": admin_only(FORBIDDEN),
    "admin:otp_totp_totpdevice_qrcode": admin_only(FORBIDDEN),
    "audit:auditentry_list": from_role("viewer"),
    "audit:auditentry_detail": from_role("viewer"),
    "audit:auditentry_csv": from_role("viewer"),
    "autotask:connection_list": from_role("viewer"),
    "autotask:connection_detail": from_role("viewer"),
    "autotask:connection_refresh_status": from_role("viewer"),
    "autotask:connection_test_status": from_role("administrator"),
    "autotask:company_list": from_role("viewer"),
    "autotask:service_list": from_role("viewer"),
    "autotask:product_list": from_role("viewer"),
    "autotask:billingcode_list": from_role("viewer"),
    "autotask:connection_create": from_role("administrator"),
    "autotask:connection_edit": from_role("administrator"),
    "autotask:connection_secret": from_role("administrator"),
    "autotask:connection_delete": from_role("administrator"),
    "catalog:organization_detail": from_role("viewer"),
    "catalog:subscription_detail": from_role("viewer"),
    "catalog:billingreport_list": from_role("viewer"),
    "catalog:billingreport_detail": from_role("viewer"),
    "imports:importrun_list": from_role("viewer"),
    "imports:importrun_detail": from_role("viewer"),
    "imports:importrun_progress": from_role("viewer"),
    "imports:importrun_create": from_role("operator"),
    "prices:price_list": from_role("viewer"),
    "prices:markuprule_list": from_role("viewer"),
    "prices:price_list_import": from_role("operator"),
    "prices:price_edit": from_role("operator"),
    "prices:price_clear": from_role("operator"),
    "prices:markuprule_create": from_role("operator"),
    "prices:markuprule_edit": from_role("operator"),
    "prices:markuprule_delete": from_role("operator"),
    "mappings:organization_list": from_role("viewer"),
    "mappings:offer_list": from_role("viewer"),
    "mappings:subscription_list": from_role("viewer"),
    # Pickers and bulk previews need the connection in view (404 without one) and send
    # a bulk preview with nothing selected back to its screen.
    "mappings:company_picker": from_role("operator", OBJECT),
    "mappings:service_picker": from_role("operator", OBJECT),
    "mappings:contract_picker": from_role("operator", OBJECT),
    "mappings:organization_bulk_map": from_role("operator", OBJECT),
    "mappings:suggestion_accept": from_role("operator", OBJECT),
    # Mapping files: the CSV, or back to the screen with a message while there is no
    # connection; a preview whose upload is not kept (or not the user's) sends home.
    "mappings:mapping_file_download": from_role("viewer", OBJECT),
    "mappings:mapping_file_upload": from_role("operator"),
    "mappings:mapping_file_confirm": from_role("operator", OBJECT),
    # Actions are POST only: a GET by someone allowed to act answers 405.
    "mappings:organization_map": from_role("operator", NOT_ALLOWED),
    "mappings:organization_unmap": from_role("operator", NOT_ALLOWED),
    "mappings:offer_map": from_role("operator", NOT_ALLOWED),
    "mappings:offer_unmap": from_role("operator", NOT_ALLOWED),
    "mappings:subscription_map": from_role("operator", NOT_ALLOWED),
    "mappings:subscription_unmap": from_role("operator", NOT_ALLOWED),
    "mappings:connection_choose": from_role("viewer", NOT_ALLOWED),
    "autotask:connection_test": from_role("administrator", NOT_ALLOWED),
    "autotask:connection_refresh": from_role("operator", NOT_ALLOWED),
    "exports:exportrun_list": from_role("viewer"),
    "exports:exportrun_detail": from_role("viewer"),
    "exports:exportrun_progress": from_role("viewer"),
    # The form, or back to the connections or reports while there is nothing to export.
    "exports:exportrun_preview": from_role("operator", OBJECT),
    # What retrying or cancelling would do, then a POST; the rest are POST only.
    "exports:exportrun_retry": from_role("operator"),
    "exports:exportrun_cancel": from_role("operator"),
    "exports:exportrun_confirm": from_role("operator", NOT_ALLOWED),
    "exports:exportrun_continue": from_role("operator", NOT_ALLOWED),
    "imports:importrun_retry": from_role("operator", NOT_ALLOWED),
    "imports:importrun_cancel": from_role("operator", NOT_ALLOWED),
}
# The Django admin: one decision for every other admin URL.
ADMIN_PAGE = admin_only(OK)
ADMIN_OBJECT_PAGE = admin_only(OBJECT)


def walk(patterns, namespace="", prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from walk(entry.url_patterns, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield entry, namespace, prefix + str(entry.pattern)


def all_patterns() -> list[tuple[str, URLPattern]]:
    """(key, pattern) for every pattern; unnamed ones are keyed by their full route."""
    found = []
    for pattern, namespace, route in walk(get_resolver().url_patterns):
        key = f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<{route}>"
        found.append((key, pattern))
    return found


def argument_names(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.regex.groupindex)


def decision_for(key: str, pattern: URLPattern) -> dict[str, str]:
    if key in DECISIONS:
        return DECISIONS[key]
    if key.startswith("admin:"):
        return ADMIN_OBJECT_PAGE if argument_names(pattern) else ADMIN_PAGE
    raise KeyError(key)


def test_every_pattern_has_a_decision():
    missing = []
    for key, pattern in all_patterns():
        try:
            decision_for(key, pattern)
        except KeyError:
            missing.append(key)
    assert not missing, f"URL patterns without an access decision in DECISIONS: {missing}"


def sample_object_pk(key: str) -> int:
    """An existing object for a detail URL's ``pk``, made on first use."""
    if key.startswith("admin:otp_totp_totpdevice"):
        from django.contrib.auth import get_user_model
        from django_otp.plugins.otp_totp.models import TOTPDevice

        owner = get_user_model().objects.get(username="vera-viewer")
        return TOTPDevice.objects.get_or_create(user=owner, confirmed=False)[0].pk
    if key == "audit:auditentry_detail":
        from apps.audit.services import audit_record

        return audit_record(operation="Access check", object_repr="sample").pk
    if key.startswith("catalog:"):
        import datetime as dt

        from apps.catalog.models import BillingReport, Offer, Organization, Subscription

        organization = Organization.objects.get_or_create(customer_id="c-1", name="Access Ltd")[0]
        offer = Offer.objects.get_or_create(product_id="CFQ7TTC0LDPB", sku_id="0001")[0]
        subscription = Subscription.objects.get_or_create(
            subscription_id="s-1", organization=organization, offer=offer
        )[0]
        report = BillingReport.objects.get_or_create(month=dt.date(2026, 3, 1), currency="EUR")[0]
        return {
            "catalog:organization_detail": organization.pk,
            "catalog:subscription_detail": subscription.pk,
            "catalog:billingreport_detail": report.pk,
        }[key]
    if key.startswith("exports:"):
        import datetime as dt

        from apps.autotask.services import connection_create_sandbox
        from apps.catalog.models import BillingReport
        from apps.exports.models import ExportRun

        run = ExportRun.objects.first()
        if run is None:
            connection = connection_create_sandbox(name="Export access check")
            report = BillingReport.objects.get_or_create(month=dt.date(2026, 3, 1), currency="EUR")[
                0
            ]
            run = ExportRun.objects.create(connection=connection, report=report, status="failed")
        return run.pk
    if key.startswith("imports:"):
        from apps.catalog.models import ImportRun

        return (ImportRun.objects.first() or ImportRun.objects.create(files=[])).pk
    if key in ("prices:price_edit", "prices:price_clear"):
        from apps.catalog.models import MspPrice, Offer

        offer = Offer.objects.get_or_create(product_id="CFQ7TTC0LDPB", sku_id="0001")[0]
        # A price to clear: the confirmation page answers 200.
        MspPrice.objects.get_or_create(offer=offer, currency="EUR", defaults={"unit_price": 1})
        return offer.pk
    if key.startswith("prices:markuprule"):
        from apps.catalog.models import MarkupRule

        return MarkupRule.objects.get_or_create(record_type="azure_plan", percent=10)[0].pk
    if key.startswith("autotask:"):
        from apps.autotask.models import Connection

        connection = Connection.objects.filter(name="Access check").first()
        if connection is None:
            connection = Connection(name="Access check", username="u", integration_code="c")
            connection.set_secret("s")
            connection.save()
        return connection.pk
    raise KeyError(f"No sample object for {key}: add one to sample_object_pk().")


def sample_url(key: str, pattern: URLPattern, administrator) -> str:
    names = argument_names(pattern)
    values = {
        "app_label": "auth",
        "object_id": str(administrator.pk),
        "id": str(administrator.pk),
        "content_type_id": str(ContentType.objects.get_for_model(type(administrator)).pk),
        "kind": "organizations",  # mapping files
        "token": "no-such-upload-" + "x" * 32,
    }
    if "pk" in names:
        values["pk"] = str(sample_object_pk(key))
    if key.endswith(">"):  # unnamed: fill in the route itself
        route = key.partition(":<")[2][:-1]
        route = route.replace("(?P<url>.*)$", "no-such-page/").lstrip("^")
        route = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: values[match.group(1)], route)
        return "/" + route
    return reverse(key, kwargs={name: values[name] for name in names})


def answer_matches(expected: str, response, url: str) -> bool:
    location = response.headers.get("Location", "")
    if expected == OK:
        return response.status_code == 200
    if expected == LOGIN:
        return response.status_code == 302 and location.startswith(reverse("accounts:login"))
    if expected == ANY_LOGIN:
        return response.status_code == 302 and (
            location.startswith(reverse("accounts:login"))
            or location.startswith(reverse("admin:login"))
        )
    if expected == ADMIN_LOGIN:
        return response.status_code == 302 and location.startswith(reverse("admin:login"))
    if expected == HOME:
        return response.status_code == 302 and location in ("/", "/admin/")
    if expected == FORBIDDEN:
        return response.status_code == 403
    if expected == NOT_ALLOWED:
        return response.status_code == 405
    if expected == OBJECT:
        return response.status_code in (200, 302, 404)
    if expected == TWO_FACTOR:
        return response.status_code == 302 and location.startswith(reverse("accounts:two_factor"))
    raise AssertionError(f"unknown expectation {expected}")


@pytest.fixture
def personas(client, make_user, django_user_model):
    from django.test import Client

    from apps.accounts.roles import Role

    users = {
        "norole": make_user("nora-norole", None),
        "viewer": make_user("vera-viewer", Role.VIEWER),
        "operator": make_user("otto-operator", Role.OPERATOR),
        "administrator": make_user("ada-admin", Role.ADMINISTRATOR),
    }
    clients = {"anonymous": Client()}
    for name, user in users.items():
        persona_client = Client()
        assert log_in(persona_client, user.username)
        clients[name] = persona_client
    return clients, users


def test_every_pattern_answers_as_decided(personas):
    clients, users = personas
    failures = []
    checked = 0
    for key, pattern in all_patterns():
        url = sample_url(key, pattern, users["administrator"])
        for persona, expected in decision_for(key, pattern).items():
            response = clients[persona].get(url)
            checked += 1
            if not answer_matches(expected, response, url):
                failures.append(
                    f"{key} {url} as {persona}: expected {expected}, got "
                    f"{response.status_code} {response.headers.get('Location', '')}"
                )
    assert not failures, "\n".join(failures)
    assert checked >= 5 * 20  # the admin alone has dozens of patterns


def test_object_ids_cannot_be_probed(personas):
    """Someone refused a page gets the same answer whether the object exists or not: the
    role is checked before the object is looked up (GET and POST alike)."""
    clients, users = personas
    differences = []
    for key, pattern in all_patterns():
        if key.startswith("admin:") or "pk" not in argument_names(pattern):
            continue
        existing = sample_url(key, pattern, users["administrator"])
        missing = reverse(key, kwargs={"pk": 987654321})
        for persona, expected in decision_for(key, pattern).items():
            if expected != FORBIDDEN:
                continue
            for method in ("get", "post"):
                send = getattr(clients[persona], method)
                there, absent = send(existing).status_code, send(missing).status_code
                if there != absent:
                    differences.append(f"{key} as {persona} ({method}): {there} vs {absent}")
    assert not differences, "\n".join(differences)
