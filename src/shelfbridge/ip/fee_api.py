"""JSON API of annual-fee payments under ``/api/v1/ip``: the payments of an asset, recording
one, deleting one recorded in error.

Only the owning unit's officers and admins (and platform admins) use them: a caller who
manages no ledger is refused (403) before anything is read, an asset or payment of another
unit is a 404. The request model states what JSON Schema can (a patent year of 1 to 20, amounts
in yuan with at most two decimals, days, lengths); the service checks the rest, as the field
descriptions say (422 naming the field): the years this patent pays, when a year can be paid,
and whether a late fee is owed. A patent that is not in force, or a year already paid, is a
409."""
# No "from __future__ import annotations": FastAPI reads the annotations at runtime.

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from shelfbridge.accounts import policy
from shelfbridge.ip import fees, service
from shelfbridge.ip.api import Day
from shelfbridge.registry.schemas import NO_NUL
from shelfbridge.web.deps import PROBLEM_RESPONSES, ReadSession, RecordId, WriteSession

ROUTES = {
    "list_ip_fee_payments": policy.SIGNED_IN,
    "create_ip_fee_payment": policy.SIGNED_IN,
    "delete_ip_fee_payment": policy.SIGNED_IN,
}
# Yuan with at most two decimals and 13 digits before the point (NUMERIC(15, 2)).
YUAN_PATTERN = r"^(?:0|[1-9][0-9]{0,12})(?:\.[0-9]{1,2})?$"
# The same, above zero.
POSITIVE_YUAN_PATTERN = r"^(?:[1-9][0-9]{0,12}(?:\.[0-9]{1,2})?|0\.(?:[1-9][0-9]?|0[1-9]))$"


class FeePaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patent_year: int = Field(
        ge=1,
        le=20,
        strict=True,
        description="The patent year paid (counted from the filing day): from the year of "
        "grant to the last year of this patent's term.",
    )
    amount: str = Field(
        pattern=POSITIVE_YUAN_PATTERN,
        description='The annual fee paid, in yuan, e.g. "900.00" (after any fee reduction).',
    )
    paid_on: Day = Field(
        description="Not after today, not before the year can be paid (12 months before its "
        "due day, and not before the grant year), and not after the 6 months' grace unless "
        "the right was restored."
    )
    late_fee: str | None = Field(
        None,
        pattern=YUAN_PATTERN,
        description="Only for a payment after the due day. Default: 5% of the year's full fee "
        "per whole month late (Implementing Rules Art. 115).",
    )
    restored: bool = Field(
        False,
        strict=True,
        description="Paid after the grace period because the right was restored (Art. 6).",
    )
    reference: str | None = Field(
        None, max_length=60, pattern=NO_NUL, description="The receipt or reference number."
    )
    note: str | None = Field(None, max_length=300, pattern=NO_NUL)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(
        prefix="/ip",
        tags=["ip"],
        responses=PROBLEM_RESPONSES,
        dependencies=[Depends(service.refuse_non_managers)],
    )

    @router.get("/assets/{asset_id}/fee-payments", name="list_ip_fee_payments")
    def list_payments(asset_id: RecordId, session: ReadSession) -> list[dict[str, Any]]:
        """The annual fees paid for an asset, by patent year, with what the rules expected."""
        return [fees.as_dict(p) for p in fees.payments_of(session, asset_id)]

    @router.post("/assets/{asset_id}/fee-payments", status_code=201, name="create_ip_fee_payment")
    def create_payment(
        asset_id: RecordId, body: FeePaymentIn, session: WriteSession
    ) -> dict[str, Any]:
        """Record the annual fee of one patent year as paid (once per year: 409 again)."""
        raw = body.model_dump(exclude_none=True)
        return fees.as_dict(fees.record_payment(session, asset_id, raw))

    @router.delete("/fee-payments/{payment_id}", status_code=204, name="delete_ip_fee_payment")
    def delete_payment(payment_id: RecordId, session: WriteSession) -> Response:
        """Delete a payment recorded in error (the year is listed as due again)."""
        fees.delete_payment(session, payment_id)
        return Response(status_code=204)

    return router


__all__ = ["build_router"]
