"""What the export tests share: a world's files imported, a sandbox connection with its
companies mapped, and Autotask's state read back through its REST API over HTTP."""

from collections import defaultdict

from apps.autotask.markups import connection_default_markups_set
from apps.autotask.models import AutotaskCompany, RefreshRun
from apps.autotask.services import connection_create_sandbox, refresh_run_execute
from apps.catalog.importing.billing import import_billing
from apps.catalog.models import Organization
from apps.mappings.services import organization_mapping_set

SERVICE_CODE, PRODUCT_CODE = 29682802, 29682811
COMPANY_BASE = 5000
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def import_world(world, directory) -> None:
    """Each month's invoice reconciliation and daily usage files, together, in order."""
    for month in world.months:
        paths = world.write_month(month, directory)
        assert len(paths) == 2
        import_billing([(path, path.name) for path in paths], actor="test")


def prepare_tenant(sandbox, world) -> None:
    """The billing codes and one customer company per organization, without requests."""
    sandbox.insert("BillingCodes", [
        {"id": SERVICE_CODE, "name": "Licences", "useType": 5, "isActive": True,
         "billingCodeType": 0},
        {"id": PRODUCT_CODE, "name": "Cloud", "useType": 4, "isActive": True,
         "billingCodeType": 0},
    ])  # fmt: skip
    sandbox.insert(
        "Companies",
        [
            {"id": COMPANY_BASE + org.index, "companyName": org.name, "companyType": 1,
             "isActive": True, "webAddress": f"https://{org.domain}"}
            for org in world.organizations
        ],
    )  # fmt: skip


def connect_world(sandbox, world, *, markups: dict, unmapped=()) -> tuple:
    """A sandbox connection (refreshed) with every organization but ``unmapped`` (indexes)
    mapped to its company; returns it and {organization index: company id}."""
    prepare_tenant(sandbox, world)
    connection = connection_create_sandbox(url=sandbox.root)
    connection.service_billing_code_id = SERVICE_CODE
    connection.product_billing_code_id = PRODUCT_CODE
    connection.save()
    connection_default_markups_set(connection=connection, markups=markups)
    refresh = RefreshRun.objects.create(connection=connection, kind="full")
    assert refresh_run_execute(run_id=refresh.pk).status == "succeeded"
    companies = {}
    for org in world.organizations:
        if org.index in unmapped:
            continue
        companies[org.index] = COMPANY_BASE + org.index
        organization_mapping_set(
            connection=connection,
            organization=Organization.objects.get(customer_id=org.customer_id),
            company=AutotaskCompany.objects.get(autotask_id=COMPANY_BASE + org.index),
        )
    return connection, companies


# -- reading Autotask back over its REST API ----------------------------------------------


def query(sandbox, entity: str, filters: list[dict]) -> list[dict]:
    """Every row matching, following the pages."""
    response = sandbox.session.post(
        f"{sandbox.api}/{entity}/query", json={"filter": filters}, headers=sandbox.headers,
        timeout=30,
    )  # fmt: skip
    items = []
    while True:
        response.raise_for_status()
        data = response.json()
        items += data["items"]
        next_url = data["pageDetails"]["nextPageUrl"]
        if not next_url:
            return items
        response = sandbox.session.post(next_url, headers=sandbox.headers, timeout=30)


def everything(sandbox, entity: str) -> list[dict]:
    return query(sandbox, entity, [{"op": "gte", "field": "id", "value": 0}])


def by_contract(sandbox, entity: str, contract_ids: list[int]) -> dict[int, list[dict]]:
    found = defaultdict(list)
    for start in range(0, len(contract_ids), 400):
        chunk = contract_ids[start : start + 400]
        for row in query(sandbox, entity, [{"op": "in", "field": "contractID", "value": chunk}]):
            found[row["contractID"]].append(row)
    return found


def autotask_state(sandbox) -> dict:
    contracts = everything(sandbox, "Contracts")
    ids = [row["id"] for row in contracts]
    return {
        "contracts": contracts,
        "lines": by_contract(sandbox, "ContractServices", ids),
        "units": by_contract(sandbox, "ContractServiceUnits", ids),
        "charges": by_contract(sandbox, "ContractCharges", ids),
        "services": {row["id"]: row for row in everything(sandbox, "Services")},
        "products": {row["id"]: row for row in everything(sandbox, "Products")},
    }


def write_log(sandbox) -> list[dict]:
    log = sandbox.admin("GET", "/requests").json()["items"]
    return [r for r in log if r["method"] in WRITES and "/query" not in r["path"].lower()]
