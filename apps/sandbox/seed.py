"""Data a new sandbox starts with.

- `empty`: the tenant's configuration only (user-defined field definitions, the SLA and
  contract category picklists), no rows.
- `demo`: a realistic MSP tenant: about 300 companies (customers, prospects, leads,
  vendors; some inactive; web addresses that match some Microsoft customer domains and
  some that almost do), billing codes, monthly and yearly services (some inactive, an
  Azure Plan service with zero cost and price), a few products, and contracts that
  syncadmin did not create.

Everything is generated from a fixed random seed, so every demo tenant is the same.
"""

import random

from apps.sandbox.body import blank_record, merge_udfs
from apps.sandbox.schema import ENTITIES
from apps.sandbox.store import Store

SLA_PICKLIST = {1: "Standard SLA", 2: "Premium SLA", 3: "Microsoft Cloud SLA"}
CONTRACT_CATEGORIES = {
    1: "Managed Services",
    2: "Microsoft Cloud",
    3: "Projects",
    4: "Hardware as a Service",
}
UDF_DEFINITIONS = {
    "Contracts": [
        {"name": "Subscription ID", "label": "Subscription ID", "type": "string", "length": 100},
        {"name": "Billing Reference", "label": "Billing Reference", "type": "string", "length": 50},
    ],
    "Companies": [
        {"name": "Microsoft Tenant ID", "label": "Microsoft Tenant ID", "type": "string"},
    ],
}
OWNER_RESOURCE_ID = 29682885
CREATED = "2024-03-01T09:00:00"

# Microsoft's own example customers; demo billing data uses these domains.
KNOWN_CUSTOMERS = [
    ("Contoso Ltd", "www.contoso.com"),
    ("Fabrikam Inc", "fabrikam.com"),
    ("Northwind Traders", "https://www.northwindtraders.com"),
    ("Adventure Works Cycles", "adventure-works.com"),
    ("Tailspin Toys", "www.tailspintoys.com"),
    ("Wide World Importers", "wideworldimporters.com"),
    ("Woodgrove Bank", "www.woodgrovebank.com"),
    ("Litware Inc", "litwareinc.com"),
    ("Proseware Inc", "www.proseware.com"),
    ("Alpine Ski House", "alpineskihouse.com"),
    ("Coho Winery", "www.cohowinery.com"),
    ("Margie's Travel", "margiestravel.com"),
    ("Trey Research", "www.treyresearch.net"),
    ("Wingtip Toys", "wingtiptoys.com"),
    ("Lucerne Publishing", "www.lucernepublishing.com"),
    ("Blue Yonder Airlines", "blueyonderairlines.com"),
    ("Fourth Coffee", "www.fourthcoffee.com"),
    ("Humongous Insurance", "humongousinsurance.com"),
    ("Relecloud", "www.relecloud.com"),
    ("First Up Consultants", "firstupconsultants.com"),
]
# Near misses: a mapping suggestion must not take these for the ones above.
NEAR_MISSES = [
    ("Contoso Pharmaceuticals", "www.contoso-pharma.com"),
    ("Fabrikam Residences", "fabrikamresidences.com"),
    ("Northwind Health", "www.northwindhealth.org"),
    ("Adventure Works (old account)", "adventureworks.net"),
    ("Tailspin Toys UK", "tailspintoys.co.uk"),
]
VENDORS = [
    ("Microsoft Corporation", "www.microsoft.com"),
    ("Pax8", "www.pax8.com"),
    ("TD SYNNEX", "www.tdsynnex.com"),
    ("Ingram Micro", "www.ingrammicro.com"),
    ("Dell Technologies", "www.dell.com"),
    ("Datto", "www.datto.com"),
]
FIRST_WORDS = [
    "Alder",
    "Birch",
    "Cedar",
    "Delta",
    "Elm",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Linden",
    "Maple",
    "Nova",
    "Oak",
    "Pine",
    "Quarry",
    "Raven",
    "Summit",
    "Thistle",
    "Upland",
    "Vista",
    "Willow",
    "Yarrow",
    "Zephyr",
    "Beacon",
    "Copper",
    "Drift",
    "Ember",
    "Fjord",
]
TRADES = [
    "Dental",
    "Legal",
    "Logistics",
    "Accounting",
    "Engineering",
    "Architects",
    "Clinic",
    "Foods",
    "Motors",
    "Realty",
    "Consulting",
    "Design",
    "Pharmacy",
    "Veterinary",
    "Construction",
]
SUFFIXES = ["Ltd", "Inc", "GmbH", "LLC", "Partners", "Group", "& Co", "BV"]
CITIES = [
    ("Seattle", "98101"),
    ("London", "EC1A 1BB"),
    ("Amsterdam", "1012 AB"),
    ("Berlin", "10115"),
    ("Toronto", "M5H 2N2"),
    ("Sydney", "2000"),
]

BILLING_CODES = [
    # id, name, useType, isActive, unitCost, unitPrice
    (29682801, "Recurring Services", 5, True, 0, 0),
    (29682802, "Microsoft 365 Licences", 5, True, 0, 0),
    (29682803, "Microsoft Azure", 5, True, 0, 0),
    (29682804, "Legacy Recurring (do not use)", 5, False, 0, 0),
    (29682811, "Microsoft Cloud Charges", 4, True, 0, 0),
    (29682812, "Software Licences", 4, True, 0, 0),
    (29682813, "Hardware", 4, True, 0, 0),
    (29682814, "Legacy Material", 4, False, 0, 0),
    (29682821, "Remote Support", 1, True, 45, 120),
    (29682822, "Onsite Support", 1, True, 55, 150),
]
SERVICES = [
    # name, periodType, unitCost, unitPrice, isActive, billingCodeID
    ("Microsoft 365 Business Basic (monthly)", 2, 6.60, 7.20, True, 29682802),
    ("Microsoft 365 Business Basic (annual)", 5, 6.00, 6.60, True, 29682802),
    ("Microsoft 365 Business Standard (monthly)", 2, 13.75, 15.00, True, 29682802),
    ("Microsoft 365 Business Standard (annual)", 5, 12.50, 13.75, True, 29682802),
    ("Microsoft 365 Business Premium (monthly)", 2, 24.20, 26.40, True, 29682802),
    ("Microsoft 365 Business Premium (annual)", 5, 22.00, 24.20, True, 29682802),
    ("Microsoft 365 E3 (annual)", 5, 36.00, 39.60, True, 29682802),
    ("Microsoft 365 E5 (annual)", 5, 57.00, 62.70, True, 29682802),
    ("Exchange Online (Plan 1) (monthly)", 2, 4.40, 4.80, True, 29682802),
    ("Microsoft Teams Essentials (monthly)", 2, 4.40, 4.80, True, 29682802),
    ("Microsoft Defender for Business (monthly)", 2, 3.30, 3.60, True, 29682802),
    ("Microsoft Entra ID P1 (monthly)", 2, 6.60, 7.20, True, 29682802),
    ("Microsoft Intune Plan 1 (annual)", 5, 8.00, 8.80, True, 29682802),
    ("Power BI Pro (monthly)", 2, 15.40, 16.80, True, 29682802),
    ("Microsoft 365 Copilot (annual)", 5, 30.00, 33.00, True, 29682802),
    ("Azure Plan", 2, 0, 0, True, 29682803),
    ("Managed Backup per device", 2, 4.00, 9.00, True, 29682801),
    ("Managed Antivirus per device", 2, 2.00, 5.00, True, 29682801),
    ("Helpdesk per user", 2, 0, 25.00, True, 29682801),
    ("Office 365 E1 (legacy)", 2, 8.00, 8.80, False, 29682802),
    ("Microsoft 365 Business Premium (legacy CSP)", 2, 20.00, 22.00, False, 29682802),
    ("Exchange Online Archiving (annual)", 5, 3.00, 3.30, False, 29682802),
]
PRODUCTS = [
    ("Surface Laptop 7", 29682813, 1099.00, 1299.00, True),
    ("Dell P2425H Monitor", 29682813, 189.00, 239.00, True),
    ("Microsoft 365 onboarding (one-off)", 29682812, 0, 250.00, True),
]


def seed_store(store: Store, name: str) -> None:
    SEEDS[name](store)


def seed_empty(store: Store) -> None:
    with store.lock:
        store.set_meta("udfs", UDF_DEFINITIONS)
        store.set_meta(
            "picklists",
            {
                "serviceLevelAgreementID": {str(k): v for k, v in SLA_PICKLIST.items()},
                "contractCategory": {str(k): v for k, v in CONTRACT_CATEGORIES.items()},
            },
        )
        store.set_meta("seeded", True)


def _row(store: Store, entity_name: str, values: dict) -> dict:
    entity = ENTITIES[entity_name]
    record = blank_record(entity)
    record.update(values)
    if record.get("id") is None:
        record["id"] = store.new_id(entity_name)
    else:
        store.reserve_id(entity_name, record["id"])
    record["userDefinedFields"] = merge_udfs(store, entity, values.get("userDefinedFields"), None)
    return record


def _companies(store: Store, rng: random.Random) -> list[dict]:
    rows = [
        _row(
            store,
            "Companies",
            {
                "id": 0,
                "companyName": "Northwind IT Services",
                "companyType": 8,
                "phone": "+1 206 555 0100",
                "webAddress": "www.northwind-it.example",
                "ownerResourceID": OWNER_RESOURCE_ID,
                "isActive": True,
                "createDate": CREATED,
                "lastTrackedModifiedDateTime": CREATED,
            },
        )
    ]
    named = [(name, web, 1) for name, web in KNOWN_CUSTOMERS]
    named += [(name, web, rng.choice([1, 1, 3])) for name, web in NEAR_MISSES]
    named += [(name, web, 7) for name, web in VENDORS]
    used = {name for name, _, _ in named}
    while len(named) < 300:
        name = f"{rng.choice(FIRST_WORDS)} {rng.choice(TRADES)} {rng.choice(SUFFIXES)}"
        if name in used:
            continue
        used.add(name)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:24]
        web = rng.choice([f"www.{slug}.com", f"{slug}.co.uk", f"https://{slug}.net", None])
        kind = rng.choices([1, 3, 2, 4, 6, 7], weights=[70, 10, 5, 3, 4, 8])[0]
        named.append((name, web, kind))
    for number, (name, web, kind) in enumerate(named, start=1):
        city, postal = CITIES[number % len(CITIES)]
        rows.append(
            _row(
                store,
                "Companies",
                {
                    "companyName": name,
                    "companyNumber": f"C{10000 + number}",
                    "companyType": kind,
                    "phone": f"+1 206 555 {1000 + number:04d}",
                    "webAddress": web,
                    "ownerResourceID": OWNER_RESOURCE_ID,
                    "city": city,
                    "postalCode": postal,
                    "isActive": kind not in (4, 6) and rng.random() > 0.05,
                    "createDate": CREATED,
                    "lastTrackedModifiedDateTime": f"2024-03-{1 + number // 60:02d}T"
                    f"{9 + number % 60 // 10:02d}:{number % 10 * 6:02d}:00",
                },
            )
        )
    return rows


def seed_demo(store: Store) -> None:
    seed_empty(store)
    rng = random.Random(20261122)
    with store.lock:
        companies = _companies(store, rng)
        store.save_many("Companies", companies)
        store.save_many(
            "BillingCodes",
            [
                _row(
                    store,
                    "BillingCodes",
                    {
                        "id": code_id,
                        "name": name,
                        "useType": use_type,
                        "isActive": active,
                        "billingCodeType": 0,
                        "unitCost": cost,
                        "unitPrice": price,
                    },
                )
                for code_id, name, use_type, active, cost, price in BILLING_CODES
            ],
        )
        services = [
            _row(
                store,
                "Services",
                {
                    "name": name,
                    "periodType": period,
                    "unitCost": cost,
                    "unitPrice": price,
                    "isActive": active,
                    "billingCodeID": code,
                    "invoiceDescription": name,
                    "createDate": CREATED,
                    "lastModifiedDate": CREATED,
                },
            )
            for name, period, cost, price, active, code in SERVICES
        ]
        store.save_many("Services", services)
        store.save_many(
            "Products",
            [
                _row(
                    store,
                    "Products",
                    {
                        "name": name,
                        "productBillingCodeID": code,
                        "unitCost": cost,
                        "unitPrice": price,
                        "isActive": active,
                        "isSerialized": False,
                    },
                )
                for name, code, cost, price, active in PRODUCTS
            ],
        )
        _existing_contracts(store, companies, services)


def _existing_contracts(store: Store, companies: list[dict], services: list[dict]) -> None:
    """Contracts an MSP made by hand: syncadmin must never change them."""
    by_name = {row["companyName"]: row["id"] for row in companies}
    service_ids = {row["name"]: row["id"] for row in services}
    contracts = [
        ("Managed Services Agreement 2026", "Contoso Ltd", 7, 2, "MSA-2026-001", 1),
        ("Block Hours 2026", "Fabrikam Inc", 4, None, "BH-2026-007", 1),
        ("Time and Materials", "Northwind Traders", 1, None, None, 1),
        ("Managed Backup", "Woodgrove Bank", 7, 2, "MSA-2025-014", 1),
        ("Old support contract", "Litware Inc", 1, None, None, 0),
    ]
    rows = []
    for name, company, kind, period, number, status in contracts:
        rows.append(
            _row(
                store,
                "Contracts",
                {
                    "contractName": f"{name} - {company}",
                    "companyID": by_name[company],
                    "contractType": kind,
                    "contractPeriodType": period,
                    "contractNumber": number,
                    "contractCategory": 1,
                    "serviceLevelAgreementID": 1,
                    "startDate": "2026-01-01T00:00:00",
                    "endDate": "2026-12-31T00:00:00",
                    "status": status,
                    "timeReportingRequiresStartAndStopTimes": 0,
                    "isCompliant": True,
                    "isDefaultContract": False,
                    "lastModifiedDateTime": CREATED,
                },
            )
        )
    store.save_many("Contracts", rows)
    lines = [
        (rows[0], "Helpdesk per user", 25.00, 0, [("2026-01-01T00:00:00", 42)]),
        (rows[0], "Managed Antivirus per device", 5.00, 2.00, [("2026-01-01T00:00:00", 60)]),
        (rows[3], "Managed Backup per device", 9.00, 4.00, [("2026-01-01T00:00:00", 12)]),
    ]
    for contract, service_name, price, cost, adjustments in lines:
        contract_service = _row(
            store,
            "ContractServices",
            {
                "contractID": contract["id"],
                "serviceID": service_ids[service_name],
                "unitPrice": price,
                "unitCost": cost,
                "invoiceDescription": service_name,
            },
        )
        store.save("ContractServices", contract_service)
        for effective, change in adjustments:
            store.save(
                "ContractServiceAdjustments",
                _row(
                    store,
                    "ContractServiceAdjustments",
                    {
                        "contractID": contract["id"],
                        "contractServiceID": contract_service["id"],
                        "serviceID": contract_service["serviceID"],
                        "effectiveDate": effective,
                        "unitChange": change,
                        "allowRepeatService": False,
                    },
                ),
            )


SEEDS = {"empty": seed_empty, "demo": seed_demo}
