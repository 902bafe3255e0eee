"""Feedback on matches: what an enterprise or a tech-transfer office thought of one hit.

One row is one organisation's view (given by one of its users) of one match: a source (a
demand, a result, or a free-text query) and the record it matched (a result, demand, person or
organisation). The verdict is ``interest`` or a reason code; the codes and their labels are
data (:data:`VERDICTS`). Rows are audited like every domain record and kept for the evaluation
work that follows (``shelfbridge feedback export``).

Who sees a row (:func:`shelfbridge.matching.feedback_service.visible_feedback`, and on
PostgreSQL the row-level security policies of migration 0005): the members of the organisation
that gave it, those who may change the matched record (its owner's officers, admins and
enterprise users: ``matched_owner_org_id``), and platform admins. Nobody else.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shelfbridge.core.database import Base
from shelfbridge.core.i18n import N_
from shelfbridge.core.models import Timestamps

INTEREST = "interest"

#: interest, or why a match does not fit; code -> label (an English message id)
VERDICTS: dict[str, str] = {
    INTEREST: N_("Interested"),
    "too_early_stage": N_("Too early stage"),
    "benefit_unclear": N_("Benefit over existing technology unclear"),
    "commercial_route_unclear": N_("Commercial route unclear"),
    "outside_field": N_("Outside our field"),
    "too_expensive": N_("Too expensive"),
    "other": N_("Other reason"),
}
REASONS: dict[str, str] = {code: text for code, text in VERDICTS.items() if code != INTEREST}

QUERY = "query"
#: what a match starts from: a demand, a result, or a free-text query
SOURCE_KINDS = ("demands", "results", QUERY)
#: what a match returns (the values of :class:`shelfbridge.matching.types.Target`)
MATCHED_KINDS = ("results", "demands", "people", "organizations")

COMMENT_MAX = 1000
QUERY_MAX = 500


class MatchFeedback(Timestamps, Base):
    __tablename__ = "match_feedback"
    __audit_kind__ = "match_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(20))  # demands | results | query
    source_id: Mapped[int | None] = mapped_column(Integer, index=True)
    query_text: Mapped[str | None] = mapped_column(String(QUERY_MAX))
    matched_kind: Mapped[str] = mapped_column(String(20))  # results | demands | people | …
    matched_id: Mapped[int] = mapped_column(Integer, index=True)
    # The organisation whose record was matched (a result's or demand's owner, a person's
    # employer, an organisation itself), fixed when the feedback is given: its writers see it.
    matched_owner_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    # The organisation the user acted for: its members see the feedback.
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    verdict: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
