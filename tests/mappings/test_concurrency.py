"""Two requests at the same moment cannot break a mapping invariant: the database's
constraints decide, the loser gets a sentence, and only the winner is audited."""

import threading

import pytest
from django.db import connection as db

from apps.audit.models import AuditEntry
from apps.autotask.models import AutotaskService, Connection
from apps.catalog.models import Offer
from apps.mappings.models import OfferMapping
from apps.mappings.services import MappingRefused, offer_mapping_set


@pytest.mark.django_db(transaction=True)
def test_two_offers_racing_for_one_service(operator):
    autotask = Connection(name="Race", username="u", integration_code="c", is_sandbox=True)
    autotask.set_secret("s")
    autotask.save()
    service = AutotaskService.objects.create(
        connection=autotask, autotask_id=7, name="M365 (monthly)", period_type=2
    )
    offers = [
        Offer.objects.create(
            product_id="P",
            sku_id=sku,
            sku_name=f"SKU {sku}",
            term="P1Y",
            billing_frequency="monthly",
        )
        for sku in ("0001", "0002")
    ]
    start = threading.Barrier(2)
    outcomes = []

    def map_one(offer):
        start.wait()
        try:
            offer_mapping_set(connection=autotask, offer=offer, service=service, user=operator)
            outcomes.append("mapped")
        except MappingRefused as problem:
            outcomes.append(str(problem))
        finally:
            db.close()

    threads = [threading.Thread(target=map_one, args=(offer,)) for offer in offers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count("mapped") == 1
    [refusal] = [outcome for outcome in outcomes if outcome != "mapped"]
    assert "is already mapped to" in refusal
    assert OfferMapping.objects.count() == 1
    assert AuditEntry.objects.filter(operation="Create Connection Offer Mapping").count() == 1
    assert AuditEntry.objects.filter(status="failed").count() == 1
