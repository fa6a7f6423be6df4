"""Paging over 1,234 companies with GET and POST cursors, counts, and the cursor method rules
(docs/sandbox.md "What it serves", AUTOTASK_API.md §2.3-§2.4)."""

import json
from collections import Counter

import pytest

from tests.sandbox.helpers import EVERYTHING, new_company, new_contract, not_allowed, ok

TOTAL = 1234


def absolute(sandbox, url: str) -> str:
    """nextPageUrl is absolute on the zone host; accept a path from the server root too."""
    if url.lower().startswith("http"):
        return url
    if url.lower().startswith("/atservicesrest"):
        return sandbox.root + url
    return sandbox.api + ("" if url.startswith("/") else "/") + url


@pytest.fixture
def companies(sandbox) -> list[int]:
    rows = [
        {
            "companyName": f"Company {n:04d}",
            "companyType": 1 if n % 3 == 0 else 2,
            "ownerResourceID": 4,
            "phone": "555-0100",
        }
        for n in range(TOTAL)
    ]
    ids = sandbox.insert("Companies", rows)
    assert len(ids) == TOTAL
    assert len(set(ids)) == TOTAL
    return ids


def walk_get(sandbox, body: dict) -> list[dict]:
    """Follow GET-originated cursors; returns the pages' JSON."""
    pages = [ok(sandbox.get("/Companies/query", params={"search": json.dumps(body)}))]
    while pages[-1]["pageDetails"]["nextPageUrl"]:
        url = absolute(sandbox, pages[-1]["pageDetails"]["nextPageUrl"])
        pages.append(ok(sandbox.session.get(url, headers=sandbox.headers, timeout=30)))
        assert len(pages) < 100
    return pages


def walk_post(sandbox, body: dict) -> list[dict]:
    """Follow POST-originated cursors by POSTing them with the same body."""
    pages = [ok(sandbox.post("/Companies/query", json=body))]
    while pages[-1]["pageDetails"]["nextPageUrl"]:
        url = absolute(sandbox, pages[-1]["pageDetails"]["nextPageUrl"])
        pages.append(ok(sandbox.session.post(url, json=body, headers=sandbox.headers, timeout=30)))
        assert len(pages) < 100
    return pages


def page_ids(pages: list[dict]) -> list[int]:
    return [item["id"] for page in pages for item in page["items"]]


def assert_each_exactly_once(ids: list[int], expected: list[int]) -> None:
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, duplicates[:10]
    assert sorted(ids) == sorted(expected)
    assert ids == sorted(ids)


def test_get_cursors_return_each_company_once(sandbox, companies):
    pages = walk_get(sandbox, EVERYTHING)
    assert [page["pageDetails"]["count"] for page in pages] == [500, 500, 234]
    assert [len(page["items"]) for page in pages] == [500, 500, 234]
    assert all(page["pageDetails"]["requestCount"] == 500 for page in pages)
    assert pages[0]["pageDetails"]["prevPageUrl"] is None
    assert pages[-1]["pageDetails"]["nextPageUrl"] is None
    first_next = pages[0]["pageDetails"]["nextPageUrl"]
    assert first_next.lower().startswith(sandbox.root.lower()), first_next
    assert "/companies/query/next?paging=" in first_next.lower(), first_next
    assert_each_exactly_once(page_ids(pages), companies)


def test_post_cursors_return_each_company_once(sandbox, companies):
    pages = walk_post(sandbox, EVERYTHING)
    assert [page["pageDetails"]["count"] for page in pages] == [500, 500, 234]
    assert pages[0]["pageDetails"]["prevPageUrl"] is None
    assert pages[-1]["pageDetails"]["nextPageUrl"] is None
    assert "/companies/query/next" in pages[0]["pageDetails"]["nextPageUrl"].lower()
    assert_each_exactly_once(page_ids(pages), companies)


def test_cursors_keep_max_records(sandbox, companies):
    body = {**EVERYTHING, "MaxRecords": 300}
    for pages in (walk_get(sandbox, body), walk_post(sandbox, body)):
        assert [page["pageDetails"]["count"] for page in pages] == [300, 300, 300, 300, 34]
        assert all(page["pageDetails"]["requestCount"] == 300 for page in pages)
        assert_each_exactly_once(page_ids(pages), companies)


def test_cursors_keep_the_filter(sandbox, companies):
    # companyType 1 for every third company: n = 0, 3, ..., 1233 -> 412 rows.
    expected = [companies[n] for n in range(0, TOTAL, 3)]
    assert len(expected) == 412
    body = {"filter": [{"op": "eq", "field": "companyType", "value": 1}], "MaxRecords": 100}
    for pages in (walk_get(sandbox, body), walk_post(sandbox, body)):
        assert [page["pageDetails"]["count"] for page in pages] == [100, 100, 100, 100, 12]
        assert_each_exactly_once(page_ids(pages), expected)
    count = ok(sandbox.post("/Companies/query/count", json={"filter": body["filter"]}))
    assert count == {"queryCount": 412}


def test_count(sandbox, companies):
    assert ok(sandbox.post("/Companies/query/count", json=EVERYTHING)) == {"queryCount": TOTAL}
    response = sandbox.get("/Companies/query/count", params={"search": json.dumps(EVERYTHING)})
    assert ok(response) == {"queryCount": TOTAL}
    type_two = {"filter": [{"op": "eq", "field": "companyType", "value": 2}]}
    assert ok(sandbox.post("/Companies/query/count", json=type_two)) == {"queryCount": 822}
    none = {"filter": [{"op": "eq", "field": "companyName", "value": "nobody"}]}
    assert ok(sandbox.post("/Companies/query/count", json=none)) == {"queryCount": 0}


def test_get_on_post_cursor_is_405(sandbox, companies):
    first = ok(sandbox.post("/Companies/query", json=EVERYTHING))
    url = absolute(sandbox, first["pageDetails"]["nextPageUrl"])
    not_allowed(sandbox.session.get(url, headers=sandbox.headers, timeout=30), "GET")


def test_id_watermark_paging_alternative(sandbox, companies):
    """The classic `id gt last` loop also sees every row exactly once."""
    seen: list[int] = []
    last = -1
    while True:
        body = {"filter": [{"op": "gt", "field": "id", "value": last}], "MaxRecords": 500}
        items = ok(sandbox.post("/Companies/query", json=body))["items"]
        if not items:
            break
        seen.extend(item["id"] for item in items)
        last = items[-1]["id"]
        assert len(seen) <= TOTAL
    assert_each_exactly_once(seen, companies)


def test_post_cursor_works_without_its_body(sandbox, companies):
    body = {"filter": [{"op": "eq", "field": "companyType", "value": 1}], "MaxRecords": 200}
    pages = [ok(sandbox.post("/Companies/query", json=body))]
    while pages[-1]["pageDetails"]["nextPageUrl"]:
        url = absolute(sandbox, pages[-1]["pageDetails"]["nextPageUrl"])
        pages.append(ok(sandbox.session.post(url, headers=sandbox.headers, timeout=30)))
        assert len(pages) < 100
    assert [page["pageDetails"]["count"] for page in pages] == [200, 200, 12]
    assert_each_exactly_once(page_ids(pages), [companies[n] for n in range(0, TOTAL, 3)])


def test_child_list_pages(sandbox):
    company = new_company(sandbox, companyName="Acme", phone="5")
    contract = new_contract(sandbox, company, name="Many charges", contract_type=1)
    rows = [
        {
            "contractID": contract,
            "name": f"Charge {n}",
            "datePurchased": "2026-01-10T00:00:00Z",
            "unitQuantity": 1,
            "chargeType": 1,
            "isBilled": False,
        }
        for n in range(620)
    ]
    ids = sandbox.insert("ContractCharges", rows)
    pages = [ok(sandbox.get(f"/Contracts/{contract}/Charges"))]
    while pages[-1]["pageDetails"]["nextPageUrl"]:
        url = absolute(sandbox, pages[-1]["pageDetails"]["nextPageUrl"])
        pages.append(ok(sandbox.session.get(url, headers=sandbox.headers, timeout=30)))
        assert len(pages) < 10
    assert [page["pageDetails"]["count"] for page in pages] == [500, 120]
    assert_each_exactly_once(page_ids(pages), ids)
