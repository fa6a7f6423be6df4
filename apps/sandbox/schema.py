"""The entities the sandbox serves: fields, types, flags and picklists.

Field names and types follow Autotask's Swagger (PascalCase there, camelCase on the wire)
and AUTOTASK_API.md §5 for required and read-only flags, lengths and picklists.
"""

from dataclasses import dataclass, field

# Picklists that are the same in every Autotask tenant. Tenant picklists (contract
# categories, SLAs) live in the store, seeded per tenant.
CONTRACT_TYPES = {
    1: "Time and Materials",
    3: "Fixed Price",
    4: "Block Hours",
    6: "Retainer",
    7: "Recurring Service",
    8: "Per Ticket",
}
PERIOD_TYPES = {2: "Monthly", 3: "Quarterly", 4: "Semi-Annual", 5: "Yearly"}
PERIOD_MONTHS = {2: 1, 3: 3, 4: 6, 5: 12}
COMPANY_TYPES = {
    1: "Customer",
    2: "Lead",
    3: "Prospect",
    4: "Dead",
    6: "Cancellation",
    7: "Vendor",
    8: "Partner",
}
USE_TYPES = {
    1: "General Allocation Code",
    2: "Expense Code",
    3: "Internal Allocation Code",
    4: "Material Cost Code",
    5: "Recurring Contract Service Code",
    6: "Milestone Code",
    7: "Product Code",
}
RECURRING_SERVICE = 7
USE_TYPE_RECURRING_SERVICE = 5

TENANT_PICKLIST = "tenant"  # marker: values come from the store's tenant picklists


@dataclass(frozen=True)
class Field:
    name: str
    data_type: str  # string, integer, long, decimal, boolean, datetime
    length: int = 0
    required: bool = False
    read_only: bool = False
    create_only: bool = False  # writable on create, read-only afterwards
    picklist: dict | str | None = None  # {value: label} or a tenant picklist name
    reference: str | None = None  # entity name (plural) the id points to

    @property
    def lower(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Entity:
    name: str  # plural, as in URLs: "Contracts"
    singular: str  # internal name used in Autotask's messages: "Contract"
    fields: tuple[Field, ...]
    can_create: bool = False
    can_update: bool = False
    can_delete: bool = False
    can_query: bool = True
    has_udfs: bool = False
    parent: str | None = None  # only written through Contracts/{id}/{child_path}
    child_path: str | None = None
    root_create: bool = False  # create also allowed on the root URL
    modified_field: str | None = None  # stamped on every write
    created_field: str | None = None
    by_name: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.by_name.update({item.lower: item for item in self.fields})

    def find(self, name: str) -> Field | None:
        return self.by_name.get(str(name).lower())


def _entity(name, singular, spec, *, required=(), read_only=(), create_only=(),
            picklists=None, references=None, **options) -> Entity:  # fmt: skip
    fields = []
    refs = references or {}
    lists = picklists or {}
    for token in spec.split():
        parts = token.split(":")
        field_name, data_type = parts[0], parts[1]
        length = int(parts[2]) if len(parts) > 2 else (255 if data_type == "string" else 0)
        fields.append(
            Field(
                name=field_name,
                data_type=data_type,
                length=length,
                required=field_name in required or field_name == "id",
                read_only=field_name in read_only or field_name == "id",
                create_only=field_name in create_only,
                picklist=lists.get(field_name),
                reference=refs.get(field_name),
            )
        )
    return Entity(name=name, singular=singular, fields=tuple(fields), **options)


COMPANIES = _entity(
    "Companies",
    "Company",
    "additionalAddressInformation:string:100 address1:string:128 address2:string:128 "
    "alternatePhone1:string:25 alternatePhone2:string:25 apiVendorID:integer "
    "assetValue:decimal billingAddress1:string:150 billingAddress2:string:150 "
    "billToAdditionalAddressInformation:string:100 billToAddressToUse:integer "
    "billToAttention:string:50 billToCity:string:50 billToCompanyLocationID:integer "
    "billToCountryID:integer billToState:string:128 billToZipCode:string:50 city:string:30 "
    "classification:integer companyName:string:100 companyNumber:string:50 "
    "companyType:integer competitorID:integer countryID:integer createDate:datetime "
    "createdByResourceID:integer currencyID:integer fax:string:25 id:long "
    "impersonatorCreatorResourceID:integer invoiceEmailMessageID:integer "
    "invoiceMethod:integer invoiceNonContractItemsToParentCompany:boolean "
    "invoiceTemplateID:integer isActive:boolean isClientPortalActive:boolean "
    "isEnabledForComanaged:boolean isTaskFireActive:boolean isTaxExempt:boolean "
    "lastActivityDate:datetime lastTrackedModifiedDateTime:datetime marketSegmentID:integer "
    "ownerResourceID:integer parentCompanyID:integer phone:string:25 postalCode:string:10 "
    "quoteEmailMessageID:integer quoteTemplateID:integer sicCode:string:32 state:string:40 "
    "stockMarket:string:10 stockSymbol:string:10 surveyCompanyRating:decimal "
    "taxID:string:50 taxRegionID:integer territoryID:integer webAddress:string:255",
    required=("companyName", "companyType", "ownerResourceID", "phone"),
    read_only=(
        "createDate",
        "createdByResourceID",
        "impersonatorCreatorResourceID",
        "lastActivityDate",
        "lastTrackedModifiedDateTime",
    ),
    picklists={"companyType": COMPANY_TYPES},
    references={"parentCompanyID": "Companies"},
    can_create=True,
    can_update=True,
    has_udfs=True,
    modified_field="lastTrackedModifiedDateTime",
    created_field="createDate",
)

CONTRACTS = _entity(
    "Contracts",
    "Contract",
    "billingPreference:integer billToCompanyContactID:integer billToCompanyID:integer "
    "companyID:integer contactID:integer contactName:string:250 contractCategory:integer "
    "contractExclusionSetID:integer contractName:string:100 contractNumber:string:50 "
    "contractPeriodType:integer contractType:integer description:string:2000 "
    "endDate:datetime estimatedCost:decimal estimatedHours:decimal estimatedRevenue:decimal "
    "exclusionContractID:long id:long internalCurrencyOverageBillingRate:decimal "
    "internalCurrencySetupFee:decimal isCompliant:boolean isDefaultContract:boolean "
    "lastModifiedDateTime:datetime opportunityID:integer "
    "organizationalLevelAssociationID:integer overageBillingRate:decimal "
    "purchaseOrderNumber:string:50 renewedContractID:long serviceLevelAgreementID:integer "
    "setupFee:decimal setupFeeBillingCodeID:long startDate:datetime status:integer "
    "timeReportingRequiresStartAndStopTimes:integer",
    required=(
        "companyID",
        "contractName",
        "contractType",
        "startDate",
        "endDate",
        "status",
        "timeReportingRequiresStartAndStopTimes",
    ),
    read_only=("isCompliant", "lastModifiedDateTime", "renewedContractID"),
    create_only=("contractPeriodType", "contractType"),
    picklists={
        "contractType": CONTRACT_TYPES,
        "contractPeriodType": PERIOD_TYPES,
        "status": {0: "Inactive", 1: "Active"},
        "billingPreference": {
            1: "Immediately without review",
            2: "Manually",
            3: "On timesheet approval",
        },
        "timeReportingRequiresStartAndStopTimes": {0: "False", 1: "True"},
        "contractCategory": "contractCategory",
        "serviceLevelAgreementID": "serviceLevelAgreementID",
    },
    references={
        "companyID": "Companies",
        "billToCompanyID": "Companies",
        "setupFeeBillingCodeID": "BillingCodes",
        "exclusionContractID": "Contracts",
    },
    can_create=True,
    can_update=True,
    has_udfs=True,
    modified_field="lastModifiedDateTime",
)

CONTRACT_SERVICES = _entity(
    "ContractServices",
    "ContractService",
    "contractID:integer id:long internalCurrencyAdjustedPrice:decimal "
    "internalCurrencyUnitPrice:decimal internalDescription:string:100 "
    "invoiceDescription:string:1000 quoteItemID:long serviceID:integer unitCost:decimal "
    "unitPrice:decimal",
    required=("contractID", "serviceID"),
    read_only=("internalCurrencyAdjustedPrice", "internalCurrencyUnitPrice"),
    references={"contractID": "Contracts", "serviceID": "Services"},
    can_create=True,
    can_update=True,
    parent="Contracts",
    child_path="Services",
)

CONTRACT_SERVICE_ADJUSTMENTS = _entity(
    "ContractServiceAdjustments",
    "ContractServiceAdjustment",
    "adjustedUnitCost:decimal adjustedUnitPrice:decimal allowRepeatService:boolean "
    "contractID:integer contractServiceID:integer effectiveDate:datetime id:long "
    "quoteItemID:integer serviceID:integer unitChange:integer",
    required=("contractID", "effectiveDate", "unitChange"),
    references={
        "contractID": "Contracts",
        "contractServiceID": "ContractServices",
        "serviceID": "Services",
    },
    can_create=True,
    can_query=False,
    parent="Contracts",
    child_path="ServiceAdjustments",
    root_create=True,
)

CONTRACT_SERVICE_UNITS = _entity(
    "ContractServiceUnits",
    "ContractServiceUnit",
    "approveAndPostDate:datetime contractID:integer contractServiceID:integer cost:decimal "
    "endDate:datetime id:long internalCurrencyPrice:decimal "
    "organizationalLevelAssociationID:integer price:decimal serviceID:integer "
    "startDate:datetime units:integer vendorCompanyID:integer",
    read_only=[
        "approveAndPostDate",
        "contractID",
        "contractServiceID",
        "cost",
        "endDate",
        "internalCurrencyPrice",
        "organizationalLevelAssociationID",
        "price",
        "serviceID",
        "startDate",
        "units",
        "vendorCompanyID",
    ],
    parent="Contracts",
    child_path="ServiceUnits",
)

CONTRACT_CHARGES = _entity(
    "ContractCharges",
    "ContractCharge",
    "billableAmount:decimal billingCodeID:long chargeType:integer contractID:long "
    "contractServiceBundleID:long contractServiceID:long createDate:datetime "
    "creatorResourceID:long datePurchased:datetime description:string:2000 "
    "extendedCost:decimal id:long internalCurrencyBillableAmount:decimal "
    "internalCurrencyUnitPrice:decimal internalPurchaseOrderNumber:string:50 "
    "isBillableToCompany:boolean isBilled:boolean name:string:100 notes:string:2000 "
    "organizationalLevelAssociationID:integer productID:long purchaseOrderNumber:string:50 "
    "status:long statusLastModifiedBy:long statusLastModifiedDate:datetime unitCost:decimal "
    "unitPrice:decimal unitQuantity:decimal",
    required=("chargeType", "contractID", "datePurchased", "name", "unitQuantity"),
    read_only=(
        "billableAmount",
        "createDate",
        "creatorResourceID",
        "extendedCost",
        "internalCurrencyBillableAmount",
        "internalCurrencyUnitPrice",
        "isBilled",
        "statusLastModifiedBy",
        "statusLastModifiedDate",
    ),
    picklists={
        "chargeType": {1: "Operational", 2: "Capitalized"},
        "status": {
            1: "Pending",
            2: "Waiting Approval",
            3: "Need to Order/Fulfill",
            4: "On Order",
            5: "Ready to Deliver/Ship",
            6: "Delivered/Shipped Full",
            7: "Canceled",
        },
    },
    references={
        "contractID": "Contracts",
        "billingCodeID": "BillingCodes",
        "productID": "Products",
        "contractServiceID": "ContractServices",
    },
    can_create=True,
    can_update=True,
    can_delete=True,
    parent="Contracts",
    child_path="Charges",
    created_field="createDate",
)

CONTRACT_NOTES = _entity(
    "ContractNotes",
    "ContractNote",
    "contractID:integer createDateTime:datetime creatorResourceID:integer "
    "description:string:8000 id:long impersonatorCreatorResourceID:integer "
    "impersonatorUpdaterResourceID:integer lastActivityDate:datetime title:string:250",
    required=("contractID", "description", "title"),
    read_only=(
        "createDateTime",
        "creatorResourceID",
        "impersonatorCreatorResourceID",
        "impersonatorUpdaterResourceID",
        "lastActivityDate",
    ),
    references={"contractID": "Contracts"},
    can_create=True,
    can_update=True,
    can_query=False,
    parent="Contracts",
    child_path="Notes",
    modified_field="lastActivityDate",
    created_field="createDateTime",
)

SERVICES = _entity(
    "Services",
    "Service",
    "billingCodeID:integer createDate:datetime creatorResourceID:integer "
    "description:string:400 id:long invoiceDescription:string:1000 isActive:boolean "
    "lastModifiedDate:datetime markupRate:decimal name:string:150 periodType:integer "
    "serviceLevelAgreementID:long unitCost:decimal unitPrice:decimal "
    "updateResourceID:integer vendorCompanyID:integer",
    required=("billingCodeID", "name", "periodType", "unitPrice"),
    read_only=(
        "createDate",
        "creatorResourceID",
        "lastModifiedDate",
        "markupRate",
        "updateResourceID",
    ),
    picklists={
        "periodType": PERIOD_TYPES,
        "serviceLevelAgreementID": "serviceLevelAgreementID",
    },
    references={"billingCodeID": "BillingCodes", "vendorCompanyID": "Companies"},
    can_create=True,
    can_update=True,
    has_udfs=True,
    modified_field="lastModifiedDate",
    created_field="createDate",
)

PRODUCTS = _entity(
    "Products",
    "Product",
    "billingType:integer chargeBillingCodeID:integer defaultVendorID:integer "
    "description:string:2000 doesNotRequireProcurement:boolean externalProductID:string:50 "
    "id:long impersonatorCreatorResourceID:integer internalProductID:string:50 "
    "isActive:boolean isEligibleForRma:boolean isSerialized:boolean link:string:500 "
    "manufacturerName:string:100 manufacturerProductName:string:50 markupRate:decimal "
    "msrp:decimal name:string:100 periodType:integer priceCostMethod:integer "
    "productBillingCodeID:integer productCategory:integer sku:string:50 unitCost:decimal "
    "unitPrice:decimal vendorProductNumber:string:50",
    required=("isActive", "isSerialized", "name", "productBillingCodeID"),
    read_only=("impersonatorCreatorResourceID",),
    picklists={"periodType": PERIOD_TYPES},
    references={
        "productBillingCodeID": "BillingCodes",
        "chargeBillingCodeID": "BillingCodes",
        "defaultVendorID": "Companies",
    },
    can_create=True,
    can_update=True,
    has_udfs=True,
)

BILLING_CODES = _entity(
    "BillingCodes",
    "BillingCode",
    "afterHoursWorkType:integer billingCodeType:integer department:integer "
    "description:string:500 externalNumber:string:100 generalLedgerAccount:integer id:long "
    "isActive:boolean isExcludedFromNewContracts:boolean markupRate:decimal "
    "name:string:200 taxCategoryID:integer unitCost:decimal unitPrice:decimal "
    "useType:integer",
    required=("isActive", "unitCost", "unitPrice"),
    read_only=tuple(
        [
            "afterHoursWorkType",
            "billingCodeType",
            "department",
            "description",
            "externalNumber",
            "generalLedgerAccount",
            "isActive",
            "isExcludedFromNewContracts",
            "markupRate",
            "name",
            "taxCategoryID",
            "unitCost",
            "unitPrice",
            "useType",
        ]
    ),
    picklists={
        "useType": USE_TYPES,
        "billingCodeType": {0: "Normal", 1: "System", 2: "Non-Billable"},
    },
)

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        COMPANIES,
        CONTRACTS,
        CONTRACT_SERVICES,
        CONTRACT_SERVICE_ADJUSTMENTS,
        CONTRACT_SERVICE_UNITS,
        CONTRACT_CHARGES,
        CONTRACT_NOTES,
        SERVICES,
        PRODUCTS,
        BILLING_CODES,
    )
}
ENTITIES_BY_LOWER = {name.lower(): entity for name, entity in ENTITIES.items()}
# Children of Contracts by their path segment (lower case): "services" -> ContractServices
CONTRACT_CHILDREN = {
    entity.child_path.lower(): entity for entity in ENTITIES.values() if entity.parent
}
# Entities that can be queried at their root URL.
ROOT_QUERYABLE = {
    "Companies",
    "Contracts",
    "ContractServices",
    "ContractServiceUnits",
    "ContractCharges",
    "Services",
    "Products",
    "BillingCodes",
}
