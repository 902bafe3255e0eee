"""Text → terms, for lexical scoring, feedback and explanations.

Chinese is segmented with jieba in its search mode (a long word also yields the dictionary words
inside it, so "计算机科学" matches "计算机" and "科学"); Latin-script words are lower-cased and
Snowball-stemmed (PyStemmer); stopwords of both languages come from ``data/stopwords.txt``.
Full-width forms are folded to half-width first, without changing any offset, so spans found
in the folded text are spans of the original text (for highlighting).

Besides the words, a record is indexed with the character bigrams of its Chinese runs
(*grams*, stored as terms marked with :data:`GRAM_MARK`, which no word can start with):
jieba cuts a query and a record differently often enough ("固废资源化" against "固体废物资源化
利用") that overlapping bigrams, the classic unit of Chinese retrieval, find matches the words
miss. Grams feed the lexical ranking only; embedders, feedback terms and explanations see words
(an explanation shows the longest query fragments a record holds, :meth:`Analyzer.fragments`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jieba
import Stemmer

# Full-width ASCII (U+FF01-U+FF5E) → ASCII, ideographic space → space: one char for one char.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])|(?<=\.)\s+")
_CHINESE_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
GRAM_MARK = "#"  # words are alphanumeric: a term starting with it is a gram
_LOCK = threading.Lock()


@dataclass(frozen=True)
class TermSpan:
    """Where an analysed term occurs in a text: ``text[start:end]`` is the surface form."""

    start: int
    end: int
    term: str


def load_stopwords() -> frozenset[str]:
    """The packaged stopword list (comments and blank lines skipped)."""
    raw = resources.files("shelfbridge.matching").joinpath("data/stopwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in raw.splitlines() if line.strip() and line[0] != "#"
    )


def fold(text: str) -> str:
    """Half-width and lower-case, keeping every character at its offset."""
    folded = text.translate(_FOLD)
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else folded


class Analyzer:
    """Bilingual analyzer. Thread-safe for reading; one instance per process is enough."""

    def __init__(self, stopwords: Collection[str] | None = None, *, hmm: bool = True) -> None:
        self.stopwords = frozenset(stopwords) if stopwords is not None else load_stopwords()
        self.hmm = hmm
        self._stemmer = Stemmer.Stemmer("english")
        self._stems: dict[str, str] = {}
        self._jieba: jieba.Tokenizer | None = None

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        if self._jieba is None:
            with _LOCK:
                if self._jieba is None:
                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._jieba = tokenizer
        return self._jieba

    def normalise(self, token: str) -> str | None:
        """The term for one segmented token, or ``None`` when it is not indexed."""
        if not token.isalnum() or token in self.stopwords:
            return None
        if token.isascii():
            if len(token) == 1:
                return None
            if token.isalpha():
                stem = self._stems.get(token)
                if stem is None:
                    stem = self._stemmer.stemWord(token)
                    if len(self._stems) < 200_000:
                        self._stems[token] = stem
                return stem
        return token

    def terms(self, text: str) -> list[str]:
        """The analysed terms of ``text`` in order, repeated as often as they occur."""
        out: list[str] = []
        normalise = self.normalise
        for token in self.tokenizer.cut_for_search(fold(text), HMM=self.hmm):
            term = normalise(token)
            if term is not None:
                out.append(term)
        return out

    def term_counts(self, text: str) -> dict[str, int]:
        """The words of ``text`` and how often each occurs."""
        return dict(Counter(self.terms(text)))

    def grams(self, text: str) -> list[str]:
        """The character bigrams of every Chinese run of ``text``, marked, in order."""
        return [gram for run in _CHINESE_RUN.findall(fold(text)) for gram in _run_grams(run)]

    def foreign_words(self, text: str) -> list[str]:
        """The words of a query written without any Chinese, as typed (lower-cased, not
        stemmed: a term model embeds surface forms), stopwords and one-letter words dropped,
        each once, in order; ``[]`` when the text holds Chinese."""
        folded = fold(text)
        if _CHINESE_RUN.search(folded):
            return []
        words = (w for w in _LATIN_WORD.findall(folded) if len(w) > 1)
        return list(dict.fromkeys(w for w in words if w not in self.stopwords))

    def words_among_chinese(self, text: str) -> list[str]:
        """The English words of a query written in Chinese ("锂电池 separator"): those typed in
        lower case, letters only, three or more, stopwords dropped, each once, in order; ``[]``
        without Chinese. A word typed with a capital (HPLC, MEMS, Java) is taken for an acronym
        or a name, and a formula or unit (co2, 5g) for no word: searched as typed only."""
        widened = text.translate(_FOLD)  # half-width, case kept, offsets kept
        folded = fold(text)
        if not _CHINESE_RUN.search(folded) or len(folded) != len(widened):
            return []
        words = (
            m.group()
            for m in _LATIN_WORD.finditer(folded)
            if len(m.group()) > 2 and m.group().isalpha() and widened[m.start() : m.end()].islower()
        )
        return list(dict.fromkeys(w for w in words if w not in self.stopwords))

    def required_terms(self, text: str) -> list[str]:
        """What a record must hold to match ``text`` *exactly* (the search's exact mode), each
        once, in order: every gram of each Chinese run of two characters or more (the run
        itself, as near as its adjacent pairs tell: "石墨烯" needs 石墨 and 墨烯, so "石墨" alone
        does not do), a one-character run as a word unless it is a stopword, and the other
        words as analysed (English words stemmed, numbers). ``[]`` when nothing is left."""
        folded = fold(text)
        required: list[str] = []
        for run in _CHINESE_RUN.findall(folded):
            if len(run) > 1:
                required += _run_grams(run)
            elif run not in self.stopwords:
                required.append(run)
        required += [t for t in self.terms(folded) if not is_chinese_term(t)]
        return list(dict.fromkeys(required))

    def indexed_counts(self, text: str) -> dict[str, int]:
        """What the index stores for a record: its words and its grams, with their counts."""
        counts = Counter(self.terms(text))
        counts.update(self.grams(text))
        return dict(counts)

    def fragments(self, text: str, held: Collection[str]) -> list[str]:
        """The longest pieces (two characters or more) of ``text``'s Chinese runs whose every
        gram is among ``held`` (a record's terms): what a gram match matched, in text order."""
        out: list[str] = []
        for run in _CHINESE_RUN.findall(fold(text)):
            start = 0
            for i, gram in enumerate([*_run_grams(run), ""]):  # "" ends the last piece
                if gram in held:
                    continue
                if i > start:
                    out.append(run[start : i + 1])
                start = i + 1
        return list(dict.fromkeys(out))

    def spans(self, text: str, terms: Collection[str]) -> list[TermSpan]:
        """Where any of ``terms`` (analysed terms, e.g. a query's) occurs in ``text``.

        Overlapping spans are merged into the longest one, so a highlighter can wrap each span
        once; spans come back in text order.
        """
        if not terms or not text:
            return []
        found: list[TermSpan] = []
        folded = fold(text)
        for token, start, end in self.tokenizer.tokenize(folded, mode="search", HMM=self.hmm):
            term = self.normalise(token)
            if term is not None and term in terms:
                found.append(TermSpan(start, end, term))
        # a Chinese term is also found where jieba cut the text otherwise (a fragment, a word
        # inside a longer word): Chinese has no spaces to respect
        for term in terms:
            if is_chinese_word(term):
                at = folded.find(term)
                while at >= 0:
                    found.append(TermSpan(at, at + len(term), term))
                    at = folded.find(term, at + 1)
        found.sort(key=lambda s: (s.start, -s.end))
        merged: list[TermSpan] = []
        for span in found:
            if merged and span.start < merged[-1].end:
                if span.end > merged[-1].end:
                    last = merged[-1]
                    merged[-1] = TermSpan(last.start, span.end, last.term)
                continue
            merged.append(span)
        return merged

    def passages(
        self,
        text: str,
        weights: Mapping[str, float],
        *,
        limit: int = 2,
        max_chars: int = 160,
    ) -> list[str]:
        """The sentences of ``text`` that best cover the weighted terms, best first.

        A sentence scores the sum of the weights of the distinct terms it contains; long
        sentences are cut to ``max_chars`` around their first match.
        """
        if not weights or not text:
            return []
        scored: list[tuple[float, int, str]] = []
        for index, sentence in enumerate(split_sentences(text)):
            seen = {s.term for s in self.spans(sentence, weights.keys())}
            if seen:
                score = sum(weights[t] for t in seen)
                scored.append(
                    (score, index, _clip(sentence, self.spans(sentence, seen), max_chars))
                )
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [sentence for _, _, sentence in scored[:limit]]


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _clip(sentence: str, spans: list[TermSpan], max_chars: int) -> str:
    if len(sentence) <= max_chars:
        return sentence
    first = spans[0].start if spans else 0
    start = max(0, min(first - max_chars // 4, len(sentence) - max_chars))
    piece = sentence[start : start + max_chars]
    return ("…" if start else "") + piece + ("…" if start + max_chars < len(sentence) else "")


def _run_grams(run: str) -> list[str]:
    """The marked bigrams of one Chinese run, in order."""
    return [GRAM_MARK + run[i : i + 2] for i in range(len(run) - 1)]


def is_chinese_word(term: str) -> bool:
    """Two Chinese characters or more, nothing else."""
    return len(term) > 1 and is_chinese_term(term)


def is_chinese_term(term: str) -> bool:
    """Chinese characters only, one or more (铁, 钢, 锂 are words too)."""
    return _CHINESE_RUN.fullmatch(term) is not None


def is_gram(term: str) -> bool:
    return term.startswith(GRAM_MARK)


def holds(held: Collection[str], term: str) -> bool:
    """Whether a record's terms ``held`` contain ``term``: a word, or a fragment every gram of
    which is there (:meth:`Analyzer.fragments`)."""
    if term in held:
        return True
    return is_chinese_word(term) and all(gram in held for gram in _run_grams(term))


def with_grams(held: Collection[str]) -> Collection[str]:
    """A record's stored terms with its grams: as stored, or, for a record indexed before
    grams were (words only), its words and the grams inside its Chinese words."""
    if any(is_gram(term) for term in held):
        return held
    inside = {gram for term in held if is_chinese_word(term) for gram in _run_grams(term)}
    return set(held) | inside if inside else held


def words_only(counts: Mapping[str, int]) -> Mapping[str, int]:
    """``counts`` without its grams (the same mapping when it has none)."""
    if not any(is_gram(term) for term in counts):
        return counts
    return {term: count for term, count in counts.items() if not is_gram(term)}


@lru_cache(maxsize=1)
def default_analyzer() -> Analyzer:
    """The process-wide analyzer with the packaged stopwords."""
    return Analyzer()
