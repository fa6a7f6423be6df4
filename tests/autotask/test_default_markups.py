"""A connection's default markups are rows (`DefaultMarkup`): one per record type, never
below cost 0, refused by the database itself; read as one dict for the price rules."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.migrations.executor import MigrationExecutor

from apps.audit.models import AuditEntry
from apps.autotask.markups import connection_default_markups, connection_default_markups_set
from apps.autotask.models import DefaultMarkup
from apps.autotask.services import connection_update

pytestmark = pytest.mark.django_db


def test_one_markup_per_record_type_and_never_below_cost_0(connection):
    DefaultMarkup.objects.create(connection=connection, record_type="azure_plan", percent=-100)
    with pytest.raises(IntegrityError), transaction.atomic():
        DefaultMarkup.objects.create(connection=connection, record_type="azure_plan", percent=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        DefaultMarkup.objects.create(
            connection=connection, record_type="license_based", percent=Decimal("-100.01")
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        DefaultMarkup.objects.filter(connection=connection).update(percent=-101)
    assert connection_default_markups(connection=connection) == {"azure_plan": Decimal("-100")}


def test_setting_replaces_the_markups_read_as_the_price_rules_dict(connection):
    connection_default_markups_set(
        connection=connection, markups={"license_based": "10", "azure_plan": Decimal("12.50")}
    )
    assert connection_default_markups(connection=connection) == {
        "license_based": Decimal("10"),
        "azure_plan": Decimal("12.5"),
    }
    connection_default_markups_set(connection=connection, markups={"azure_plan": 3})
    assert connection_default_markups(connection=connection) == {"azure_plan": Decimal("3")}
    assert DefaultMarkup.objects.count() == 1


def test_a_change_is_audited_as_a_dict_before_and_after(connection):
    connection_default_markups_set(connection=connection, markups={"license_based": "10"})
    connection_update(connection=connection, default_markups={"azure_plan": "12.5"})
    change = AuditEntry.objects.get(operation="Change Connection")
    assert change.before["default_markups"] == {"license_based": "10"}
    assert change.after["default_markups"] == {"azure_plan": "12.5"}
    connection_update(connection=connection, default_markups={"azure_plan": "12.50"})
    assert AuditEntry.objects.filter(operation="Change Connection").count() == 1  # no-op


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_the_json_into_rows():
    before = [("autotask", "0004_connection_export_on_schedule")]
    after = [("autotask", "0005_default_markup_rows_one_active_refresh")]
    try:
        executor = MigrationExecutor(db_connection)
        executor.migrate(before)
        old = executor.loader.project_state(before).apps.get_model("autotask", "Connection")
        common = {"username": "u", "integration_code": "c", "secret_encrypted": "x"}
        markups = {
            "license_based": "10",
            "azure_plan": 12.5,
            "marketplace": "",
            "savings_plan": "x",
        }
        old.objects.create(name="A", default_markups=markups, **common)
        old.objects.create(name="B", default_markups={}, **common)
        executor = MigrationExecutor(db_connection)
        executor.loader.build_graph()
        executor.migrate(after)
        rows = DefaultMarkup.objects.order_by("connection__name", "record_type")
        assert [(row.connection.name, row.record_type, row.percent) for row in rows] == [
            ("A", "azure_plan", Decimal("12.50")),
            ("A", "license_based", Decimal("10.00")),
        ]  # blank and "not a number" priced nothing before either
    finally:  # the schema the other tests of this process expect
        executor = MigrationExecutor(db_connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
