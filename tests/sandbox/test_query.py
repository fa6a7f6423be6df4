"""The query language: operators, nested groups, case rules, IncludeFields, MaxRecords, UDFs,
counts and the query error shapes (docs/sandbox.md "Rules it enforces", AUTOTASK_API.md §2)."""

import json

import pytest
import requests

from tests.sandbox.helpers import (
    contract_body,
    errors_of,
    fails_naming,
    fails_with,
    new_company,
    ok,
)

# ---------------------------------------------------------------- helpers


def post_query(sandbox, entity: str, body: dict) -> requests.Response:
    return sandbox.post(f"/{entity}/query", json=body)


def get_query(sandbox, entity: str, body: dict) -> requests.Response:
    return sandbox.get(f"/{entity}/query", params={"search": json.dumps(body)})


def ids_of(items: list[dict]) -> list[int]:
    return [item["id"] for item in items]


# Five companies; expectations below are written as indexes into this list.
ROWS = [
    {"companyName": "Alpha Corp", "city": "Berlin", "companyType": 1, "isActive": True,
     "webAddress": None, "assetValue": 100.0},
    {"companyName": "beta LLC", "city": "Paris", "companyType": 2, "isActive": False,
     "webAddress": "beta.example", "assetValue": 250.5},
    {"companyName": "Gamma Alpha", "city": "berlin", "companyType": 1, "isActive": True,
     "webAddress": "gamma.example", "assetValue": 250.5},
    {"companyName": "Delta", "city": None, "companyType": 3, "isActive": True,
     "webAddress": None, "assetValue": None},
    {"companyName": "Epsilon corp", "city": "Rome", "companyType": 1, "isActive": False,
     "webAddress": None, "assetValue": 1000.0},
]  # fmt: skip


@pytest.fixture
def companies(sandbox) -> list[int]:
    rows = [{**row, "ownerResourceID": 4, "phone": "555-0100"} for row in ROWS]
    ids = sandbox.insert("Companies", rows)
    assert len(ids) == 5
    return ids


def cond(op: str, field: str, value=None, **extra) -> dict:
    condition = {"op": op, "field": field, **extra}
    if value is not None:
        condition["value"] = value
    return condition


def group(op: str, *items: dict) -> dict:
    return {"op": op, "items": list(items)}


# ---------------------------------------------------------------- operators

OPERATOR_CASES = {
    "eq string ignores case": ([cond("eq", "companyName", "ALPHA CORP")], [0]),
    "eq city ignores case": ([cond("eq", "city", "berlin")], [0, 2]),
    "eq integer": ([cond("eq", "companyType", 1)], [0, 2, 4]),
    "noteq integer": ([cond("noteq", "companyType", 1)], [1, 3]),
    "gt integer": ([cond("gt", "companyType", 1)], [1, 3]),
    "gte integer": ([cond("gte", "companyType", 2)], [1, 3]),
    "lt integer": ([cond("lt", "companyType", 2)], [0, 2, 4]),
    "lte integer": ([cond("lte", "companyType", 2)], [0, 1, 2, 4]),
    "gt decimal": ([cond("gt", "assetValue", 250.5)], [4]),
    "gte decimal": ([cond("gte", "assetValue", 250.5)], [1, 2, 4]),
    "lt decimal skips null": ([cond("lt", "assetValue", 250.5)], [0]),
    "lte decimal skips null": ([cond("lte", "assetValue", 250.5)], [0, 1, 2]),
    "gt string ignores case": ([cond("gt", "companyName", "delta")], [2, 4]),
    "lt string ignores case": ([cond("lt", "companyName", "BETA")], [0]),
    "beginsWith": ([cond("beginsWith", "companyName", "alpha")], [0]),
    "beginsWith upper": ([cond("beginsWith", "companyName", "GAMMA")], [2]),
    "endsWith": ([cond("endsWith", "companyName", "CORP")], [0, 4]),
    "contains": ([cond("contains", "companyName", "ALPHA")], [0, 2]),
    "contains single letter": ([cond("contains", "companyName", "a")], [0, 1, 2, 3]),
    "exist": ([cond("exist", "webAddress")], [1, 2]),
    "notExist": ([cond("notExist", "webAddress")], [0, 3, 4]),
    "exist city": ([cond("exist", "city")], [0, 1, 2, 4]),
    "notExist city": ([cond("notExist", "city")], [3]),
    "in integers": ([cond("in", "companyType", [2, 3])], [1, 3]),
    "notIn integers": ([cond("notIn", "companyType", [1, 2])], [3]),
    "in strings ignores case": ([cond("in", "city", ["PARIS", "rome"])], [1, 4]),
    "boolean true": ([cond("eq", "isActive", True)], [0, 2, 3]),
    "boolean false": ([cond("eq", "isActive", False)], [1, 4]),
    "boolean as string": ([cond("eq", "isActive", "true")], [0, 2, 3]),
    "field name ignores case": ([cond("eq", "COMPANYNAME", "delta")], [3]),
    "field name mixed case": ([cond("noteq", "CompanyType", 1)], [1, 3]),
    "top-level conditions are ANDed": (
        [cond("eq", "companyType", 1), cond("contains", "companyName", "alpha")],
        [0, 2],
    ),
    "or group": ([group("or", cond("eq", "city", "paris"), cond("eq", "city", "ROME"))], [1, 4]),
    "and group": (
        [group("and", cond("eq", "companyType", 1), cond("eq", "isActive", False))],
        [4],
    ),
    "or containing and": (
        [
            group(
                "or",
                group("and", cond("eq", "city", "berlin"), cond("eq", "isActive", True)),
                cond("eq", "companyType", 3),
            )
        ],
        [0, 2, 3],
    ),
    "and containing or": (
        [
            group(
                "and",
                group("or", cond("eq", "companyType", 2), cond("eq", "companyType", 3)),
                cond("eq", "isActive", True),
            )
        ],
        [3],
    ),
    "three levels": (
        [
            group(
                "or",
                group(
                    "and",
                    cond("beginsWith", "companyName", "e"),
                    group("or", cond("eq", "city", "rome"), cond("eq", "city", "paris")),
                ),
                group("and", cond("exist", "webAddress"), cond("eq", "isActive", True)),
            )
        ],
        [2, 4],
    ),
    "top-level condition and group": (
        [
            cond("eq", "isActive", True),
            group("or", cond("endsWith", "companyName", "corp"), cond("notExist", "city")),
        ],
        [0, 3],
    ),
    "nothing matches": ([cond("eq", "companyName", "Zeta")], []),
    "noteq never matches null": ([cond("noteq", "city", "BERLIN")], [1, 4]),
    "notIn never matches null": ([cond("notIn", "city", ["paris"])], [0, 2, 4]),
    "gt never matches null": ([cond("gt", "assetValue", 0)], [0, 1, 2, 4]),
}


@pytest.mark.parametrize("case", list(OPERATOR_CASES), ids=list(OPERATOR_CASES))
def test_operator_by_post_get_and_count(sandbox, companies, case):
    filters, indexes = OPERATOR_CASES[case]
    expected = [companies[i] for i in indexes]
    body = {"filter": filters}

    assert ids_of(ok(post_query(sandbox, "Companies", body))["items"]) == expected
    assert ids_of(ok(get_query(sandbox, "Companies", body))["items"]) == expected
    assert ok(sandbox.post("/Companies/query/count", json=body)) == {"queryCount": len(expected)}
    count = sandbox.get("/Companies/query/count", params={"search": json.dumps(body)})
    assert ok(count) == {"queryCount": len(expected)}


def test_operators_on_ids(sandbox, companies):
    cases = [
        ([cond("eq", "id", companies[3])], [3]),
        ([cond("gt", "id", companies[2])], [3, 4]),
        ([cond("gte", "id", companies[2])], [2, 3, 4]),
        ([cond("lt", "id", companies[1])], [0]),
        ([cond("lte", "id", companies[1])], [0, 1]),
        ([cond("in", "id", [companies[0], companies[4]])], [0, 4]),
        ([cond("notIn", "id", [companies[0], companies[4]])], [1, 2, 3]),
        ([cond("exist", "id")], [0, 1, 2, 3, 4]),
    ]
    for filters, indexes in cases:
        items = ok(post_query(sandbox, "Companies", {"filter": filters}))["items"]
        assert ids_of(items) == [companies[i] for i in indexes], filters


def test_query_body_keys_ignore_case(sandbox, companies):
    body = {"Filter": [cond("eq", "companyType", 1)], "maxRecords": 2, "includeFields": ["id"]}
    page = ok(post_query(sandbox, "Companies", body))
    assert ids_of(page["items"]) == [companies[0], companies[2]]
    assert page["pageDetails"]["requestCount"] == 2


def test_results_sorted_by_id_and_envelope(sandbox, companies):
    page = ok(post_query(sandbox, "Companies", {"filter": [cond("exist", "id")]}))
    assert set(page) >= {"items", "pageDetails"}
    assert ids_of(page["items"]) == sorted(companies)
    details = page["pageDetails"]
    assert details["count"] == 5
    assert details["requestCount"] == 500
    assert details["prevPageUrl"] is None
    assert details["nextPageUrl"] is None


def test_empty_result_envelope(sandbox):
    page = ok(post_query(sandbox, "Companies", {"filter": [cond("exist", "id")]}))
    assert page == {
        "items": [],
        "pageDetails": {"count": 0, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None},
    }


def test_items_carry_every_field_with_nulls(sandbox, companies):
    fields = ok(sandbox.get("/Companies/entityInformation/fields"))["fields"]
    names = {field["name"] for field in fields}
    assert {"companyName", "webAddress", "city", "phone", "id"} <= names
    items = ok(post_query(sandbox, "Companies", {"filter": [cond("eq", "id", companies[3])]}))[
        "items"
    ]
    assert len(items) == 1
    item = items[0]
    assert names <= set(item), names - set(item)
    assert item["webAddress"] is None
    assert item["city"] is None
    assert item["companyName"] == "Delta"
    assert isinstance(item["userDefinedFields"], list)


def test_include_fields(sandbox, companies):
    body = {"filter": [cond("eq", "companyType", 1)], "IncludeFields": ["id", "CompanyName"]}
    for response in (post_query(sandbox, "Companies", body), get_query(sandbox, "Companies", body)):
        items = ok(response)["items"]
        assert [(item["id"], item["companyName"]) for item in items] == [
            (companies[0], "Alpha Corp"),
            (companies[2], "Gamma Alpha"),
            (companies[4], "Epsilon corp"),
        ]
        for item in items:
            assert set(item) - {"userDefinedFields"} == {"id", "companyName"}, item


def test_include_fields_unknown_field(sandbox, companies):
    body = {"filter": [cond("exist", "id")], "IncludeFields": ["id", "bogusField"]}
    fails_with(
        post_query(sandbox, "Companies", body), "Unable to find bogusField in the Company Entity."
    )


def test_max_records_bounds(sandbox, companies):
    one = ok(post_query(sandbox, "Companies", {"filter": [cond("exist", "id")], "MaxRecords": 1}))
    assert ids_of(one["items"]) == [companies[0]]
    assert one["pageDetails"]["count"] == 1
    assert one["pageDetails"]["requestCount"] == 1
    assert one["pageDetails"]["nextPageUrl"]

    full = ok(
        post_query(sandbox, "Companies", {"filter": [cond("exist", "id")], "MaxRecords": 500})
    )
    assert ids_of(full["items"]) == companies
    assert full["pageDetails"]["requestCount"] == 500

    for bad in (0, 501, -1):
        body = {"filter": [cond("exist", "id")], "MaxRecords": bad}
        fails_naming(post_query(sandbox, "Companies", body), "MaxRecords")
        fails_naming(get_query(sandbox, "Companies", body), "MaxRecords")


def test_filter_is_mandatory(sandbox, companies):
    fails_naming(post_query(sandbox, "Companies", {"MaxRecords": 10}), "filter")
    fails_naming(get_query(sandbox, "Companies", {"MaxRecords": 10}), "filter")
    fails_naming(sandbox.post("/Companies/query/count", json={}), "filter")


def test_unknown_filter_field(sandbox, companies):
    body = {"filter": [cond("eq", "bogusField", 1)]}
    message = "Unable to find bogusField in the Company Entity."
    fails_with(post_query(sandbox, "Companies", body), message)
    fails_with(get_query(sandbox, "Companies", body), message)
    fails_with(sandbox.post("/Companies/query/count", json=body), message)
    nested = {"filter": [group("or", cond("eq", "id", 1), cond("eq", "bogusField", 1))]}
    fails_with(post_query(sandbox, "Companies", nested), message)


@pytest.mark.parametrize(
    ("entity", "singular"),
    [
        ("Contracts", "Contract"),
        ("ContractServices", "ContractService"),
        ("ContractServiceUnits", "ContractServiceUnit"),
        ("ContractCharges", "ContractCharge"),
        ("Services", "Service"),
        ("Products", "Product"),
        ("BillingCodes", "BillingCode"),
    ],
)
def test_unknown_filter_field_names_singular_entity(sandbox, entity, singular):
    body = {"filter": [cond("eq", "noSuchField", 1)]}
    fails_with(
        post_query(sandbox, entity, body), f"Unable to find noSuchField in the {singular} Entity."
    )


def test_malformed_search_is_500(sandbox):
    errors_of(sandbox.get("/Companies/query", params={"search": "{not json"}))
    errors_of(sandbox.get("/Companies/query/count", params={"search": "[[["}))


def test_unknown_operator_is_500(sandbox, companies):
    errors_of(post_query(sandbox, "Companies", {"filter": [cond("like", "companyName", "a")]}))


@pytest.mark.parametrize("op", ["EQ", "Eq", "beginswith", "NOTEXIST", "OR"])
def test_operators_must_be_spelled_exactly(sandbox, companies, op):
    if op == "OR":
        condition = group(op, cond("eq", "id", companies[0]), cond("eq", "id", companies[1]))
    else:
        condition = cond(op, "companyName", None if op == "NOTEXIST" else "alpha")
    errors_of(post_query(sandbox, "Companies", {"filter": [condition]}))


def test_or_condition_limit(sandbox, companies):
    limit_message = "Queries are limited to 500 or fewer 'OR' conditions"
    five_hundred = list(range(1, 501))
    items = ok(post_query(sandbox, "Companies", {"filter": [cond("in", "id", five_hundred)]}))[
        "items"
    ]
    assert ids_of(items) == [i for i in companies if i <= 500]

    over = list(range(1, 502))
    fails_with(
        post_query(sandbox, "Companies", {"filter": [cond("in", "id", over)]}), limit_message
    )
    fails_with(
        post_query(sandbox, "Companies", {"filter": [cond("notIn", "id", over)]}), limit_message
    )
    fails_with(
        sandbox.post("/Companies/query/count", json={"filter": [cond("in", "id", over)]}),
        limit_message,
    )
    many_or = group("or", *[cond("eq", "id", i) for i in range(1, 502)])
    fails_with(post_query(sandbox, "Companies", {"filter": [many_or]}), limit_message)


def test_date_comparisons(sandbox):
    company = new_company(sandbox, companyName="Dates", phone="1")
    contracts = []
    for name, start in (("A", "2026-01-01"), ("B", "2026-03-01"), ("C", "2026-06-15")):
        body = contract_body(company, name=name, contract_type=1, start=start)
        contracts.append(ok(sandbox.post("/Contracts", json=body))["itemId"])
    cases = [
        (cond("gte", "startDate", "2026-03-01"), [1, 2]),
        (cond("gt", "startDate", "2026-03-01T00:00:00"), [2]),
        (cond("lt", "startDate", "2026-03-01"), [0]),
        (cond("lte", "startDate", "2026-03-01T00:00:00"), [0, 1]),
        (cond("eq", "startDate", "2026-03-01T00:00:00"), [1]),
        (cond("lte", "startDate", "2026-06-15T23:59:59"), [0, 1, 2]),
    ]
    for condition, indexes in cases:
        items = ok(get_query(sandbox, "Contracts", {"filter": [condition]}))["items"]
        assert ids_of(items) == [contracts[i] for i in indexes], condition


# ---------------------------------------------------------------- user-defined fields


@pytest.fixture
def udf_contracts(sandbox) -> list[int]:
    company = new_company(sandbox, companyName="UDF Co", phone="1")
    ids = []
    for name, subscription in (("One", "SUB-001"), ("Two", "SUB-002"), ("Three", None)):
        body = contract_body(company, name=name, contract_type=1)
        if subscription:
            body["userDefinedFields"] = [{"name": "Subscription ID", "value": subscription}]
        ids.append(ok(sandbox.post("/Contracts", json=body))["itemId"])
    return ids


def test_udf_filter(sandbox, udf_contracts):
    body = {"filter": [{"op": "eq", "field": "Subscription ID", "value": "SUB-002", "udf": True}]}
    for response in (post_query(sandbox, "Contracts", body), get_query(sandbox, "Contracts", body)):
        items = ok(response)["items"]
        assert ids_of(items) == [udf_contracts[1]]
        assert {"name": "Subscription ID", "value": "SUB-002"} in items[0]["userDefinedFields"]
    assert ok(sandbox.post("/Contracts/query/count", json=body)) == {"queryCount": 1}

    begins = {
        "filter": [
            {"op": "beginsWith", "field": "Subscription ID", "value": "sub-", "udf": True},
            cond("exist", "id"),
        ]
    }
    assert ids_of(ok(post_query(sandbox, "Contracts", begins))["items"]) == udf_contracts[:2]


def test_two_udf_conditions_are_refused(sandbox, udf_contracts):
    body = {
        "filter": [
            {"op": "eq", "field": "Subscription ID", "value": "SUB-001", "udf": True},
            {"op": "eq", "field": "Subscription ID", "value": "SUB-002", "udf": True},
        ]
    }
    errors_of(post_query(sandbox, "Contracts", body))
    nested = {
        "filter": [
            group(
                "or",
                {"op": "eq", "field": "Subscription ID", "value": "SUB-001", "udf": True},
                {"op": "eq", "field": "Subscription ID", "value": "SUB-002", "udf": True},
            )
        ]
    }
    errors_of(post_query(sandbox, "Contracts", nested))


def test_udf_name_as_plain_field_is_unknown(sandbox, udf_contracts):
    body = {"filter": [{"op": "eq", "field": "Subscription ID", "value": "SUB-001"}]}
    fails_with(
        post_query(sandbox, "Contracts", body),
        "Unable to find Subscription ID in the Contract Entity.",
    )


def test_query_on_create_only_entity_is_refused(sandbox):
    for response in (
        sandbox.post("/ContractServiceAdjustments/query", json={"filter": [cond("exist", "id")]}),
        get_query(sandbox, "ContractServiceAdjustments", {"filter": [cond("exist", "id")]}),
    ):
        assert response.status_code in (404, 405), response.text
