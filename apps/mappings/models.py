"""Mappings, per connection: organization → company, offer → service, subscription →
contract. Every invariant the database can hold is a constraint; the rules that need
Autotask's data (active, company type, billing period, Azure at zero) are in
``services.py``. A mapping points at the connection's copy of the Autotask row (rows
are never deleted, only marked gone, so a mapping keeps its target)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.autotask.models import AutotaskCompany, AutotaskContract, AutotaskService, Connection
from apps.catalog.models import Offer, Organization, Subscription


class Mapping(models.Model):
    """What every mapping has: its connection, and who mapped it when."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="+", verbose_name="connection"
    )
    mapped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="mapped by",
    )
    mapped_by_name = models.CharField(max_length=150, blank=True, verbose_name="mapped by (name)")
    mapped_at = models.DateTimeField(default=timezone.now, verbose_name="mapped at")

    class Meta:
        abstract = True


class OrganizationMapping(Mapping):
    """An organization (Microsoft customer) is billed to one Autotask company."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="company_mappings",
        verbose_name="organization",
    )
    company = models.ForeignKey(
        AutotaskCompany,
        on_delete=models.PROTECT,
        related_name="organization_mappings",
        verbose_name="Autotask company",
    )

    class Meta:
        ordering = ["connection", "organization"]
        constraints = [
            # An organization maps to at most one company per connection (many
            # organizations may share a company).
            models.UniqueConstraint(
                fields=["connection", "organization"], name="organization_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        # The customer id too, so the audit log finds an organization's mappings by it.
        return f"{self.organization} ({self.organization.customer_id}) → {self.company}"


class OfferMapping(Mapping):
    """An offer (its product, SKU, availability, term and billing plan) is sold as one
    Autotask service, and a service stands for one offer."""

    offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, related_name="service_mappings", verbose_name="offer"
    )
    service = models.ForeignKey(
        AutotaskService,
        on_delete=models.PROTECT,
        related_name="offer_mappings",
        verbose_name="Autotask service",
    )

    class Meta:
        ordering = ["connection", "offer"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "offer"], name="offer_mapping_unique"),
            models.UniqueConstraint(
                fields=["connection", "service"], name="offer_mapping_service_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer} → {self.service}"


class SubscriptionMapping(Mapping):
    """A subscription is billed on one Autotask contract, and a contract carries one
    subscription; ``contract_service_id`` is the contract's service line it uses."""

    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        related_name="contract_mappings",
        verbose_name="subscription",
    )
    contract = models.ForeignKey(
        AutotaskContract,
        on_delete=models.PROTECT,
        related_name="subscription_mappings",
        verbose_name="Autotask contract",
    )
    contract_service_id = models.BigIntegerField(
        null=True, blank=True, verbose_name="contract service id"
    )

    class Meta:
        ordering = ["connection", "subscription"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "subscription"], name="subscription_mapping_unique"
            ),
            models.UniqueConstraint(
                fields=["connection", "contract"], name="subscription_mapping_contract_unique"
            ),
        ]

    def __str__(self) -> str:
        # The subscription id too, so the audit log finds a subscription's history by it.
        subscription = self.subscription
        return f"{subscription.subscription_id} ({subscription}) → {self.contract}"


class OrganizationSuggestion(models.Model):
    """A company the suggester thinks an organization is, with its score (0 to 1) and
    its basis: a tenant domain matching the company's web address, or the names. Written
    by a worker after each import and reference refresh (``suggestions.py``); the screens
    only read them. ``rank`` 1 is the best suggestion for the organization."""

    class Basis(models.TextChoices):
        DOMAIN = "domain", "Domain"
        NAME = "name", "Name"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="+", verbose_name="connection"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="company_suggestions",
        verbose_name="organization",
    )
    company = models.ForeignKey(
        AutotaskCompany, on_delete=models.CASCADE, related_name="+", verbose_name="company"
    )
    score = models.FloatField(verbose_name="score")
    basis = models.CharField(max_length=10, choices=Basis.choices, verbose_name="basis")
    rank = models.PositiveSmallIntegerField(verbose_name="rank")
    computed_at = models.DateTimeField(default=timezone.now, verbose_name="computed")

    class Meta:
        ordering = ["connection", "organization", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "organization", "company"],
                name="organization_suggestion_unique",
            ),
            models.UniqueConstraint(
                fields=["connection", "organization", "rank"],
                name="organization_suggestion_rank_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=1),
                name="organization_suggestion_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.company} ({self.score:.0%})"


class ConnectionInView(models.Model):
    """The connection a user last chose on the mapping screens (with several)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="user",
    )
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="+", verbose_name="connection"
    )

    def __str__(self) -> str:
        return f"{self.user} sees {self.connection}"
