import factory

from apps.audit.models import AuditEntry


class AuditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEntry

    actor_name = "vera-viewer"
    context = "web"
    operation = "Create Connection Offer Mapping"
    object_type = "mappings.offermapping"
    object_id = factory.Sequence(str)
    object_repr = factory.Sequence(lambda n: f"Offer {n}")
    status = "succeeded"
