"""Reads for the mapping screens: the connection in view, and the lists with what their
tables show (mapping, best suggestion, billing) at a fixed number of queries a page."""

from django.db.models import Count, Exists, F, FilteredRelation, OuterRef, Q, QuerySet, Subquery

from apps.autotask.choices import ContractTypeChoices
from apps.autotask.models import AutotaskCompany, AutotaskContract, AutotaskService, Connection
from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import (
    BillingReport,
    Offer,
    Organization,
    Subscription,
    SubscriptionMonth,
)
from apps.core.choices import RecordType
from apps.mappings.models import (
    ConnectionInView,
    OrganizationMapping,
    OrganizationSuggestion,
    SubscriptionMapping,
)
from apps.mappings.services import (
    COMPANY_TYPE_CUSTOMER,
    CONTRACT_STATUS_ACTIVE,
    SERVICE_PERIOD,
)


def connections() -> list[Connection]:
    return list(Connection.objects.order_by("name", "pk"))


def connection_in_view(user, choices: list[Connection] | None = None) -> Connection | None:
    """The connection the mapping screens show: the only one there is; with several, the
    one the user last chose (or the first by name); None before any connection exists."""
    choices = connections() if choices is None else choices
    if len(choices) <= 1:
        return choices[0] if choices else None
    if getattr(user, "is_authenticated", False):
        chosen = (
            ConnectionInView.objects.filter(user=user).values_list("connection_id", flat=True)
        ).first()
        for connection in choices:
            if connection.pk == chosen:
                return connection
    return choices[0]


def connection_in_view_set(user, connection: Connection) -> None:
    """Remember the user's choice for the next visit (a preference, not audited)."""
    ConnectionInView.objects.update_or_create(user=user, defaults={"connection": connection})


# -- the screens' rows -----------------------------------------------------------------------
# Each mapping and the best suggestion are joined through a FilteredRelation on the
# connection (at most one row each, by the unique constraints), so a page is one query
# whatever its size, and sorting or filtering by them stays in the database.


def organization_rows(
    *, connection: Connection | None, month, lean: bool = False
) -> QuerySet[Organization]:
    """Organizations with, on ``connection``: the mapped company (``company_*``, who mapped
    it when), the best suggestion (``suggestion_*``), and the catalog's subscription count
    and cost in ``month``. ``lean``: only each row's key, the mapping and suggestion as
    aliases to filter and sort by, so PostgreSQL sorts narrow rows and computes no
    figures for the 20,000 it sorts; the page's rows are then read whole
    (``rows_in_order``). (Sorting by a figure needs the whole rows.)"""
    connection_id = connection.pk if connection else None
    joins = {
        "mapping": _mapping_of(connection, "company_mappings"),
        "best": FilteredRelation(
            "company_suggestions",
            condition=Q(
                company_suggestions__connection_id=connection_id, company_suggestions__rank=1
            ),
        ),
    }
    fields = {
        "mapping_pk": F("mapping__pk"),
        "company_pk": F("mapping__company_id"),
        "company_autotask_id": F("mapping__company__autotask_id"),
        "company_name": F("mapping__company__name"),
        "mapped_by_name": F("mapping__mapped_by_name"),
        "mapped_at": F("mapping__mapped_at"),
        "suggestion_company_pk": F("best__company_id"),
        "suggestion_company_autotask_id": F("best__company__autotask_id"),
        "suggestion_company_name": F("best__company__name"),
        "suggestion_score": F("best__score"),
        "suggestion_basis": F("best__basis"),
    }
    if lean:
        return Organization.objects.alias(**joins).alias(**fields).only("pk")
    return catalog_selectors.organization_list(month=month).annotate(**joins).annotate(**fields)


def billed_in_latest_report() -> Exists:
    """True for an organization with billing in the newest report's month (a condition
    for ``filter``: selected as a column, PostgreSQL would compute it for every row)."""
    latest = BillingReport.objects.order_by("-month").values("month")[:1]
    return Exists(
        SubscriptionMonth.objects.filter(
            subscription__organization=OuterRef("pk"), report__month=Subquery(latest)
        )
    )


def organization_counts(*, connection: Connection | None, month) -> dict:
    """The header's figures: organizations, mapped, and unmapped ones billed in ``month``
    (three small counts: each reads one table or an index, where one query joining them
    all cost twice as much at 20,000 organizations)."""
    mapped = OrganizationMapping.objects.filter(connection=connection)
    unmapped_billed = (
        SubscriptionMonth.objects.filter(report__month=month)
        .exclude(subscription__organization_id__in=mapped.values("organization_id"))
        .values("subscription__organization_id")
        .distinct()
        .count()
    )
    return {
        "total": Organization.objects.count(),
        "mapped": mapped.count(),
        "unmapped_billed": unmapped_billed,
    }


def _mapping_of(connection: Connection | None, relation: str) -> FilteredRelation:
    """The row's mapping on ``connection`` (at most one, by the unique constraints)."""
    connection_id = connection.pk if connection else None
    return FilteredRelation(relation, condition=Q(**{f"{relation}__connection_id": connection_id}))


def in_use() -> Exists:
    """True for an offer some subscription is on (an offer seen only on daily usage meters
    is not mapped: its usage is billed through the Azure plan's subscription)."""
    return Exists(Subscription.objects.filter(offer=OuterRef("pk")))


def offer_rows(*, connection: Connection | None) -> QuerySet[Offer]:
    """Offers in use with their subscription count and, on ``connection``, the mapped
    service (``service_*``, who mapped it when)."""
    return (
        catalog_selectors.offer_list()
        .filter(in_use())
        .annotate(mapping=_mapping_of(connection, "service_mappings"))
        .annotate(
            mapping_pk=F("mapping__pk"),
            service_pk=F("mapping__service_id"),
            service_autotask_id=F("mapping__service__autotask_id"),
            service_name=F("mapping__service__name"),
            service_unit_cost=F("mapping__service__unit_cost"),
            service_unit_price=F("mapping__service__unit_price"),
            mapped_by_name=F("mapping__mapped_by_name"),
            mapped_at=F("mapping__mapped_at"),
        )
    )


def offer_counts(*, connection: Connection | None) -> dict:
    return (
        Offer.objects.filter(in_use())
        .annotate(mapping=_mapping_of(connection, "service_mappings"))
        .order_by()
        .aggregate(total=Count("pk"), mapped=Count("mapping__offer_id"))
    )


def subscription_rows(
    *, connection: Connection | None, lean: bool = False
) -> QuerySet[Subscription]:
    """Subscriptions with their organization's company and, on ``connection``, the
    contract mapped by hand (``contract_*``). ``lean``: only each row's key, the rest as
    aliases to filter and sort by, so PostgreSQL sorts narrow rows; the page's rows are
    then read whole (``rows_in_order``)."""
    connection_id = connection.pk if connection else None
    joins = {
        "company_mapping": FilteredRelation(
            "organization__company_mappings",
            condition=Q(organization__company_mappings__connection_id=connection_id),
        ),
        "mapping": _mapping_of(connection, "contract_mappings"),
    }
    fields = {
        "company_pk": F("company_mapping__company_id"),
        "company_autotask_id": F("company_mapping__company__autotask_id"),
        "company_name": F("company_mapping__company__name"),
        "mapping_pk": F("mapping__pk"),
        "contract_pk": F("mapping__contract_id"),
        "contract_autotask_id": F("mapping__contract__autotask_id"),
        "contract_name": F("mapping__contract__name"),
        "contract_service_id": F("mapping__contract_service_id"),
        "mapped_by_name": F("mapping__mapped_by_name"),
        "mapped_at": F("mapping__mapped_at"),
    }
    if lean:
        return Subscription.objects.alias(**joins).alias(**fields).only("pk")
    return catalog_selectors.subscription_list().annotate(**joins).annotate(**fields)


def rows_in_order(rows: QuerySet, keys: list[int]) -> list:
    """``rows`` whose keys are ``keys``, in that order (one query)."""
    found = rows.in_bulk(keys)
    return [found[key] for key in keys if key in found]


def subscription_counts(*, connection: Connection | None) -> dict:
    """The header's figures: subscriptions, and those mapped by hand (two counts, each of
    one table: cheaper than one query joining them at 20,000 subscriptions)."""
    return {
        "total": Subscription.objects.count(),
        "mapped": SubscriptionMapping.objects.filter(connection=connection).count(),
    }


# -- the pickers -----------------------------------------------------------------------------

PICKER_SIZE = 20


def company_choices(*, connection: Connection, text: str) -> list[AutotaskCompany]:
    """Companies that can be chosen (active, Customer, still in Autotask) matching every
    word of ``text`` in the name or web address, or the Autotask id itself."""
    rows = AutotaskCompany.objects.filter(
        connection=connection,
        is_active=True,
        gone_at__isnull=True,
        company_type=COMPANY_TYPE_CUSTOMER,
    )
    condition = Q()
    for word in text.split():
        any_field = Q(name__icontains=word) | Q(web_address__icontains=word)
        if word.isdigit():
            any_field |= Q(autotask_id=int(word))
        condition &= any_field
    return list(rows.filter(condition).order_by("name", "autotask_id")[:PICKER_SIZE])


def suggested_companies(*, connection: Connection, organization: Organization) -> list:
    """The organization's stored suggestions, best first (for the picker's first look)."""
    return list(
        OrganizationSuggestion.objects.filter(connection=connection, organization=organization)
        .select_related("company")
        .order_by("rank")
    )


def service_choices(*, connection: Connection, offer: Offer, text: str) -> list[AutotaskService]:
    """Active services whose name begins with ``text``, of the offer's billing period; for
    an Azure plan offer only those at unit cost and price 0."""
    rows = AutotaskService.objects.filter(
        connection=connection,
        is_active=True,
        gone_at__isnull=True,
        period_type=SERVICE_PERIOD.get(offer.billing_frequency, -1),
    )
    if text.strip():
        rows = rows.filter(name__istartswith=" ".join(text.split()))
    if offer.record_type == RecordType.AZURE_PLAN:
        rows = rows.filter(Q(unit_cost=0) | Q(unit_cost__isnull=True)).filter(
            Q(unit_price=0) | Q(unit_price__isnull=True)
        )
    return list(rows.order_by("name", "autotask_id")[:PICKER_SIZE])


def contract_choices(*, connection: Connection, subscription: Subscription) -> list:
    """Active Recurring Service contracts of the company the subscription's organization
    maps to that carry no other subscription."""
    company = (
        OrganizationMapping.objects.filter(
            connection=connection, organization_id=subscription.organization_id
        )
        .values_list("company__autotask_id", flat=True)
        .first()
    )
    if company is None:
        return []
    taken = SubscriptionMapping.objects.filter(connection=connection, contract=OuterRef("pk"))
    return list(
        AutotaskContract.objects.filter(
            connection=connection,
            company_id=company,
            status=CONTRACT_STATUS_ACTIVE,
            contract_type=ContractTypeChoices.RECURRING_SERVICE,
            gone_at__isnull=True,
        )
        .exclude(Exists(taken.exclude(subscription=subscription)))
        .order_by("name", "autotask_id")[:PICKER_SIZE]
    )
