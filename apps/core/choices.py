"""Choices shared by several apps."""

from django.db import models


class RecordType(models.TextChoices):
    """What kind of Microsoft billing a subscription is; decides service vs. charge."""

    LICENSE_BASED = "license_based", "Licence-based (CSP 365)"
    AZURE_PLAN = "azure_plan", "Azure plan"
    AZURE_RESERVATION = "azure_reservation", "Azure reservation"
    SAVINGS_PLAN = "savings_plan", "Savings plan"
    MARKETPLACE = "marketplace", "Marketplace"
    SOFTWARE_SUBSCRIPTION = "software_subscription", "Software subscription"
    PERPETUAL_LICENCE = "perpetual_licence", "Perpetual licence"
