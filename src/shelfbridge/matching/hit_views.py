"""How a hit is shown on the match pages: its title and passages with the matched terms marked,
its score and each ranking signal as a share of the best among the hits shown, with its label
in the page's language."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from markupsafe import Markup, escape

from shelfbridge.core.i18n import N_, translate
from shelfbridge.matching import feedback_service
from shelfbridge.matching.types import Hit

# one label for each signal the ranking explains a hit with (ranking.Matcher._rank)
SIGNALS = {
    "lexical": N_("Words in common"),
    "semantic": N_("Meaning"),
    "neighbours": N_("Similar matches nearby"),
}


def highlight(text: str | None, terms: Collection[str]) -> Markup:
    """``text`` with every occurrence of the matched terms wrapped in ``<mark>``.

    Terms are compared as the analyzer sees them (Chinese words, stemmed English), so
    "batteries" in a record is marked for the term "battery"."""
    if not text:
        return Markup("")
    if not terms:
        return escape(text)
    from shelfbridge.matching.analysis import default_analyzer

    analyzer = default_analyzer()
    wanted = set(terms) | set(analyzer.terms(" ".join(terms)))
    parts: list[Markup] = []
    position = 0
    for span in analyzer.spans(text, wanted):
        parts.append(escape(text[position : span.start]))
        parts.append(Markup("<mark>%s</mark>") % text[span.start : span.end])
        position = span.end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


@dataclass(frozen=True)
class Signal:
    name: str
    label: str
    value: float
    percent: int  # of the largest value of this signal among the hits shown


@dataclass
class HitView:
    target: str
    record_id: int
    external_id: str
    href: str
    title: Markup
    score: float
    percent: int
    passages: list[Markup]
    signals: list[Signal]
    matched_terms: tuple[str, ...]
    expanded_terms: tuple[str, ...]
    mine: feedback_service.FeedbackView | None = None


def _percent(value: float, top: float) -> int:
    if top <= 0 or value <= 0:
        return 0
    return max(1, min(100, round(100 * value / top)))


def hit_views(hits: list[Hit]) -> list[HitView]:
    top_score = max((h.score for h in hits), default=0.0)
    top_signal: dict[str, float] = {}
    for h in hits:
        for name, value in h.explanation.signals.items():
            top_signal[name] = max(top_signal.get(name, 0.0), value)
    views = []
    for h in hits:
        terms = h.explanation.matched_terms
        views.append(
            HitView(
                target=str(h.target),
                record_id=h.record_id,
                external_id=h.external_id,
                href=f"/{h.target}/{h.record_id}",
                title=highlight(h.title, terms),
                score=h.score,
                percent=_percent(h.score, top_score),
                passages=[highlight(p, terms) for p in h.explanation.passages],
                signals=[
                    Signal(
                        name,
                        translate(SIGNALS[name]) if name in SIGNALS else name,
                        value,
                        _percent(value, top_signal.get(name, 0.0)),
                    )
                    for name, value in h.explanation.signals.items()
                ],
                matched_terms=terms,
                expanded_terms=h.explanation.expanded_terms,
            )
        )
    return views
