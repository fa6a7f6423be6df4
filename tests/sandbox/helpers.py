"""Helpers the sandbox tests share: checks on the sandbox's answers, and builders for the rows
the tests create through its API (keyword arguments give the variations)."""

import requests

METHOD_NOT_ALLOWED = "The requested resource does not support http method '{}'."
EVERYTHING = {"filter": [{"op": "exist", "field": "id"}]}
COMPANY = {"companyName": "Acme Ltd", "companyType": 1, "ownerResourceID": 4, "phone": "555-0100"}

# What the sandbox answers to bad credentials, word for word. The zone lookup's text is
# Autotask's own (AUTOTASK_API.md §1.2, §3.5). For the 401 body and the 500 for an unknown
# user name or integration code AUTOTASK_API.md records no words (§1.3, §3.5), so these are
# the sandbox's, and they carry the words the client sorts failures by
# (apps/autotask/failures.py AUTH_500_WORDS, services.describe_failure).
ZONE_NOT_FOUND = "Zone information could not be determined"
UNKNOWN_USER = "Unable to authenticate: the user name is not an API user of this database."
WRONG_SECRET = "Authentication failed: the secret does not match the user name."
WRONG_INTEGRATION_CODE = "Unable to authenticate: the API integration code is not valid."
BAD_IMPERSONATION = "ImpersonationResourceId must be the id of a resource."

# ---------------------------------------------------------------- answers


def ok(response: requests.Response) -> dict:
    assert response.status_code == 200, f"{response.status_code} {response.text[:800]}"
    return response.json()


def errors_of(response: requests.Response, status: int = 500) -> list[str]:
    """The error messages of a refused request: a non-empty list of strings."""
    assert response.status_code == status, f"{response.status_code} {response.text[:800]}"
    body = response.json()
    assert isinstance(body.get("errors"), list), body
    assert body["errors"], body
    assert all(isinstance(message, str) for message in body["errors"]), body
    return body["errors"]


def refused(response: requests.Response, status: int, message: str) -> None:
    """Exactly `{"errors": [message]}` with `status`: the client sorts failures by these."""
    assert response.status_code == status, f"{response.status_code} {response.text[:800]}"
    assert response.json() == {"errors": [message]}


def fails_naming(response: requests.Response, *words: str) -> list[str]:
    """A 500 whose messages name every one of `words` (ignoring case)."""
    errors = errors_of(response)
    text = " ".join(errors).lower()
    for word in words:
        assert word.lower() in text, errors
    return errors


def fails_with(response: requests.Response, message: str) -> None:
    """A 500 with `message` in one of its messages."""
    errors = errors_of(response)
    assert any(message in error for error in errors), errors


def not_allowed(response: requests.Response, method: str) -> None:
    assert response.status_code == 405, f"{response.status_code} {response.text[:800]}"
    assert response.json() == {"Message": METHOD_NOT_ALLOWED.format(method)}


def item(sandbox, path: str) -> dict:
    body = ok(sandbox.get(path))
    assert body["item"] is not None, path
    return body["item"]


def peak(value) -> int:
    """max_concurrent: one number, or one number per (integration code, entity) bucket."""
    return max(value.values()) if isinstance(value, dict) else value


# ---------------------------------------------------------------- builders


def new_company(sandbox, **fields) -> int:
    """Creates COMPANY, with `fields` changed or added, through the API."""
    return ok(sandbox.post("/Companies", json={**COMPANY, **fields}))["itemId"]


def contract_body(
    company_id: int,
    *,
    name: str = "Managed services",
    contract_type: int = 7,
    period_type: int = 2,
    start: str = "2026-01-01",
    end: str = "2026-12-31",
    **extra,
) -> dict:
    """A contract for 2026; a recurring one (type 7) is monthly unless `period_type` says
    otherwise. `extra` changes or adds fields by their API name."""
    body = {
        "companyID": company_id,
        "contractName": name,
        "contractType": contract_type,
        "startDate": start,
        "endDate": end,
        "status": 1,
        "timeReportingRequiresStartAndStopTimes": 0,
    }
    if contract_type == 7:
        body["contractPeriodType"] = period_type
    return {**body, **extra}


def new_contract(sandbox, company_id: int | None = None, **fields) -> int:
    """Creates contract_body(company_id, **fields) through the API, for a new company unless
    `company_id` is given."""
    if company_id is None:
        company_id = new_company(sandbox)
    return ok(sandbox.post("/Contracts", json=contract_body(company_id, **fields)))["itemId"]


def new_billing_code(
    sandbox,
    *,
    use_type: int = 5,
    active: bool = True,
    cost: float = 0,
    price: float = 0,
    name: str | None = None,
) -> int:
    """Inserts a billing code (read-only in the API); use type 5 is recurring, 4 material."""
    row = {
        "name": f"Code {use_type}" if name is None else name,
        "useType": use_type,
        "isActive": active,
        "billingCodeType": 0,
        "unitCost": cost,
        "unitPrice": price,
    }
    return sandbox.insert("BillingCodes", [row])[0]


def service_body(code_id: int, **extra) -> dict:
    return {"billingCodeID": code_id, "name": "Backup", "periodType": 2, "unitPrice": 10, **extra}


def product_body(code_id: int, **extra) -> dict:
    return {
        "name": "Router",
        "productBillingCodeID": code_id,
        "isActive": True,
        "isSerialized": False,
        **extra,
    }


def adjust(sandbox, contract_id: int, service_id: int, effective: str, change: int, **extra):
    """Posts a contract service adjustment; returns its id."""
    body = {
        "contractID": contract_id,
        "serviceID": service_id,
        "effectiveDate": effective,
        "unitChange": change,
        **extra,
    }
    return ok(sandbox.post("/ContractServiceAdjustments", json=body))["itemId"]
