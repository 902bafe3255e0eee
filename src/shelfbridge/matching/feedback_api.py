"""JSON API of feedback on matches: give, read per record, delete one's own.

Routes declare their policies here (:data:`ROUTES`); the rules live in
:mod:`shelfbridge.matching.feedback_service`.
"""
# No "from __future__ import annotations": FastAPI reads the annotations at runtime.

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict, JsonValue

from shelfbridge.accounts import policy
from shelfbridge.matching import feedback_service
from shelfbridge.matching.models import (
    COMMENT_MAX,
    MATCHED_KINDS,
    QUERY_MAX,
    SOURCE_KINDS,
    VERDICTS,
)
from shelfbridge.registry.schemas import NO_NUL
from shelfbridge.web.deps import MAX_ID, PROBLEM_RESPONSES, ReadSession, RecordId, WriteSession

ROUTES = {
    "create_match_feedback": policy.SIGNED_IN,
    "delete_match_feedback": policy.SIGNED_IN,
    "list_feedback_on_result": policy.SIGNED_IN,
    "list_feedback_on_demand": policy.SIGNED_IN,
}


def _documented(kind: str, *, nullable: bool, **rules: JsonValue) -> Callable[[JsonDict], None]:
    """The field as the document states it. The model itself checks only the type and what
    must never reach the service (an id out of the database's range, text a database cannot
    store or a query longer than the column); the service checks the rest and names each
    problem in the caller's language."""

    def edit(schema: JsonDict) -> None:
        schema.pop("anyOf", None)
        schema["type"] = [kind, "null"] if nullable else kind
        schema.update(rules)

    return edit


class FeedbackIn(BaseModel):
    """One verdict on one match.

    The document states the shape (required fields, codes, lengths); the service checks the
    fields (see :func:`_documented`) after the caller's right to give feedback, so that a
    caller who may not give any is refused as such (403) and each problem is named. Rules
    beyond the shape: ``source_id`` is required for a demand or result source and ``query``
    (not blank) for a free-text one; both records must exist and be visible to the caller
    (404 otherwise); ``organization_id`` must be one the caller acts for, and is required when
    there are several.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"required": ["source_kind", "matched_kind", "matched_id", "verdict"]},
    )

    source_kind: str | None = Field(
        None,
        description="What the match started from: a demand, a result or a free-text query.",
        json_schema_extra=_documented("string", nullable=False, enum=list(SOURCE_KINDS)),
    )
    source_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="The demand or result matched from (required unless source_kind is query).",
        json_schema_extra=_documented("integer", nullable=True, minimum=1, maximum=MAX_ID),
    )
    query: str | None = Field(
        None,
        max_length=QUERY_MAX,
        pattern=NO_NUL,
        description="The text searched for (required, not blank, when source_kind is query).",
        json_schema_extra=_documented("string", nullable=True, maxLength=QUERY_MAX, pattern=NO_NUL),
    )
    matched_kind: str | None = Field(
        None,
        description="What was matched.",
        json_schema_extra=_documented("string", nullable=False, enum=list(MATCHED_KINDS)),
    )
    matched_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="The matched record.",
        json_schema_extra=_documented("integer", nullable=False, minimum=1, maximum=MAX_ID),
    )
    verdict: str | None = Field(
        None,
        description="interest, or the reason the match does not fit.",
        json_schema_extra=_documented("string", nullable=False, enum=list(VERDICTS)),
    )
    comment: str | None = Field(
        None,
        pattern=NO_NUL,
        description="Optional.",
        json_schema_extra=_documented(
            "string", nullable=True, maxLength=COMMENT_MAX, pattern=NO_NUL
        ),
    )
    organization_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="The organisation acted for: one where the caller is an org admin, "
        "officer or enterprise user (required when there are several).",
        json_schema_extra=_documented("integer", nullable=True, minimum=1, maximum=MAX_ID),
    )


class FeedbackOut(BaseModel):
    id: int
    source_kind: str
    source_id: int | None
    source_title: str | None = Field(description="null when the caller may not see the source")
    query: str | None = Field(description="only for the organisation that searched")
    matched_kind: str
    matched_id: int
    matched_title: str | None
    verdict: str
    verdict_label: str
    comment: str | None
    organization_id: int
    organization_name: str
    author: str | None
    created_at: datetime
    updated_at: datetime
    can_delete: bool


Direction = Annotated[
    Literal["received", "given"],
    Query(
        description="received: feedback on matches of this record; given: feedback on the "
        "records matched from it"
    ),
]


def _giver() -> None:
    feedback_service.require_giver()


def _out(view: feedback_service.FeedbackView) -> FeedbackOut:
    return FeedbackOut(**view.__dict__)


def build_router() -> APIRouter:
    for name, route_policy in ROUTES.items():
        policy.register(name, route_policy)
    router = APIRouter(tags=["matching"], responses=PROBLEM_RESPONSES)

    @router.post(
        "/matches/feedback",
        status_code=201,
        response_model=FeedbackOut,
        name="create_match_feedback",
        # Dependencies run before the body is read: a caller who may not give feedback hears
        # 403 whatever they send.
        dependencies=[Depends(_giver)],
    )
    def create_feedback(body: FeedbackIn, session: WriteSession, response: Response) -> Any:
        """Record the caller's verdict on one match (giving it again changes it). Needs an
        org admin, officer or enterprise-user role and the right to see both records."""
        row = feedback_service.give(session, body.model_dump())
        response.headers["Location"] = f"/api/v1/matches/feedback/{row.id}"
        return _out(feedback_service.views(session, [row])[0])

    @router.delete(
        "/matches/feedback/{feedback_id}",
        status_code=204,
        response_class=Response,
        name="delete_match_feedback",
    )
    def delete_feedback(feedback_id: RecordId, session: WriteSession) -> Response:
        """Delete feedback one gave (platform admins may delete any)."""
        feedback_service.delete(session, feedback_id)
        return Response(status_code=204)

    @router.get(
        "/results/{record_id}/feedback",
        response_model=list[FeedbackOut],
        name="list_feedback_on_result",
    )
    def result_feedback(
        record_id: RecordId, session: ReadSession, direction: Direction = "received"
    ) -> Any:
        """The feedback on a result the caller may read, newest first."""
        rows = feedback_service.about(session, "results", record_id, direction)
        return [_out(v) for v in feedback_service.views(session, rows)]

    @router.get(
        "/demands/{record_id}/feedback",
        response_model=list[FeedbackOut],
        name="list_feedback_on_demand",
    )
    def demand_feedback(
        record_id: RecordId, session: ReadSession, direction: Direction = "received"
    ) -> Any:
        """The feedback on a demand the caller may read, newest first."""
        rows = feedback_service.about(session, "demands", record_id, direction)
        return [_out(v) for v in feedback_service.views(session, rows)]

    return router


__all__ = ["build_router"]
