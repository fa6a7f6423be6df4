"""Writes for mappings: set (create or change) and remove, each checked against the rules
of DOMAIN.md ("Mapping") and recorded in the audit log with before and after.

The database holds what it can (one company per organization, one service per offer and
one offer per service, one contract per subscription and one subscription per contract);
the rules that need Autotask's data are checked here, each refusal with its reason. A
refusal changes nothing and is audited as a failed operation; a change that changes
nothing writes nothing.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.choices import AuditEntryStatusChoices
from apps.audit.services import audit_record
from apps.autotask.choices import ContractTypeChoices
from apps.autotask.models import AutotaskCompany, AutotaskContract, AutotaskService, Connection
from apps.catalog.choices import BillingFrequencyChoices
from apps.catalog.models import Offer, Organization, Subscription
from apps.core.choices import RecordType
from apps.mappings.models import OfferMapping, OrganizationMapping, SubscriptionMapping

COMPANY_TYPE_CUSTOMER = 1  # Autotask's companyType picklist
CONTRACT_STATUS_ACTIVE = 1
# Autotask's service periodType for each billing plan syncadmin supports.
SERVICE_PERIOD = {BillingFrequencyChoices.MONTHLY: 2, BillingFrequencyChoices.ANNUAL: 5}
PERIOD_NAMES = {2: "monthly", 3: "quarterly", 4: "semi-annual", 5: "yearly"}

NOUNS = {
    OrganizationMapping: "Customer",
    OfferMapping: "Offer",
    SubscriptionMapping: "Subscription",
}


class MappingRefused(Exception):
    """A mapping that breaks a rule; the message says which and what to do."""


# -- the rules ------------------------------------------------------------------------------


def _check_target(connection: Connection, row, noun: str) -> None:
    if row.connection_id != connection.pk:
        raise MappingRefused(f"{noun} {row.autotask_id} belongs to another connection.")
    if row.gone_at is not None:
        raise MappingRefused(
            f"{noun} {row.autotask_id} ({row.name}) is no longer in Autotask; refresh the "
            "connection and choose another."
        )
    if not row.is_active:
        raise MappingRefused(f"{noun} {row.autotask_id} ({row.name}) is inactive in Autotask.")


def check_company(*, connection: Connection, company: AutotaskCompany) -> None:
    """Only active companies of type Customer can be chosen."""
    _check_target(connection, company, "Company")
    if company.company_type != COMPANY_TYPE_CUSTOMER:
        raise MappingRefused(
            f"Company {company.autotask_id} ({company.name}) is not of type Customer in "
            "Autotask; only customers are billed."
        )


def check_service(*, connection: Connection, offer: Offer, service: AutotaskService) -> None:
    """Active; its period matches the offer's billing plan; an Azure plan offer only maps
    to a service that costs and sells at 0 (the usage goes on as charges)."""
    _check_target(connection, service, "Service")
    period = SERVICE_PERIOD.get(offer.billing_frequency)
    if period is None:
        raise MappingRefused(
            f"The offer {offer} has no monthly or yearly billing plan "
            f"({offer.billing_frequency or 'none'}); only monthly and yearly plans map to "
            "Autotask services."
        )
    if service.period_type != period:
        shown = PERIOD_NAMES.get(service.period_type, f"period type {service.period_type}")
        raise MappingRefused(
            f"Service {service.autotask_id} ({service.name}) is billed {shown}, but the "
            f"offer is billed {offer.get_billing_frequency_display().lower()}: choose a "
            f"{PERIOD_NAMES[period]} service."
        )
    if offer.record_type == RecordType.AZURE_PLAN and (service.unit_cost or service.unit_price):
        raise MappingRefused(
            f"Service {service.autotask_id} ({service.name}) has a unit cost or price; an "
            "Azure plan offer maps only to a service whose unit cost and unit price are both "
            "0 (its usage is exported as charges)."
        )


def _contract_type_name(contract_type: int | None) -> str:
    """How a refusal names a contract's type: its label, else the bare number."""
    if contract_type in ContractTypeChoices.values:
        return ContractTypeChoices(contract_type).label
    return f"type {contract_type}"


def check_contract_type(contract: AutotaskContract) -> None:
    """Only a Recurring Service contract carries services, and so subscriptions."""
    if contract.contract_type == ContractTypeChoices.RECURRING_SERVICE:
        return
    recurring = ContractTypeChoices.RECURRING_SERVICE
    only = f"only {recurring.label} contracts (type {recurring.value}) carry subscriptions."
    if contract.contract_type is None:
        raise MappingRefused(
            f"Contract {contract.autotask_id} ({contract.name}) has no contract type in "
            f"syncadmin's copy; refresh the connection: {only}"
        )
    raise MappingRefused(
        f"Contract {contract.autotask_id} ({contract.name}) is a "
        f"{_contract_type_name(contract.contract_type)} contract; {only}"
    )


def check_contract(
    *, connection: Connection, subscription: Subscription, contract: AutotaskContract
) -> None:
    """An active Recurring Service contract of the company the subscription's organization
    maps to."""
    if contract.connection_id != connection.pk:
        raise MappingRefused(f"Contract {contract.autotask_id} belongs to another connection.")
    if contract.gone_at is not None or contract.status != CONTRACT_STATUS_ACTIVE:
        raise MappingRefused(
            f"Contract {contract.autotask_id} ({contract.name}) is not active in Autotask."
        )
    check_contract_type(contract)
    company = (
        OrganizationMapping.objects.filter(
            connection=connection, organization_id=subscription.organization_id
        )
        .values_list("company__autotask_id", flat=True)
        .first()
    )
    if company is None:
        raise MappingRefused(
            f"Map the organization {subscription.organization} to a company first: a "
            "subscription's contract must belong to its company."
        )
    if contract.company_id != company:
        raise MappingRefused(
            f"Contract {contract.autotask_id} ({contract.name}) belongs to company "
            f"{contract.company_id}, not to {company}, the company "
            f"{subscription.organization} maps to."
        )


# -- writing --------------------------------------------------------------------------------


def _snapshot(mapping) -> dict | None:
    if mapping is None:
        return None
    if isinstance(mapping, OrganizationMapping):
        source = {
            "organization": mapping.organization.customer_id,
            "organization_name": mapping.organization.name,
        }
        target = {"company_id": mapping.company.autotask_id, "company": mapping.company.name}
    elif isinstance(mapping, OfferMapping):
        source = {"offer": offer_key(mapping.offer), "offer_name": str(mapping.offer)}
        target = {"service_id": mapping.service.autotask_id, "service": mapping.service.name}
    else:
        source = {"subscription": mapping.subscription.subscription_id}
        target = {
            "contract_id": mapping.contract.autotask_id,
            "contract": mapping.contract.name,
            "contract_service_id": mapping.contract_service_id,
        }
    return {**source, **target}


def offer_key(offer: Offer) -> str:
    """How people and the command line name an offer: its key fields joined by ':'."""
    return ":".join(
        [
            offer.product_id,
            offer.sku_id,
            offer.availability_id,
            offer.term,
            offer.billing_frequency,
        ]
    )


def _operation(model, verb: str) -> str:
    return f"{verb} Connection {NOUNS[model]} Mapping"


def _refuse(model, *, connection, source, problem: str, user) -> None:
    audit_record(
        operation=_operation(model, "Update"),
        object_repr=str(source),
        status=AuditEntryStatusChoices.FAILED,
        details={"error": problem},
        user=user,
        connection_name=connection.name,
    )
    raise MappingRefused(problem)


def _set(model, *, connection, source_field: str, source, target_field: str, target, user,
         check, extra=None):  # fmt: skip
    """Create or change the mapping of ``source``; audited, a no-op writes nothing."""
    try:
        check()
    except MappingRefused as problem:
        _refuse(model, connection=connection, source=source, problem=str(problem), user=user)
    extra = extra or {}
    try:
        with transaction.atomic():
            current = (
                model.objects.select_for_update()
                .filter(connection=connection, **{source_field: source})
                .first()
            )
            before = _snapshot(current)
            if (
                current is not None
                and getattr(current, f"{target_field}_id") == target.pk
                and all(getattr(current, name) == value for name, value in extra.items())
            ):
                return current
            mapping = current or model(connection=connection, **{source_field: source})
            setattr(mapping, target_field, target)
            for name, value in extra.items():
                setattr(mapping, name, value)
            mapping.mapped_by = user if getattr(user, "is_authenticated", False) else None
            mapping.mapped_by_name = user.get_username() if mapping.mapped_by else ""
            mapping.mapped_at = timezone.now()
            mapping.save()
            audit_record(
                operation=_operation(model, "Update" if current else "Create"),
                obj=mapping,
                before=before,
                after=_snapshot(mapping),
                user=user,
                connection_name=connection.name,
            )
            return mapping
    except IntegrityError:
        holder = (
            model.objects.filter(connection=connection, **{target_field: target})
            .exclude(**{source_field: source})
            .first()
        )
        if holder is not None:
            problem = (
                f"{target} is already mapped to {getattr(holder, source_field)}; a "
                f"{target_field} maps to one {source_field} only. Unmap it there first."
            )
        else:
            problem = "Someone changed this mapping at the same moment; look again and retry."
        _refuse(model, connection=connection, source=source, problem=problem, user=user)


def organization_mapping_set(
    *, connection: Connection, organization: Organization, company: AutotaskCompany, user=None
) -> OrganizationMapping:
    return _set(
        OrganizationMapping,
        connection=connection,
        source_field="organization",
        source=organization,
        target_field="company",
        target=company,
        user=user,
        check=lambda: check_company(connection=connection, company=company),
    )


def offer_mapping_set(
    *, connection: Connection, offer: Offer, service: AutotaskService, user=None
) -> OfferMapping:
    return _set(
        OfferMapping,
        connection=connection,
        source_field="offer",
        source=offer,
        target_field="service",
        target=service,
        user=user,
        check=lambda: check_service(connection=connection, offer=offer, service=service),
    )


def subscription_mapping_set(
    *,
    connection: Connection,
    subscription: Subscription,
    contract: AutotaskContract,
    contract_service_id: int | None = None,
    user=None,
) -> SubscriptionMapping:
    return _set(
        SubscriptionMapping,
        connection=connection,
        source_field="subscription",
        source=subscription,
        target_field="contract",
        target=contract,
        user=user,
        check=lambda: check_contract(
            connection=connection, subscription=subscription, contract=contract
        ),
        extra={"contract_service_id": contract_service_id},
    )


def mapping_delete(*, mapping, user=None) -> None:
    """Remove a mapping (the organization, offer or subscription is then unmapped)."""
    with transaction.atomic():
        before = _snapshot(mapping)
        audit_record(
            operation=_operation(type(mapping), "Delete"),
            obj=mapping,
            before=before,
            user=user,
            connection_name=mapping.connection.name,
        )
        mapping.delete()
