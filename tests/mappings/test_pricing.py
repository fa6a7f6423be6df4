"""The default markups the catalog's charts price with: chosen here, from the connections,
and handed to the catalog through `settings.CATALOG_DEFAULT_MARKUPS`."""

from decimal import Decimal

import pytest

from apps.autotask.markups import connection_default_markups_set
from apps.autotask.models import Connection
from apps.catalog import selectors as catalog_selectors
from apps.mappings.pricing import default_markups

pytestmark = pytest.mark.django_db


def make_connection(name: str, **markups) -> Connection:
    connection = Connection(name=name, username="u", integration_code="c")
    connection.set_secret("s")
    connection.save()
    connection_default_markups_set(connection=connection, markups=markups)
    return connection


def test_the_only_connection_gives_its_markups_several_give_none(django_assert_num_queries):
    assert default_markups() is None  # no connection yet
    make_connection("Autotask", license_based="10", azure_plan="-2.50")
    with django_assert_num_queries(1):
        assert default_markups() == {"license_based": Decimal("10"), "azure_plan": Decimal("-2.5")}
    make_connection("Second", license_based="50")
    assert default_markups() is None  # until mappings say which connection prices what
    Connection.objects.filter(name="Autotask").delete()
    assert default_markups() == {"license_based": Decimal("50")}


def test_the_only_connection_without_markups_gives_an_empty_set():
    make_connection("Autotask")
    assert default_markups() == {}
    make_connection("Second")
    assert default_markups() is None


def test_the_catalog_asks_the_configured_provider(settings):
    make_connection("Autotask", azure_plan="3")
    assert settings.CATALOG_DEFAULT_MARKUPS == "apps.mappings.pricing.default_markups"
    assert catalog_selectors.default_markups() == {"azure_plan": Decimal("3")}
    settings.CATALOG_DEFAULT_MARKUPS = f"{__name__}.fixed_markups"
    assert catalog_selectors.default_markups() == {"license_based": "1"}


def fixed_markups() -> dict:
    return {"license_based": "1"}
