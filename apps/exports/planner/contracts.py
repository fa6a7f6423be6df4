"""The subscription's contract (DOMAIN.md "Export" 1 and 4): a new contract's dates and
body, creating it or finding and adopting it by its key, restoring drift in the fields
syncadmin owns, extending its end date, ending it after a cancellation, and the contract
id or ledger key (`_contract_refs`) its service lines and charges are written under."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.core.choices import RecordType

from .model import (
    AZURE_PLAN_END,
    RECURRING_SERVICE,
    STATUS_ACTIVE,
    ItemPlan,
    Kind,
    LedgerEntry,
    Operation,
    Skip,
    SubscriptionFacts,
    _Context,
    _skip,
    as_date,
    contract_key_of,
    contract_name,
    month_end,
    month_label,
)


@dataclass(frozen=True)
class _ContractRef:
    contract_id: int | None
    key: str
    ours: bool
    current: dict | None  # as Autotask holds it, when it exists


def _contract_dates(facts: SubscriptionFacts, ctx: _Context) -> tuple[dt.date, dt.date]:
    """Start and end of a new contract (DOMAIN.md "Export" 1)."""
    if facts.record_type == RecordType.AZURE_PLAN:
        # Cancelled already: it ends this month (4; `_plan_end` relies on it).
        return ctx.start, ctx.end if facts.cancelled else AZURE_PLAN_END
    if facts.record_type == RecordType.PERPETUAL_LICENCE:
        start = facts.charge_start or ctx.start
        end = facts.charge_end or ctx.end
        return start, max(month_end(end), ctx.end)
    if facts.cancelled:
        return ctx.start, ctx.end
    end = month_end(facts.term_end) if facts.term_end else ctx.end
    return ctx.start, max(end, ctx.end)


def _contract_body(
    facts: SubscriptionFacts, ctx: _Context, company_id: int, period_type: int
) -> dict:
    start, end = _contract_dates(facts, ctx)
    body = {
        "contractName": contract_name(facts),
        "contractType": RECURRING_SERVICE,
        "status": STATUS_ACTIVE,
        "companyID": company_id,
        "contractPeriodType": period_type,
        "startDate": start,
        "endDate": end,
        "timeReportingRequiresStartAndStopTimes": 0,
        "description": (
            f"Microsoft subscription {facts.subscription_id}: {facts.offer_name} for "
            f"{facts.organization_name}. Kept by syncadmin."
        ),
    }
    if ctx.settings.sla_id is not None:
        body["serviceLevelAgreementID"] = ctx.settings.sla_id
    if ctx.settings.contract_category_id is not None:
        body["contractCategory"] = ctx.settings.contract_category_id
    if ctx.settings.key_udf:
        body["userDefinedFields"] = [{"name": ctx.settings.key_udf, "value": facts.subscription_id}]
    else:
        body["contractNumber"] = facts.subscription_id
    return body


# Fields of a contract syncadmin owns once it created it; drift in them is restored.
OWNED_CONTRACT_FIELDS = (
    "contractName",
    "status",
    "companyID",
    "serviceLevelAgreementID",
    "contractCategory",
)


def _plan_contract(
    item: ItemPlan, facts: SubscriptionFacts, ctx: _Context, company_id: int, period_type: int
) -> _ContractRef:
    key = f"contract:{facts.subscription_id}"
    current = ctx.snapshot.contracts.get(facts.subscription_id)
    known = ctx.ledger.get(key)
    if current is None:
        body = _contract_body(facts, ctx, company_id, period_type)
        item.operations.append(
            Operation(
                kind=Kind.CREATE_CONTRACT,
                key=key,
                entity="Contracts",
                body=body,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"No contract carries subscription {facts.subscription_id} yet: a "
                    f"Recurring Service contract from {body['startDate']} to "
                    f"{body['endDate']}, keyed by the subscription id."
                ),
                after=body,
                ledger=_contract_ledger(body),
            )
        )
        return _ContractRef(None, key, True, None)

    contract_id = int(current["id"])
    by_key = contract_key_of(current, ctx.settings.key_udf) == facts.subscription_id
    ours = by_key or (known is not None and known.created_by_export)
    ref = _ContractRef(contract_id, key, ours, current)
    start = as_date(current.get("startDate"))
    if start and ctx.end < start:
        _skip(
            item,
            Skip.BEFORE_CONTRACT,
            f"{month_label(ctx.month)} is before its contract starts ({start}): months before "
            "the first export are never billed.",
        )
        return ref
    if current.get("contractPeriodType") not in (None, period_type):
        _skip(
            item,
            Skip.BILLING_FREQUENCY_CHANGED,
            f"The subscription is now billed {facts.billing_frequency}, but its contract "
            f"{contract_id} has period type {current.get('contractPeriodType')}, which "
            "Autotask cannot change: decide what to do (a new contract, or map another) "
            "and export again.",
        )
        return ref
    if not ours:
        if known is None:
            item.notes.append(
                f"Contract {contract_id} was mapped by hand: syncadmin adds its service line "
                "or charge and changes none of the contract's own fields."
            )
        return ref
    if known is None:
        item.notes.append(
            f"Contract {contract_id} found by its key in Autotask: syncadmin's own, adopted."
        )
    if not facts.cancelled:
        _plan_contract_fields(item, facts, ctx, ref, known, company_id, period_type)
    return ref


def _contract_ledger(body: dict) -> dict:
    return {name: body.get(name) for name in (*OWNED_CONTRACT_FIELDS, "endDate")}


def _plan_contract_fields(
    item: ItemPlan,
    facts: SubscriptionFacts,
    ctx: _Context,
    ref: _ContractRef,
    known: LedgerEntry | None,
    company_id: int,
    period_type: int,
) -> None:
    current = ref.current
    desired = _contract_body(facts, ctx, company_id, period_type)
    wrote = known.values if known else {}
    drifted = {}
    for name in OWNED_CONTRACT_FIELDS:
        if name not in desired or name not in wrote:
            continue
        if current.get(name) != wrote[name]:
            drifted[name] = desired[name]
    end_now = as_date(current.get("endDate"))
    end_wanted = desired["endDate"]
    end_wrote = as_date(wrote.get("endDate"))
    if end_now and end_wrote and end_now != end_wrote and end_now < max(end_wrote, end_wanted):
        drifted["endDate"] = max(end_wrote, end_wanted)
    if drifted:
        restored = ", ".join(drifted)
        tail = "."
        if end_now and end_now < end_wanted and "endDate" not in drifted and not wrote.get("ended"):
            drifted["endDate"] = end_wanted  # 4, in the same write (else a second run writes)
            tail = f", and extends it to {end_wanted}."
        before = {name: current.get(name) for name in drifted}
        item.operations.append(
            Operation(
                kind=Kind.RESTORE_DRIFT,
                key=ref.key,
                entity="Contracts",
                body={"id": ref.contract_id, **drifted},
                target_id=ref.contract_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"Someone changed {restored} of contract {ref.contract_id} in "
                    f"Autotask; syncadmin created it and restores its values{tail}"
                ),
                before=before,
                after=dict(drifted),
                ledger={**_contract_ledger(current), **wrote, **drifted},
            )
        )
        return
    if end_now and end_now < end_wanted and wrote.get("ended"):
        item.notes.append(
            f"Contract {ref.contract_id} was ended on {end_now} after a cancellation: a report "
            "of an earlier month does not extend it again."
        )
        return
    if end_now and end_now < end_wanted:
        item.operations.append(
            Operation(
                kind=Kind.EXTEND_END_DATE,
                key=ref.key,
                entity="Contracts",
                body={"id": ref.contract_id, "endDate": end_wanted},
                target_id=ref.contract_id,
                subscription_id=facts.subscription_id,
                organization=facts.organization_name,
                reason=(
                    f"The subscription's term now ends {facts.term_end}: the contract is "
                    f"extended from {end_now} to {end_wanted} (the last day of that month)."
                    if facts.term_end
                    else f"The contract is extended from {end_now} to {end_wanted}."
                ),
                before={"endDate": end_now},
                after={"endDate": end_wanted},
                ledger={**_contract_ledger(current), **wrote, "endDate": end_wanted},
            )
        )


def _plan_end(item: ItemPlan, facts: SubscriptionFacts, ctx: _Context, ref: _ContractRef) -> None:
    """4. A cancellation ends the contract on the last day of the month."""
    if ref.current is None:
        return  # a new contract is created ending this month already
    end_now = as_date(ref.current.get("endDate"))
    if end_now and end_now <= ctx.end:
        return  # ended already (by us, or earlier by someone in Autotask)
    if not ref.ours:
        item.notes.append(
            f"Cancelled, but contract {ref.contract_id} was mapped by hand: syncadmin does not "
            "end a contract it did not create; end it in Autotask."
        )
        return
    posted = ctx.snapshot.posted_after.get(ref.contract_id)
    if posted and posted > ctx.end:
        return _skip(
            item,
            Skip.PERIOD_POSTED,
            f"Cancelled in {month_label(ctx.month)}, but contract {ref.contract_id} is approved "
            f"and posted through {posted}: Autotask refuses to end it on {ctx.end}. Nothing "
            "else is changed; un-post the later periods in Autotask and export again.",
        )
    known = ctx.ledger.get(ref.key)
    item.operations.append(
        Operation(
            kind=Kind.END_CONTRACT,
            key=ref.key,
            entity="Contracts",
            body={"id": ref.contract_id, "endDate": ctx.end},
            target_id=ref.contract_id,
            subscription_id=facts.subscription_id,
            organization=facts.organization_name,
            reason=f"The report says the subscription was cancelled: the contract ends {ctx.end}.",
            before={"endDate": end_now},
            after={"endDate": ctx.end},
            ledger={**(known.values if known else {}), "endDate": ctx.end, "ended": True},
        )
    )
    return None


def _contract_refs(ref: _ContractRef) -> tuple[int | None, dict]:
    if ref.contract_id is not None:
        return ref.contract_id, {}
    return None, {"parent": ref.key, "contractID": ref.key}
