"""The default markups the catalog's charts price with: chosen here, from the connections,
and handed to the catalog through `settings.CATALOG_DEFAULT_MARKUPS`."""

import pytest

from apps.autotask.models import Connection
from apps.catalog import selectors as catalog_selectors
from apps.mappings.pricing import default_markups

pytestmark = pytest.mark.django_db


def make_connection(name: str, **markups) -> Connection:
    connection = Connection(name=name, username="u", integration_code="c")
    connection.set_secret("s")
    connection.default_markups = markups
    connection.save()
    return connection


def test_the_only_connection_gives_its_markups_several_give_none(django_assert_num_queries):
    assert default_markups() is None  # no connection yet
    make_connection("Autotask", license_based="10")
    with django_assert_num_queries(1):
        assert default_markups() == {"license_based": "10"}
    make_connection("Second", license_based="50")
    assert default_markups() is None  # until mappings say which connection prices what


def test_the_catalog_asks_the_configured_provider(settings):
    make_connection("Autotask", azure_plan="3")
    assert settings.CATALOG_DEFAULT_MARKUPS == "apps.mappings.pricing.default_markups"
    assert catalog_selectors.default_markups() == {"azure_plan": "3"}
    settings.CATALOG_DEFAULT_MARKUPS = f"{__name__}.fixed_markups"
    assert catalog_selectors.default_markups() == {"license_based": "1"}


def fixed_markups() -> dict:
    return {"license_based": "1"}
