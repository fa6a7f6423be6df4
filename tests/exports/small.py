"""A small export world for the run tests: three organizations in one month, against a
sandbox started empty.

- Contoso (mapped): a licence subscription (10 seats of Business Standard at 12.50, sold
  at + 20 %) and its Azure plan (3.26, sold at + 10 %);
- Fabrikam (mapped): 4 seats of the same licence;
- Tailspin (not mapped): 2 seats.

A first export writes: the service and the Azure Plan product (shared), three contracts,
two service lines and one charge (8 writes).
"""

from apps.autotask.markups import connection_default_markups_set
from apps.autotask.models import AutotaskCompany, RefreshRun
from apps.autotask.services import connection_create_sandbox, refresh_run_execute
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import Organization
from apps.mappings.services import organization_mapping_set
from tests.catalog.generator import azure_plan_recon_row, recon_row, write_recon_csv

SERVICE_CODE, PRODUCT_CODE = 29682802, 29682811
MONTH = "2025-11"
ORGANIZATIONS = {
    # customer id: (name, Autotask company id or None, seats)
    "196e2273-9651-43a3-ba7e-7cbcd918fc40": ("Contoso Ltd", 10, 10),
    "2a1f6c3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f": ("Fabrikam Inc", 11, 4),
    "3b2e7d4f-2e3c-4d6e-9f0a-1b2c3d4e5f60": ("Tailspin Toys", None, 2),
}
SUBSCRIPTIONS = {
    "196e2273-9651-43a3-ba7e-7cbcd918fc40": "9d7d1f3d-c8de-461c-db6d-91debd5129f0",
    "2a1f6c3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f": "8c6c0e2c-b7cd-450b-ca6c-80cdac4018e1",
    "3b2e7d4f-2e3c-4d6e-9f0a-1b2c3d4e5f60": "7b5bfd1b-a6bc-44fa-b95b-7fbc9b3907d2",
}
FIRST_EXPORT_WRITES = 8


def prepare_sandbox(sandbox) -> None:
    sandbox.admin("POST", "/reset", json={"seed": "empty"})
    sandbox.insert(
        "BillingCodes",
        [
            {"id": SERVICE_CODE, "name": "Licences", "useType": 5, "isActive": True,
             "billingCodeType": 0},
            {"id": PRODUCT_CODE, "name": "Cloud", "useType": 4, "isActive": True,
             "billingCodeType": 0},
        ],
    )  # fmt: skip
    sandbox.insert(
        "Companies",
        [
            {"id": company, "companyName": name, "companyType": 1, "isActive": True}
            for name, company, _ in ORGANIZATIONS.values()
            if company
        ],
    )


def billing_rows() -> list[dict]:
    rows = []
    for customer, (name, _, seats) in ORGANIZATIONS.items():
        rows.append(
            recon_row(
                CustomerId=customer,
                CustomerName=name,
                SubscriptionId=SUBSCRIPTIONS[customer],
                Quantity=str(seats),
                BillableQuantity=str(seats),
                Subtotal=f"{seats * 12.5:.2f}",
                Total=f"{seats * 12.5:.2f}",
            )
        )
    rows.append(azure_plan_recon_row())  # Contoso's
    return rows


def small_world(sandbox, tmp_path, *, name: str = "Sandbox"):
    """Import the month, connect to the sandbox, refresh and map; returns the connection."""
    connection = connect_small_world(sandbox, name)
    import_small_world(tmp_path)
    map_small_world(connection)
    return connection


def connect_small_world(sandbox, name: str, **settings):
    """A connection to ``sandbox`` (emptied, with the world's billing codes and companies),
    refreshed; ``settings`` are more connection fields (``concurrency_limit=1``)."""
    prepare_sandbox(sandbox)
    connection = connection_create_sandbox(name=name, url=sandbox.root)
    connection.service_billing_code_id = SERVICE_CODE
    connection.product_billing_code_id = PRODUCT_CODE
    for field, value in settings.items():
        setattr(connection, field, value)
    connection.save()
    connection_default_markups_set(
        connection=connection, markups={"license_based": 20, "azure_plan": 10}
    )
    run = RefreshRun.objects.create(connection=connection, kind="full")
    assert refresh_run_execute(run_id=run.pk).status == "succeeded"
    return connection


def import_small_world(directory) -> None:
    """The world's month, imported (once, whatever the number of connections)."""
    path = write_recon_csv(directory / "recon.csv", billing_rows())
    import_billing([(path, path.name)], month=None, actor="test")


def map_small_world(connection) -> None:
    """Contoso and Fabrikam mapped to their companies (Tailspin is left unmapped)."""
    for customer, (_, company, _) in ORGANIZATIONS.items():
        if company:
            organization_mapping_set(
                connection=connection,
                organization=Organization.objects.get(customer_id=customer),
                company=AutotaskCompany.objects.get(connection=connection, autotask_id=company),
            )


def records(sandbox, entity: str) -> list[dict]:
    return sandbox.admin("GET", f"/records/{entity}").json()["items"]


def writes_logged(sandbox) -> list[dict]:
    return [
        entry
        for entry in sandbox.admin("GET", "/requests").json()["items"]
        if entry["method"] in ("POST", "PATCH", "PUT", "DELETE") and "/query" not in entry["path"]
    ]
