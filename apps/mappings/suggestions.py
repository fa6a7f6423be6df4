"""Organization → company suggestions, per connection: computed by a worker after each
billing import and each reference refresh (``tasks.compute_suggestions``), stored as
``OrganizationSuggestion`` rows, read by the screens and ``manage.py map suggest``.

How a company is chosen is in ``matching.py`` (pure); this module loads the candidates and
the organizations, stores the result, and accepts the best suggestions in bulk.
"""

from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_q.tasks import async_task

from apps.autotask.models import AutotaskCompany, Connection
from apps.catalog.models import Organization
from apps.mappings.matching import Candidate, Matcher
from apps.mappings.models import OrganizationMapping, OrganizationSuggestion
from apps.mappings.services import (
    COMPANY_TYPE_CUSTOMER,
    MappingRefused,
    check_company,
    organization_mapping_set,
)

BATCH = 2000


def candidate_companies(connection: Connection):
    """The companies a suggestion may name: active, still in Autotask, of type Customer
    (the rule ``services.check_company`` enforces when mapping)."""
    return AutotaskCompany.objects.filter(
        connection=connection,
        is_active=True,
        gone_at__isnull=True,
        company_type=COMPANY_TYPE_CUSTOMER,
    )


def _matcher(connection: Connection) -> Matcher:
    rows = candidate_companies(connection).order_by("pk")
    return Matcher(
        Candidate(pk, name, web_address)
        for pk, name, web_address in rows.values_list("pk", "name", "web_address")
    )


def suggestions_compute(connection: Connection) -> int:
    """Compute the suggestions of every organization for ``connection`` and replace the
    stored ones with them (one transaction). Returns how many were stored."""
    matcher = _matcher(connection)
    now = timezone.now()
    rows = []
    organizations = Organization.objects.order_by("pk").values_list("pk", "name", "domains")
    for pk, name, domains in organizations.iterator(chunk_size=BATCH):
        for rank, match in enumerate(matcher.suggest(name, domains), start=1):
            rows.append(
                OrganizationSuggestion(
                    connection=connection,
                    organization_id=pk,
                    company_id=match.key,
                    score=match.score,
                    basis=match.basis,
                    rank=rank,
                    computed_at=now,
                )
            )
    with transaction.atomic():
        # Two computations of one connection take turns here, so the second deletes what
        # the first stored instead of colliding with it.
        list(Connection.objects.select_for_update().filter(pk=connection.pk).values("pk"))
        OrganizationSuggestion.objects.filter(connection=connection).delete()
        OrganizationSuggestion.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def suggestions_compute_queue(*, connection_ids: list[int]) -> None:
    """Have a worker recompute the suggestions of these connections once the current
    transaction commits (never on a web request: 20,000 organizations take seconds)."""
    for connection_id in connection_ids:
        transaction.on_commit(
            partial(
                async_task,
                "apps.mappings.tasks.compute_suggestions",
                connection_id,
                task_name=f"suggestions for connection #{connection_id}",
            )
        )


def suggestions_stored(connection: Connection):
    """The stored suggestions of ``connection`` with their organization and company, by
    organization name and rank."""
    return (
        OrganizationSuggestion.objects.filter(connection=connection)
        .select_related("organization", "company")
        .order_by("organization__name", "organization_id", "rank")
    )


# -- accepting the best suggestions in bulk -------------------------------------------------


@dataclass(frozen=True)
class SuggestionPlanned:
    """An unmapped organization and its best suggestion."""

    organization: Organization
    company: AutotaskCompany
    score: float
    basis: str


@dataclass(frozen=True)
class SuggestionOutcome:
    """What accepting a suggestion did: ``outcome`` is "mapped", "would map" (a dry run),
    "refused" or "skipped" (mapped by someone meanwhile); ``problem`` says why not."""

    organization: Organization
    company: AutotaskCompany
    score: float
    basis: str
    outcome: str
    problem: str = ""


def suggestions_above(connection: Connection, threshold: float) -> list[SuggestionPlanned]:
    """The best suggestion of each organization not mapped on ``connection``, where it
    scores ``threshold`` (0 to 1) or more; by organization name."""
    mapped = OrganizationMapping.objects.filter(
        connection=connection, organization=OuterRef("organization")
    )
    rows = (
        OrganizationSuggestion.objects.filter(connection=connection, rank=1, score__gte=threshold)
        .exclude(Exists(mapped))
        .select_related("organization", "company")
        .order_by("organization__name", "organization_id")
    )
    return [SuggestionPlanned(row.organization, row.company, row.score, row.basis) for row in rows]


def suggestions_accept(
    connection: Connection, threshold: float, user=None, *, dry_run: bool = False
) -> list[SuggestionOutcome]:
    """Map each organization of ``suggestions_above`` to its suggestion, each with its
    audit entry; a refusal is kept in the result (and audited as failed), not raised.
    ``dry_run``: say what would happen, write nothing."""
    outcomes = []
    for planned in suggestions_above(connection, threshold):
        outcomes.append(_accept(connection, planned, user, dry_run=dry_run))
    return outcomes


def _accept(connection, planned: SuggestionPlanned, user, *, dry_run: bool) -> SuggestionOutcome:
    found = partial(SuggestionOutcome, planned.organization, planned.company, planned.score,
                    planned.basis)  # fmt: skip
    holder = (
        OrganizationMapping.objects.filter(connection=connection, organization=planned.organization)
        .select_related("company")
        .first()
    )
    if holder is not None:  # mapped by someone since the list was read: theirs stands
        return found("skipped", f"mapped to {holder.company} meanwhile; left as it is.")
    try:
        if dry_run:
            check_company(connection=connection, company=planned.company)
            return found("would map")
        organization_mapping_set(
            connection=connection,
            organization=planned.organization,
            company=planned.company,
            user=user,
        )
    except MappingRefused as problem:
        return found("refused", str(problem))
    return found("mapped")
